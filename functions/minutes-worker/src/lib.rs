//! `minutes-worker`: the SQS consumer of `generate_minutes` jobs (contract §4.1, §4.3;
//! docs/api-decisions.md, "Minutes").
//!
//! For each record, on its own:
//!
//! 1. parse a [`GenerateMinutes`]; anything else is **poison** (a batch item failure, on to the
//!    dead-letter queue after [`MAX_RECEIVES`] receives);
//! 2. start its task (`queued` → `running`; `running` again only on a redelivery); a task that
//!    ended, runs elsewhere or is gone ends the job with nothing to do;
//! 3. read the transcript's final segments with speaker names and generate the minutes with
//!    the configured engine: OpenAI or Azure OpenAI with a strict JSON schema, or, with no key,
//!    the offline engine (`meetin_minutes`); long meetings are chunked and merged there;
//! 4. leave out the action items users deleted (their tombstones), then write the minutes, a
//!    version, the action items and the task `succeeded` in one transaction that only commits
//!    while the task is still `running` (one effect per job).
//!
//! Failures: an LLM outage (429 other than `insufficient_quota`, 5xx, timeouts, after the
//! client's own retries) or a database error is retried with backoff; on the last receive, and
//! for every other failure (refusal, truncation, content filter, quota, bad request), the task
//! is `failed` with the reason.

mod deps;

use meetin_data::minutes::{self, GeneratedItem, GeneratedMinutes, TaskMeeting, TaskStart};
use meetin_messages::jobs::{GenerateMinutes, MAX_RECEIVES};
use meetin_minutes::{Generated, Line, MeetingInfo};
use meetin_vocab::TaskStatus;
use meetin_worker::{Concurrency, Retries, SqsWorker};

pub use deps::{Engine, OpenAiChat, Worker};
pub use meetin_worker::Outcome;

impl SqsWorker for Worker {
    const NAME: &'static str = "minutes-worker";
    /// One record at a time: each may hold an LLM call for minutes.
    const CONCURRENCY: Concurrency = Concurrency::Sequential;
    type Job = GenerateMinutes;

    fn retries(&self) -> &Retries {
        &self.retries
    }

    fn describe(&self) -> String {
        match &self.engine {
            Engine::Llm(_) => format!("{} (an LLM key is configured)", self.engine.model()),
            Engine::Offline(_) => format!(
                "OFFLINE ({}): no OPENAI_API_KEY or AZURE_OPENAI_*; deterministic minutes from cue phrases. Set a key for LLM minutes.",
                self.engine.model()
            ),
        }
    }

    async fn run(&self, job: GenerateMinutes, receive: u32) -> Outcome {
        run(&job, receive, self).await
    }
}

/// Steps 2 to 4 for one job on its `receive`-th delivery.
async fn run(job: &GenerateMinutes, receive: u32, worker: &Worker) -> Outcome {
    let retry = |what: &str, err: &dyn std::fmt::Display| Outcome::Retry {
        reason: format!("{what}: {err}"),
    };
    let task =
        match minutes::start_task(&worker.pool, job.meeting_id, job.task_id, receive > 1).await {
            Ok(TaskStart::Started(task)) => *task,
            Ok(TaskStart::Settled { status }) => {
                return Outcome::Skipped {
                    why: match status {
                        TaskStatus::Succeeded => "already succeeded",
                        TaskStatus::Failed => "already failed",
                        TaskStatus::Queued | TaskStatus::Running => "another run is generating it",
                    },
                };
            }
            Ok(TaskStart::Missing) => {
                return Outcome::Skipped {
                    why: "no such task",
                };
            }
            Err(err) => return retry("starting the task", &err),
        };
    let rows = match minutes::transcript_lines(
        &worker.pool,
        job.meeting_id,
        task.task.transcript_id,
    )
    .await
    {
        Ok(rows) => rows,
        Err(err) => return retry("reading the transcript", &err),
    };
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|r| Line {
            segment_id: r.segment_id,
            start_ms: i64::from(r.start_ms),
            end_ms: i64::from(r.end_ms),
            speaker: r.speaker,
            text: r.text,
        })
        .collect();
    let meeting = MeetingInfo {
        id: job.meeting_id,
        title: task.title.clone(),
        date: task.date,
        language: task.task.output_language,
        transcript_id: task.task.transcript_id,
    };
    let generated = match worker.engine.generate(&meeting, &lines).await {
        Ok(generated) => generated,
        Err(err) if err.retryable && receive < MAX_RECEIVES => {
            return retry("the minutes engine", &err.reason);
        }
        Err(err) => {
            let reason = if err.retryable {
                format!("{} (gave up after {receive} attempts)", err.reason)
            } else {
                err.reason
            };
            return fail(worker, &task, reason).await;
        }
    };
    // Items users deleted stay out of the content too (complete_task keeps them out of the
    // action items, race-safe).
    let generated = match minutes::deleted_item_keys(&worker.pool, job.meeting_id).await {
        Ok(deleted) => fit(without_deleted(generated, &deleted)),
        Err(err) => return retry("reading the deleted items", &err),
    };
    let written = match to_rows(&generated) {
        Ok(rows) => rows,
        Err(err) => return fail(worker, &task, err).await,
    };
    match minutes::complete_task(&worker.pool, &task, &written, meetin_minutes::item_key).await {
        Ok(Some(minutes_id)) => Outcome::Done { id: minutes_id },
        Ok(None) => Outcome::Skipped {
            why: "another run finished it",
        },
        Err(err) => retry("writing the minutes", &err),
    }
}

/// `generated` without the action items whose key users deleted, its Markdown rendered again
/// when one was left out.
fn without_deleted(mut generated: Generated, deleted: &[String]) -> Generated {
    let before = generated.content.action_items.len();
    generated
        .content
        .action_items
        .retain(|a| !deleted.contains(&meetin_minutes::item_key(&a.title)));
    if generated.content.action_items.len() != before {
        generated.markdown = meetin_minutes::render_markdown(&generated.content);
    }
    generated
}

/// `generated` within what minutes may store (issue 16: every response under Lambda's 6 MB):
/// at most [`action_items::MAX_PER_MEETING`] action items, each with at most
/// [`action_items::DESCRIPTION_MAX_CHARS`] of description and
/// [`action_items::SOURCE_SEGMENTS_MAX`] sources; then, while `content_json` is over
/// [`minutes::CONTENT_JSON_MAX_BYTES`] or the Markdown over [`minutes::CONTENT_MD_MAX_CHARS`],
/// the last tenth of its longest list (decisions, action items, key points, next steps,
/// attendees) is dropped, and the summary halved once the lists are empty. The Markdown is
/// rendered again when anything was cut.
pub fn fit(mut generated: Generated) -> Generated {
    use meetin_data::action_items;
    let c = &mut generated.content;
    let mut cut = false;
    let max_items = usize::try_from(action_items::MAX_PER_MEETING).unwrap_or(usize::MAX);
    if c.action_items.len() > max_items {
        c.action_items.truncate(max_items);
        cut = true;
    }
    for item in &mut c.action_items {
        if item.description.chars().count() > action_items::DESCRIPTION_MAX_CHARS {
            item.description = item
                .description
                .chars()
                .take(action_items::DESCRIPTION_MAX_CHARS)
                .collect();
            cut = true;
        }
        if item.source_segment_ids.len() > action_items::SOURCE_SEGMENTS_MAX {
            item.source_segment_ids
                .truncate(action_items::SOURCE_SEGMENTS_MAX);
            cut = true;
        }
    }
    if cut {
        generated.markdown = meetin_minutes::render_markdown(&generated.content);
    }
    let too_big = |g: &Generated| {
        serde_json::to_string(&g.content)
            .map_or(true, |j| j.len() > minutes::CONTENT_JSON_MAX_BYTES)
            || g.markdown.chars().count() > minutes::CONTENT_MD_MAX_CHARS
    };
    while too_big(&generated) {
        let c = &mut generated.content;
        let lens = [
            c.decisions.len(),
            c.action_items.len(),
            c.key_points.len(),
            c.next_steps.len(),
            c.attendees.len(),
        ];
        let (longest, len) = lens
            .iter()
            .copied()
            .enumerate()
            .max_by_key(|(_, len)| *len)
            .unwrap_or((0, 0));
        let keep = len - len.div_ceil(10);
        match longest {
            _ if len == 0 => {
                if c.summary.is_empty() {
                    break;
                }
                let half = c.summary.chars().count() / 2;
                c.summary = c.summary.chars().take(half).collect();
            }
            0 => c.decisions.truncate(keep),
            1 => c.action_items.truncate(keep),
            2 => c.key_points.truncate(keep),
            3 => c.next_steps.truncate(keep),
            _ => c.attendees.truncate(keep),
        }
        generated.markdown = meetin_minutes::render_markdown(&generated.content);
        cut = true;
    }
    if cut {
        tracing::warn!("generated minutes cut to what minutes may store");
    }
    generated
}

/// The rows a generation writes.
fn to_rows(generated: &Generated) -> Result<GeneratedMinutes, String> {
    let content_json = serde_json::to_value(&generated.content)
        .map_err(|e| format!("the minutes could not be stored: {e}"))?;
    let items = generated
        .content
        .action_items
        .iter()
        .filter(|a| !a.title.trim().is_empty())
        .map(|a| GeneratedItem {
            key: meetin_minutes::item_key(&a.title),
            title: a.title.clone(),
            description: a.description.clone(),
            owner: a.assignee.clone(),
            due_date: a.due_date,
            priority: a.priority,
            source_segment_ids: a.source_segment_ids.clone(),
        })
        .collect();
    Ok(GeneratedMinutes {
        content_json,
        content_md: generated.markdown.clone(),
        model: generated.model.clone(),
        prompt_tokens: i64::try_from(generated.usage.prompt_tokens).unwrap_or(i64::MAX),
        completion_tokens: i64::try_from(generated.usage.completion_tokens).unwrap_or(i64::MAX),
        items,
    })
}

async fn fail(worker: &Worker, task: &TaskMeeting, reason: String) -> Outcome {
    match minutes::fail_task(&worker.pool, task.task.id, &reason).await {
        Ok(_) => Outcome::Failed { reason },
        Err(err) => Outcome::Retry {
            reason: format!("recording the failure: {err}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meetin_minutes::Language;
    use meetin_minutes::{OfflineEngine, synthetic_transcript};
    use uuid::Uuid;

    async fn offline(hours: f64) -> Generated {
        let meeting = MeetingInfo {
            id: Uuid::nil(),
            title: "Planning".into(),
            date: Default::default(),
            language: Language::En,
            transcript_id: Uuid::nil(),
        };
        meetin_minutes::generate(
            &OfflineEngine::default(),
            &meeting,
            &synthetic_transcript(hours),
        )
        .await
        .expect("offline minutes")
    }

    fn size(g: &Generated) -> (usize, usize) {
        (
            serde_json::to_string(&g.content).expect("json").len(),
            g.markdown.chars().count(),
        )
    }

    #[tokio::test]
    async fn four_hours_fit_untouched_and_eight_are_cut_to_the_caps() {
        let four = offline(4.0).await;
        assert_eq!(
            fit(four.clone()).content,
            four.content,
            "a 4-hour meeting fits"
        );

        let eight = offline(8.0).await;
        assert!(
            size(&eight).0 > minutes::CONTENT_JSON_MAX_BYTES,
            "{:?}",
            size(&eight)
        );
        let fitted = fit(eight.clone());
        let (json, md) = size(&fitted);
        assert!(json <= minutes::CONTENT_JSON_MAX_BYTES, "{json}");
        assert!(md <= minutes::CONTENT_MD_MAX_CHARS, "{md}");
        assert_eq!(
            fitted.markdown,
            meetin_minutes::render_markdown(&fitted.content)
        );
        assert!(fitted.content.action_items.len() <= 200);
        // What is kept is the start of each list.
        assert_eq!(
            fitted.content.decisions[..],
            eight.content.decisions[..fitted.content.decisions.len()]
        );
    }
}
