//! The offline engine: deterministic cue-phrase heuristics in English and French, no network.
//! It is the fallback when no LLM is configured and the reference for tests and benchmarks.
//! Content stays in the language it was spoken in; only the markdown headings follow the
//! output language.

use std::collections::BTreeMap;

use crate::chunk::{Chunk, ChunkLine};
use crate::dates::{is_calendar_word, resolve_due_date};
use crate::pipeline::Engine;
use crate::text::{Folded, capitalise_first, one_line, sentences, truncate_chars};
use crate::types::{
    EngineError, ExtractedActionItem, ExtractedDecision, Extraction, MeetingInfo, Priority,
};

/// `minutes.generated_by_model` for the offline engine.
pub const OFFLINE_MODEL: &str = "meetin-offline-1";

/// The offline engine's default chunk budget: large enough that any meeting is one chunk.
pub const OFFLINE_CHUNK_BUDGET_TOKENS: usize = 1_000_000;

/// Extractive minutes from cue phrases (see the module's constants for the lists):
///
/// - **summary**: the opening sentences of the most substantive lines (longest, with a bonus for
///   lines holding a decision, action or key point), 3 per chunk plus one per 100 lines, at
///   most 8, in time order, each prefixed by its speaker (`Alice: …`);
/// - **decisions**: "we decided", "we agreed", "decision:", "let's go with", "on a décidé",
///   "on est d'accord", "on part sur", …; the title is what follows the cue, the description
///   the sentence, `made_by` the speaker;
/// - **action items**: "action item:", "todo", "à faire :" (owner = a name right after it,
///   as in "David to …"); "I will", "I'll", "je vais", "je m'occupe" (owner = the speaker);
///   "X will", "X va", "X doit" (owner = X when X is a speaker, a speaker's first name, or a
///   capitalised word that is not a pronoun or a calendar word); "can you", "please",
///   "tu peux", "peux-tu" (owner = a name addressed before or after). Due dates come from
///   [`crate::resolve_due_date`] against the meeting's day; priority is high on "urgent",
///   "asap", "au plus vite", "prioritaire", low on "when you can", "no rush", "quand tu peux";
/// - **key points**: sentences with "important", "key", "note that", "le point clé", …;
/// - **next steps**: sentences with "next step", "next time", "prochaine étape",
///   "la prochaine fois".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfflineEngine {
    chunk_budget_tokens: usize,
}

impl Default for OfflineEngine {
    fn default() -> Self {
        OfflineEngine::new()
    }
}

impl OfflineEngine {
    /// With [`OFFLINE_CHUNK_BUDGET_TOKENS`].
    pub fn new() -> OfflineEngine {
        OfflineEngine {
            chunk_budget_tokens: OFFLINE_CHUNK_BUDGET_TOKENS,
        }
    }

    /// With another chunk budget (tests and benchmarks of the chunked path).
    pub fn with_chunk_budget(chunk_budget_tokens: usize) -> OfflineEngine {
        OfflineEngine {
            chunk_budget_tokens,
        }
    }

    /// The extraction of one chunk, synchronously.
    pub fn extract_chunk(&self, chunk: &Chunk<'_>, meeting: &MeetingInfo) -> Extraction {
        let names = Names::of(chunk);
        let mut x = Extraction::default();
        let mut salient = vec![false; chunk.lines.len()];
        for (pos, line) in chunk.lines.iter().enumerate() {
            let speaker = one_line(&line.line.speaker);
            let line_folded = Folded::new(&line.text);
            for sentence in sentences(&line.text) {
                let f = Folded::new(&sentence);
                if let Some(title) = decision_title(&f) {
                    x.decisions.push(ExtractedDecision {
                        title,
                        description: sentence.clone(),
                        made_by: Some(speaker.clone()).filter(|s| !s.is_empty()),
                        source_lines: vec![line.index],
                    });
                    salient[pos] = true;
                }
                if let Some((title, owner)) = action(&f, &speaker, &names) {
                    x.action_items.push(ExtractedActionItem {
                        title,
                        description: sentence.clone(),
                        owner,
                        due_date: resolve_due_date(&sentence, meeting.date),
                        priority: priority(&f)
                            .or_else(|| priority(&line_folded))
                            .unwrap_or_default(),
                        source_lines: vec![line.index],
                    });
                    salient[pos] = true;
                }
                if f.contains_any(KEY_POINT_CUES) {
                    x.key_points.push(sentence.clone());
                    salient[pos] = true;
                }
                if f.contains_any(NEXT_STEP_CUES) {
                    x.next_steps.push(sentence.clone());
                }
            }
        }
        x.summary = summary(&chunk.lines, &salient);
        x
    }
}

impl Engine for OfflineEngine {
    fn model(&self) -> String {
        OFFLINE_MODEL.to_string()
    }

    fn chunk_budget_tokens(&self) -> usize {
        self.chunk_budget_tokens
    }

    async fn extract(
        &self,
        chunk: &Chunk<'_>,
        meeting: &MeetingInfo,
    ) -> Result<Extraction, EngineError> {
        Ok(self.extract_chunk(chunk, meeting))
    }
}

/// A decision cue, the words that may follow it before the decision itself, and a prefix for
/// the title when the cue carries the verb ("let's go with X" → "Go with X").
type Cue = (&'static str, &'static [&'static str], &'static str);

const SKIP_EN: &[&str] = &[
    "to",
    "that",
    "on",
    "we will",
    "we'll",
    "we would",
    "we should",
];
const SKIP_FR: &[&str] = &[
    "de",
    "d'",
    "que",
    "qu'",
    "pour",
    "sur",
    "on va",
    "nous allons",
];

const DECISION_CUES: &[Cue] = &[
    ("we have decided", SKIP_EN, ""),
    ("we've decided", SKIP_EN, ""),
    ("we decided", SKIP_EN, ""),
    ("we have agreed", SKIP_EN, ""),
    ("we've agreed", SKIP_EN, ""),
    ("we all agreed", SKIP_EN, ""),
    ("we agreed", SKIP_EN, ""),
    ("decision:", SKIP_EN, ""),
    ("decision :", SKIP_EN, ""),
    ("let's go with", &[], "Go with "),
    ("lets go with", &[], "Go with "),
    ("we will go with", &[], "Go with "),
    ("we'll go with", &[], "Go with "),
    ("we're going with", &[], "Go with "),
    ("nous avons décidé", SKIP_FR, ""),
    ("on a décidé", SKIP_FR, ""),
    ("on s'est mis d'accord", SKIP_FR, ""),
    ("nous sommes d'accord", SKIP_FR, ""),
    ("on est d'accord", SKIP_FR, ""),
    ("décision :", SKIP_FR, ""),
    ("décision:", SKIP_FR, ""),
    ("on va partir sur", &[], "Partir sur "),
    ("on part sur", &[], "Partir sur "),
];

/// Explicit action markers; a name right after one ("David to …") is the owner.
const MARKER_CUES: &[&str] = &[
    "action item:",
    "action item :",
    "action:",
    "todo:",
    "to do:",
    "todo",
    "à faire :",
    "à faire:",
];

/// First-person commitments: the speaker owns them. (cue, title prefix)
const FIRST_PERSON_CUES: &[(&str, &str)] = &[
    ("i will", ""),
    ("i'll", ""),
    ("i'm going to", ""),
    ("i am going to", ""),
    ("je vais", ""),
    ("je m'occupe", "S'occuper "),
    ("je dois", ""),
];

/// "X will …": the word(s) before the cue name the owner.
const NAMED_CUES: &[&str] = &["will", "is going to", "va", "doit", "devra"];

/// Requests: the owner is whoever is addressed by name, if anyone.
const REQUEST_CUES: &[&str] = &[
    "can you",
    "could you",
    "please",
    "tu peux",
    "peux-tu",
    "pouvez-vous",
    "vous pouvez",
    "tu pourrais",
    "merci de",
];

/// Remainders that are talk, not tasks ("I'll be honest", "can you hear me").
const NOT_TASKS: &[&str] = &[
    "be",
    "not",
    "say",
    "admit",
    "hear",
    "see",
    "repeat",
    "note",
    "show you",
    "share my screen",
    "walk you through",
    "pas",
    "être",
    "dire",
    "m'entendre",
    "répéter",
    "me voir",
    "vous montrer",
    "te montrer",
    "partager mon écran",
];

const HIGH_CUES: &[&str] = &[
    "urgent",
    "urgently",
    "asap",
    "as soon as possible",
    "au plus vite",
    "dès que possible",
    "prioritaire",
    "en priorité",
    "top priority",
    "critical",
];
const LOW_CUES: &[&str] = &[
    "when you can",
    "whenever you can",
    "no rush",
    "not urgent",
    "low priority",
    "quand tu peux",
    "quand vous pouvez",
    "pas urgent",
    "pas pressé",
    "rien ne presse",
];

const KEY_POINT_CUES: &[&str] = &[
    "important",
    "key",
    "note that",
    "keep in mind",
    "crucial",
    "le point clé",
    "point clé",
    "essentiel",
    "à retenir",
    "à noter",
];
const NEXT_STEP_CUES: &[&str] = &[
    "next step",
    "next steps",
    "next time",
    "prochaine étape",
    "prochaines étapes",
    "la prochaine fois",
];

/// Words that precede "will"/"va" without naming a person (compared folded).
const NOT_NAMES: &[&str] = &[
    "i",
    "it",
    "this",
    "that",
    "we",
    "they",
    "he",
    "she",
    "you",
    "there",
    "who",
    "what",
    "which",
    "everyone",
    "everybody",
    "someone",
    "somebody",
    "nobody",
    "anyone",
    "one",
    "so",
    "then",
    "and",
    "but",
    "also",
    "if",
    "when",
    "ok",
    "okay",
    "yes",
    "no",
    "well",
    "il",
    "elle",
    "on",
    "ça",
    "ca",
    "cela",
    "ce",
    "qui",
    "nous",
    "vous",
    "ils",
    "elles",
    "tout",
    "personne",
    "quelqu'un",
    "chacun",
    "je",
    "tu",
    "ne",
    "et",
    "mais",
    "alors",
    "donc",
    "puis",
    "oui",
    "non",
    "bon",
    "bref",
    "si",
    "quand",
    "the",
    "le",
    "la",
    "les",
];

/// Trailing phrases cut from titles: they set the priority, they are not the task.
const TITLE_TAILS: &[&str] = &[
    "it is urgent",
    "it's urgent",
    "this is urgent",
    "that's urgent",
    "c'est urgent",
    "urgently",
    "asap",
    "as soon as possible",
    "au plus vite",
    "dès que possible",
    "when you can",
    "whenever you can",
    "quand tu peux",
    "quand vous pouvez",
    "please",
    "s'il te plaît",
    "s'il vous plaît",
    "stp",
    "svp",
];

/// The speakers of a chunk: full names, and first names that belong to only one speaker.
struct Names {
    full: Vec<String>,
    first: BTreeMap<String, Option<String>>,
}

impl Names {
    fn of(chunk: &Chunk<'_>) -> Names {
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

    /// The person a single word names: a unique first name → the full name; a speaker named
    /// by one word → that word; a capitalised non-pronoun, non-calendar word → the word.
    fn word(&self, word: &str) -> Option<String> {
        let key = folded(word);
        if let Some(found) = self.first.get(&key) {
            return found.clone();
        }
        if let Some(full) = self.full.iter().find(|n| folded(n) == key) {
            return Some(full.clone());
        }
        let capitalised = word.chars().next().is_some_and(char::is_uppercase)
            && word.chars().all(|c| c.is_alphabetic() || c == '-');
        (capitalised && !NOT_NAMES.contains(&key.as_str()) && !is_calendar_word(&key))
            .then(|| word.to_string())
    }

    /// The person named at the end of `before` (e.g. "So Claire Dubois" → "Claire Dubois").
    fn trailing(&self, before: &str) -> Option<String> {
        let b = before.trim_end().trim_end_matches(',').trim_end();
        let fb = folded(b);
        for name in &self.full {
            let fname = folded(name);
            if let Some(head) = fb.strip_suffix(&fname)
                && head.chars().last().is_none_or(|c| !c.is_alphanumeric())
            {
                return Some(name.clone());
            }
        }
        let last = b
            .rsplit(|c: char| !(c.is_alphanumeric() || c == '-'))
            .next()?;
        self.word(last)
    }

    /// The person named at the start of `after` when a connector follows ("David to book …",
    /// "Claire: …"), and the rest after the connector.
    fn leading(&self, after: &str) -> Option<(String, String)> {
        let a = after.trim_start();
        let fa = folded(a);
        // (owner, characters of `a` that name them)
        let (owner, consumed) = self
            .full
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
            })?;
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

    /// The person `text` names as a whole: a speaker's full name, or one word naming someone.
    fn whole(&self, text: &str) -> Option<String> {
        let t = text.trim();
        let ft = folded(t);
        if let Some(full) = self.full.iter().find(|n| folded(n) == ft) {
            return Some(full.clone());
        }
        (!t.contains(' ')).then(|| self.word(t)).flatten()
    }
}

fn folded(text: &str) -> String {
    Folded::new(text).fold.iter().collect()
}

/// The title of a decision announced in `f`, if any.
fn decision_title(f: &Folded) -> Option<String> {
    DECISION_CUES.iter().find_map(|&(cue, skip, prefix)| {
        let at = f.find_word(cue, 0)?;
        let rest = f.slice(at + cue.chars().count(), f.len());
        let title = clean_title(&skip_words(&rest, skip));
        (!title.is_empty()).then(|| capitalise_first(&format!("{prefix}{title}")))
    })
}

/// An action item in `f`: its title and owner.
fn action(f: &Folded, speaker: &str, names: &Names) -> Option<(String, Option<String>)> {
    let speaker = Some(speaker.to_string()).filter(|s| !s.is_empty());
    for cue in MARKER_CUES {
        if let Some(at) = f.find_word(cue, 0) {
            let rest = f.slice(at + cue.chars().count(), f.len());
            let (owner, rest) = match names.leading(&rest) {
                Some((owner, rest)) => (Some(owner), rest),
                None => (None, rest),
            };
            if let Some(title) = task_title(&rest, "") {
                return Some((title, owner));
            }
        }
    }
    for (cue, prefix) in FIRST_PERSON_CUES {
        if let Some(at) = f.find_word(cue, 0)
            && let Some(title) = task_title(&f.slice(at + cue.chars().count(), f.len()), prefix)
        {
            return Some((title, speaker));
        }
    }
    for cue in NAMED_CUES {
        let mut from = 0;
        while let Some(at) = f.find_word(cue, from) {
            from = at + 1;
            if let Some(owner) = names.trailing(&f.slice(0, at))
                && let Some(title) = task_title(&f.slice(at + cue.chars().count(), f.len()), "")
            {
                return Some((title, Some(owner)));
            }
        }
    }
    for cue in REQUEST_CUES {
        if let Some(at) = f.find_word(cue, 0) {
            let before = f.slice(0, at);
            let mut owner = before
                .trim_end()
                .ends_with(',')
                .then(|| names.trailing(&before))
                .flatten();
            let mut rest = f.slice(at + cue.chars().count(), f.len());
            // A name addressed at the end: "…, Bob?"
            let trimmed = rest.trim_end_matches(|c: char| c.is_whitespace() || "?.!".contains(c));
            if owner.is_none()
                && let Some((head, tail)) = trimmed.rsplit_once(',')
                && let Some(name) = names.whole(tail)
            {
                owner = Some(name);
                rest = head.to_string();
            }
            let rest = skip_words(&rest, &["please"]);
            if let Some(title) = task_title(&rest, "") {
                return Some((title, owner));
            }
        }
    }
    None
}

/// A task's title from the words after its cue; `None` for talk ("I'll be honest").
fn task_title(rest: &str, prefix: &str) -> Option<String> {
    let title = clean_title(rest);
    let first = folded(&title);
    let first_word = first.split(' ').next().unwrap_or_default();
    if title.is_empty()
        || NOT_TASKS
            .iter()
            .any(|t| first_word == *t || (t.contains(' ') && first.starts_with(t)))
    {
        return None;
    }
    Some(capitalise_first(&format!("{prefix}{title}")))
}

/// Drops leading connector words (`to`, `that`, `de`, `d'`, …), repeatedly.
fn skip_words(text: &str, words: &[&str]) -> String {
    let mut rest = text
        .trim_start()
        .trim_start_matches([':', ',', '-', ' '])
        .to_string();
    loop {
        let f = folded(&rest);
        let skip = words.iter().find(|w| {
            f.starts_with(*w)
                && (w.ends_with('\'')
                    || f[w.len()..]
                        .chars()
                        .next()
                        .is_none_or(|c| !c.is_alphanumeric()))
        });
        match skip {
            // Folding keeps character counts, so the folded prefix's length in characters
            // is the original's.
            Some(w) => {
                let n = w.chars().count();
                rest = rest
                    .chars()
                    .skip(n)
                    .collect::<String>()
                    .trim_start()
                    .to_string();
            }
            None => return rest,
        }
    }
}

/// One line, no trailing punctuation or priority phrase, at most 500 characters.
fn clean_title(text: &str) -> String {
    let mut title = one_line(text);
    loop {
        let trimmed = title
            .trim_end_matches(|c: char| c.is_whitespace() || ".!?;,:…".contains(c))
            .trim_start_matches(|c: char| c.is_whitespace() || ":,-".contains(c))
            .to_string();
        let f = folded(&trimmed);
        let tail = TITLE_TAILS.iter().find(|t| {
            f.ends_with(*t)
                && f[..f.len() - t.len()]
                    .chars()
                    .last()
                    .is_none_or(|c| !c.is_alphanumeric())
        });
        match tail {
            Some(t) if f.len() > t.len() => {
                let keep = trimmed.chars().count() - t.chars().count();
                title = trimmed.chars().take(keep).collect();
            }
            _ => return truncate_chars(&trimmed, crate::content::MAX_TITLE_CHARS),
        }
    }
}

fn priority(f: &Folded) -> Option<Priority> {
    if f.contains_any(LOW_CUES) {
        Some(Priority::Low)
    } else if f.contains_any(HIGH_CUES) {
        Some(Priority::High)
    } else {
        None
    }
}

/// The opening sentences (at least 60 characters' worth) of the most substantive lines, in time
/// order, `Speaker: sentences`.
fn summary(lines: &[ChunkLine<'_>], salient: &[bool]) -> String {
    let take = (3 + lines.len() / 100).min(8);
    let mut scored: Vec<(usize, usize)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.text.trim().is_empty())
        .map(|(pos, l)| {
            let bonus = if salient[pos] { 80 } else { 0 };
            (l.text.chars().count() + bonus, pos)
        })
        .collect();
    // Highest score first; the earlier line wins a tie.
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<usize> = scored.into_iter().take(take).map(|(_, pos)| pos).collect();
    chosen.sort_unstable();
    chosen
        .into_iter()
        .filter_map(|pos| {
            let l = &lines[pos];
            // The first sentences, enough to say something ("Yes." alone does not).
            let mut first = String::new();
            for sentence in sentences(&l.text) {
                if first.chars().count() >= 60 {
                    break;
                }
                if !first.is_empty() {
                    first.push(' ');
                }
                first.push_str(&sentence);
            }
            if first.is_empty() {
                return None;
            }
            let first = if first.chars().count() > 300 {
                format!("{}…", truncate_chars(&first, 299))
            } else {
                first
            };
            let speaker = one_line(&l.line.speaker);
            Some(if speaker.is_empty() {
                first
            } else {
                format!("{speaker}: {first}")
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}
