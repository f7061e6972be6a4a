//! Meeting minutes from a transcript (contract §1.3 `minutes`, §4.3 generation).
//!
//! ```text
//! generate(&engine, &MeetingInfo, &[Line])
//!   -> chunk_transcript(lines, engine.chunk_budget_tokens())   chunk.rs   (protocols.md §4.5)
//!   -> engine.extract(chunk, meeting) for each chunk, in order  Extraction per chunk
//!   -> merge: summaries, de-duplicated lists, merged items     pipeline.rs
//!   -> Generated { content: MinutesContent (content_json), markdown (content_md), usage, … }
//! ```
//!
//! Two engines implement [`Engine`]: [`OfflineEngine`] (deterministic English/French cue
//! phrases, no network) and [`LlmEngine`] over any [`StructuredChat`] (OpenAI / Azure OpenAI
//! Structured Outputs, protocols.md §4.1). Transcript text is data, never instructions: the LLM
//! prompt fences it between delimiters it cannot forge, and the markdown never lets it open a
//! heading. Nothing here does I/O or logs transcript text.

mod chunk;
mod content;
mod dates;
mod llm;
mod markdown;
mod offline;
mod pipeline;
mod synthetic;
mod text;
mod types;

pub use chunk::{Chunk, ChunkLine, chunk_transcript, estimate_tokens, render_line};
pub use content::{
    AI_VERSION, ActionItem, Confidence, Coverage, Decision, MAX_MODEL_CHARS, MAX_TITLE_CHARS,
    MinutesContent, Status, TimeRange, action_item_id, decision_id, item_key,
};
pub use dates::resolve_due_date;
pub use llm::{
    DEFAULT_CHUNK_BUDGET_TOKENS, DEFAULT_MAX_COMPLETION_TOKENS, LlmEngine, SCHEMA_NAME,
    StructuredChat, TRANSCRIPT_CLOSE, TRANSCRIPT_OPEN, extraction_schema, parse_extraction,
    system_prompt, user_prompt,
};
pub use markdown::render_markdown;
pub use offline::{OFFLINE_CHUNK_BUDGET_TOKENS, OFFLINE_MODEL, OfflineEngine};
pub use pipeline::{Engine, Generated, SkippedChunk, generate};
pub use synthetic::{synthetic_item_counts, synthetic_transcript};
pub use types::{
    EngineError, ExtractedActionItem, ExtractedDecision, Extraction, Language, Line, MeetingInfo,
    Priority, Usage,
};

#[cfg(test)]
mod tests;
