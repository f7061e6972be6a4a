//! Fan-out: how long one final takes to reach every listener of a meeting, at 100 and 1,000
//! listeners on API Gateway's `/ws` (the stand-in; each push is a `POST @connections` from
//! the bridge, as in AWS).
//!
//! The caps (`meetin_live::MAX_CONNECTIONS_PER_MEETING`, 1,000, speaker included, and
//! `MAX_CONNECTIONS_PER_USER`, 5) mean 1,000 listeners are 200 members with 5 sockets each,
//! and no speaker socket: the audio goes straight to the bridge's relay API
//! (`RelayClient::audio`, what `live-socket` does with a speaker's chunk). One chunk at a
//! time, each once every listener has the last one's segment, at most one a `interval`:
//! every final is then pushed alone, and (finals more than a second apart, as Deepgram's are)
//! with the listener list read again from DynamoDB (`fanout::LISTENERS_FRESH_FOR`).
//!
//! Measured per final: chunk sent → first listener has it, → the last has it, and first →
//! last (the push's own spread). The listeners join through the stand-in with a `$connect`
//! that registers them without the emulator's transactions ([`super::join`]); the fan-out
//! itself is the bridge's, unchanged. Also timed alone: reading the meeting's listener list
//! (`ConnectionStore::of_meeting`, the Query each final here starts with).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use live_bridge::live::fanout::LISTENERS_FRESH_FOR;
use meetin_live::{AudioIn, MAX_CONNECTIONS_PER_MEETING, MAX_CONNECTIONS_PER_USER};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::latency::segment_chunk;
use super::stack::{Org, Stack};
use crate::load::Stats;

/// Sockets opened at once while the listeners join.
const CONNECTING_AT_ONCE: usize = 8;

/// Tries per listener socket: a `$connect` the emulator failed is tried again, as a client
/// would.
const CONNECT_TRIES: usize = 5;

/// How long one final may take to reach everyone before the run gives up on it.
const FINAL_TIMEOUT: Duration = Duration::from_secs(15);

/// One listener count.
pub struct Row {
    pub listeners: usize,
    /// Joining them all (each `$connect`: token, membership, the caps read from DynamoDB,
    /// the registration).
    pub joined_in: Duration,
    /// `$connect`s refused and tried again (the emulator's 500s).
    pub connect_retries: usize,
    /// Reading the meeting's listener list alone (`ConnectionStore::of_meeting`), 10 times.
    pub list_read: Vec<Duration>,
    pub first: Vec<Duration>,
    pub last: Vec<Duration>,
    pub spread: Vec<Duration>,
    /// Finals that did not reach every listener within [`FINAL_TIMEOUT`].
    pub incomplete: usize,
}

impl Row {
    /// Chunk → last receipt of the finals pushed with the listener list in hand (their first
    /// receipt came before half a list read alone would take), and how many read it first.
    pub fn cached(&self) -> (Vec<Duration>, usize) {
        let read = Stats::of(&self.list_read).map_or(Duration::ZERO, |s| s.p50);
        let mut cached = Vec::new();
        let mut reread = 0;
        for (first, last) in self.first.iter().zip(&self.last) {
            if *first < read / 2 {
                cached.push(*last);
            } else {
                reread += 1;
            }
        }
        (cached, reread)
    }
}

/// Members needed for `listeners` sockets within the per-user cap.
pub fn members_for(listeners: usize) -> usize {
    listeners.div_ceil(MAX_CONNECTIONS_PER_USER)
}

/// Each of `counts`, `segments` finals (after `warmup` more), at most one per `interval`.
pub async fn bench(
    stack: &Stack,
    counts: &[usize],
    segments: usize,
    warmup: usize,
    interval: Duration,
) -> anyhow::Result<Vec<Row>> {
    let most = counts.iter().copied().max().unwrap_or(0);
    if most > MAX_CONNECTIONS_PER_MEETING {
        bail!("--listeners: at most {MAX_CONNECTIONS_PER_MEETING} a meeting (the cap)");
    }
    let org = Org::create(&stack.service, "live-fanout", members_for(most)).await?;
    let outcome = async {
        let mut rows = Vec::new();
        for &n in counts {
            rows.push(
                run(stack, &org, n, segments, warmup, interval)
                    .await
                    .with_context(|| format!("fan-out to {n} listeners"))?,
            );
        }
        anyhow::Ok(rows)
    }
    .await;
    org.delete(&stack.service.pool).await;
    outcome
}

async fn run(
    stack: &Stack,
    org: &Org,
    n: usize,
    segments: usize,
    warmup: usize,
    interval: Duration,
) -> anyhow::Result<Row> {
    let pool = &stack.service.pool;
    let meeting = org.meetings(pool, 1).await?[0];
    let session = stack.start_session(org.owner.id, meeting).await?;
    // Joined without the emulator's transactions (`join`): 1,000 could not be otherwise.
    stack.bulk.meeting(meeting);

    // Every listener's reader sends (chunk, when) here.
    let (heard_tx, mut heard) = mpsc::unbounded_channel::<(i64, Instant)>();
    let started = Instant::now();
    let tokens: Vec<String> = (0..n)
        .map(|i| org.members[i / MAX_CONNECTIONS_PER_USER].token.clone())
        .collect();
    let opened: Vec<(usize, anyhow::Result<_>)> = futures_util::stream::iter(tokens)
        .map(|token| async move {
            let mut retries = 0;
            loop {
                match stack.gateway(meeting, &token).await {
                    Err(_) if retries + 1 < CONNECT_TRIES => {
                        retries += 1;
                        tokio::time::sleep(Duration::from_millis(50 * retries as u64)).await;
                    }
                    outcome => return (retries, outcome),
                }
            }
        })
        .buffer_unordered(CONNECTING_AT_ONCE)
        .collect()
        .await;
    let joined_in = started.elapsed();
    let connect_retries = opened.iter().map(|(r, _)| r).sum();
    let mut closers = Vec::with_capacity(n);
    let mut readers = Vec::with_capacity(n);
    for (_, socket) in opened {
        let (sink, mut incoming) = socket?.split();
        closers.push(sink);
        let heard_tx = heard_tx.clone();
        readers.push(tokio::spawn(async move {
            while let Some(Ok(message)) = incoming.next().await {
                let at = Instant::now();
                if let Message::Text(text) = message
                    && let Some(chunk) = segment_chunk(text.as_str())
                {
                    let _ = heard_tx.send((chunk, at));
                }
            }
        }));
    }
    drop(heard_tx);
    eprintln!(
        "[bench] live fan-out: {n} listeners joined in {:.1} s ({connect_retries} retried)",
        joined_in.as_secs_f64()
    );
    let ephemeral = &stack.service.ephemeral;
    let store = meetin_aws::ConnectionStore::new(ephemeral.client().clone(), ephemeral.table());
    let mut list_read = Vec::with_capacity(10);
    for _ in 0..10 {
        let started = Instant::now();
        let listed = store.of_meeting(meeting).await?.len();
        list_read.push(started.elapsed());
        if listed != n {
            bail!("{listed} listeners registered, not {n}");
        }
    }
    // The session's listener list, read when it started, is read again once this old.
    tokio::time::sleep(LISTENERS_FRESH_FOR + Duration::from_millis(500)).await;

    let pcm = meetin_test_support::fake_deepgram_live::tone_pcm(256, 16_000);
    let data = base64::engine::general_purpose::STANDARD.encode(&pcm);
    let mut row = Row {
        listeners: n,
        joined_in,
        connect_retries,
        list_read,
        first: Vec::new(),
        last: Vec::new(),
        spread: Vec::new(),
        incomplete: 0,
    };
    // Receipts of chunks not yet complete (a late one of an earlier chunk is dropped).
    let mut pending: HashMap<i64, (usize, Instant, Instant)> = HashMap::new();
    let mut tick = tokio::time::interval(interval);
    for seq in 0..(warmup + segments) as u64 {
        tick.tick().await;
        let chunk = AudioIn {
            meeting_id: meeting,
            session_id: session,
            connection_id: "bench-speaker".to_owned(),
            user_id: org.owner.id,
            stream: Some("mic".to_owned()),
            seq,
            data: data.clone(),
            take_over_from: None,
        };
        let sent = Instant::now();
        stack
            .relay
            .audio(&stack.relay_url, &chunk)
            .await
            .context("relaying a chunk")?;
        let key = seq as i64;
        let deadline = tokio::time::Instant::now() + FINAL_TIMEOUT;
        let complete = loop {
            if pending.get(&key).is_some_and(|(count, _, _)| *count >= n) {
                break true;
            }
            match tokio::time::timeout_at(deadline, heard.recv()).await {
                Ok(Some((chunk, at))) if chunk >= key => {
                    let entry = pending.entry(chunk).or_insert((0, at, at));
                    entry.0 += 1;
                    entry.1 = entry.1.min(at);
                    entry.2 = entry.2.max(at);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break false,
            }
        };
        let Some((_, first, last)) = pending.remove(&key) else {
            row.incomplete += usize::from(seq as usize >= warmup);
            continue;
        };
        if seq as usize >= warmup {
            if complete {
                row.first.push(first.saturating_duration_since(sent));
                row.last.push(last.saturating_duration_since(sent));
                row.spread.push(last.saturating_duration_since(first));
            } else {
                row.incomplete += 1;
            }
        }
    }

    let stop = meetin_live::StopSession {
        meeting_id: meeting,
        session_id: session,
    };
    if let Err(err) = stack.relay.stop(&stack.relay_url, &stop).await {
        eprintln!("[bench] live: stopping the fan-out session: {err}");
    }
    meetin_data::live_sessions::stop_active(pool, org.owner.id, meeting).await?;
    // Closed properly, so each `$disconnect` forgets its connection before the next run.
    futures_util::stream::iter(closers)
        .for_each_concurrent(CONNECTING_AT_ONCE, |mut sink| async move {
            let _ = sink.close().await;
        })
        .await;
    for reader in &readers {
        reader.abort();
    }
    // Let the `$disconnect`s finish before the next part opens sockets of its own.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(row)
}
