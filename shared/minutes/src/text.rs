//! Small text helpers shared by the chunker, the engines, the merge and the markdown.

/// Collapses every run of whitespace (newlines included) into one space and trims.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters (not bytes) of `text`.
pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_string(),
        None => text.to_string(),
    }
}

/// Lowercase, every non-alphanumeric character a separator, words joined by one space.
/// Accents are kept: "Décision" and "decision" stay different words.
pub(crate) fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// The first character upper-cased.
pub(crate) fn capitalise_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Splits prose into sentences after `.`, `!`, `?` or `…` followed by whitespace (so "3.5" and
/// "e.g.x" stay whole). Each sentence is trimmed; empty ones are dropped.
pub(crate) fn sentences(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..chars.len() {
        let ends = matches!(chars[i], '.' | '!' | '?' | '…')
            && chars.get(i + 1).is_none_or(|c| c.is_whitespace());
        if ends {
            push_trimmed(&mut out, &chars[start..=i]);
            start = i + 1;
        }
    }
    push_trimmed(&mut out, &chars[start.min(chars.len())..]);
    out
}

fn push_trimmed(out: &mut Vec<String>, chars: &[char]) {
    let s: String = chars.iter().collect();
    let s = one_line(&s);
    if !s.is_empty() {
        out.push(s);
    }
}

/// `HH:MM:SS` of a millisecond offset (negative offsets print as zero).
pub(crate) fn hms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// A text and its folded form, character for character: lowercase (when that is one character),
/// typographic apostrophes as `'`, every whitespace as a plain space (French puts a narrow
/// no-break space before `:` and `?`). Cue phrases are searched in the folded form and the
/// matching span is cut out of the original, which keeps names' capitals.
pub(crate) struct Folded {
    pub(crate) orig: Vec<char>,
    pub(crate) fold: Vec<char>,
    /// `fold` as a string (searched with std's substring search) and the byte offset of each
    /// of its characters, plus its length.
    text: String,
    starts: Vec<usize>,
}

impl Folded {
    pub(crate) fn new(text: &str) -> Folded {
        let orig: Vec<char> = text.chars().collect();
        let fold: Vec<char> = orig.iter().map(|&c| fold_char(c)).collect();
        let text: String = fold.iter().collect();
        let mut starts: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        starts.push(text.len());
        Folded {
            orig,
            fold,
            text,
            starts,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.orig.len()
    }

    /// The original characters `from..to` as a string.
    pub(crate) fn slice(&self, from: usize, to: usize) -> String {
        self.orig[from.min(to)..to.min(self.orig.len())]
            .iter()
            .collect()
    }

    /// The character index of the first occurrence of `cue` (already folded) at or after
    /// character `from` that starts on a word boundary and, when the cue ends with a letter or
    /// digit, ends on one.
    pub(crate) fn find_word(&self, cue: &str, from: usize) -> Option<usize> {
        let n = cue.chars().count();
        let needs_start = cue.chars().next().is_some_and(char::is_alphanumeric);
        let needs_end = cue.chars().last().is_some_and(char::is_alphanumeric);
        let from_byte = *self.starts.get(from)?;
        if cue.is_empty() {
            return None;
        }
        self.text[from_byte..]
            .match_indices(cue)
            .filter_map(|(b, _)| self.starts.binary_search(&(from_byte + b)).ok())
            .find(|&at| {
                (!needs_start || at == 0 || !self.fold[at - 1].is_alphanumeric())
                    && (!needs_end || self.fold.get(at + n).is_none_or(|c| !c.is_alphanumeric()))
            })
    }

    /// True when any of `cues` occurs as a word.
    pub(crate) fn contains_any(&self, cues: &[&str]) -> bool {
        cues.iter().any(|cue| self.find_word(cue, 0).is_some())
    }
}

fn fold_char(c: char) -> char {
    match c {
        '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}' => '\'',
        c if c.is_whitespace() => ' ',
        c => {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        }
    }
}

/// Words of a folded text: maximal runs of letters and digits, with their character offsets.
pub(crate) fn words(chars: &[char]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphanumeric() {
            let start = i;
            while i < chars.len() && chars[i].is_alphanumeric() {
                i += 1;
            }
            out.push((start, chars[start..i].iter().collect()));
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_on_terminal_punctuation_followed_by_space() {
        assert_eq!(
            sentences("Version 3.5 ships. Really?  Yes!\nOK"),
            vec!["Version 3.5 ships.", "Really?", "Yes!", "OK"]
        );
    }

    #[test]
    fn normalise_ignores_case_punctuation_and_spacing() {
        assert_eq!(
            normalise("  Send the   Report, by FRIDAY! "),
            "send the report by friday"
        );
        assert_eq!(normalise("Décision : l'équipe"), "décision l équipe");
    }

    #[test]
    fn find_word_respects_boundaries_and_folds() {
        let f = Folded::new("Hi will, Bob\u{2019}ll go. I\u{2019}LL do it");
        assert_eq!(f.find_word("i'll", 0), Some(20));
        assert_eq!(f.find_word("ill", 0), None);
        let f = Folded::new("Décision\u{202F}: on part");
        assert_eq!(f.find_word("décision :", 0), Some(0));
    }

    #[test]
    fn hms_formats_hours_minutes_seconds() {
        assert_eq!(hms(3_725_999), "01:02:05");
        assert_eq!(hms(-5), "00:00:00");
    }
}
