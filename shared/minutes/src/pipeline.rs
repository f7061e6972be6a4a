//! The engine trait and the map-reduce pipeline: chunk → extract each chunk → merge.

mod merge;

use std::collections::BTreeSet;
use std::future::Future;

use chrono::{SubsecRound, Utc};

use crate::chunk::{Chunk, chunk_transcript};
use crate::content::{
    AI_VERSION, ActionItem, Confidence, Coverage, Decision, MAX_MODEL_CHARS, MinutesContent,
    Status, TimeRange, action_item_id, decision_id,
};
use crate::markdown::render_markdown;
use crate::text::{hms, one_line, truncate_chars};
use crate::types::{EngineError, Extraction, Language, Line, MeetingInfo, Usage};
use merge::merge;

/// Something that turns one chunk of transcript into an [`Extraction`].
pub trait Engine: Sync {
    /// `minutes.generated_by_model` (≤100 chars), e.g. "gpt-4o-mini" or "meetin-offline-1".
    fn model(&self) -> String;
    /// Largest chunk, in estimated tokens ([`crate::estimate_tokens`] of the rendered lines),
    /// one `extract` call takes.
    fn chunk_budget_tokens(&self) -> usize;
    /// The decisions, action items, … of one chunk. Source refs are global line indices that
    /// lie inside the chunk (see [`Chunk::resolve_ref`]).
    fn extract(
        &self,
        chunk: &Chunk<'_>,
        meeting: &MeetingInfo,
    ) -> impl Future<Output = Result<Extraction, EngineError>> + Send;
}

/// Generated minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// `minutes.content_json`.
    pub content: MinutesContent,
    /// `minutes.content_md`, [`render_markdown`] of `content`.
    pub markdown: String,
    /// Summed over the chunks.
    pub usage: Usage,
    /// The engine's model, cut to 100 characters (`minutes.generated_by_model`).
    pub model: String,
    /// How many chunks the transcript was split into.
    pub chunks: usize,
    /// Chunks whose extraction failed permanently and were left out (`content.coverage` then
    /// says what is missing). Empty on a full success.
    pub skipped: Vec<SkippedChunk>,
}

/// A chunk left out of the minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedChunk {
    pub index: usize,
    pub start_ms: i64,
    pub end_ms: i64,
    /// The engine's error ([`EngineError::reason`]).
    pub reason: String,
}

/// Minutes for `lines` (the transcript's final segments, ordered by start) with `engine`.
///
/// The transcript is cut into chunks under the engine's budget, each chunk is extracted in
/// order, and the extractions are merged (protocols.md §4.5, map-reduce with structured map
/// outputs): summaries one paragraph per chunk; key points and next steps de-duplicated
/// ([`item_key`](crate::item_key)-equal); decisions and action items merged when their titles
/// are the same or nearly (token Jaccard ≥ 0.8 and the same numbers), keeping the union of
/// sources, the first person and due date, the highest priority.
///
/// Errors: a retryable engine error stops at once (the caller retries the whole job); a
/// permanent one skips its chunk (see [`Generated::skipped`]) unless every chunk fails, in
/// which case the first error is returned. A transcript with no words gives minutes that say
/// nothing was said, without calling the engine.
pub async fn generate<E: Engine>(
    engine: &E,
    meeting: &MeetingInfo,
    lines: &[Line],
) -> Result<Generated, EngineError> {
    let model = truncate_chars(engine.model().trim(), MAX_MODEL_CHARS);
    let silent = lines.iter().all(|l| l.text.trim().is_empty());
    let chunks = if silent {
        Vec::new()
    } else {
        chunk_transcript(lines, engine.chunk_budget_tokens())
    };
    let mut done: Vec<(&Chunk<'_>, Extraction)> = Vec::with_capacity(chunks.len());
    let mut skipped = Vec::new();
    let mut first_error = None;
    for chunk in &chunks {
        match engine.extract(chunk, meeting).await {
            Ok(extraction) => done.push((chunk, extraction)),
            Err(e) if e.retryable => return Err(e),
            Err(e) => {
                skipped.push(SkippedChunk {
                    index: chunk.index,
                    start_ms: chunk.start_ms,
                    end_ms: chunk.end_ms,
                    reason: e.reason.clone(),
                });
                first_error.get_or_insert(e);
            }
        }
    }
    if done.is_empty()
        && let Some(e) = first_error
    {
        return Err(e);
    }

    let mut usage = Usage::default();
    for (_, x) in &done {
        usage += x.usage;
    }
    let coverage = coverage(lines, chunks.len(), done.iter().map(|(c, _)| *c));
    let merged = merge(done.into_iter().map(|(_, x)| x), lines.len());
    let summary = if silent {
        nothing_said(meeting.language).to_string()
    } else {
        merged.summary
    };
    let content = MinutesContent {
        meeting_id: meeting.id,
        meeting_title: meeting.title.clone(),
        language: meeting.language,
        generated_at: Utc::now().trunc_subsecs(0),
        summary,
        key_points: merged.key_points,
        next_steps: merged.next_steps,
        decisions: merged
            .decisions
            .into_iter()
            .map(|d| {
                let (timestamp, timestamp_ms, source_segment_ids) = provenance(&d.sources, lines);
                Decision {
                    id: decision_id(meeting.id, &d.title),
                    confidence: Confidence::of(&d.title, &d.description),
                    title: d.title,
                    description: d.description,
                    made_by: d.person,
                    timestamp,
                    timestamp_ms,
                    source_segment_ids,
                }
            })
            .collect(),
        action_items: merged
            .action_items
            .into_iter()
            .map(|a| {
                let (timestamp, timestamp_ms, source_segment_ids) = provenance(&a.sources, lines);
                ActionItem {
                    id: action_item_id(meeting.id, &a.title),
                    confidence: Confidence::of(&a.title, &a.description),
                    title: a.title,
                    description: a.description,
                    assignee: a.person,
                    due_date: a.due_date,
                    priority: a.priority,
                    timestamp,
                    timestamp_ms,
                    status: Status::Open,
                    source_segment_ids,
                }
            })
            .collect(),
        attendees: attendees(lines),
        transcript_id: meeting.transcript_id,
        ai_model: model.clone(),
        ai_version: AI_VERSION.to_string(),
        coverage,
    };
    Ok(Generated {
        markdown: render_markdown(&content),
        content,
        usage,
        model,
        chunks: chunks.len(),
        skipped,
    })
}

fn nothing_said(language: Language) -> &'static str {
    match language {
        Language::En => "Nothing was said in this meeting: the transcript is empty.",
        Language::Fr => "Rien n'a été dit pendant cette réunion : la transcription est vide.",
    }
}

/// Distinct non-blank speakers, in order of first appearance.
fn attendees(lines: &[Line]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for line in lines {
        let name = one_line(&line.speaker);
        if !name.is_empty() && seen.insert(name.clone()) {
            out.push(name);
        }
    }
    out
}

/// The earliest source line's start (`HH:MM:SS`, ms) and the source segment ids in line order.
fn provenance(
    sources: &BTreeSet<usize>,
    lines: &[Line],
) -> (Option<String>, Option<i64>, Vec<uuid::Uuid>) {
    let start = sources
        .iter()
        .filter_map(|&i| lines.get(i))
        .map(|l| l.start_ms)
        .min();
    let mut ids = Vec::with_capacity(sources.len());
    for line in sources.iter().filter_map(|&i| lines.get(i)) {
        if !ids.contains(&line.segment_id) {
            ids.push(line.segment_id);
        }
    }
    (start.map(hms), start, ids)
}

/// Coverage from the chunks that went through the engine: the runs of consecutive covered
/// lines, as time spans.
fn coverage<'a, 'b: 'a>(
    lines: &[Line],
    chunks: usize,
    done: impl Iterator<Item = &'a Chunk<'b>>,
) -> Coverage {
    let mut covered = vec![false; lines.len()];
    for chunk in done {
        for l in &chunk.lines {
            if let Some(c) = covered.get_mut(l.index) {
                *c = true;
            }
        }
    }
    let mut ranges: Vec<TimeRange> = Vec::new();
    let mut previous_covered = false;
    for (line, &is_covered) in lines.iter().zip(&covered) {
        if is_covered {
            match ranges.last_mut() {
                Some(r) if previous_covered => {
                    r.start_ms = r.start_ms.min(line.start_ms);
                    r.end_ms = r.end_ms.max(line.end_ms);
                }
                _ => ranges.push(TimeRange {
                    start_ms: line.start_ms,
                    end_ms: line.end_ms,
                }),
            }
        }
        previous_covered = is_covered;
    }
    // Empty text lines never go to an engine when the whole transcript is silent; there is
    // nothing to cover then.
    let silent = chunks == 0;
    Coverage {
        chunks,
        transcript_start_ms: lines.iter().map(|l| l.start_ms).min().unwrap_or_default(),
        transcript_end_ms: lines.iter().map(|l| l.end_ms).max().unwrap_or_default(),
        complete: silent || covered.iter().all(|&c| c),
        ranges,
    }
}

#[cfg(test)]
mod tests;
