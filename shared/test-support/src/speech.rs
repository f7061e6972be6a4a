//! Real speech in tests: the committed audio fixtures (tests/fixtures/audio/README.md), the
//! provisioned Whisper model, and the word error rate a transcript is judged by.

use std::path::PathBuf;

/// `tests/fixtures/audio/<name>` of this repository.
pub fn audio_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/audio")
        .join(name)
}

/// The bytes of [`audio_fixture`]; panics naming the file when it is missing.
pub fn audio_fixture_bytes(name: &str) -> Vec<u8> {
    let path = audio_fixture(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The Whisper model the tests use: `WHISPER_MODEL_PATH`, else the cache
/// `infra/local/whisper-model.sh` fills (setup runs it for `make test` and CI). Panics with
/// that instruction when the file is missing: a test that needs the model never skips.
pub fn whisper_model() -> PathBuf {
    provisioned("WHISPER_MODEL_PATH", "ggml-tiny.en.bin")
}

/// The scripted turns of a fixture's `NAME.turns.txt` (tests/fixtures/audio, written by
/// make.sh): `(start_ms, end_ms, speaker)` per line, speakers numbered from 0.
pub fn fixture_turns(name: &str) -> Vec<(i64, i64, usize)> {
    std::fs::read_to_string(audio_fixture(name))
        .unwrap_or_else(|e| panic!("reading {name}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<i64> = l
                .split_whitespace()
                .map(|f| f.parse().expect("a number"))
                .collect();
            (v[0], v[1], usize::try_from(v[2]).expect("a speaker number"))
        })
        .collect()
}

/// The multilingual Whisper model (base) the tests use: `WHISPER_MULTILINGUAL_MODEL_PATH`,
/// else the same cache; panics as [`whisper_model`] does.
pub fn whisper_multilingual_model() -> PathBuf {
    provisioned("WHISPER_MULTILINGUAL_MODEL_PATH", "ggml-base.bin")
}

fn provisioned(setting: &str, file: &str) -> PathBuf {
    let env = |name: &str| std::env::var(name).ok().filter(|p| !p.trim().is_empty());
    let path = env(setting)
        .map(PathBuf::from)
        .or_else(|| {
            let cache = env("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            Some(cache.join("meetin/whisper").join(file))
        })
        .unwrap_or_else(|| panic!("HOME or {setting} must be set to find the Whisper model"));
    assert!(
        path.is_file(),
        "no Whisper model at {}: run infra/local/whisper-model.sh (make test runs it)",
        path.display()
    );
    path
}

/// The share of `reference`'s words (as [`words`] compares them) that `hypothesis` holds,
/// each counted as often as it occurs in both (0..=1; 1 for an empty reference): how much of
/// a script a transcript carries, whatever its order.
pub fn word_overlap(reference: &str, hypothesis: &str) -> f64 {
    let reference = words(reference);
    if reference.is_empty() {
        return 1.0;
    }
    let mut left = words(hypothesis);
    let found = reference
        .iter()
        .filter(|w| {
            left.iter()
                .position(|h| h == *w)
                .map(|i| left.swap_remove(i))
                .is_some()
        })
        .count();
    found as f64 / reference.len() as f64
}

/// The words of `text` as compared: lower case, punctuation dropped (but apostrophes inside
/// words), "mr"/"mrs" spelled out as the LibriVox transcriptions do.
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect::<String>()
                .trim_matches('\'')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .map(|w| match w.as_str() {
            "mr" => "mister".to_owned(),
            "mrs" => "missus".to_owned(),
            _ => w,
        })
        .collect()
}

/// Word error rate of `hypothesis` against `reference`: (substitutions + deletions +
/// insertions) / reference words, by Levenshtein distance over [`words`].
pub fn word_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let r = words(reference);
    let h = words(hypothesis);
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    let mut previous: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut current = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            let substitution = previous[j] + usize::from(rw != hw);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[h.len()] as f64 / r.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_error_rate_counts_edits_over_reference_words() {
        assert_eq!(word_error_rate("a b c d", "A, b c d."), 0.0);
        assert_eq!(word_error_rate("a b c d", "a x c d"), 0.25);
        assert_eq!(word_error_rate("a b c d", "a c d"), 0.25);
        assert_eq!(word_error_rate("a b c d", "a b c d e f"), 0.5);
        assert_eq!(word_error_rate("and mister john", "And Mr. John"), 0.0);
        assert_eq!(word_error_rate("let's go", "Let's go!"), 0.0);
        assert_eq!(word_error_rate("", ""), 0.0);
        assert_eq!(word_error_rate("", "noise"), 1.0);
    }
}
