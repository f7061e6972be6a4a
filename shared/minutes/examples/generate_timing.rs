//! Times the offline engine on synthetic 1-hour and 3-hour transcripts, in one chunk and in
//! LLM-sized chunks: `cargo run -p meetin-minutes --example generate_timing [--release]`.

use std::time::Instant;

use chrono::NaiveDate;
use meetin_minutes::{
    DEFAULT_CHUNK_BUDGET_TOKENS, Language, MeetingInfo, OfflineEngine, generate,
    synthetic_transcript,
};
use uuid::Uuid;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let meeting = MeetingInfo {
        id: Uuid::from_u128(1),
        title: "Synthetic meeting".into(),
        date: NaiveDate::from_ymd_opt(2026, 3, 4).expect("a valid date"),
        language: Language::En,
        transcript_id: Uuid::from_u128(2),
    };
    for hours in [1.0, 3.0] {
        let lines = synthetic_transcript(hours);
        for (label, engine) in [
            ("one chunk", OfflineEngine::new()),
            (
                "12k-token chunks",
                OfflineEngine::with_chunk_budget(DEFAULT_CHUNK_BUDGET_TOKENS),
            ),
        ] {
            let started = Instant::now();
            let generated = match generate(&engine, &meeting, &lines).await {
                Ok(g) => g,
                Err(e) => {
                    eprintln!("{hours} h, {label}: {e}");
                    continue;
                }
            };
            println!(
                "{hours} h ({} lines), {label}: {} chunk(s), {} decisions, {} action items, \
                 {} bytes of markdown in {:?}",
                lines.len(),
                generated.chunks,
                generated.content.decisions.len(),
                generated.content.action_items.len(),
                generated.markdown.len(),
                started.elapsed()
            );
        }
    }
}
