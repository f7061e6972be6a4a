//! Cue patterns: word sequences that tolerate the fillers people put inside them ("we *also*
//! decided", "on a *finalement* décidé", "I'll *just* send").
//!
//! A pattern is parts separated by spaces. A part is alternatives separated by `|` (`_` in an
//! alternative stands for a space), optional when it ends with `?`; `~` is a gap of up to three
//! [`FILLERS`]. Patterns are matched on folded text (see [`Folded`]), on word boundaries, the
//! gaps greedily.

use std::sync::LazyLock;

use super::cues::FILLERS;
use crate::text::Folded;

/// [`FILLERS`] as characters.
static FILLER_CHARS: LazyLock<Vec<Vec<char>>> =
    LazyLock::new(|| FILLERS.iter().map(|w| w.chars().collect()).collect());

/// Most filler words a gap takes.
const GAP_WORDS: usize = 3;

enum Part {
    Gap,
    Words {
        alternatives: Vec<Vec<char>>,
        optional: bool,
    },
}

/// A parsed pattern.
pub(super) struct Pattern(Vec<Part>);

impl Pattern {
    pub(super) fn new(pattern: &str) -> Pattern {
        Pattern(parse(pattern))
    }
}

fn parse(pattern: &str) -> Vec<Part> {
    pattern
        .split(' ')
        .filter(|p| !p.is_empty())
        .map(|p| {
            if p == "~" {
                return Part::Gap;
            }
            let (body, optional) = match p.strip_suffix('?') {
                Some(body) => (body, true),
                None => (p, false),
            };
            Part::Words {
                alternatives: body
                    .split('|')
                    .map(|a| a.chars().map(|c| if c == '_' { ' ' } else { c }).collect())
                    .filter(|a: &Vec<char>| !a.is_empty())
                    .collect(),
                optional,
            }
        })
        .collect()
}

/// A match of a pattern: character positions in the sentence, `end` just after the last part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) start: usize,
    pub(super) end: usize,
}

/// The first match of `pattern` in `f` starting at or after character `from`. The pattern's
/// first part must be words (not a gap, not optional).
pub(super) fn find(f: &Folded, pattern: &Pattern, from: usize) -> Option<Span> {
    let (first, rest) = pattern.0.split_first()?;
    let Part::Words { alternatives, .. } = first else {
        return None;
    };
    (from..f.fold.len()).find_map(|at| {
        // Most positions start no alternative: one character tells.
        let c = f.fold[at];
        if !alternatives.iter().any(|alt| alt[0] == c) {
            return None;
        }
        alternatives.iter().find_map(|alt| {
            let end = words_at(&f.fold, at, alt)?;
            let end = match_from(&f.fold, rest, end)?;
            Some(Span { start: at, end })
        })
    })
}

/// All non-overlapping matches of any of `patterns`, by position; where two patterns match at
/// the same place, the earlier pattern in the list wins.
pub(super) fn find_all<'a, T: Copy>(
    f: &Folded,
    patterns: impl IntoIterator<Item = (&'a Pattern, T)> + Clone,
) -> Vec<(Span, T)> {
    let mut found: Vec<(Span, T)> = Vec::new();
    let mut from = 0;
    loop {
        let next = patterns
            .clone()
            .into_iter()
            .filter_map(|(p, tag)| find(f, p, from).map(|s| (s, tag)))
            .min_by_key(|(s, _)| s.start);
        match next {
            Some((span, tag)) => {
                from = span.end.max(span.start + 1);
                found.push((span, tag));
            }
            None => return found,
        }
    }
}

/// The end of `rest` matched from `at`, the gaps greedy.
fn match_from(fold: &[char], rest: &[Part], at: usize) -> Option<usize> {
    let Some((part, tail)) = rest.split_first() else {
        return Some(at);
    };
    match part {
        Part::Gap => {
            let mut ends = vec![at];
            let mut pos = at;
            for _ in 0..GAP_WORDS {
                match filler_at(fold, pos) {
                    Some(end) => {
                        ends.push(end);
                        pos = end;
                    }
                    None => break,
                }
            }
            ends.into_iter()
                .rev()
                .find_map(|end| match_from(fold, tail, end))
        }
        Part::Words {
            alternatives,
            optional,
        } => {
            let start = skip_spaces(fold, at);
            alternatives
                .iter()
                .filter_map(|alt| words_at(fold, start, alt))
                .find_map(|end| match_from(fold, tail, end))
                .or_else(|| optional.then(|| match_from(fold, tail, at)).flatten())
        }
    }
}

/// A filler word at `at` (after spaces, between optional commas): the position after it.
fn filler_at(fold: &[char], at: usize) -> Option<usize> {
    let start = skip_spaces_commas(fold, at);
    FILLER_CHARS.iter().find_map(|w| {
        let end = words_at(fold, start, w)?;
        let after = skip_spaces_commas(fold, end);
        // Keep the spaces for the next part; only a trailing comma is eaten.
        Some(if fold[end..after].contains(&',') {
            after
        } else {
            end
        })
    })
}

fn skip_spaces(fold: &[char], mut at: usize) -> usize {
    while fold.get(at) == Some(&' ') {
        at += 1;
    }
    at
}

fn skip_spaces_commas(fold: &[char], mut at: usize) -> usize {
    while matches!(fold.get(at), Some(' ' | ',')) {
        at += 1;
    }
    at
}

/// `words` (folded) at `at` on word boundaries: the position after them.
fn words_at(fold: &[char], at: usize, words: &[char]) -> Option<usize> {
    let end = at + words.len();
    if words.is_empty() || fold.get(at..end)? != words {
        return None;
    }
    let starts_ok = !words[0].is_alphanumeric() || at == 0 || !fold[at - 1].is_alphanumeric();
    let ends_ok = !words[words.len() - 1].is_alphanumeric()
        || fold.get(end).is_none_or(|c| !c.is_alphanumeric());
    (starts_ok && ends_ok).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(text: &str, pattern: &str) -> Option<String> {
        let f = Folded::new(text);
        find(&f, &Pattern::new(pattern), 0).map(|s| f.slice(s.start, s.end))
    }

    #[test]
    fn gaps_take_fillers_and_alternatives_contractions() {
        let p = "we ~ have|'ve|had? ~ decided|agreed";
        assert_eq!(
            span("So we also decided to ship.", p).as_deref(),
            Some("we also decided")
        );
        assert_eq!(
            span("We\u{2019}ve finally agreed.", p).as_deref(),
            Some("We’ve finally agreed")
        );
        assert_eq!(span("we haven't decided", p), None);
        assert_eq!(span("wedecided", p), None);
        assert_eq!(
            span("On a, euh, finalement décidé de partir", "on ~ a ~ décidé").as_deref(),
            Some("On a, euh, finalement décidé")
        );
        assert_eq!(span("on n'a pas décidé", "on ~ a ~ décidé"), None);
        // A trailing gap is greedy.
        assert_eq!(
            span("I'll also just send it", "i ~ will|'ll ~").as_deref(),
            Some("I'll also just")
        );
    }
}
