//! The offline engine: deterministic cue-phrase heuristics in English and French, no network.
//! It is the fallback when no LLM is configured and the reference for tests and benchmarks.
//! Content stays in the language it was spoken in; only the markdown headings follow the
//! output language.

mod cues;
mod names;

use cues::{
    DECISION_CUES, FIRST_PERSON_CUES, HIGH_CUES, KEY_POINT_CUES, LOW_CUES, MARKER_CUES, NAMED_CUES,
    NEXT_STEP_CUES, NOT_TASKS, REQUEST_CUES, TITLE_TAILS,
};
use names::Names;

use crate::chunk::{Chunk, ChunkLine};
use crate::dates::resolve_due_date;
use crate::pipeline::Engine;
use crate::text::{Folded, capitalise_first, one_line, sentences, truncate_chars};
use crate::types::{
    EngineError, ExtractedActionItem, ExtractedDecision, Extraction, MeetingInfo, Priority,
};

/// `minutes.generated_by_model` for the offline engine.
pub const OFFLINE_MODEL: &str = "meetin-offline-1";

/// The offline engine's default chunk budget: large enough that any meeting is one chunk.
pub const OFFLINE_CHUNK_BUDGET_TOKENS: usize = 1_000_000;

/// Extractive minutes from cue phrases (see `offline/cues.rs` for the lists):
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
