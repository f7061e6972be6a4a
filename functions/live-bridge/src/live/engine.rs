//! The transcription engine behind a session: one Deepgram live stream at a time, its events
//! turned into segments on the session's clock.
//!
//! Each Deepgram connection restarts its clock at 0 s; a stream opened at session time
//! `offset_ms` adds it to every time ([`EngineStream::offset_ms`]). Words that end at or
//! before `dedupe_through_ms` (what is already stored) are dropped, so audio sent again after
//! a reconnection or a takeover is never stored twice.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use meetin_deepgram::DeepgramError;
use meetin_deepgram::live::{
    CloseInfo, LiveClient, LiveEvent, LiveOptions, LiveReceiver, LiveSender, final_segments,
    wire::ResultsMessage,
};
use meetin_messages::transcript::Segment;
use meetin_vocab::LanguagePreference;
use meetin_whisper::WhisperModels;
use meetin_whisper::live::{Chunk, ChunkerSettings, LiveWhisper, PauseChunker};
use tokio::sync::{OnceCell, mpsc};

/// Which engine the bridge streams to.
#[derive(Clone, Debug)]
pub enum Engine {
    /// Deepgram's live API (`DEEPGRAM_API_KEY`, or a fake in the local stack and tests).
    Deepgram(LiveClient),
    /// The embedded Whisper engine, with no key: the audio cut at pauses, each chunk's words
    /// sent as finals (`meetin_whisper::live`), in the meeting's language (tiny.en for `en`,
    /// the multilingual model for `fr` and `auto`). One speaker; no interims.
    Whisper(Arc<KeylessWhisper>),
}

/// The Whisper models for live chunks, loaded at the first session (a task that never serves
/// one never pays for them; the multilingual one at the first `fr` or `auto` session).
#[derive(Debug)]
pub struct KeylessWhisper {
    english: PathBuf,
    multilingual: PathBuf,
    threads: Option<usize>,
    models: OnceCell<Arc<WhisperModels>>,
}

impl KeylessWhisper {
    /// The models at `english` and `multilingual`, run with `threads` whisper.cpp threads
    /// (its default: all cores).
    pub fn new(english: PathBuf, multilingual: PathBuf, threads: Option<usize>) -> Self {
        Self {
            english,
            multilingual,
            threads,
            models: OnceCell::new(),
        }
    }

    /// The English model's file.
    pub fn path(&self) -> &std::path::Path {
        &self.english
    }

    /// The multilingual model's file.
    pub fn multilingual_path(&self) -> &std::path::Path {
        &self.multilingual
    }

    /// The engine for a session of `language` (loading what it needs on a blocking thread).
    async fn get(&self, language: LanguagePreference) -> Result<LiveWhisper, DeepgramError> {
        let failed = |message: String| DeepgramError::Retryable {
            status: None,
            message: format!("the Whisper model could not be loaded: {message}"),
        };
        let models = self
            .models
            .get_or_try_init(|| async {
                let (english, multilingual) = (self.english.clone(), self.multilingual.clone());
                let threads = self.threads;
                tokio::task::spawn_blocking(move || {
                    WhisperModels::load(
                        &english,
                        &multilingual,
                        threads,
                        meetin_whisper::DEFAULT_MAX_DURATION_MS,
                    )
                })
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
                .map(Arc::new)
            })
            .await
            .map_err(failed)?;
        let models = Arc::clone(models);
        tokio::task::spawn_blocking(move || models.for_preference(language))
            .await
            .map_err(|e| failed(e.to_string()))?
            .map(|(engine, spoken)| LiveWhisper::in_language(engine, spoken))
            .map_err(|e| failed(e.to_string()))
    }
}

impl Engine {
    /// `transcripts.provider` of what it writes.
    pub fn provider(&self) -> &'static str {
        match self {
            Engine::Deepgram(_) => "deepgram",
            Engine::Whisper(_) => "whisper",
        }
    }

    /// Opens a stream for a meeting of `language` whose clock 0 is session time `offset_ms`.
    pub async fn open(
        &self,
        language: LanguagePreference,
        offset_ms: i64,
    ) -> Result<(EngineStream, EngineEvents), DeepgramError> {
        match self {
            Engine::Deepgram(client) => {
                let connection = client
                    .connect(&LiveOptions::for_preference(language))
                    .await?;
                Ok((
                    EngineStream {
                        sink: Sink::Deepgram(connection.sender),
                        offset_ms,
                    },
                    EngineEvents {
                        source: Source::Deepgram(connection.receiver),
                        offset_ms,
                    },
                ))
            }
            Engine::Whisper(keyless) => {
                let live = keyless.get(language).await?;
                let (audio, input) = mpsc::unbounded_channel();
                let (output, events) = mpsc::unbounded_channel();
                tokio::spawn(whisper_stream(live, input, output));
                Ok((
                    EngineStream {
                        sink: Sink::Whisper(audio),
                        offset_ms,
                    },
                    EngineEvents {
                        source: Source::Whisper(events),
                        offset_ms,
                    },
                ))
            }
        }
    }
}

#[derive(Debug)]
enum WhisperInput {
    Audio(Bytes),
    Finish,
}

#[derive(Debug)]
enum Sink {
    Deepgram(LiveSender),
    Whisper(mpsc::UnboundedSender<WhisperInput>),
}

/// The sending half of an open stream.
#[derive(Debug)]
pub struct EngineStream {
    sink: Sink,
    offset_ms: i64,
}

fn whisper_gone() -> DeepgramError {
    DeepgramError::Retryable {
        status: None,
        message: "the Whisper stream ended".to_owned(),
    }
}

impl EngineStream {
    /// Session time of this stream's 0.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    pub async fn send_audio(&mut self, pcm: Bytes) -> Result<(), DeepgramError> {
        match &mut self.sink {
            Sink::Deepgram(sender) => sender.send_audio(pcm).await,
            Sink::Whisper(audio) => audio
                .send(WhisperInput::Audio(pcm))
                .map_err(|_| whisper_gone()),
        }
    }

    /// Keeps an idle stream open (Deepgram closes after 10 s without a frame).
    pub async fn keep_alive(&mut self) -> Result<(), DeepgramError> {
        match &mut self.sink {
            Sink::Deepgram(sender) => sender.keep_alive().await,
            Sink::Whisper(audio) if audio.is_closed() => Err(whisper_gone()),
            Sink::Whisper(_) => Ok(()),
        }
    }

    /// Finalize, then CloseStream: Deepgram answers the last finals, Metadata, and closes.
    /// Whisper transcribes what it holds, then closes.
    pub async fn finish(&mut self) -> Result<(), DeepgramError> {
        match &mut self.sink {
            Sink::Deepgram(sender) => {
                sender.finalize().await?;
                sender.close_stream().await
            }
            Sink::Whisper(audio) => audio.send(WhisperInput::Finish).map_err(|_| whisper_gone()),
        }
    }

    /// Closes the stream at once (it is being replaced).
    pub async fn abandon(&mut self) {
        match &mut self.sink {
            Sink::Deepgram(sender) => {
                let _ = sender.close().await;
            }
            // Dropping the sender ends the task once its current chunk is done.
            Sink::Whisper(audio) => {
                let (closed, _) = mpsc::unbounded_channel();
                *audio = closed;
            }
        }
    }
}

/// What a stream says, on the session's clock.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    /// Provisional words, replaced by later ones; never stored.
    Interim(Vec<Segment>),
    /// Final words, and where the window they close ends (session ms).
    Final {
        segments: Vec<Segment>,
        through_ms: i64,
    },
    /// The stream ended.
    Closed(CloseInfo),
}

#[derive(Debug)]
enum Source {
    Deepgram(LiveReceiver),
    /// Events on the stream's own clock.
    Whisper(mpsc::UnboundedReceiver<EngineEvent>),
}

/// The receiving half of an open stream.
#[derive(Debug)]
pub struct EngineEvents {
    source: Source,
    offset_ms: i64,
}

impl EngineEvents {
    /// The next event, with words ending at or before `dedupe_through_ms` dropped from
    /// finals. `None` once closed. Cancel-safe.
    pub async fn next(&mut self, dedupe_through_ms: i64) -> Option<EngineEvent> {
        let receiver = match &mut self.source {
            Source::Deepgram(receiver) => receiver,
            Source::Whisper(events) => {
                return match events.recv().await {
                    Some(EngineEvent::Final {
                        segments,
                        through_ms,
                    }) => Some(EngineEvent::Final {
                        segments: segments
                            .into_iter()
                            .filter_map(|s| shift(s, self.offset_ms))
                            .filter(|s| i64::from(s.end_ms) > dedupe_through_ms)
                            .collect(),
                        through_ms: through_ms + self.offset_ms,
                    }),
                    Some(other) => Some(other),
                    None => Some(EngineEvent::Closed(CloseInfo {
                        code: meetin_deepgram::live::ABNORMAL_CLOSE,
                        reason: "the Whisper stream ended".to_owned(),
                    })),
                };
            }
        };
        loop {
            match receiver.next_event().await? {
                Ok(LiveEvent::Results(results)) => {
                    let through_ms = self.offset_ms + secs_to_ms(results.start + results.duration);
                    if results.is_final {
                        let kept = drop_stored_words(&results, self.offset_ms, dedupe_through_ms);
                        return Some(EngineEvent::Final {
                            segments: kept
                                .map(|r| final_segments(&r, self.offset_ms))
                                .unwrap_or_default(),
                            through_ms,
                        });
                    }
                    return Some(EngineEvent::Interim(final_segments(
                        &results,
                        self.offset_ms,
                    )));
                }
                Ok(LiveEvent::Closed(info)) => return Some(EngineEvent::Closed(info)),
                Ok(_) => continue,
                Err(error) => {
                    tracing::warn!(error = %error, "undocumented message from Deepgram; skipped");
                    continue;
                }
            }
        }
    }
}

/// `segment` moved `offset_ms` later, if it still fits the columns.
fn shift(mut segment: Segment, offset_ms: i64) -> Option<Segment> {
    segment.start_ms = i32::try_from(i64::from(segment.start_ms) + offset_ms).ok()?;
    segment.end_ms = i32::try_from(i64::from(segment.end_ms) + offset_ms).ok()?;
    Some(segment)
}

/// The keyless stream: audio cut at pauses, each chunk transcribed in turn, on the stream's
/// own clock. A push that completes no chunk still reports how far the audio is final
/// (what the chunker no longer holds), so checkpoints advance through silence.
async fn whisper_stream(
    live: LiveWhisper,
    mut input: mpsc::UnboundedReceiver<WhisperInput>,
    output: mpsc::UnboundedSender<EngineEvent>,
) {
    let mut chunker = PauseChunker::new(ChunkerSettings::default());
    let transcribe = |chunk: Chunk| {
        let live = live.clone();
        async move {
            let end = chunk.end_ms();
            match live.transcribe_async(chunk).await {
                Ok(segments) => EngineEvent::Final {
                    segments,
                    through_ms: end,
                },
                Err(error) => {
                    tracing::error!(error = %error, "Whisper failed on a live chunk; its words are lost");
                    EngineEvent::Final {
                        segments: Vec::new(),
                        through_ms: end,
                    }
                }
            }
        }
    };
    while let Some(message) = input.recv().await {
        match message {
            WhisperInput::Audio(pcm) => {
                let chunks = chunker.push_pcm16le(&pcm);
                if chunks.is_empty() {
                    let through_ms = chunker.position_ms() - chunker.buffered_ms();
                    let _ = output.send(EngineEvent::Final {
                        segments: Vec::new(),
                        through_ms,
                    });
                }
                for chunk in chunks {
                    if output.send(transcribe(chunk).await).is_err() {
                        return;
                    }
                }
            }
            WhisperInput::Finish => {
                if let Some(chunk) = chunker.finish() {
                    let _ = output.send(transcribe(chunk).await);
                }
                let _ = output.send(EngineEvent::Closed(CloseInfo {
                    code: 1000,
                    reason: String::new(),
                }));
                return;
            }
        }
    }
}

fn secs_to_ms(secs: f64) -> i64 {
    if secs.is_finite() && secs > 0.0 {
        (secs * 1000.0).round().min(i32::MAX as f64) as i64
    } else {
        0
    }
}

/// `results` without the words already stored (ending at or before `through_ms`, session
/// time); `None` when nothing new is left. A result without words is kept whole unless its
/// window ends before `through_ms`.
fn drop_stored_words(
    results: &ResultsMessage,
    offset_ms: i64,
    through_ms: i64,
) -> Option<ResultsMessage> {
    let mut kept = results.clone();
    let alternative = kept.channel.alternatives.first_mut()?;
    if alternative.words.is_empty() {
        let end = offset_ms + secs_to_ms(results.start + results.duration);
        return (end > through_ms).then_some(kept);
    }
    alternative
        .words
        .retain(|w| offset_ms + secs_to_ms(w.end) > through_ms);
    if alternative.words.is_empty() {
        return None;
    }
    Some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(words: &[(f64, f64, &str)]) -> ResultsMessage {
        let words: Vec<serde_json::Value> = words
            .iter()
            .map(|(s, e, w)| serde_json::json!({"word": w, "start": s, "end": e, "confidence": 0.9, "speaker": 0}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "type": "Results", "channel_index": [0, 1], "duration": 3.0, "start": 0.0,
            "is_final": true, "speech_final": true,
            "channel": {"alternatives": [{"transcript": "x", "confidence": 0.9, "words": words}]}
        }))
        .expect("results")
    }

    #[test]
    fn stored_words_are_dropped_on_the_session_clock() {
        let r = results(&[(0.0, 0.5, "one"), (0.6, 1.0, "two"), (1.2, 1.5, "three")]);
        // This stream starts at session 10 s; words ending by 11.0 s are stored already.
        let kept = drop_stored_words(&r, 10_000, 11_000).expect("one word left");
        let segments = final_segments(&kept, 10_000);
        assert_eq!(segments.len(), 1);
        assert_eq!(segments[0].text, "three");
        assert_eq!(segments[0].start_ms, 11_200);
        assert!(drop_stored_words(&r, 10_000, 11_500).is_none());
        assert_eq!(
            drop_stored_words(&r, 10_000, 0).map(|k| k.channel.alternatives[0].words.len()),
            Some(3)
        );
    }
}
