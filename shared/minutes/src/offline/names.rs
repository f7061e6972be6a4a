//! Who a chunk's sentences name: its speakers, by full name or by a first name only one of
//! them has.

use std::collections::BTreeMap;

use super::cues::NOT_NAMES;
use super::folded;
use crate::chunk::Chunk;
use crate::dates::is_calendar_word;
use crate::text::one_line;

/// Who a subject names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Subject {
    Person(String),
    Speaker,
    NoOne,
}

/// Subject pronouns that repeat a name said just before ("Marie, elle va …").
const PRONOUNS: &[&str] = &["elle", "il", "lui", "she", "he"];

/// The speakers of a chunk: full names, and first names that belong to only one speaker.
pub(super) struct Names {
    full: Vec<String>,
    first: BTreeMap<String, Option<String>>,
}

impl Names {
    pub(super) fn of(chunk: &Chunk<'_>) -> Names {
        let mut full: Vec<String> = Vec::new();
        for l in &chunk.lines {
            let name = one_line(&l.line.speaker);
            if !name.is_empty() && !full.contains(&name) {
                full.push(name);
            }
        }
        let mut first: BTreeMap<String, Option<String>> = BTreeMap::new();
        for name in &full {
            let Some(given) = name.split(' ').next() else {
                continue;
            };
            if name.chars().any(|c| c.is_ascii_digit()) || given == name {
                continue;
            }
            first
                .entry(folded(given))
                .and_modify(|v| *v = None)
                .or_insert_with(|| Some(name.clone()));
        }
        full.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
        Names { full, first }
    }

    /// The person a single word names: a speaker's first name → the full name (as spoken when
    /// two speakers share it); a speaker named by one word → that word; a capitalised non-pronoun, non-calendar word → the word.
    pub(super) fn word(&self, word: &str) -> Option<String> {
        let key = folded(word);
        // A first name two speakers share stays as spoken.
        if let Some(found) = self.first.get(&key) {
            return Some(found.clone().unwrap_or_else(|| word.to_string()));
        }
        if let Some(full) = self.full.iter().find(|n| folded(n) == key) {
            return Some(full.clone());
        }
        let capitalised = word.chars().next().is_some_and(char::is_uppercase)
            && word.chars().all(|c| c.is_alphabetic() || c == '-');
        (capitalised && !NOT_NAMES.contains(&key.as_str()) && !is_calendar_word(&key))
            .then(|| word.to_string())
    }

    /// The person named at the end of `before` (e.g. "So Claire Dubois" → "Claire Dubois"),
    /// and where in `before` (in characters) the name starts. A subject pronoun repeating a
    /// name ("Marie, elle va …") is looked through.
    pub(super) fn trailing(&self, before: &str) -> Option<(String, usize)> {
        let b = before.trim_end().trim_end_matches(',').trim_end();
        let fb = folded(b);
        for name in &self.full {
            let fname = folded(name);
            if let Some(head) = fb.strip_suffix(&fname)
                && head.chars().last().is_none_or(|c| !c.is_alphanumeric())
            {
                return Some((name.clone(), head.chars().count()));
            }
        }
        let last = b
            .rsplit(|c: char| !(c.is_alphanumeric() || c == '-'))
            .next()?;
        let start = b.chars().count() - last.chars().count();
        if PRONOUNS.contains(&folded(last).as_str()) {
            let head: String = b.chars().take(start).collect();
            if head.trim_end().ends_with(',') {
                return self.trailing(&head);
            }
        }
        self.word(last).map(|name| (name, start))
    }

    /// The person named at the start of `after` when a connector follows ("David to book …",
    /// "Claire: …"), and the rest after the connector.
    pub(super) fn leading(&self, after: &str) -> Option<(String, String)> {
        let a = after.trim_start();
        let fa = folded(a);
        // (owner, characters of `a` that name them)
        let (owner, consumed) = self.person_at(a, &fa)?;
        let rest: String = a.chars().skip(consumed).collect();
        let rest = rest.trim_start();
        let frest = folded(rest);
        [
            ":", "-", ",", "to ", "will ", "should ", "must ", "doit ", "va ",
        ]
        .iter()
        .find(|c| frest.starts_with(*c))
        .map(|c| {
            (
                owner,
                rest.chars().skip(c.chars().count()).collect::<String>(),
            )
        })
    }

    /// The person `a` starts with (`fa` is `a` folded): a speaker's full name, else a name
    /// [`Names::word`] knows; with the characters of `a` that name them.
    fn person_at(&self, a: &str, fa: &str) -> Option<(String, usize)> {
        self.full
            .iter()
            .find_map(|name| {
                let fname = folded(name);
                let next = fa.strip_prefix(&fname)?.chars().next();
                next.is_none_or(|c| !c.is_alphanumeric())
                    .then(|| (name.clone(), fname.chars().count()))
            })
            .or_else(|| {
                let word = a
                    .split(|c: char| !(c.is_alphanumeric() || c == '-'))
                    .next()?;
                Some((self.word(word)?, word.chars().count()))
            })
    }

    /// The subject at the start of `after` ("il faut que *Marie* envoie …"): a person, the
    /// speaker (`je`), or no one (`on`, `nous`, `tu`, `vous`), and the rest after it.
    pub(super) fn subject(&self, after: &str) -> Option<(Subject, String)> {
        let a = after.trim_start();
        let fa = folded(a);
        for (word, subject) in [
            ("j'", Subject::Speaker),
            ("je ", Subject::Speaker),
            ("on ", Subject::NoOne),
            ("nous ", Subject::NoOne),
            ("tu ", Subject::NoOne),
            ("vous ", Subject::NoOne),
        ] {
            if fa.starts_with(word) {
                return Some((subject, a.chars().skip(word.chars().count()).collect()));
            }
        }
        let (name, consumed) = self.person_at(a, &fa)?;
        Some((Subject::Person(name), a.chars().skip(consumed).collect()))
    }

    /// The person `text` names as a whole: a speaker's full name, or one word naming someone.
    pub(super) fn whole(&self, text: &str) -> Option<String> {
        let t = text.trim();
        let ft = folded(t);
        if let Some(full) = self.full.iter().find(|n| folded(n) == ft) {
            return Some(full.clone());
        }
        (!t.contains(' ')).then(|| self.word(t)).flatten()
    }
}
