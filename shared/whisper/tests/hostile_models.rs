//! The hostile corpus (meetin_test_support::hostile, issue 16) through whole transcriptions,
//! with every model (tiny.en, and the multilingual base in French and detecting), each case
//! under an allocator cap: each is refused with a bad-audio reason or transcribed for what it
//! holds, never panics, and never allocates more than a fixed budget on the Rust side
//! (decoding, windows, the diarizer's state; whisper.cpp's own buffers are fixed by the
//! model and allocated by C, outside this cap).

use std::alloc::System;
use std::io::Write;

use meetin_test_support::hostile::{Expect, corpus};
use meetin_test_support::speech::{whisper_model, whisper_multilingual_model};
use meetin_whisper::{Spoken, WhisperEngine};

/// What one transcription may allocate above what was live before (bytes).
const BUDGET: usize = 96 << 20;

#[global_allocator]
static ALLOCATOR: cap::Cap<System> = cap::Cap::new(System, usize::MAX);

#[test]
fn every_hostile_recording_is_refused_or_transcribed_within_the_budget_with_every_model() {
    let english = WhisperEngine::load(whisper_model()).expect("tiny.en");
    let multilingual = WhisperEngine::load(whisper_multilingual_model()).expect("base");
    let runs = [
        (&english, Spoken::Known("en")),
        (&multilingual, Spoken::Known("fr")),
        (&multilingual, Spoken::Detect),
    ];
    let mut failures = Vec::new();
    let mut readable = 0;
    for case in corpus() {
        // What the Rust side allocates does not depend on the model: every case goes through
        // tiny.en, and through base (French, detecting) all that must be refused and the first
        // few that may be read (each is a whole Whisper run: the suite's time).
        if matches!(case.expect, Expect::RefusedOrAtMost { .. }) {
            readable += 1;
        }
        let take = if readable > 4 && matches!(case.expect, Expect::RefusedOrAtMost { .. }) {
            1
        } else {
            runs.len()
        };
        for &(engine, spoken) in &runs[..take] {
            let what = format!("{} with {} {spoken:?}", case.name, engine.name());
            let _ = writeln!(std::io::stderr(), "hostile case: {what}");
            ALLOCATOR
                .set_limit(ALLOCATOR.allocated() + BUDGET)
                .expect("a limit above what is live");
            let result = engine.transcribe_in(&case.bytes, spoken);
            ALLOCATOR.set_limit(usize::MAX).expect("no limit");
            match (result, case.expect) {
                (Err(e), _) if e.is_bad_audio() => {}
                (Err(e), _) => failures.push(format!("{what}: not a bad-audio error: {e:?}")),
                (Ok(_), Expect::Refused) => {
                    failures.push(format!("{what}: transcribed, but must be refused"));
                }
                (Ok(t), Expect::RefusedOrAtMost { max_ms })
                    if u64::try_from(t.duration_ms).unwrap_or(u64::MAX) > max_ms =>
                {
                    failures.push(format!("{what}: {} ms, more than it holds", t.duration_ms));
                }
                (Ok(_), _) => {}
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
