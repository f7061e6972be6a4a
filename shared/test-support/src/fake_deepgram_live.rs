//! A local stand-in for Deepgram's live API (the `/v1/listen` WebSocket), speaking the
//! documented wire protocol (shared/design/protocols.md §3.2–3.4; Deepgram's `asyncapi.yml`).
//!
//! What it really does, as Deepgram would:
//! - checks `Authorization: Token <key>` (upgrade refused with 401 and a `dg-error` header
//!   otherwise), the path, and the query (400 for unknown names, non-boolean flags, a bad
//!   `endpointing`, `diarize_model=v2`, `encoding` without `sample_rate`);
//! - takes binary linear16 audio (16-bit little-endian PCM at the query's `sample_rate` and
//!   `channels`) and runs an energy voice activity detector over it, in 20 ms frames: a frame
//!   whose RMS exceeds [`DEFAULT_SPEECH_RMS`] is speech. A stretch of speech followed by
//!   `endpointing` ms of silence gives interim `Results` (with `interim_results=true`: about
//!   one per second of audio, and always one before the final) then a final one
//!   (`is_final`, `speech_final`), its words spread evenly over the speech, on the
//!   connection's own clock from 0 (the audio received, not the wall clock, so a test may send
//!   faster than real time). `UtteranceEnd` after `utterance_end_ms` of silence after the last
//!   word; `SpeechStarted` with `vad_events=true`;
//! - the words are the next phrase of the script ([`FakeDeepgramLive::push_phrases`]), one
//!   phrase per utterance, else [`DEFAULT_PHRASE`]; with diarization each word takes the next
//!   speaker of [`FakeDeepgramLive::push_speakers`] (the last one repeats; 0 when none). Or,
//!   after [`FakeDeepgramLive::recognize_tone_speech`], the words heard in tone speech
//!   ([`crate::tone_speech`]) at their real times; or, after
//!   [`FakeDeepgramLive::answer_every_frame`], no detection at all: each audio frame answered
//!   at once with a final of exactly its audio (the benchmark's Deepgram that takes no time);
//! - `KeepAlive`: nothing; `Finalize`: the open utterance (or the audio since the last final)
//!   as a final with `from_finalize: true`; `CloseStream` (or an empty binary frame, which
//!   Deepgram treats as the end of the stream): the last final, a `Metadata`, close 1000;
//! - no frame for the idle timeout (10 s, [`FakeDeepgramLive::set_idle_timeout`]): close 1011
//!   `NET-0001`.
//!
//! Scripted failures: [`FakeDeepgramLive::refuse_next`] (handshakes refused with a status),
//! [`FakeDeepgramLive::drop_after_bytes`] (the next connection drops, without a close frame,
//! once it has received that much audio). Every connection is recorded
//! ([`FakeDeepgramLive::connections`]).
//!
//! What it does not do: recognise real speech, decode other encodings (it refuses them), send
//! finals at a maximum window length or empty finals through long silences as Deepgram does,
//! close a stream kept alive by KeepAlives that never got audio (the troubleshooting page says
//! Deepgram may, §3.3), or limit streaming to 1.25× real time.

mod handshake;
mod session;
mod transcriber;
mod words;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::fake_server::FakeServer;

/// The key [`FakeDeepgramLive::start`] accepts.
pub const DEFAULT_KEY: &str = "fake-deepgram-live-key";

/// What the fake "hears" in an utterance when the script is empty.
pub const DEFAULT_PHRASE: &str = "This is the fake Deepgram live transcript.";

/// Deepgram's idle rule: no audio and no text frame for this long closes with 1011 `NET-0001`
/// (protocols.md §3.3).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// RMS of a 20 ms frame of 16-bit samples above which it is speech: 500 of 32 767, about
/// −36 dBFS (speech is louder; silence and room noise are quieter).
pub const DEFAULT_SPEECH_RMS: f64 = 500.0;

/// One connection attempt as the fake saw it, for assertions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionRecord {
    /// The request path (`/v1/listen`).
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// The `Authorization` header as sent.
    pub authorization: Option<String>,
    /// The status the upgrade was refused with, if it was.
    pub refused: Option<u16>,
    /// Audio bytes received (non-empty binary frames).
    pub audio_bytes: u64,
    /// Non-empty binary frames received.
    pub audio_frames: u64,
    /// Empty binary frames received (the client must never send one).
    pub empty_frames: u64,
    /// The `type` of each text frame received, in order (`KeepAlive`, `Finalize`,
    /// `CloseStream`), or its whole text when it has none.
    pub controls: Vec<String>,
    /// Final `Results` sent.
    pub finals_sent: u32,
    /// How the fake ended it: its close code (1000, 1011), or 1006 for a scripted drop
    /// without a close frame; `None` while open or when the client went first.
    pub closed_with: Option<u16>,
    /// The client closed or vanished first.
    pub client_gone: bool,
}

impl ConnectionRecord {
    /// The first value of query parameter `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Recorded {
    phrases: VecDeque<String>,
    speakers: VecDeque<u32>,
    last_speaker: u32,
    refusals: VecDeque<u16>,
    drop_after: VecDeque<u64>,
    idle_timeout: Duration,
    speech_rms: f64,
    tone_speech: bool,
    every_frame: bool,
    connections: Vec<ConnectionRecord>,
}

struct Shared {
    api_key: String,
    recorded: Mutex<Recorded>,
}

impl Shared {
    fn new(api_key: String) -> Self {
        Self {
            api_key,
            recorded: Mutex::new(Recorded {
                phrases: VecDeque::new(),
                speakers: VecDeque::new(),
                last_speaker: 0,
                refusals: VecDeque::new(),
                drop_after: VecDeque::new(),
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
                speech_rms: DEFAULT_SPEECH_RMS,
                tone_speech: false,
                every_frame: false,
                connections: Vec::new(),
            }),
        }
    }

    fn recorded(&self) -> MutexGuard<'_, Recorded> {
        crate::fake_server::lock(&self.recorded)
    }

    fn update(&self, index: usize, change: impl FnOnce(&mut ConnectionRecord)) {
        if let Some(record) = self.recorded().connections.get_mut(index) {
            change(record);
        }
    }

    /// The next utterance's words.
    fn next_phrase(&self) -> String {
        self.recorded()
            .phrases
            .pop_front()
            .unwrap_or_else(|| DEFAULT_PHRASE.to_owned())
    }

    /// The next word's speaker.
    fn next_speaker(&self) -> u32 {
        let mut recorded = self.recorded();
        if let Some(speaker) = recorded.speakers.pop_front() {
            recorded.last_speaker = speaker;
        }
        recorded.last_speaker
    }
}

/// A running fake Deepgram live API on 127.0.0.1; stops (closing every stream) when dropped.
pub struct FakeDeepgramLive {
    /// `ws://127.0.0.1:<port>/`: give it to `LiveClient::new` as the base URL.
    pub base_url: url::Url,
    /// The only key it accepts (`Authorization: Token <api_key>`).
    pub api_key: String,
    shared: Arc<Shared>,
    _server: FakeServer,
}

impl FakeDeepgramLive {
    /// Starts a fake on a free port of 127.0.0.1 accepting [`DEFAULT_KEY`].
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), DEFAULT_KEY).await
    }

    /// Starts a fake on `addr` (port 0 = any free port) accepting `api_key`.
    pub async fn start_on(addr: SocketAddr, api_key: impl Into<String>) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared::new(api_key.into()));
        let serving = shared.clone();
        let server = FakeServer::start_tcp(addr, "the fake Deepgram live", move |stream| {
            session::serve(serving.clone(), stream)
        })
        .await?;
        Ok(Self {
            base_url: url::Url::parse(&format!("ws://{}/", server.addr))?,
            api_key: shared.api_key.clone(),
            shared,
            _server: server,
        })
    }

    /// Queues `phrases`, one per coming utterance (across connections), before
    /// [`DEFAULT_PHRASE`] takes over.
    pub fn push_phrases<S: Into<String>>(&self, phrases: impl IntoIterator<Item = S>) {
        self.shared
            .recorded()
            .phrases
            .extend(phrases.into_iter().map(Into::into));
    }

    /// Queues speakers, one per coming word (with diarization); the last one taken repeats.
    pub fn push_speakers(&self, speakers: impl IntoIterator<Item = u32>) {
        self.shared.recorded().speakers.extend(speakers);
    }

    /// Refuses the next `n` handshakes with `status` (401, 429, 503, …), a `dg-error` header
    /// and a Deepgram error body, before checking anything else.
    pub fn refuse_next(&self, n: usize, status: u16) {
        self.shared
            .recorded()
            .refusals
            .extend(std::iter::repeat_n(status, n));
    }

    /// The next accepted connection not yet scripted drops (TCP closed, no close frame) as
    /// soon as it has received `bytes` bytes of audio or more. Each call scripts one more
    /// connection, in order.
    pub fn drop_after_bytes(&self, bytes: u64) {
        self.shared.recorded().drop_after.push_back(bytes);
    }

    /// How long a connection may stay without any frame from the client before the fake
    /// closes it with 1011 `NET-0001` ([`DEFAULT_IDLE_TIMEOUT`] by default). Applies to
    /// connections opened afterwards.
    pub fn set_idle_timeout(&self, timeout: Duration) {
        self.shared.recorded().idle_timeout = timeout;
    }

    /// The RMS above which a 20 ms frame is speech ([`DEFAULT_SPEECH_RMS`] by default), for
    /// connections opened afterwards.
    pub fn set_speech_rms(&self, rms: f64) {
        self.shared.recorded().speech_rms = rms;
    }

    /// With `on`, connections opened afterwards hear tone speech ([`crate::tone_speech`]): an
    /// utterance's words are those [`crate::tone_speech::recognize`] hears in its audio, at
    /// their real times on the connection's clock, speakers numbered 0, 1, 2… per connection
    /// in order of first appearance (Deepgram's live labels are per connection too); the
    /// script is not used.
    pub fn recognize_tone_speech(&self, on: bool) {
        self.shared.recorded().tone_speech = on;
    }

    /// With `on`, connections opened afterwards skip voice detection and answer each non-empty
    /// binary frame at once, before reading the next, with one final `Results` (`is_final`
    /// and `speech_final` true, no interim before it) whose window is exactly that frame's
    /// audio on the connection's clock (`start` where the last one ended, `duration` the
    /// frame's length) and whose words are the next phrase of the script
    /// ([`FakeDeepgramLive::push_phrases`], else [`DEFAULT_PHRASE`]) spread evenly over it.
    /// `Finalize` and `CloseStream` then have nothing left to send but `Metadata`. What the
    /// bridge adds to a chunk's way to its listeners is measured with it (`meetin-bench
    /// live`): Deepgram itself takes no time here.
    pub fn answer_every_frame(&self, on: bool) {
        self.shared.recorded().every_frame = on;
    }

    /// Every connection attempt so far, oldest first.
    pub fn connections(&self) -> Vec<ConnectionRecord> {
        self.shared.recorded().connections.clone()
    }

    /// Waits until `done` holds for the connection records (the fake records a frame when it
    /// reads it, a moment after the client sent it), checking every 10 ms; panics after
    /// `timeout` naming what it saw. Returns the records it accepted.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[ConnectionRecord]) -> bool,
    ) -> Vec<ConnectionRecord> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let records = self.connections();
            if done(&records) {
                return records;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the fake Deepgram live never got there: {records:#?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// `ms` milliseconds of a 440 Hz sine at half scale as linear16 mono bytes at `sample_rate`:
/// what the fake's detector takes for speech.
pub fn tone_pcm(ms: u32, sample_rate: u32) -> Vec<u8> {
    let samples = u64::from(sample_rate) * u64::from(ms) / 1000;
    (0..samples)
        .flat_map(|n| {
            let t = n as f64 / f64::from(sample_rate);
            let value = (t * 440.0 * std::f64::consts::TAU).sin() * f64::from(i16::MAX) * 0.5;
            (value as i16).to_le_bytes()
        })
        .collect()
}

/// `ms` milliseconds of digital silence as linear16 mono bytes at `sample_rate`.
pub fn silence_pcm(ms: u32, sample_rate: u32) -> Vec<u8> {
    vec![0; (u64::from(sample_rate) * u64::from(ms) / 1000 * 2) as usize]
}

#[cfg(test)]
mod tests;
