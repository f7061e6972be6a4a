//! Action items: the tasks of a sentence (several per sentence, wherever they start), their
//! owners, and the unowned tasks that a later "I'll take care of it" claims.

use std::sync::LazyLock;

use chrono::NaiveDate;

use super::cues::{ACTION_CUES, CLAIM_TAIL_WORDS, CLAIMS, Who};
use super::names::{Names, Subject};
use super::pattern::{self, Pattern};
use super::{folded, guards, skip_words, task_title, trim_connectors};
use crate::dates::resolve_due_date;
use crate::text::Folded;

/// One task found in a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Task {
    /// `None` for a claim: the title comes from the task it claims.
    pub(super) title: Option<String>,
    pub(super) owner: Owner,
    pub(super) due_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Owner {
    /// Owned by this person (or, `None`, by no one named: a request to no one in particular).
    Known(Option<String>),
    /// No owner yet: a claim may take it; unclaimed, it is an item only when it has a due date
    /// and was not asked as a question.
    Open { asked: bool },
}

/// A cue matched in a sentence, before its title is cut.
pub(super) struct Hit {
    /// Where the task starts (the owner's name when it comes first).
    pub(super) start: usize,
    /// Where the title starts.
    rest: usize,
    /// Where the title ends at the latest (before a name addressed at the end: "…, Bob?").
    end: usize,
    prefix: &'static str,
    who: Who,
    owner: Owner,
}

/// [`ACTION_CUES`], parsed once.
static ACTIONS: LazyLock<Vec<(Pattern, &'static str, Who)>> = LazyLock::new(|| {
    ACTION_CUES
        .iter()
        .map(|&(p, prefix, who)| (Pattern::new(p), prefix, who))
        .collect()
});

/// The task cues that count in one sentence said by `speaker` (`None` when the speaker has no
/// usable name), in order.
pub(super) fn hits(f: &Folded, speaker: Option<&str>, names: &Names) -> Vec<Hit> {
    pattern::find_all(
        f,
        ACTIONS
            .iter()
            .map(|(pattern, prefix, who)| (pattern, (*prefix, *who))),
    )
    .into_iter()
    .filter_map(|(span, (prefix, who))| hit(f, span, prefix, who, speaker, names))
    .collect()
}

/// The tasks of one sentence from its [`hits`], with due dates resolved against `day`.
pub(super) fn tasks(f: &Folded, hits: &[Hit], day: NaiveDate) -> Vec<Task> {
    let single = hits.len() == 1;
    let mut out = Vec::new();
    for (k, h) in hits.iter().enumerate() {
        let end = hits
            .get(k + 1)
            .map_or(f.len(), |next| next.start)
            .min(h.end);
        let region = trim_connectors(&f.slice(h.rest, end));
        let title = match h.who {
            Who::Claim => None,
            _ => match task_title(&skip_words(&region, &["please"]), h.prefix) {
                Some(title) if claims(&title) => None,
                Some(title) => Some(title),
                None => continue,
            },
        };
        // A claim needs someone to make it.
        if title.is_none() && !matches!(h.owner, Owner::Known(Some(_))) {
            continue;
        }
        let due_date = resolve_due_date(&f.slice(h.start, end), day).or_else(|| {
            single
                .then(|| resolve_due_date(&f.slice(0, f.len()), day))
                .flatten()
        });
        out.push(Task {
            title,
            owner: h.owner.clone(),
            due_date,
        });
    }
    out
}

/// The cue at `span` as a task, or `None` when it does not count: no owner where one is
/// needed, a question, a negation, a hypothetical.
fn hit(
    f: &Folded,
    span: pattern::Span,
    prefix: &'static str,
    who: Who,
    speaker: Option<&str>,
    names: &Names,
) -> Option<Hit> {
    let speaker = || Owner::Known(speaker.map(str::to_string));
    let mut end = f.len();
    let (start, rest, owner) = match who {
        Who::Marker => {
            let after = f.slice(span.end, f.len());
            match names.leading(&after) {
                Some((name, rest)) => (
                    span.start,
                    f.len() - rest.chars().count(),
                    Owner::Known(Some(name)),
                ),
                None => (span.start, span.end, Owner::Known(None)),
            }
        }
        Who::Speaker | Who::Claim => (span.start, span.end, speaker()),
        Who::Named => {
            let (name, at) = names.trailing(&f.slice(0, span.start))?;
            (at, span.end, Owner::Known(Some(name)))
        }
        Who::Addressed | Who::AddressedOnly => {
            let before = f.slice(0, span.start);
            let mut owner = before
                .trim_end()
                .ends_with(',')
                .then(|| names.trailing(&before))
                .flatten();
            if owner.is_none() {
                // A name addressed at the end: "…, Bob?"
                let after = f.slice(span.end, f.len());
                let trimmed =
                    after.trim_end_matches(|c: char| c.is_whitespace() || "?.!".contains(c));
                if let Some((head, tail)) = trimmed.rsplit_once(',')
                    && let Some(name) = names.whole(tail)
                {
                    owner = Some((name, span.start));
                    end = span.end + head.chars().count();
                }
            }
            match (owner, who) {
                (Some((name, at)), _) => (at.min(span.start), span.end, Owner::Known(Some(name))),
                (None, Who::AddressedOnly) => return None,
                (None, _) => (span.start, span.end, Owner::Known(None)),
            }
        }
        Who::Subject => {
            let after = f.slice(span.end, f.len());
            let (subject, rest) = names.subject(&after)?;
            let owner = match subject {
                Subject::Person(name) => Owner::Known(Some(name)),
                Subject::Speaker => speaker(),
                Subject::NoOne => Owner::Open { asked: false },
            };
            (span.start, f.len() - rest.chars().count(), owner)
        }
        Who::Unowned => (span.start, span.end, Owner::Open { asked: false }),
    };
    let asked = guards::question(f, start);
    if guards::blocked(f, start) {
        return None;
    }
    let owner = match owner {
        Owner::Open { .. } => Owner::Open { asked },
        // A request is a question by nature; other tasks asked about are not tasks yet.
        _ if asked && who != Who::Addressed => return None,
        known => known,
    };
    Some(Hit {
        start,
        rest,
        end,
        prefix,
        who,
        owner,
    })
}

/// The title takes on an earlier task ("Take care of it", "S'en occuper demain").
fn claims(title: &str) -> bool {
    let t = folded(title);
    CLAIMS.iter().any(|c| {
        t.strip_prefix(c).is_some_and(|tail| {
            tail.chars().next().is_none_or(|ch| !ch.is_alphanumeric())
                && tail.split_whitespace().count() <= CLAIM_TAIL_WORDS
        })
    })
}
