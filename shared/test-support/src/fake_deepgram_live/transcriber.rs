//! From received PCM to Deepgram's messages: an energy voice activity detector over 20 ms
//! frames, endpointing, interim and final `Results`, `UtteranceEnd`, `SpeechStarted`,
//! `Metadata` (protocols.md §3.2, §3.4). Times are seconds of audio received on this
//! connection, rounded to the millisecond.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Shared;
use super::handshake::Features;
use super::words::{HeardWord, ToneEar, scripted};

/// The confidence the fake gives every word and alternative.
const CONFIDENCE: f64 = 0.99;

/// The model UUID reported in `Results.metadata` (the one in Deepgram's recorded nova-3 answers).
const MODEL_UUID: &str = "3b3aabe4-608a-46ac-9585-7960a25daf1a";

/// Deepgram sends interim results "about every second" (§3.4): every second of audio here.
const INTERIM_EVERY_S: f64 = 1.0;

/// An interim result shows one more word per this much speech (at most the whole phrase).
const SECONDS_PER_WORD: f64 = 0.3;

/// Slack for comparing sums of 20 ms steps.
const EPSILON: f64 = 1e-9;

struct Utterance {
    speech_start: f64,
    speech_end: f64,
    /// The scripted phrase (empty with tone speech).
    tokens: Vec<String>,
    /// One per token, with diarization.
    speakers: Vec<u32>,
    last_interim: f64,
    interims: u32,
}

/// One connection's recogniser.
pub(super) struct Transcriber {
    features: Features,
    request_id: String,
    speech_rms: f64,
    /// 20 ms of samples, all channels.
    frame_samples: usize,
    frame_seconds: f64,
    carry: Vec<u8>,
    frames: u64,
    window_start: f64,
    utterance: Option<Utterance>,
    /// End of the last final word, until an `UtteranceEnd` reports it or speech resumes.
    last_word_end: Option<f64>,
    sha256: Sha256,
    audio_bytes: u64,
    /// With tone speech: the words come from the audio, not the script.
    ear: Option<ToneEar>,
    /// Every binary frame answered at once with a final of exactly its audio
    /// ([`Transcriber::answering_every_frame`]).
    every_frame: bool,
}

impl Transcriber {
    /// `tone`: hear tone speech ([`crate::tone_speech`]) instead of reading the script.
    pub(super) fn new(features: Features, request_id: String, speech_rms: f64, tone: bool) -> Self {
        let per_channel = (features.sample_rate / 50).max(1) as usize;
        Self {
            ear: tone.then(|| ToneEar::new(features.sample_rate)),
            frame_samples: per_channel * features.channels as usize,
            frame_seconds: per_channel as f64 / f64::from(features.sample_rate),
            features,
            request_id,
            speech_rms,
            carry: Vec::new(),
            frames: 0,
            window_start: 0.0,
            utterance: None,
            last_word_end: None,
            sha256: Sha256::new(),
            audio_bytes: 0,
            every_frame: false,
        }
    }

    /// With `on`, no voice detection: each binary frame is answered at once with one final
    /// `Results` (`is_final`, `speech_final`) whose window is exactly that frame's audio and
    /// whose words are the next phrase of the script spread over it (the benchmark's
    /// Deepgram that adds no time of its own). No interims, no `UtteranceEnd`.
    pub(super) fn answering_every_frame(mut self, on: bool) -> Self {
        self.every_frame = on;
        self
    }

    /// Bytes of audio per second of it (all channels).
    fn bytes_per_second(&self) -> f64 {
        f64::from(self.features.sample_rate) * f64::from(self.features.channels) * 2.0
    }

    /// Takes a binary frame of linear16 audio; returns the messages it causes, in order.
    pub(super) fn push_audio(&mut self, bytes: &[u8], shared: &Shared) -> Vec<String> {
        self.sha256.update(bytes);
        self.audio_bytes += bytes.len() as u64;
        if self.every_frame {
            return self.answer_frame(shared);
        }
        self.carry.extend_from_slice(bytes);
        let frame_bytes = self.frame_samples * 2;
        let mut out = Vec::new();
        let mut offset = 0;
        while self.carry.len() - offset >= frame_bytes {
            let frame = &self.carry[offset..offset + frame_bytes];
            let sum: f64 = frame
                .chunks_exact(2)
                .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])).powi(2))
                .sum();
            let speech = (sum / self.frame_samples as f64).sqrt() > self.speech_rms;
            if let Some(ear) = &mut self.ear {
                let channels = self.features.channels as usize;
                ear.push(
                    frame
                        .chunks_exact(2 * channels)
                        .map(|b| i16::from_le_bytes([b[0], b[1]])),
                );
            }
            offset += frame_bytes;
            self.frame(speech, shared, &mut out);
        }
        self.carry.drain(..offset);
        out
    }

    /// Seconds of audio received (in 20 ms frames; every byte when answering every frame).
    fn now(&self) -> f64 {
        if self.every_frame {
            return self.audio_bytes as f64 / self.bytes_per_second();
        }
        self.frames as f64 * self.frame_seconds
    }

    /// The final of the audio since the last one: the next phrase spread over it.
    fn answer_frame(&mut self, shared: &Shared) -> Vec<String> {
        let end = self.now();
        let tokens: Vec<String> = shared
            .next_phrase()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let speakers: Vec<u32> = if self.features.diarize {
            tokens.iter().map(|_| shared.next_speaker()).collect()
        } else {
            Vec::new()
        };
        let words = scripted(&tokens, &speakers, (self.window_start, end), None);
        let message = self.results(end, &words, true, true, false);
        self.window_start = end;
        vec![message]
    }

    fn frame(&mut self, speech: bool, shared: &Shared, out: &mut Vec<String>) {
        let t0 = self.now();
        self.frames += 1;
        let t1 = self.now();
        if speech {
            match &mut self.utterance {
                Some(u) => u.speech_end = t1,
                None => {
                    self.last_word_end = None;
                    let tokens: Vec<String> = if self.ear.is_some() {
                        Vec::new()
                    } else {
                        shared
                            .next_phrase()
                            .split_whitespace()
                            .map(str::to_owned)
                            .collect()
                    };
                    let speakers = if self.features.diarize {
                        tokens.iter().map(|_| shared.next_speaker()).collect()
                    } else {
                        Vec::new()
                    };
                    self.utterance = Some(Utterance {
                        speech_start: t0,
                        speech_end: t1,
                        tokens,
                        speakers,
                        last_interim: t0,
                        interims: 0,
                    });
                    if self.features.vad_events {
                        out.push(
                            json!({"type": "SpeechStarted", "channel": [0], "timestamp": ms(t0)})
                                .to_string(),
                        );
                    }
                }
            }
        }
        let Some(u) = &self.utterance else {
            if let Some(ear) = &mut self.ear {
                ear.idle(t1);
            }
            if let (Some(gap_ms), Some(last)) = (self.features.utterance_end_ms, self.last_word_end)
                && self.features.interim_results
                && t1 - last + EPSILON >= f64::from(gap_ms) / 1000.0
            {
                out.push(self.utterance_end(last));
                self.last_word_end = None;
            }
            return;
        };
        let endpoint = self
            .features
            .endpointing_ms
            .is_some_and(|e| !speech && t1 - u.speech_end + EPSILON >= f64::from(e) / 1000.0);
        if endpoint {
            out.extend(self.final_results(t1, true, false));
        } else if self.features.interim_results && t1 - u.last_interim + EPSILON >= INTERIM_EVERY_S
        {
            out.push(self.interim(t1));
        }
    }

    /// An interim `Results` of the open utterance, window `window_start..end`.
    fn interim(&mut self, end: f64) -> String {
        let Some(u) = &self.utterance else {
            return String::new();
        };
        let spoken = u.speech_end - u.speech_start;
        let visible = ((spoken / SECONDS_PER_WORD).ceil() as usize).clamp(1, u.tokens.len().max(1));
        let words = self.words(Some(visible));
        let message = self.results(end, &words, false, false, false);
        if let Some(u) = &mut self.utterance {
            u.last_interim = end;
            u.interims += 1;
        }
        message
    }

    /// The final `Results` of the window ending at `end` (an interim first when the utterance
    /// had none), and the window moves on.
    fn final_results(&mut self, end: f64, speech_final: bool, from_finalize: bool) -> Vec<String> {
        let mut out = Vec::new();
        if self.features.interim_results && self.utterance.as_ref().is_some_and(|u| u.interims == 0)
        {
            out.push(self.interim(end));
        }
        let words = self.words(None);
        out.push(self.results(end, &words, true, speech_final, from_finalize));
        if self.utterance.take().is_some() {
            self.last_word_end = words.last().map(|w| w.end);
        }
        if let Some(ear) = &mut self.ear {
            ear.clear(end);
        }
        self.window_start = end;
        out
    }

    /// The open utterance's words (the first `visible` of the script's; all with `None`), or
    /// those heard in the window with tone speech.
    fn words(&mut self, visible: Option<usize>) -> Vec<HeardWord> {
        let (punctuate, diarize) = (self.features.punctuate, self.features.diarize);
        match (&mut self.ear, &self.utterance) {
            (Some(ear), _) => ear.hear(punctuate, diarize),
            (None, Some(u)) => scripted(
                &u.tokens,
                &u.speakers,
                (u.speech_start, u.speech_end),
                visible,
            ),
            (None, None) => Vec::new(),
        }
    }

    /// `Finalize`: the open utterance, or the audio since the last final, as a final with
    /// `from_finalize: true`; nothing when no audio arrived since.
    pub(super) fn finalize(&mut self) -> Vec<String> {
        let end = self.now();
        if self.utterance.is_none() && end <= self.window_start + EPSILON {
            return Vec::new();
        }
        self.final_results(end, false, true)
    }

    /// `CloseStream`: the last final (if any audio is pending), then `Metadata`.
    pub(super) fn close(&mut self) -> Vec<String> {
        let end = self.now();
        let mut out = Vec::new();
        if self.utterance.is_some() || end > self.window_start + EPSILON {
            out = self.final_results(end, false, false);
        }
        let bytes_per_second = self.bytes_per_second();
        out.push(
            json!({
                "type": "Metadata",
                "transaction_key": "deprecated",
                "request_id": self.request_id,
                "sha256": hex::encode(self.sha256.clone().finalize()),
                "created": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "duration": ms(self.audio_bytes as f64 / bytes_per_second),
                "channels": if self.audio_bytes == 0 { 0 } else { self.features.channels },
            })
            .to_string(),
        );
        out
    }

    fn utterance_end(&self, last_word_end: f64) -> String {
        json!({
            "type": "UtteranceEnd",
            "channel": [0, self.features.channels],
            "last_word_end": ms(last_word_end),
        })
        .to_string()
    }

    /// A `Results` for `window_start..end` holding `words`.
    fn results(
        &self,
        end: f64,
        words: &[HeardWord],
        is_final: bool,
        speech_final: bool,
        from_finalize: bool,
    ) -> String {
        let f = &self.features;
        let json_words: Vec<Value> = words
            .iter()
            .map(|w| {
                let mut word = json!({
                    "word": bare(&w.token),
                    "start": ms(w.start),
                    "end": ms(w.end),
                    "confidence": CONFIDENCE,
                });
                if f.punctuate {
                    word["punctuated_word"] = json!(w.token);
                }
                if let Some(speaker) = w.speaker {
                    word["speaker"] = json!(speaker);
                }
                if f.multi {
                    word["language"] = json!("en");
                }
                word
            })
            .collect();
        let transcript = words
            .iter()
            .map(|w| {
                if f.punctuate {
                    w.token.clone()
                } else {
                    bare(&w.token)
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        let mut alternative = json!({
            "transcript": transcript,
            "confidence": if words.is_empty() { 0.0 } else { CONFIDENCE },
            "words": json_words,
        });
        if f.multi {
            alternative["languages"] = json!(["en"]);
        }
        json!({
            "type": "Results",
            "channel_index": [0, f.channels],
            "duration": ms(end - self.window_start),
            "start": ms(self.window_start),
            "is_final": is_final,
            "speech_final": speech_final,
            "from_finalize": from_finalize,
            "channel": {"alternatives": [alternative]},
            "metadata": {
                "request_id": self.request_id,
                "model_info": {
                    "name": format!("general-{}", f.model),
                    "version": "2024-12-20.0",
                    "arch": f.model,
                },
                "model_uuid": MODEL_UUID,
            },
        })
        .to_string()
    }
}

/// Seconds rounded to the millisecond.
fn ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// A word as Deepgram writes it in `word`: lowercase, without punctuation.
fn bare(token: &str) -> String {
    token
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '\'')
        .flat_map(char::to_lowercase)
        .collect()
}
