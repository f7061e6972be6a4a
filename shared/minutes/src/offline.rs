//! The offline engine: deterministic cue-phrase heuristics in English and French, no network.
//! It is the fallback when no LLM is configured and the reference for tests and benchmarks.
//! Content stays in the language it was spoken in; only the markdown headings follow the
//! output language.

mod actions;
mod cues;
mod guards;
mod names;
mod pattern;

use std::sync::LazyLock;

use actions::{Owner, Task};
use cues::{
    CONNECTORS, Check, DECISION_CUES, HIGH_CUES, KEY_POINT_CUES, LOW_CUES, NEXT_STEP_CUES,
    NOT_PLANS, NOT_TASKS, TITLE_TAILS,
};
use names::Names;
use pattern::Pattern;

use crate::chunk::{Chunk, ChunkLine};
use crate::pipeline::Engine;
use crate::text::{Folded, capitalise_first, one_line, sentences, truncate_chars};
use crate::types::{
    EngineError, ExtractedActionItem, ExtractedDecision, Extraction, MeetingInfo, Priority,
};

/// `minutes.generated_by_model` for the offline engine.
pub const OFFLINE_MODEL: &str = "meetin-offline-1";

/// The offline engine's default chunk budget: large enough that any meeting is one chunk.
pub const OFFLINE_CHUNK_BUDGET_TOKENS: usize = 1_000_000;

/// Extractive minutes from cue phrases (see `offline/cues.rs` for the lists). Cues are found
/// anywhere in a sentence, with fillers inside them ("So we *also* decided", "Et Marie va",
/// "On a *finalement* décidé"), and do not count in a question, after a negation or in a
/// hypothetical of their clause ("did we decide …?", "we haven't decided", "if we decide",
/// "on n'a pas décidé", "si on décide").
///
/// - **summary**: the opening sentences of the most substantive lines (longest, with a bonus for
///   lines holding a decision, action or key point), 3 per chunk plus one per 100 lines, at
///   most 8, in time order, each prefixed by its speaker (`Alice: …`);
/// - **decisions**: "we decided", "we agreed", "it was decided that", "the plan is to",
///   "decision:", "let's …", "we'll …", "on a décidé", "nous avons convenu", "on est
///   d'accord", "le plan, c'est de", "on part sur", "nous allons …", "on va …" (the last ones
///   only when what follows is a plan, not talk: "let's see", "on va voir" are not); the title
///   is what follows the cue (up to a task in the same sentence), the description the
///   sentence, `made_by` the speaker;
/// - **action items**, several per sentence: "action item:", "todo", "à faire :" (owner = a
///   name right after it, as in "David to …"); "I will", "I'll", "I need to", "je vais", "je
///   m'occupe de" (owner = the speaker); "X will", "X needs to", "X va", "X doit", "X
///   s'occupe de", "il faut que X …" (owner = X: a speaker's full name when X is one or starts
///   one, else X as said, when it is capitalised and not a pronoun or a calendar word);
///   "can you", "please", "tu peux", "Sarah, you'll …" (owner = a name addressed before or
///   after); "we need to", "who can …?", "il faut …", "on doit …" (no owner yet: the speaker
///   of a later "I'll take care of it", "je m'en occupe", "Marc va s'en occuper" within three
///   lines owns it; unclaimed, it is an item only when it has a due date and was not a
///   question). A speaker named `Unknown` (no label at all) owns nothing. Due dates come from
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
        let mut open: Option<OpenTask> = None;
        for (pos, line) in chunk.lines.iter().enumerate() {
            let speaker = one_line(&line.line.speaker);
            let owner = owner_name(&speaker);
            let line_folded = Folded::new(&line.text);
            if open
                .as_ref()
                .is_some_and(|t| pos > t.pos + CLAIM_WINDOW_LINES)
            {
                close(open.take(), &mut x);
            }
            for sentence in sentences(&line.text) {
                let f = Folded::new(&sentence);
                let priority = priority(&f)
                    .or_else(|| priority(&line_folded))
                    .unwrap_or_default();
                let hits = actions::hits(&f, owner, &names);
                let task_starts: Vec<usize> = hits.iter().map(|h| h.start).collect();
                if let Some(title) = decision_title(&f, &task_starts) {
                    x.decisions.push(ExtractedDecision {
                        title,
                        description: sentence.clone(),
                        made_by: Some(speaker.clone()).filter(|s| !s.is_empty()),
                        source_lines: vec![line.index],
                    });
                    salient[pos] = true;
                }
                for task in actions::tasks(&f, &hits, meeting.date) {
                    let Task {
                        title,
                        owner,
                        due_date,
                    } = task;
                    let item = |title: String, owner: Option<String>| ExtractedActionItem {
                        title,
                        description: sentence.clone(),
                        owner,
                        due_date,
                        priority,
                        source_lines: vec![line.index],
                    };
                    match (title, owner) {
                        (Some(title), Owner::Known(owner)) => {
                            x.action_items.push(item(title, owner));
                        }
                        (Some(title), Owner::Open { asked }) => {
                            close(open.take(), &mut x);
                            open = Some(OpenTask {
                                item: item(title, None),
                                asked,
                                pos,
                            });
                        }
                        // A claim: the open task is the claimer's, dated by the claim if it
                        // says when.
                        (None, Owner::Known(Some(name))) => {
                            if let Some(t) = open.take() {
                                let mut claimed = t.item;
                                claimed.owner = Some(name);
                                claimed.due_date = due_date.or(claimed.due_date);
                                claimed.priority = claimed.priority.max(priority);
                                claimed.source_lines.push(line.index);
                                claimed.source_lines.dedup();
                                x.action_items.push(claimed);
                            }
                        }
                        (None, _) => {}
                    }
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
        close(open, &mut x);
        x.summary = summary(&chunk.lines, &salient);
        x
    }
}

/// Lines after an unowned task during which a claim can take it.
const CLAIM_WINDOW_LINES: usize = 3;

/// A task with no owner yet, waiting for a claim.
struct OpenTask {
    item: ExtractedActionItem,
    /// It was asked ("who can …?"): unclaimed, it is no item.
    asked: bool,
    /// Its line's position in the chunk.
    pos: usize,
}

/// An unclaimed task becomes an item when it has a due date and was not asked.
fn close(open: Option<OpenTask>, x: &mut Extraction) {
    if let Some(t) = open
        && !t.asked
        && t.item.due_date.is_some()
    {
        x.action_items.push(t.item);
    }
}

/// The speaker as an owner: not when the transcript has no name for them at all.
fn owner_name(speaker: &str) -> Option<&str> {
    Some(speaker).filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("unknown"))
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

/// A [`cues::DecisionCue`] with its pattern parsed.
type ParsedDecisionCue = (Pattern, &'static [&'static str], &'static str, Check);

/// [`DECISION_CUES`], parsed once.
static DECISIONS: LazyLock<Vec<ParsedDecisionCue>> = LazyLock::new(|| {
    DECISION_CUES
        .iter()
        .map(|&(p, skip, prefix, check)| (Pattern::new(p), skip, prefix, check))
        .collect()
});

/// The title of a decision announced in `f`, if any: of the cues that count, the last one
/// ("we agreed that the plan is to X" → "X"); its title stops where a task starts ("we decided
/// to X and Bob will Y" → "X").
fn decision_title(f: &Folded, task_starts: &[usize]) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for (cue, skip, prefix, check) in DECISIONS.iter() {
        let (skip, prefix, check) = (*skip, *prefix, *check);
        let mut from = 0;
        while let Some(span) = pattern::find(f, cue, from) {
            from = span.start + 1;
            if best.as_ref().is_some_and(|(at, _)| *at >= span.start)
                || guards::question(f, span.start)
                || guards::blocked(f, span.start)
            {
                continue;
            }
            let end = task_starts
                .iter()
                .copied()
                .find(|&s| s >= span.end)
                .unwrap_or(f.len());
            let rest = trim_connectors(&f.slice(span.end, end));
            let title = clean_title(&skip_words(&rest, skip));
            let plan_ok = || {
                let t = folded(&title);
                t.split_whitespace().count() >= 2 && !starts_with_any(&t, NOT_PLANS)
            };
            if !title.is_empty() && (check == Check::Any || plan_ok()) {
                best = Some((span.start, capitalise_first(&format!("{prefix}{title}"))));
            }
        }
    }
    best.map(|(_, title)| title)
}

/// `text` (folded) starts with one of `phrases`, as whole words.
fn starts_with_any(text: &str, phrases: &[&str]) -> bool {
    phrases.iter().any(|p| {
        text.strip_prefix(p).is_some_and(|tail| {
            p.ends_with('\'') || tail.chars().next().is_none_or(|c| !c.is_alphanumeric())
        })
    })
}

/// `text` without a trailing connector and the punctuation around it ("send the deck, and" →
/// "send the deck"), repeatedly.
fn trim_connectors(text: &str) -> String {
    let mut t = text.to_string();
    loop {
        let trimmed = t.trim_end_matches(|c: char| c.is_whitespace() || ",;:-".contains(c));
        let f = folded(trimmed);
        let cut = CONNECTORS.iter().find_map(|c| {
            let head = f.strip_suffix(c)?;
            head.chars()
                .last()
                .is_none_or(|ch| !ch.is_alphanumeric())
                .then(|| head.chars().count())
        });
        match cut {
            Some(n) => t = trimmed.chars().take(n).collect(),
            None => return trimmed.to_string(),
        }
    }
}

/// A task's title from the words after its cue; `None` for talk ("I'll be honest", "I'll
/// stop sharing", "je vais vous dire") and for a single word ("I'll start", "Nothing will
/// change").
fn task_title(rest: &str, prefix: &str) -> Option<String> {
    let title = clean_title(rest);
    let first = folded(&title);
    let first_word = first.split(' ').next().unwrap_or_default();
    if title.is_empty()
        || format!("{prefix}{title}").split_whitespace().count() < 2
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
