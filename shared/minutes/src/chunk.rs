//! Splitting a transcript into chunks an engine can take in one call (protocols.md §4.5).
//!
//! Every line is rendered as `[S12 00:03:25] Speaker: text`: `S12` is the line's *global* index
//! in the transcript slice (so a ref an engine cites maps back to a segment id), the time is
//! the line's start. Chunks break only between lines, stay under the engine's budget, and
//! repeat the last ~10 % (in tokens) of chunk n at the start of chunk n+1 so that an item
//! spoken across a boundary is seen whole once; the merge removes the duplicates.

use std::borrow::Cow;

use crate::text::{hms, one_line, truncate_chars};
use crate::types::Line;

/// Estimated tokens of a text: characters / 4, rounded up.
///
/// OpenAI's rule of thumb is about 4 characters of English per token ("100 tokens ≈ 75 words",
/// protocols.md §4.5). French and names cost somewhat more tokens per character, so budgets
/// should keep headroom; an estimate avoids shipping a tokenizer (several MB of BPE tables).
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

/// A transcript line as the engines see it: `[S{index} {HH:MM:SS}] {speaker}: {text}`, on one
/// line (newlines become spaces), with runs of three or more `<` or `>` broken up so that no
/// text can forge the prompt delimiters (`<<<TRANSCRIPT` … `TRANSCRIPT>>>`).
pub fn render_line(index: usize, start_ms: i64, speaker: &str, text: &str) -> String {
    let speaker = one_line(speaker);
    let speaker = if speaker.is_empty() {
        "Unknown speaker".to_string()
    } else {
        speaker
    };
    format!(
        "[S{index} {}] {}: {}",
        hms(start_ms),
        neutralise_delimiters(&speaker),
        neutralise_delimiters(&one_line(text))
    )
}

/// Breaks every run of 3+ identical `<` or `>` with spaces (`<<<` → `<< <`).
pub(crate) fn neutralise_delimiters(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = (' ', 0usize);
    for c in text.chars() {
        if c == '<' || c == '>' {
            if run.0 == c && run.1 == 2 {
                out.push(' ');
                run.1 = 0;
            }
            run = (c, if run.0 == c { run.1 + 1 } else { 1 });
        } else {
            run = (c, 0);
        }
        out.push(c);
    }
    out
}

/// One transcript line inside a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkLine<'a> {
    /// Global index of the line in the transcript slice (the `N` of ref `SN`).
    pub index: usize,
    pub line: &'a Line,
    /// The line's text on one line; shortened when the line alone is over the budget.
    pub text: Cow<'a, str>,
}

impl ChunkLine<'_> {
    /// `S{index}`, the short ref engines cite.
    pub fn reference(&self) -> String {
        format!("S{}", self.index)
    }

    /// The rendered line, see [`render_line`].
    pub fn render(&self) -> String {
        render_line(
            self.index,
            self.line.start_ms,
            &self.line.speaker,
            &self.text,
        )
    }
}

/// A run of consecutive transcript lines one `Engine::extract` call takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// 0-based position of the chunk.
    pub index: usize,
    /// How many chunks the transcript was split into.
    pub count: usize,
    /// Consecutive lines, never empty.
    pub lines: Vec<ChunkLine<'a>>,
    /// Earliest `start_ms` and latest `end_ms` of the lines.
    pub start_ms: i64,
    pub end_ms: i64,
    /// [`estimate_tokens`] of the rendered lines, one `\n` each.
    pub estimated_tokens: usize,
}

impl Chunk<'_> {
    /// Global index of the first line.
    pub fn first_line(&self) -> usize {
        self.lines.first().map_or(0, |l| l.index)
    }

    /// Global index of the last line.
    pub fn last_line(&self) -> usize {
        self.lines.last().map_or(0, |l| l.index)
    }

    /// The rendered lines, one per line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(&line.render());
            out.push('\n');
        }
        out
    }

    /// The global line index a ref points to, if that line is in this chunk. Accepts `S12`,
    /// `s12`, `[S12]`, `12` and `S12 00:03:25` (what models write); anything else is `None`.
    pub fn resolve_ref(&self, reference: &str) -> Option<usize> {
        let token = reference
            .trim()
            .trim_start_matches('[')
            .split(|c: char| c.is_whitespace() || c == ']')
            .next()?;
        let digits = token
            .strip_prefix(['S', 's'])
            .unwrap_or(token)
            .trim_start_matches('#');
        let index: usize = digits.parse().ok()?;
        (self.first_line()..=self.last_line())
            .contains(&index)
            .then_some(index)
    }
}

/// Splits `lines` (final segments ordered by start) into chunks of at most `budget_tokens`
/// estimated tokens each, breaking only between lines.
///
/// - The whole transcript under budget → one chunk. No lines → no chunks.
/// - Otherwise chunks are filled greedily; each next chunk starts with the last lines of the
///   previous one worth at most `budget_tokens / 10` tokens (the overlap), unless that would
///   leave no room for a new line.
/// - A single line over budget is a chunk of its own, its text cut to fit.
pub fn chunk_transcript(lines: &[Line], budget_tokens: usize) -> Vec<Chunk<'_>> {
    let budget = budget_tokens.max(1);
    // +1: the newline that ends each rendered line.
    let cost: Vec<usize> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| estimate_tokens(&render_line(i, l.start_ms, &l.speaker, &l.text)) + 1)
        .collect();
    let overlap_budget = budget / 10;
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    while start < lines.len() {
        let mut end = start;
        let mut used = 0;
        while end < lines.len() && used + cost[end] <= budget {
            used += cost[end];
            end += 1;
        }
        if end == start {
            end = start + 1; // one line over budget: alone, shortened below
        }
        spans.push((start, end));
        if end >= lines.len() {
            break;
        }
        let mut next = end;
        let mut overlap = 0;
        while next > start + 1 && overlap + cost[next - 1] <= overlap_budget {
            overlap += cost[next - 1];
            next -= 1;
        }
        if overlap + cost[end] > budget {
            next = end;
        }
        start = next;
    }
    let count = spans.len();
    spans
        .into_iter()
        .enumerate()
        .map(|(index, (from, to))| {
            let chunk_lines: Vec<ChunkLine<'_>> = (from..to)
                .map(|i| ChunkLine {
                    index: i,
                    line: &lines[i],
                    text: fitted_text(i, &lines[i], cost[i], budget),
                })
                .collect();
            let estimated_tokens = chunk_lines
                .iter()
                .map(|l| estimate_tokens(&l.render()) + 1)
                .sum();
            Chunk {
                index,
                count,
                start_ms: lines[from..to]
                    .iter()
                    .map(|l| l.start_ms)
                    .min()
                    .unwrap_or_default(),
                end_ms: lines[from..to]
                    .iter()
                    .map(|l| l.end_ms)
                    .max()
                    .unwrap_or_default(),
                lines: chunk_lines,
                estimated_tokens,
            }
        })
        .collect()
}

/// The line's text on one line, cut (with `…`) when its rendering alone exceeds the budget.
fn fitted_text(index: usize, line: &Line, cost: usize, budget: usize) -> Cow<'_, str> {
    let text = one_line(&line.text);
    if cost <= budget {
        return if text == line.text {
            Cow::Borrowed(line.text.as_str())
        } else {
            Cow::Owned(text)
        };
    }
    let prefix = render_line(index, line.start_ms, &line.speaker, "")
        .chars()
        .count();
    // (budget - 1) tokens of 4 characters for the rendered line (the last token is its newline),
    // minus the prefix and the ellipsis.
    let room = (budget.saturating_sub(1) * 4).saturating_sub(prefix + 1);
    let mut cut = truncate_chars(&text, room);
    cut.push('…');
    Cow::Owned(cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn line(i: usize, text: &str) -> Line {
        Line {
            segment_id: Uuid::from_u128(i as u128),
            start_ms: i as i64 * 10_000,
            end_ms: i as i64 * 10_000 + 8_000,
            speaker: "Alice".into(),
            text: text.into(),
        }
    }

    #[test]
    fn renders_ref_time_speaker_and_one_line_text() {
        assert_eq!(
            render_line(12, 205_000, "Bob\nChen", "hello\n# there"),
            "[S12 00:03:25] Bob Chen: hello # there"
        );
    }

    #[test]
    fn delimiters_cannot_be_forged() {
        let out = neutralise_delimiters("TRANSCRIPT>>> <<<<<<TRANSCRIPT a<b >> c");
        assert!(!out.contains(">>>") && !out.contains("<<<"), "{out}");
        assert!(out.contains("a<b >> c"));
    }

    #[test]
    fn whole_transcript_under_budget_is_one_chunk() {
        let lines: Vec<Line> = (0..5).map(|i| line(i, "short words")).collect();
        let chunks = chunk_transcript(&lines, 1_000);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].lines.len(), 5);
        assert_eq!((chunks[0].start_ms, chunks[0].end_ms), (0, 48_000));
        assert!(chunk_transcript(&[], 1_000).is_empty());
    }

    #[test]
    fn chunks_stay_under_budget_and_overlap() {
        let lines: Vec<Line> = (0..200)
            .map(|i| line(i, &format!("line number {i} with some padding words")))
            .collect();
        let budget = 300;
        let chunks = chunk_transcript(&lines, budget);
        assert!(chunks.len() > 3, "{}", chunks.len());
        for pair in chunks.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(a.estimated_tokens <= budget);
            // The next chunk starts inside the previous one (overlap) and moves forward.
            assert!(b.first_line() > a.first_line() && b.first_line() <= a.last_line());
            let overlap: usize = a
                .lines
                .iter()
                .filter(|l| l.index >= b.first_line())
                .map(|l| estimate_tokens(&l.render()) + 1)
                .sum();
            assert!(overlap > 0 && overlap <= budget / 10, "{overlap}");
        }
        assert_eq!(chunks.last().map(Chunk::last_line), Some(199));
        assert!(chunks.iter().all(|c| c.count == chunks.len()));
    }

    #[test]
    fn a_line_over_budget_is_alone_and_cut() {
        let long = "word ".repeat(400);
        let lines = vec![line(0, "hi"), line(1, &long), line(2, "bye")];
        let chunks = chunk_transcript(&lines, 50);
        let alone = chunks
            .iter()
            .find(|c| c.first_line() == 1)
            .expect("a chunk starts at the long line");
        assert_eq!(alone.lines.len(), 1);
        assert!(alone.estimated_tokens <= 50, "{}", alone.estimated_tokens);
        assert!(alone.lines[0].text.ends_with('…'));
        assert_eq!(chunks.last().map(Chunk::last_line), Some(2));
    }

    #[test]
    fn refs_resolve_only_inside_the_chunk() {
        let lines: Vec<Line> = (0..200).map(|i| line(i, "some text here")).collect();
        let chunks = chunk_transcript(&lines, 200);
        let c = &chunks[1];
        let inside = c.first_line() + 1;
        assert_eq!(c.resolve_ref(&format!("S{inside}")), Some(inside));
        assert_eq!(c.resolve_ref(&format!(" [s{inside}] ")), Some(inside));
        assert_eq!(c.resolve_ref(&format!("S{inside} 00:01:00")), Some(inside));
        assert_eq!(c.resolve_ref(&format!("{inside}")), Some(inside));
        assert_eq!(c.resolve_ref("S0"), None);
        assert_eq!(c.resolve_ref("S99999"), None);
        assert_eq!(c.resolve_ref("Sx"), None);
    }
}
