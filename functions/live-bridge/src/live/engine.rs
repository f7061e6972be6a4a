//! The transcription engine behind a session: one Deepgram live stream at a time, its events
//! turned into segments on the session's clock.
//!
//! Each Deepgram connection restarts its clock at 0 s; a stream opened at session time
//! `offset_ms` adds it to every time ([`EngineStream::offset_ms`]). Words that end at or
//! before `dedupe_through_ms` (what is already stored) are dropped, so audio sent again after
//! a reconnection or a takeover is never stored twice.

use bytes::Bytes;
use meetin_deepgram::DeepgramError;
use meetin_deepgram::live::{
    CloseInfo, LiveClient, LiveEvent, LiveOptions, LiveReceiver, LiveSender, final_segments,
    wire::ResultsMessage,
};
use meetin_messages::transcript::Segment;
use meetin_vocab::LanguagePreference;

/// Which engine the bridge streams to.
#[derive(Clone, Debug)]
pub enum Engine {
    /// Deepgram's live API (`DEEPGRAM_API_KEY`, or a fake in the local stack and tests).
    Deepgram(LiveClient),
}

impl Engine {
    /// `transcripts.provider` of what it writes.
    pub fn provider(&self) -> &'static str {
        match self {
            Engine::Deepgram(_) => "deepgram",
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
                        sender: connection.sender,
                        offset_ms,
                    },
                    EngineEvents {
                        receiver: connection.receiver,
                        offset_ms,
                    },
                ))
            }
        }
    }
}

/// The sending half of an open stream.
#[derive(Debug)]
pub struct EngineStream {
    sender: LiveSender,
    offset_ms: i64,
}

impl EngineStream {
    /// Session time of this stream's 0.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    pub async fn send_audio(&mut self, pcm: Bytes) -> Result<(), DeepgramError> {
        self.sender.send_audio(pcm).await
    }

    pub async fn keep_alive(&mut self) -> Result<(), DeepgramError> {
        self.sender.keep_alive().await
    }

    /// Finalize, then CloseStream: Deepgram answers the last finals, Metadata, and closes.
    pub async fn finish(&mut self) -> Result<(), DeepgramError> {
        self.sender.finalize().await?;
        self.sender.close_stream().await
    }

    /// Closes the socket at once (the stream is being replaced).
    pub async fn abandon(&mut self) {
        let _ = self.sender.close().await;
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

/// The receiving half of an open stream.
#[derive(Debug)]
pub struct EngineEvents {
    receiver: LiveReceiver,
    offset_ms: i64,
}

impl EngineEvents {
    /// The next event, with words ending at or before `dedupe_through_ms` dropped from
    /// finals. `None` once closed. Cancel-safe.
    pub async fn next(&mut self, dedupe_through_ms: i64) -> Option<EngineEvent> {
        loop {
            match self.receiver.next_event().await? {
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
