//! The minutes worker's own time: one `generate_minutes` job through
//! `meetin_worker::process_record` (task start, transcript read, generation, the minutes, version and
//! action items written), for synthetic 1-hour and 3-hour transcripts, with
//!
//! - the LLM engine talking to the fake OpenAI of test-support, which answers at once (so the
//!   time is ours: prompts, chunking, parsing, merging, SQL), and
//! - the offline engine.
//!
//! The transcripts come from `meetin_minutes::synthetic_transcript` (a line every 8 s, four
//! speakers, cue phrases), written to the `meetin` database under a throwaway user.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use meetin_messages::jobs::{GenerateMinutes, JobMessage, OutputLanguage};
use meetin_test_support::fake_openai::FakeOpenAi;
use meetin_worker::sqs::SqsMessage;
use uuid::Uuid;

use crate::load::Stats;

/// One measured combination.
pub struct MinutesRow {
    pub engine: String,
    pub hours: f64,
    pub lines: usize,
    pub chunks: u64,
    pub runs: Vec<Duration>,
}

/// A throwaway user (`bench-{what}-…@example.com`, no password) and an organization it
/// administers (`Bench {what}`), in the `meetin` database; answers (user, organization).
pub async fn throwaway_org(pool: &sqlx::PgPool, what: &str) -> anyhow::Result<(Uuid, Uuid)> {
    let tag = Uuid::new_v4().simple().to_string();
    let user: Uuid = sqlx::query_scalar(
        "INSERT INTO users (email, username, password_hash) VALUES ($1, $1, '!') RETURNING id",
    )
    .bind(format!("bench-{what}-{}@example.com", &tag[..12]))
    .fetch_one(pool)
    .await?;
    let org: Uuid = sqlx::query_scalar(
        "WITH o AS (INSERT INTO organizations (name, owner_id) VALUES ($2, $1) RETURNING id) \
         INSERT INTO organization_members (organization_id, user_id, role) \
         SELECT id, $1, 'admin' FROM o RETURNING organization_id",
    )
    .bind(user)
    .bind(format!("Bench {what}"))
    .fetch_one(pool)
    .await?;
    Ok((user, org))
}

/// Deletes the throwaway organization (everything under it cascades) and its user.
pub async fn delete_org(pool: &sqlx::PgPool, user: Uuid, org: Uuid) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM organizations WHERE id = $1")
        .bind(org)
        .execute(pool)
        .await?;
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user)
        .execute(pool)
        .await?;
    Ok(())
}

/// The meeting of `hours` of synthetic transcript, written under `user` in `org`.
async fn seed(
    pool: &sqlx::PgPool,
    user: Uuid,
    org: Uuid,
    hours: f64,
) -> anyhow::Result<(Uuid, usize)> {
    let lines = meetin_minutes::synthetic_transcript(hours);
    let meeting: Uuid = sqlx::query_scalar(
        "INSERT INTO meetings (organization_id, created_by_id, title) \
         VALUES ($1, $2, 'Bench minutes') RETURNING id",
    )
    .bind(org)
    .bind(user)
    .fetch_one(pool)
    .await?;
    let transcript: Uuid =
        sqlx::query_scalar("INSERT INTO transcripts (meeting_id) VALUES ($1) RETURNING id")
            .bind(meeting)
            .fetch_one(pool)
            .await?;
    let starts: Vec<i32> = lines.iter().map(|l| l.start_ms as i32).collect();
    let ends: Vec<i32> = lines.iter().map(|l| l.end_ms as i32).collect();
    let speakers: Vec<&str> = lines.iter().map(|l| l.speaker.as_str()).collect();
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    sqlx::query(
        "INSERT INTO transcript_segments (transcript_id, start_ms, end_ms, speaker_label_raw, \
                                          text, is_final) \
         SELECT $1, s, e, sp, t, true FROM unnest($2::int[], $3::int[], $4::text[], $5::text[]) \
                AS x(s, e, sp, t)",
    )
    .bind(transcript)
    .bind(&starts)
    .bind(&ends)
    .bind(&speakers)
    .bind(&texts)
    .execute(pool)
    .await?;
    Ok((meeting, lines.len()))
}

/// `runs` generations per engine and transcript length.
pub async fn bench(
    settings: &HashMap<String, String>,
    runs: usize,
) -> anyhow::Result<Vec<MinutesRow>> {
    let database_url = settings.get("DATABASE_URL").context("DATABASE_URL")?;
    let pool = sqlx::PgPool::connect(database_url).await?;
    let (user, org) = throwaway_org(&pool, "minutes").await?;

    let fake = FakeOpenAi::start().await?;
    let base = fake.base_url.to_string();
    let mut rows = Vec::new();
    for llm in [true, false] {
        let mut lookup_settings = settings.clone();
        for key in ["OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "LLM_SECRET_ID"] {
            lookup_settings.remove(key);
        }
        if llm {
            lookup_settings.insert("OPENAI_API_KEY".into(), fake.api_key.clone());
            lookup_settings.insert("OPENAI_BASE_URL".into(), base.clone());
        }
        let lookup = |name: &str| lookup_settings.get(name).cloned();
        let worker = <minutes_worker::Worker as meetin_worker::Deps>::load(
            &lookup,
            meetin_data::PoolSettings::LOCAL,
        )
        .await?;
        let engine = if llm {
            format!(
                "{} via the fake OpenAI (answers at once)",
                worker.engine.model()
            )
        } else {
            worker.engine.model()
        };
        for hours in [1.0, 3.0] {
            let (meeting, lines) = seed(&pool, user, org, hours).await?;
            let mut row = MinutesRow {
                engine: engine.clone(),
                hours,
                lines,
                chunks: 0,
                runs: Vec::with_capacity(runs),
            };
            for _ in 0..runs {
                let task = Uuid::new_v4();
                let transcript: Uuid = sqlx::query_scalar(
                    "INSERT INTO minutes_tasks (id, meeting_id, transcript_id, requested_by_id, \
                                                output_language) \
                     SELECT $1, $2, t.id, $3, 'en' FROM transcripts t WHERE t.meeting_id = $2 \
                     RETURNING transcript_id",
                )
                .bind(task)
                .bind(meeting)
                .bind(user)
                .fetch_one(&pool)
                .await?;
                let job = GenerateMinutes {
                    meeting_id: meeting,
                    transcript_id: transcript,
                    requested_by: user,
                    task_id: task,
                    output_language: OutputLanguage::En,
                };
                let mut record = SqsMessage::default();
                record.message_id = Some(task.to_string());
                record.body = Some(job.to_body());
                let started = Instant::now();
                let outcome = meetin_worker::process_record(&record, &worker).await;
                row.runs.push(started.elapsed());
                ensure!(
                    matches!(outcome, minutes_worker::Outcome::Done { .. }),
                    "{engine}, {hours} h: {outcome:?}"
                );
            }
            row.chunks = sqlx::query_scalar::<_, i64>(
                "SELECT (content_json->'coverage'->>'chunks')::bigint FROM minutes \
                 WHERE meeting_id = $1",
            )
            .bind(meeting)
            .fetch_one(&pool)
            .await?
            .max(0) as u64;
            eprintln!(
                "[bench] minutes {engine}, {hours} h: median {:.0} ms",
                Stats::of(&row.runs).map_or(0.0, |s| crate::load::ms(s.p50))
            );
            rows.push(row);
        }
    }
    delete_org(&pool, user, org).await?;
    pool.close().await;
    Ok(rows)
}

/// The table for docs/benchmarks.md.
pub fn print(rows: &[MinutesRow]) {
    println!(
        "## Minutes worker, its own time per job (meetin_worker::process_record: task, transcript \
         read, generation, writes)"
    );
    println!();
    println!("| engine | transcript | segments | chunks | runs | median ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let stats = Stats::of(&row.runs);
        println!(
            "| {} | {} h | {} | {} | {} | {:.0} | {:.0} |",
            row.engine,
            row.hours,
            row.lines,
            row.chunks,
            row.runs.len(),
            stats.map_or(0.0, |s| crate::load::ms(s.p50)),
            stats.map_or(0.0, |s| crate::load::ms(s.max)),
        );
    }
    println!();
}
