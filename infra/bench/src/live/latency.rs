//! Added latency: a chunk of audio sent by the speaker → the `transcript_segment` of its
//! words received by a listener, with a Deepgram that answers every frame at once (so what is
//! measured is the path, not the recognizer). Each chunk's final covers exactly its 256 ms of
//! audio, so a segment's `start_ms` names its chunk (`seq × 256`).
//!
//! Two runs, each on a meeting of its own with one speaker and two listeners (one of each kind,
//! a member other than the speaker):
//! - **API Gateway form**: the speaker sends `audio_chunk` text frames on `/ws` (the stand-in
//!   invokes `live-socket`, which relays each chunk to the bridge's relay API);
//! - **legacy binary form**: the speaker sends binary PCM frames on the bridge's own
//!   `/ws/meetings/{id}/live/` (no relay hop).
//!
//! The speaker sends at real-time pace (one 8,192-byte chunk every 256 ms); the first
//! `warmup` chunks are not counted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use live_bridge::live::fanout::LISTENERS_FRESH_FOR;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::stack::{Org, Socket, Stack};

/// Audio per chunk: 8,192 bytes of PCM16 mono 16 kHz, what the frontend sends.
pub const CHUNK_BYTES: usize = 8192;

/// Milliseconds of audio per chunk.
pub const CHUNK_MS: i64 = 256;

/// How the speaker sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `audio_chunk` JSON on API Gateway's `/ws`.
    Gateway,
    /// Binary frames on the bridge's `/ws/meetings/{id}/live/`.
    Legacy,
}

impl Form {
    pub fn label(self) -> &'static str {
        match self {
            Self::Gateway => "API Gateway `/ws` (`audio_chunk` JSON)",
            Self::Legacy => "legacy `/ws/meetings/{id}/live/` (binary)",
        }
    }

    fn listener_label(self) -> &'static str {
        match self {
            Self::Gateway => "API Gateway `/ws` (pushed through `@connections`)",
            Self::Legacy => "legacy socket (the bridge's own)",
        }
    }
}

/// One speaker form × listener form.
pub struct Row {
    pub speaker: Form,
    pub listener: Form,
    /// Chunk sent → its segment received, one per counted chunk received.
    pub latencies: Vec<Duration>,
    /// Counted chunks whose segment never came (within 5 s of the last send).
    pub missing: usize,
    /// `error` frames the speaker got (the first one's text in `first_error`).
    pub errors: usize,
    pub first_error: Option<String>,
}

/// The round trips a chunk's way is made of, timed alone in the same run: a DynamoDB
/// `GetItem` on the emulator and a PostgreSQL `SELECT 1`, [`ROUND_TRIPS`] of each.
pub struct RoundTrips {
    pub dynamodb: Vec<Duration>,
    pub postgres: Vec<Duration>,
}

/// Round trips timed per kind.
pub const ROUND_TRIPS: usize = 100;

/// Both runs, then the round trips.
pub async fn bench(
    stack: &Stack,
    chunks: usize,
    warmup: usize,
) -> anyhow::Result<(Vec<Row>, RoundTrips)> {
    let org = Org::create(&stack.service, "live-latency", 1).await?;
    let outcome = async {
        let mut rows = Vec::new();
        for form in [Form::Gateway, Form::Legacy] {
            rows.extend(run(stack, &org, form, chunks, warmup).await?);
        }
        anyhow::Ok(rows)
    }
    .await;
    org.delete(&stack.service.pool).await;
    Ok((outcome?, round_trips(stack).await?))
}

async fn round_trips(stack: &Stack) -> anyhow::Result<RoundTrips> {
    let ephemeral = &stack.service.ephemeral;
    let connections =
        meetin_aws::ConnectionStore::new(ephemeral.client().clone(), ephemeral.table());
    let mut trips = RoundTrips {
        dynamodb: Vec::with_capacity(ROUND_TRIPS),
        postgres: Vec::with_capacity(ROUND_TRIPS),
    };
    for _ in 0..ROUND_TRIPS {
        let started = Instant::now();
        connections.get("bench-nobody").await?;
        trips.dynamodb.push(started.elapsed());
        let started = Instant::now();
        sqlx::query("SELECT 1").execute(&stack.service.pool).await?;
        trips.postgres.push(started.elapsed());
    }
    Ok(trips)
}

/// Arrival times of each chunk's segment on one listener.
type Heard = Arc<Mutex<HashMap<i64, Instant>>>;

/// Reads `socket` until it ends, noting when each chunk's segment arrived.
fn listen(mut socket: Socket) -> (Heard, tokio::task::JoinHandle<()>) {
    let heard: Heard = Arc::default();
    let noted = Arc::clone(&heard);
    let task = tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            let at = Instant::now();
            let Message::Text(text) = message else {
                continue;
            };
            if let Some(chunk) = segment_chunk(text.as_str()) {
                noted
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(chunk)
                    .or_insert(at);
            }
        }
    });
    (heard, task)
}

/// The chunk a `transcript_segment` frame is of (its `start_ms` / 256), if it is one.
pub fn segment_chunk(text: &str) -> Option<i64> {
    // Cheap test first: most frames a listener gets are segments here, but not all.
    if !text.contains("transcript_segment") {
        return None;
    }
    let value: Value = serde_json::from_str(text).ok()?;
    if value["type"] != "transcript_segment" {
        return None;
    }
    let start = value["data"]["start_ms"].as_i64()?;
    Some((start + CHUNK_MS / 2) / CHUNK_MS)
}

async fn run(
    stack: &Stack,
    org: &Org,
    form: Form,
    chunks: usize,
    warmup: usize,
) -> anyhow::Result<Vec<Row>> {
    let pool = &stack.service.pool;
    let meeting = org.meetings(pool, 1).await?[0];
    let session = stack.start_session(org.owner.id, meeting).await?;
    let listener = &org.members[0];
    let listeners = [
        (
            Form::Gateway,
            stack.gateway(meeting, &listener.token).await?,
        ),
        (Form::Legacy, stack.legacy(meeting, &listener.token).await?),
    ];
    let listening: Vec<(Form, Heard, tokio::task::JoinHandle<()>)> = listeners
        .into_iter()
        .map(|(kind, socket)| {
            let (heard, task) = listen(socket);
            (kind, heard, task)
        })
        .collect();
    let speaker = match form {
        Form::Gateway => stack.gateway(meeting, &org.owner.token).await?,
        Form::Legacy => stack.legacy(meeting, &org.owner.token).await?,
    };
    let (mut sink, mut incoming) = speaker.split();
    // The speaker's own frames (its segments, acks, errors) are read and its errors kept.
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let kept = Arc::clone(&errors);
    let speaker_reader = tokio::spawn(async move {
        while let Some(Ok(message)) = incoming.next().await {
            if let Message::Text(text) = message
                && text.as_str().contains(r#""type":"error""#)
            {
                kept.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(text.as_str().to_owned());
            }
        }
    });

    // The session read its (empty) listener list when it started, and reads it again once
    // that is this old: a final before then would miss the listeners that joined since.
    tokio::time::sleep(LISTENERS_FRESH_FOR + Duration::from_millis(500)).await;
    let pcm = meetin_test_support::fake_deepgram_live::tone_pcm(256, 16_000);
    debug_assert_eq!(pcm.len(), CHUNK_BYTES);
    let data = base64::engine::general_purpose::STANDARD.encode(&pcm);
    let total = warmup + chunks;
    let mut sent: Vec<Instant> = Vec::with_capacity(total);
    let mut tick = tokio::time::interval(Duration::from_millis(CHUNK_MS as u64));
    for seq in 0..total {
        tick.tick().await;
        let frame = match form {
            Form::Gateway => Message::text(
                json!({"type": "audio_chunk", "seq": seq, "stream": "mic", "data": data})
                    .to_string(),
            ),
            Form::Legacy => Message::binary(pcm.clone()),
        };
        sent.push(Instant::now());
        sink.send(frame)
            .await
            .context("the speaker sending audio")?;
    }
    // The last segments arrive within milliseconds; 5 s is for a stalled run.
    let last = (total - 1) as i64;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline
        && !listening.iter().all(|(_, heard, _)| {
            heard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains_key(&last)
        })
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let stop = meetin_live::StopSession {
        meeting_id: meeting,
        session_id: session,
    };
    if let Err(err) = stack.relay.stop(&stack.relay_url, &stop).await {
        eprintln!("[bench] live: stopping the latency session: {err}");
    }
    meetin_data::live_sessions::stop_active(pool, org.owner.id, meeting).await?;
    let _ = sink.close().await;
    speaker_reader.abort();
    let errors = errors
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut rows = Vec::new();
    for (kind, heard, task) in listening {
        task.abort();
        let heard = heard.lock().unwrap_or_else(PoisonError::into_inner);
        let mut latencies = Vec::with_capacity(chunks);
        let mut missing = Vec::new();
        for (seq, at) in sent.iter().enumerate().skip(warmup) {
            match heard.get(&(seq as i64)) {
                Some(received) => latencies.push(received.saturating_duration_since(*at)),
                None => missing.push(seq),
            }
        }
        if !missing.is_empty() {
            let mut keys: Vec<&i64> = heard.keys().collect();
            keys.sort();
            eprintln!(
                "[bench] live latency: no segment for chunks {missing:?} on the {} listener (heard: {keys:?})",
                kind.listener_label()
            );
        }
        let missing = missing.len();
        rows.push(Row {
            speaker: form,
            listener: kind,
            latencies,
            missing,
            errors: errors.len(),
            first_error: errors.first().cloned(),
        });
    }
    eprintln!(
        "[bench] live latency: {} speaker, {total} chunks sent, meeting {meeting}",
        form.label()
    );
    Ok(rows)
}

impl Row {
    pub fn listener_label(&self) -> &'static str {
        self.listener.listener_label()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_names_its_chunk_and_other_frames_none() {
        let segment = |start: i64| {
            json!({"type": "transcript_segment", "data": {"start_ms": start, "end_ms": start + 256}})
                .to_string()
        };
        assert_eq!(segment_chunk(&segment(0)), Some(0));
        assert_eq!(segment_chunk(&segment(768)), Some(3));
        // A word a little after the chunk's start still names it.
        assert_eq!(segment_chunk(&segment(770)), Some(3));
        let interim = json!({"type": "transcript_interim", "data": {"start_ms": 0}}).to_string();
        assert_eq!(segment_chunk(&interim), None);
        assert_eq!(segment_chunk(r#"{"type":"audio_ack","seq":3}"#), None);
    }
}
