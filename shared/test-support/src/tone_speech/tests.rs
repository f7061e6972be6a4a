use std::io::{Seek, SeekFrom, Write};

use serde_json::{Value, json};

use super::*;
use crate::fake_deepgram::FakeDeepgram;
use crate::fake_server::FakeServer;

/// The recognizer's promised accuracy (ms).
const TOLERANCE_MS: u32 = 20;

fn samples_of(wav: &[u8]) -> Vec<i16> {
    hound::WavReader::new(Cursor::new(wav))
        .expect("a WAV")
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("PCM16 samples")
}

/// What [`recognize`] should hear in the samples `from_ms..to_ms` of rendered `words`: the words
/// inside, shifted; a word cut by the slice kept with clipped times when at least
/// [`CLIPPED_MIN_MS`] of it is left, else dropped.
fn expected(words: &[Word], from_ms: u32, to_ms: u32) -> Vec<Recognized> {
    words
        .iter()
        .filter_map(|w| {
            let (start, end) = (w.start_ms.max(from_ms), w.end_ms.min(to_ms));
            let cut = start != w.start_ms || end != w.end_ms;
            (end > start && (!cut || end - start >= CLIPPED_MIN_MS)).then(|| Recognized {
                start_ms: start - from_ms,
                end_ms: end - from_ms,
                ..Recognized::from(w)
            })
        })
        .collect()
}

/// Same words and speakers, times within [`TOLERANCE_MS`]; returns the largest time error.
fn assert_heard(heard: &[Recognized], expected: &[Recognized]) -> u32 {
    let texts = |r: &[Recognized]| r.iter().map(|w| (w.text.clone(), w.speaker)).collect();
    let (heard_texts, expected_texts): (Vec<_>, Vec<_>) = (texts(heard), texts(expected));
    assert_eq!(heard_texts, expected_texts);
    let mut worst = 0;
    for (h, e) in heard.iter().zip(expected) {
        let error = h
            .start_ms
            .abs_diff(e.start_ms)
            .max(h.end_ms.abs_diff(e.end_ms));
        assert!(error <= TOLERANCE_MS, "heard {h:?}, said {e:?}");
        worst = worst.max(error);
    }
    worst
}

#[test]
fn a_script_is_deterministic_meeting_like_speech() {
    // GIVEN three minutes of script
    let words = script(180_000, 7);
    // THEN the same seed gives the same script, another seed another
    assert_eq!(words, script(180_000, 7));
    assert_ne!(words, script(180_000, 8));
    // AND words, gaps and speakers are as documented
    assert!(words.len() > 200, "{} words", words.len());
    let mut speakers: Vec<u8> = words.iter().map(|w| w.speaker).collect();
    speakers.sort_unstable();
    speakers.dedup();
    assert!((2..=3).contains(&speakers.len()) && speakers.iter().all(|&s| s <= 2));
    for w in &words {
        assert!(
            (WORD_MS.0..=WORD_MS.1).contains(&(w.end_ms - w.start_ms)),
            "{w:?}"
        );
    }
    for pair in words.windows(2) {
        let gap = pair[1].start_ms - pair[0].end_ms;
        assert!((60..=4000).contains(&gap), "{pair:?}");
        if pair[0].speaker != pair[1].speaker {
            assert!(gap >= 400, "a speaker change between sentences: {pair:?}");
        }
    }
    assert!(words.iter().all(|w| w.end_ms + 100 <= 180_000));
}

#[test]
fn a_rendered_script_is_recognized_exactly() {
    // GIVEN three minutes of tone speech rendered to WAV
    let words = script(180_000, 42);
    let wav = render_wav(&words, 180_000);
    // WHEN it is recognized
    let heard = recognize_wav(&wav).expect("a WAV");
    // THEN every word, speaker and time comes back
    let worst = assert_heard(&heard, &expected(&words, 0, 180_000));
    assert!(worst <= 5, "worst error {worst} ms");
}

#[test]
fn a_word_clipped_by_the_start_or_end_is_kept_only_when_long_enough() {
    // GIVEN the samples of a script, and a long word inside it
    let words = script(60_000, 3);
    let samples = samples_of(&render_wav(&words, 60_000));
    let word = words[5..]
        .iter()
        .find(|w| w.end_ms - w.start_ms >= 300)
        .expect("a word of 300 ms or more");
    let at = |ms: u32| (ms * SAMPLE_RATE / 1000) as usize;
    let cases = [
        // Starting mid-word: 200+ ms left (kept), then 80 ms left (dropped).
        (word.start_ms + 100, 60_000, true),
        (word.end_ms - 80, 60_000, false),
        // Ending mid-word: 150 ms of it (kept), then 80 ms (dropped).
        (0, word.start_ms + 150, true),
        (0, word.start_ms + 80, false),
    ];
    for (from, to, kept) in cases {
        // WHEN only that slice is recognized
        let heard = recognize(&samples[at(from)..at(to)], SAMPLE_RATE);
        // THEN the clipped word is there or not as the rule says, the rest shifted exactly
        let expected = expected(&words, from, to);
        assert_heard(&heard, &expected);
        let clipped = if from > 0 {
            heard.first()
        } else {
            heard.last()
        };
        let full = word.end_ms - word.start_ms;
        let has_it =
            clipped.is_some_and(|w| w.text == word.text() && w.end_ms - w.start_ms + 50 < full);
        assert_eq!(has_it, kept, "slice {from}..{to} ms around {word:?}");
    }
}

/// Forwards to a file, remembering the largest single write.
struct Watched {
    file: File,
    largest_write: usize,
    writes: usize,
}

impl Write for Watched {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.largest_write = self.largest_write.max(buf.len());
        self.writes += 1;
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Seek for Watched {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.file.seek(to)
    }
}

#[test]
fn an_hour_is_written_in_chunks_and_is_recognizable_at_its_end() {
    // GIVEN an hour of script
    let hour_ms = 3_600_000;
    let words = script(hour_ms, 60);
    let path = std::env::temp_dir().join(format!("tone-speech-{}.wav", uuid::Uuid::new_v4()));
    let file = File::create(&path).expect("temp file");
    let mut watched = Watched {
        file,
        largest_write: 0,
        writes: 0,
    };
    // WHEN it is written as write_wav does, without its buffer
    stream_wav(&mut watched, &words, hour_ms).expect("writing");
    // THEN it went out in small chunks, never held whole, and has the exact size
    assert!(
        watched.largest_write <= CHUNK_SAMPLES * 2,
        "{}",
        watched.largest_write
    );
    let samples = u64::from(hour_ms) * u64::from(SAMPLE_RATE) / 1000;
    assert!(watched.writes as u64 >= samples * 2 / (CHUNK_SAMPLES as u64 * 2));
    let size = std::fs::metadata(&path).expect("metadata").len();
    assert_eq!(size, 44 + samples * 2);
    // AND its header and its last 20 seconds read back right
    let mut reader = hound::WavReader::open(&path).expect("a WAV");
    assert_eq!(u64::from(reader.duration()), samples);
    let from_ms = hour_ms - 20_000;
    reader
        .seek((u64::from(from_ms) * u64::from(SAMPLE_RATE) / 1000) as u32)
        .expect("seeking");
    let tail: Vec<i16> = reader
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("samples");
    drop(reader);
    std::fs::remove_file(&path).expect("removing the temp file");
    let expected = expected(&words, from_ms, hour_ms);
    assert!(!expected.is_empty());
    assert_heard(&recognize(&tail, SAMPLE_RATE), &expected);
    // AND the public function writes the same bytes
    write_wav(&path, &words[..3], 3_000).expect("write_wav");
    let written = std::fs::read(&path).expect("reading");
    std::fs::remove_file(&path).expect("removing the temp file");
    assert_eq!(written, render_wav(&words[..3], 3_000));
}

fn word(text_index: usize, speaker: u8, start_ms: u32, end_ms: u32) -> Word {
    Word {
        text_index,
        speaker,
        start_ms,
        end_ms,
    }
}

/// POSTs `/v1/listen?<query>` for `url` to the fake; the JSON answer.
async fn listen(fake: &FakeDeepgram, query: &str, url: &str) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}v1/listen?{query}", fake.base_url))
        .header("Authorization", format!("Token {}", fake.api_key))
        .json(&json!({ "url": url }))
        .send()
        .await
        .expect("the fake answers");
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON")
}

fn utterances(body: &Value) -> Vec<(u64, String)> {
    body["results"]["utterances"]
        .as_array()
        .expect("utterances")
        .iter()
        .map(|u| {
            let speaker = u["speaker"].as_u64().expect("speaker");
            (speaker, u["transcript"].as_str().expect("text").to_owned())
        })
        .collect()
}

fn owned(utterances: &[(u64, &str)]) -> Vec<(u64, String)> {
    utterances
        .iter()
        .map(|(s, t)| (*s, (*t).to_owned()))
        .collect()
}

#[tokio::test]
async fn the_fake_deepgram_hears_tone_speech_with_per_request_speakers() {
    // GIVEN speaker 2, then speaker 0 twice (a 1 s pause between), then speaker 2 again
    let said = [
        word(0, 2, 500, 800),
        word(1, 2, 900, 1200),
        word(2, 2, 1300, 1600),
        word(3, 0, 1900, 2200),
        word(4, 0, 2300, 2600),
        word(5, 0, 3600, 3900),
        word(6, 0, 4000, 4300),
        word(7, 2, 4500, 4800),
    ];
    // AND a window of it starting at speaker 0, as its own WAV
    let window: Vec<Word> = said[3..]
        .iter()
        .map(|w| word(w.text_index, w.speaker, w.start_ms - 1800, w.end_ms - 1800))
        .collect();
    let files = [
        ("whole.wav", render_wav(&said, 5500)),
        ("window.wav", render_wav(&window, 3700)),
        (
            "video.webm",
            vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81],
        ),
    ];
    let app = axum::Router::new().route(
        "/audio/{name}",
        axum::routing::get(
            move |axum::extract::Path(name): axum::extract::Path<String>| {
                let body = files
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, b)| b.clone());
                async move { body.ok_or(axum::http::StatusCode::NOT_FOUND) }
            },
        ),
    );
    let audio = FakeServer::start(([127, 0, 0, 1], 0).into(), "audio", app)
        .await
        .expect("audio server");
    let fake = FakeDeepgram::start().await.expect("fake");
    fake.recognize_tone_speech(true);
    let query = "model=nova-3&diarize=true&utterances=true&punctuate=true";
    let url = |name: &str| {
        audio
            .url(&format!("audio/{name}"))
            .expect("url")
            .to_string()
    };

    // WHEN the whole is transcribed
    let whole = listen(&fake, query, &url("whole.wav")).await;
    // THEN speakers are numbered by first appearance, utterances split at speaker changes and
    // at the 1 s pause (>= 0.8 s), punctuated at their edges
    let expected_utterances = [
        (0, "Alpha bravo charlie."),
        (1, "Delta echo."),
        (1, "Foxtrot golf."),
        (0, "Hotel."),
    ];
    assert_eq!(utterances(&whole), owned(&expected_utterances));
    let alternative = &whole["results"]["channels"][0]["alternatives"][0];
    assert_eq!(
        alternative["transcript"],
        "Alpha bravo charlie. Delta echo. Foxtrot golf. Hotel."
    );
    let words = alternative["words"].as_array().expect("words");
    assert_eq!(words.len(), said.len());
    for (w, s) in words.iter().zip(&said) {
        assert_eq!(w["word"], s.text());
        let speaker = if s.speaker == 2 { 0 } else { 1 };
        assert_eq!(w["speaker"], speaker);
        let start = w["start"].as_f64().expect("start");
        let end = w["end"].as_f64().expect("end");
        assert!(
            (start - f64::from(s.start_ms) / 1000.0).abs() <= 0.02,
            "{w}"
        );
        assert!((end - f64::from(s.end_ms) / 1000.0).abs() <= 0.02, "{w}");
    }
    assert_eq!(words[2]["punctuated_word"], "charlie.");
    assert_eq!(words[3]["punctuated_word"], "Delta");
    assert_eq!(whole["metadata"]["duration"], 5.5);

    // WHEN the window is transcribed, with a longer utt_split
    let query = format!("{query}&utt_split=1.5");
    let part = listen(&fake, &query, &url("window.wav")).await;
    // THEN its first speaker is 0 in this request, and the 1 s pause no longer splits
    let expected = [(0, "Delta echo foxtrot golf."), (1, "Hotel.")];
    assert_eq!(utterances(&part), owned(&expected));
    assert_eq!(part["metadata"]["duration"], 3.7);

    // AND audio that is not WAV still gets the default script
    let video = listen(&fake, "punctuate=true", &url("video.webm")).await;
    assert_eq!(
        video["results"]["channels"][0]["alternatives"][0]["transcript"],
        crate::fake_deepgram::DEFAULT_PHRASE
    );
}
