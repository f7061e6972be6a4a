//! One live session on the task that owns it: the speaker's audio put back in order and
//! streamed to the engine, the finals stored and pushed, interims pushed, the stream kept
//! alive, restored when it drops, and closed cleanly on stop.
//!
//! ```text
//! relay ──Audio{stream, seq, pcm}──► reorder (per stream) ──► engine stream ──► finals ──► store ──► push
//!                                        │                        ▲    └──► interims ─────────────► push
//!                                        └──► replay buffer ──────┘ (resent after a reconnection)
//! ```
//!
//! Time is session audio time: the sum of the audio accepted, in ms. Each engine stream
//! starts at some session time (its offset); after a drop the new one starts where the last
//! final window ended and is sent the audio from there again, and words already stored are
//! dropped ([`super::engine`]), so no final is lost and none is stored twice.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use meetin_aws::{Checkpoint, Checkpointed, LiveRoutes};
use meetin_data::live_sessions::{self, BridgeSession};
use meetin_data::transcripts::SegmentRow;
use meetin_messages::socket::{
    InterimSegmentData, ServerMessage, SessionStatus, TranscriptSegmentData,
};
use meetin_messages::transcript::Segment;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::engine::{Engine, EngineEvent, EngineEvents, EngineStream};
use super::fanout::{Fanout, Target};

/// Bytes of audio per ms (PCM16 mono 16 kHz).
pub const BYTES_PER_MS: i64 = 32;

/// Chunks held while waiting for a missing `seq` (API Gateway invokes the relay
/// concurrently, so chunks may arrive out of order); past it, or after [`GAP_WAIT`], the
/// missing ones are skipped.
pub const REORDER_WINDOW: u64 = 64;

/// How long a missing chunk is waited for before it is skipped.
pub const GAP_WAIT: Duration = Duration::from_secs(4);

/// How long a missing chunk is waited for before a resumable client is asked to send it
/// again (`audio_resend`): an invocation of the relay may have failed.
pub const GAP_RESEND_AFTER: Duration = Duration::from_secs(1);

/// How long a stream must have been silent before another stream may take over the session.
pub const SPEAKER_HANDOVER: Duration = Duration::from_secs(3);

/// Audio kept for resending after a reconnection: from the end of the last final window,
/// at most this much (ms); older audio is dropped (its words may be lost if the stream
/// drops before Deepgram finalizes them, which it does within seconds).
pub const REPLAY_MS: i64 = 60_000;

/// KeepAlive when no audio has been sent for this long (Deepgram closes after 10 s).
pub const KEEP_ALIVE_AFTER: Duration = Duration::from_secs(4);

/// Audio accepted may run ahead of the wall clock by this factor (Deepgram takes at most
/// about 1.25× real time) plus [`RATE_BURST_MS`] (a resend after a reconnection).
pub const MAX_RATE: f64 = 1.25;

/// See [`MAX_RATE`].
pub const RATE_BURST_MS: i64 = 30_000;

/// No result for this long while audio flows: listeners are told, and the stream replaced.
pub const STALL_AFTER: Duration = Duration::from_secs(15);

/// Reconnection delays, the last repeated.
const BACKOFF_MS: [u64; 6] = [100, 250, 500, 1_000, 2_000, 5_000];

/// After this long without a stream, listeners are told it cannot be restored (it is still
/// retried).
pub const GIVE_UP_NOTICE: Duration = Duration::from_secs(30);

/// At stop, audio still in flight (sent before the stop, relayed after it) is taken until none
/// has come for this long…
pub const SETTLE_QUIET: Duration = Duration::from_millis(500);

/// …or for at most this long.
pub const SETTLE_MAX: Duration = Duration::from_secs(3);

/// How long a stop waits at most for the last finals from Deepgram (they come within a
/// second, before the close that ends the wait).
pub const FLUSH_WAIT: Duration = Duration::from_secs(10);

/// How long a stop waits for the keyless engine's last chunks (whisper.cpp takes 1 to 8 s a
/// chunk on 2 cores, docs/benchmarks.md); under `meetin_live::STOP_TIMEOUT`.
pub const FLUSH_WAIT_WHISPER: Duration = Duration::from_secs(20);

/// A chunk, as relayed.
#[derive(Debug)]
pub struct Chunk {
    /// The stream's name: the client's, or its connection id.
    pub stream: String,
    pub connection: String,
    /// Whether the sender can be answered (an API Gateway or resumable client: it gets
    /// acknowledgements and resend requests).
    pub acknowledged: bool,
    pub seq: u64,
    pub pcm: Bytes,
}

/// Why a chunk was refused: the `error` message for its sender.
pub type AudioRefusal = &'static str;

pub const ANOTHER_SPEAKER: &str =
    "Another participant is already streaming audio for this meeting.";
pub const TOO_FAST: &str = "Audio is arriving faster than real time.";
pub const INVALID_SEQ: &str = "Invalid seq";
pub const INVALID_DATA: &str = "Invalid data";

/// What a session is asked.
#[derive(Debug)]
pub enum Command {
    Audio {
        chunk: Chunk,
        reply: oneshot::Sender<Result<(), AudioRefusal>>,
    },
    /// Send `connection` the finals after a segment or time, before anything newer.
    Resume {
        connection: String,
        after_segment_id: Option<Uuid>,
        after_ms: Option<i64>,
    },
    /// Finish: flush, store, tell listeners; answered once done.
    Stop { reply: oneshot::Sender<()> },
}

/// A running session's handle.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    pub session: Uuid,
    pub meeting: Uuid,
    pub commands: mpsc::Sender<Command>,
    /// The session's task, for [`super::Live::crash`].
    pub task: tokio::task::AbortHandle,
}

/// What a session needs from its task.
#[derive(Clone, Debug)]
pub struct SessionDeps {
    pub pool: PgPool,
    pub routes: LiveRoutes,
    pub engine: Engine,
    /// This task's id (the route's owner).
    pub task_id: String,
    pub fanout: Fanout,
    /// Where the post-meeting copilot run is queued at stop (`COPILOT_QUEUE_URL`); `None`:
    /// not queued (the copilot issue adds the queue and its worker).
    pub copilot: Option<meetin_aws::JobQueue<meetin_messages::jobs::RunCopilot>>,
}

/// The speaking stream.
#[derive(Debug)]
struct Speaker {
    stream: String,
    connection: String,
    acknowledged: bool,
    next_seq: u64,
    pending: BTreeMap<u64, Bytes>,
    gap_since: Option<Instant>,
    last_chunk_at: Instant,
    /// The last `seq` acknowledged to the client.
    acked: Option<u64>,
    /// Whether the client was asked to resend the current gap.
    gap_resend_asked: bool,
}

/// One accepted chunk's place in session time.
#[derive(Debug, Clone)]
struct Placed {
    stream: String,
    seq: u64,
    start_ms: i64,
    pcm: Bytes,
}

impl Placed {
    fn end_ms(&self) -> i64 {
        self.start_ms + self.pcm.len() as i64 / BYTES_PER_MS
    }
}

struct State {
    deps: SessionDeps,
    row: BridgeSession,
    /// Session audio accepted so far (ms): where the next chunk starts.
    audio_ms: i64,
    /// Stored finals end here (ms); words ending before are never stored again.
    stored_through_ms: i64,
    /// The last final window ends here (ms): audio before it is transcribed.
    final_through_ms: i64,
    speaker: Option<Speaker>,
    /// Accepted chunks not yet behind `final_through_ms`: resent after a reconnection, and
    /// the source of checkpoints.
    replay: VecDeque<Placed>,
    stream: Option<EngineStream>,
    /// When the stream was lost (for the notice), and when to try again.
    lost_since: Option<Instant>,
    retry_at: Option<Instant>,
    attempt: usize,
    told_unrestorable: bool,
    last_sent_at: Instant,
    last_result_at: Instant,
    /// When this task accepted its first chunk, and the session time then (the rate cap).
    first_audio_at: Option<(Instant, i64)>,
    /// A checkpoint to save (throttled to one a second).
    checkpoint_due: Option<Checkpoint>,
    checkpoint_saved_at: Instant,
    /// Finals that could not be stored yet (the database was unreachable): retried.
    unstored: Vec<Segment>,
    lost: bool,
    /// A stream whose chunks start past the reorder window is joined where it is (once):
    /// after a takeover with no checkpoint, the speaker's numbering is already under way.
    adopt_stream: bool,
}

/// Starts serving `row`: opens the engine stream (an error when it cannot be opened: the
/// start is refused), resuming from `checkpoint` when `taken_over` from a dead task.
pub async fn start(
    deps: SessionDeps,
    row: BridgeSession,
    checkpoint: Option<Checkpoint>,
    taken_over: bool,
) -> Result<SessionHandle, meetin_deepgram::DeepgramError> {
    // Taken over before any checkpoint: the speaker's stream is joined wherever it is.
    let adopt_stream = taken_over && checkpoint.is_none();
    let stored_through_ms = i64::from(row.persisted_through_ms);
    let audio_ms = checkpoint
        .as_ref()
        .map_or(stored_through_ms, |c| c.audio_ms.max(stored_through_ms));
    let (stream, events) = deps.engine.open(row.language_preference, audio_ms).await?;
    let (commands, inbox) = mpsc::channel(256);
    let (session, meeting) = (row.id, row.meeting_id);
    let speaker = checkpoint.map(|c| Speaker {
        stream: c.stream,
        connection: String::new(),
        acknowledged: true,
        next_seq: c.seq + 1,
        pending: BTreeMap::new(),
        gap_since: None,
        last_chunk_at: Instant::now(),
        acked: Some(c.seq),
        gap_resend_asked: false,
    });
    let now = Instant::now();
    let state = State {
        deps,
        row,
        audio_ms,
        stored_through_ms,
        final_through_ms: audio_ms,
        speaker,
        replay: VecDeque::new(),
        stream: Some(stream),
        lost_since: None,
        retry_at: None,
        attempt: 0,
        told_unrestorable: false,
        last_sent_at: now,
        last_result_at: now,
        first_audio_at: None,
        checkpoint_due: None,
        checkpoint_saved_at: now,
        unstored: Vec::new(),
        lost: false,
        adopt_stream,
    };
    let task = tokio::spawn(run(state, Some(events), inbox)).abort_handle();
    Ok(SessionHandle {
        session,
        meeting,
        commands,
        task,
    })
}

async fn next_event(events: &mut Option<EngineEvents>, through: i64) -> Option<EngineEvent> {
    match events {
        Some(events) => events.next(through).await,
        None => std::future::pending().await,
    }
}

async fn run(
    mut state: State,
    mut events: Option<EngineEvents>,
    mut inbox: mpsc::Receiver<Command>,
) {
    state.status(SessionStatus::Active, "Live transcription is running.");
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            event = next_event(&mut events, state.stored_through_ms) => match event {
                Some(event) => {
                    if let EngineEvent::Closed(info) = &event {
                        tracing::warn!(session = %state.row.id, code = info.code, reason = %info.reason, "engine stream closed; restoring it");
                        events = None;
                        state.stream_lost().await;
                    } else {
                        state.on_event(event).await;
                    }
                }
                None => {
                    events = None;
                    state.stream_lost().await;
                }
            },
            command = inbox.recv() => match command {
                Some(Command::Audio { chunk, reply }) => {
                    let answer = state.on_chunk(chunk).await;
                    let _ = reply.send(answer);
                }
                Some(Command::Resume { connection, after_segment_id, after_ms }) => {
                    state.resume(connection, after_segment_id, after_ms).await;
                }
                Some(Command::Stop { reply }) => {
                    let mut replies = vec![reply];
                    state.settle(&mut inbox, &mut replies).await;
                    state.stop(events.take()).await;
                    for reply in replies {
                        let _ = reply.send(());
                    }
                    return;
                }
                None => {
                    state.stop(events.take()).await;
                    return;
                }
            },
            _ = tick.tick() => {
                if let Some(new_events) = state.on_tick().await {
                    events = Some(new_events);
                }
                if state.lost {
                    tracing::warn!(session = %state.row.id, "another task serves this session now; stopping here");
                    if let Some(stream) = state.stream.as_mut() {
                        stream.abandon().await;
                    }
                    return;
                }
            }
        }
    }
}

impl State {
    fn status(&self, status: SessionStatus, message: &str) {
        let text = ServerMessage::SessionStatus {
            status,
            message: message.to_owned(),
        }
        .to_text();
        self.deps.fanout.send(Target::Meeting, text);
    }

    fn tell(&self, connection: &str, message: ServerMessage) {
        self.deps
            .fanout
            .send(Target::Connection(connection.to_owned()), message.to_text());
    }

    /// Accepts, holds or refuses one chunk.
    async fn on_chunk(&mut self, chunk: Chunk) -> Result<(), AudioRefusal> {
        if !chunk.pcm.len().is_multiple_of(2) {
            return Err(INVALID_DATA);
        }
        let now = Instant::now();
        let same_stream = self
            .speaker
            .as_ref()
            .is_some_and(|s| s.stream == chunk.stream);
        if !same_stream {
            // A new stream starts at 0; a chunk it could never use changes nothing.
            if chunk.seq >= REORDER_WINDOW && !self.adopt_stream {
                return Err(INVALID_SEQ);
            }
            if let Some(current) = &self.speaker
                && current.last_chunk_at.elapsed() < SPEAKER_HANDOVER
                && !current.connection.is_empty()
            {
                return Err(ANOTHER_SPEAKER);
            }
            // After a takeover with no checkpoint, the stream is joined at the first chunk
            // that comes (earlier ones are lost with the dead task).
            let next_seq = if self.adopt_stream { chunk.seq } else { 0 };
            self.adopt_stream = false;
            self.speaker = Some(Speaker {
                stream: chunk.stream.clone(),
                connection: chunk.connection.clone(),
                acknowledged: chunk.acknowledged,
                next_seq,
                pending: BTreeMap::new(),
                gap_since: None,
                last_chunk_at: now,
                acked: None,
                gap_resend_asked: false,
            });
        }
        let Some(speaker) = self.speaker.as_mut() else {
            return Ok(());
        };
        // A reconnected client speaks through its new connection. After a takeover the
        // speaker's connection is not known until its first chunk: if chunks are missing
        // since the checkpoint, it is asked to send them again.
        let resumed = speaker.connection.is_empty();
        speaker.connection = chunk.connection;
        if resumed && chunk.acknowledged && chunk.seq > speaker.next_seq {
            let resend = ServerMessage::AudioResend {
                stream: speaker.stream.clone(),
                from_seq: speaker.next_seq,
            };
            let connection = speaker.connection.clone();
            self.tell(&connection, resend);
        }
        let Some(speaker) = self.speaker.as_mut() else {
            return Ok(());
        };
        speaker.acknowledged = chunk.acknowledged;
        speaker.last_chunk_at = now;
        if chunk.seq < speaker.next_seq || speaker.pending.contains_key(&chunk.seq) {
            // Sent again (a resend after a reconnection): already in hand.
            return Ok(());
        }
        if chunk.seq >= speaker.next_seq + REORDER_WINDOW {
            return Err(INVALID_SEQ);
        }
        let (first, audio_at_first) = *self.first_audio_at.get_or_insert((now, self.audio_ms));
        let allowed = (first.elapsed().as_millis() as f64 * MAX_RATE) as i64 + RATE_BURST_MS;
        if self.audio_ms - audio_at_first > allowed {
            return Err(TOO_FAST);
        }
        speaker.pending.insert(chunk.seq, chunk.pcm);
        self.drain(false).await;
        Ok(())
    }

    /// Sends the in-order chunks on; with `skip_gap`, jumps over a missing one first.
    async fn drain(&mut self, skip_gap: bool) {
        let mut ready = Vec::new();
        if let Some(speaker) = self.speaker.as_mut() {
            if skip_gap && let Some((&first, _)) = speaker.pending.first_key_value() {
                tracing::info!(stream = %speaker.stream, from = speaker.next_seq, to = first, "skipping missing audio chunks");
                speaker.next_seq = first;
            }
            while let Some(pcm) = speaker.pending.remove(&speaker.next_seq) {
                ready.push((speaker.stream.clone(), speaker.next_seq, pcm));
                speaker.next_seq += 1;
            }
            if speaker.pending.is_empty() {
                speaker.gap_since = None;
                speaker.gap_resend_asked = false;
            } else if speaker.gap_since.is_none() {
                speaker.gap_since = Some(Instant::now());
            }
        }
        for (stream, seq, pcm) in ready {
            let placed = Placed {
                stream,
                seq,
                start_ms: self.audio_ms,
                pcm,
            };
            self.audio_ms = placed.end_ms();
            self.send(placed.pcm.clone()).await;
            self.replay.push_back(placed);
        }
        // Bound the replay buffer.
        while self
            .replay
            .front()
            .is_some_and(|p| self.audio_ms - p.start_ms > REPLAY_MS)
        {
            self.replay.pop_front();
        }
    }

    async fn send(&mut self, pcm: Bytes) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        if pcm.is_empty() {
            return;
        }
        if let Err(error) = stream.send_audio(pcm).await {
            tracing::warn!(session = %self.row.id, error = %error, "sending audio failed; restoring the stream");
            self.stream_lost().await;
            return;
        }
        self.last_sent_at = Instant::now();
    }

    async fn on_event(&mut self, event: EngineEvent) {
        self.last_result_at = Instant::now();
        match event {
            EngineEvent::Interim(segments) => {
                for segment in segments {
                    let message = ServerMessage::TranscriptInterim {
                        data: InterimSegmentData {
                            speaker_label: segment.speaker_label,
                            speaker_display_name: None,
                            text: segment.text,
                            confidence: segment.confidence,
                            start_ms: segment.start_ms,
                            end_ms: segment.end_ms,
                            timestamp: meetin_vocab::drf::DateTime(chrono::Utc::now()),
                        },
                    };
                    self.deps.fanout.send(Target::Meeting, message.to_text());
                }
            }
            EngineEvent::Final {
                segments,
                through_ms,
            } => {
                self.unstored.extend(segments);
                self.store().await;
                self.final_through_ms = self.final_through_ms.max(through_ms);
                self.advance_checkpoint();
            }
            EngineEvent::Closed(_) => {}
        }
    }

    /// Stores the finals in hand and pushes them; on failure they stay in hand.
    async fn store(&mut self) {
        if self.unstored.is_empty() {
            return;
        }
        let rows = match live_sessions::store_finals(
            &self.deps.pool,
            self.row.meeting_id,
            self.row.transcript_id,
            &self.unstored,
        )
        .await
        {
            Ok(rows) => rows,
            Err(error) => {
                tracing::error!(session = %self.row.id, error = %error, "storing finals failed; kept to retry");
                return;
            }
        };
        self.unstored.clear();
        for row in rows {
            self.stored_through_ms = self.stored_through_ms.max(i64::from(row.end_ms));
            self.deps
                .fanout
                .send(Target::Meeting, segment_message(row).to_text());
        }
    }

    /// Moves the checkpoint to the last chunk wholly behind the last final window, and
    /// acknowledges it to the speaker.
    fn advance_checkpoint(&mut self) {
        if !self.unstored.is_empty() {
            return;
        }
        let mut last = None;
        while let Some(front) = self.replay.front() {
            if front.end_ms() > self.final_through_ms {
                break;
            }
            last = self.replay.pop_front();
        }
        let Some(last) = last else {
            return;
        };
        let audio_ms = last.end_ms();
        self.checkpoint_due = Some(Checkpoint {
            stream: last.stream,
            seq: last.seq,
            audio_ms,
        });
    }

    async fn save_checkpoint(&mut self) {
        let Some(checkpoint) = self.checkpoint_due.take() else {
            return;
        };
        self.checkpoint_saved_at = Instant::now();
        match self
            .deps
            .routes
            .checkpoint(
                self.row.meeting_id,
                self.row.id,
                &self.deps.task_id,
                &checkpoint,
            )
            .await
        {
            Ok(Checkpointed::Saved) => {}
            Ok(Checkpointed::Lost) => {
                self.lost = true;
                return;
            }
            Err(error) => {
                tracing::warn!(error = %error, "saving the checkpoint failed");
                self.checkpoint_due = Some(checkpoint);
                return;
            }
        }
        if let Some(speaker) = self.speaker.as_mut()
            && speaker.stream == checkpoint.stream
            && speaker.acknowledged
            && !speaker.connection.is_empty()
            && speaker.acked.is_none_or(|a| a < checkpoint.seq)
        {
            speaker.acked = Some(checkpoint.seq);
            let connection = speaker.connection.clone();
            self.tell(
                &connection,
                ServerMessage::AudioAck {
                    stream: checkpoint.stream,
                    seq: checkpoint.seq,
                },
            );
        }
    }

    async fn stream_lost(&mut self) {
        if let Some(mut stream) = self.stream.take() {
            stream.abandon().await;
        }
        if self.lost_since.is_none() {
            self.lost_since = Some(Instant::now());
            self.attempt = 0;
            self.retry_at = Some(Instant::now() + Duration::from_millis(BACKOFF_MS[0]));
            self.status(
                SessionStatus::Reconnecting,
                "The transcription stream dropped; reconnecting. Audio is kept.",
            );
        }
    }

    /// Opens a new stream where the last final window ended, and resends the audio since.
    async fn restore(&mut self) -> Option<EngineEvents> {
        let offset = self.replay.front().map_or(self.audio_ms, |p| p.start_ms);
        match self
            .deps
            .engine
            .open(self.row.language_preference, offset)
            .await
        {
            Ok((stream, events)) => {
                self.stream = Some(stream);
                self.lost_since = None;
                self.retry_at = None;
                self.told_unrestorable = false;
                self.last_result_at = Instant::now();
                let audio: Vec<Bytes> = self.replay.iter().map(|p| p.pcm.clone()).collect();
                for pcm in audio {
                    self.send(pcm).await;
                }
                self.status(
                    SessionStatus::Active,
                    "Live transcription is running again.",
                );
                Some(events)
            }
            Err(error) => {
                self.attempt += 1;
                let delay = BACKOFF_MS[self.attempt.min(BACKOFF_MS.len() - 1)];
                tracing::warn!(session = %self.row.id, error = %error, attempt = self.attempt, "reconnecting failed");
                self.retry_at = Some(Instant::now() + Duration::from_millis(delay));
                if !self.told_unrestorable
                    && self
                        .lost_since
                        .is_some_and(|t| t.elapsed() > GIVE_UP_NOTICE)
                {
                    self.told_unrestorable = true;
                    self.status(
                        SessionStatus::Failed,
                        "The transcription service cannot be reached; captions are paused and audio is kept for a minute while it is retried.",
                    );
                }
                None
            }
        }
    }

    async fn on_tick(&mut self) -> Option<EngineEvents> {
        let mut restored = None;
        if self.stream.is_none() && self.retry_at.is_some_and(|t| Instant::now() >= t) {
            restored = self.restore().await;
        }
        // A gap that does not fill: ask a resumable client for it, then skip it.
        let gap = self
            .speaker
            .as_ref()
            .and_then(|s| s.gap_since.map(|t| (t, s)));
        if let Some((since, speaker)) = gap {
            if since.elapsed() > GAP_WAIT {
                self.drain(true).await;
            } else if since.elapsed() > GAP_RESEND_AFTER
                && !speaker.gap_resend_asked
                && speaker.acknowledged
                && !speaker.connection.is_empty()
            {
                let (connection, resend) = (
                    speaker.connection.clone(),
                    ServerMessage::AudioResend {
                        stream: speaker.stream.clone(),
                        from_seq: speaker.next_seq,
                    },
                );
                self.tell(&connection, resend);
                if let Some(speaker) = self.speaker.as_mut() {
                    speaker.gap_resend_asked = true;
                }
            }
        }
        if !self.unstored.is_empty() {
            self.store().await;
            self.advance_checkpoint();
        }
        if self.checkpoint_due.is_some()
            && self.checkpoint_saved_at.elapsed() >= Duration::from_secs(1)
        {
            self.save_checkpoint().await;
        }
        if let Some(stream) = self.stream.as_mut()
            && self.last_sent_at.elapsed() >= KEEP_ALIVE_AFTER
        {
            if stream.keep_alive().await.is_err() {
                self.stream_lost().await;
            } else {
                self.last_sent_at = Instant::now();
            }
        }
        // Audio went out recently and nothing came back for long: the stream is stuck.
        let audio_flowing = self
            .speaker
            .as_ref()
            .is_some_and(|s| s.last_chunk_at.elapsed() < Duration::from_secs(2));
        if self.stream.is_some()
            && audio_flowing
            && self.last_result_at.elapsed() > STALL_AFTER
            && self
                .replay
                .back()
                .is_some_and(|p| p.end_ms() - self.final_through_ms > 10_000)
        {
            tracing::warn!(session = %self.row.id, "no transcript for {STALL_AFTER:?} while audio flows; replacing the stream");
            self.status(
                SessionStatus::Reconnecting,
                "No transcript has come back for 15 seconds; reconnecting the transcription stream.",
            );
            self.stream_lost().await;
        }
        restored
    }

    async fn resume(
        &mut self,
        connection: String,
        after_segment_id: Option<Uuid>,
        after_ms: Option<i64>,
    ) {
        match live_sessions::finals_after(
            &self.deps.pool,
            self.row.transcript_id,
            after_segment_id,
            after_ms,
            RESUME_LIMIT,
        )
        .await
        {
            Ok(rows) => {
                for row in rows {
                    self.tell(&connection, segment_message(row));
                }
            }
            Err(error) => tracing::warn!(error = %error, "reading missed finals failed"),
        }
    }

    /// Takes the audio still in flight when a stop comes (the client sent it before asking to
    /// stop), until none has come for [`SETTLE_QUIET`] or [`SETTLE_MAX`] passed.
    async fn settle(
        &mut self,
        inbox: &mut mpsc::Receiver<Command>,
        replies: &mut Vec<oneshot::Sender<()>>,
    ) {
        let deadline = tokio::time::Instant::now() + SETTLE_MAX;
        loop {
            let quiet = (tokio::time::Instant::now() + SETTLE_QUIET).min(deadline);
            match tokio::time::timeout_at(quiet, inbox.recv()).await {
                Ok(Some(Command::Audio { chunk, reply })) => {
                    let answer = self.on_chunk(chunk).await;
                    let _ = reply.send(answer);
                }
                Ok(Some(Command::Resume {
                    connection,
                    after_segment_id,
                    after_ms,
                })) => self.resume(connection, after_segment_id, after_ms).await,
                Ok(Some(Command::Stop { reply })) => replies.push(reply),
                Ok(None) | Err(_) => return,
            }
        }
    }

    async fn stop(&mut self, mut events: Option<EngineEvents>) {
        // Everything in hand goes out, gap or not.
        self.drain(true).await;
        if let (Some(stream), Some(events)) = (self.stream.as_mut(), events.as_mut())
            && stream.finish().await.is_ok()
        {
            let wait = match self.deps.engine {
                Engine::Whisper(_) => FLUSH_WAIT_WHISPER,
                Engine::Deepgram(_) => FLUSH_WAIT,
            };
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                match tokio::time::timeout_at(deadline, events.next(self.stored_through_ms)).await {
                    Ok(Some(EngineEvent::Closed(_))) | Ok(None) | Err(_) => break,
                    Ok(Some(event)) => self.on_event(event).await,
                }
            }
        }
        for _ in 0..3 {
            if self.unstored.is_empty() {
                break;
            }
            self.store().await;
            if !self.unstored.is_empty() {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        if !self.unstored.is_empty() {
            tracing::error!(session = %self.row.id, count = self.unstored.len(), "finals could not be stored at stop");
        }
        self.advance_checkpoint();
        self.save_checkpoint().await;
        if let Some(stream) = self.stream.as_mut() {
            stream.abandon().await;
        }
        if let Err(error) = self
            .deps
            .routes
            .release(self.row.meeting_id, self.row.id)
            .await
        {
            tracing::warn!(error = %error, "releasing the route failed");
        }
        self.status(SessionStatus::Ended, "Live transcription has ended.");
        // The stop is answered once listeners have the last finals and `ended`.
        self.deps.fanout.flush(Duration::from_secs(5)).await;
        if let Some(copilot) = &self.deps.copilot {
            let job = meetin_messages::jobs::RunCopilot {
                meeting_id: self.row.meeting_id,
                trigger: meetin_messages::jobs::CopilotTrigger::PostMeeting,
                run_id: Uuid::new_v4(),
            };
            if let Err(error) = copilot.send(&job).await {
                tracing::error!(error = %error, "queueing the post-meeting copilot run failed");
            }
        }
    }
}

/// Most finals sent for one resume.
pub const RESUME_LIMIT: i64 = 2_000;

/// A stored final as pushed.
pub fn segment_message(row: SegmentRow) -> ServerMessage {
    ServerMessage::TranscriptSegment {
        data: TranscriptSegmentData {
            id: row.id,
            speaker_label: row
                .speaker_label
                .or(row.speaker_label_raw)
                .unwrap_or_default(),
            speaker_display_name: row.speaker_display_name,
            text: row.text,
            confidence: row.confidence,
            is_final: true,
            start_ms: row.start_ms,
            end_ms: row.end_ms,
            timestamp: meetin_vocab::drf::DateTime(row.created_at),
        },
    }
}

/// The session is served by this task until it is stopped: the handle's owner.
pub type Sessions = Arc<std::sync::Mutex<std::collections::HashMap<Uuid, SessionHandle>>>;
