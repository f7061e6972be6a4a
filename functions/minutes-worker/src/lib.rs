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

use std::time::Duration;

use meetin_aws::aws_sdk_sqs;
use meetin_core::settings::Lookup;
use meetin_core::{DatabaseTarget, Setting};
use meetin_data::PgPool;
use meetin_data::minutes::{self, GeneratedItem, GeneratedMinutes, TaskMeeting, TaskStart};
use meetin_messages::jobs::{GenerateMinutes, MAX_RECEIVES};
use meetin_minutes::{
    EngineError, Generated, Line, LlmEngine, MeetingInfo, OfflineEngine, StructuredChat, Usage,
};
use meetin_openai::{ChatClient, Provider, StructuredRequest};
use meetin_vocab::TaskStatus;
use meetin_worker::lambda_runtime::{self, LambdaEvent};
use meetin_worker::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use meetin_worker::{Concurrency, Retries};

pub use meetin_worker::Outcome;

/// The first retry's delay; each later receive doubles it.
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_secs(30);

/// [`StructuredChat`] over the OpenAI / Azure OpenAI client.
pub struct OpenAiChat(pub ChatClient);

impl StructuredChat for OpenAiChat {
    fn model(&self) -> String {
        self.0.model_label()
    }

    async fn complete(
        &self,
        system: &str,
        user: &str,
        schema_name: &str,
        schema: &serde_json::Value,
        max_completion_tokens: u32,
    ) -> Result<(serde_json::Value, Usage), EngineError> {
        let request = StructuredRequest {
            system,
            user,
            schema_name,
            schema,
            max_completion_tokens,
            temperature: Some(0.2),
        };
        match self.0.structured(&request).await {
            Ok(response) => Ok((
                response.content,
                Usage {
                    prompt_tokens: response.usage.prompt_tokens,
                    completion_tokens: response.usage.completion_tokens,
                },
            )),
            Err(err) => Err(EngineError {
                retryable: err.is_retryable(),
                reason: err.to_string(),
            }),
        }
    }
}

/// The engine minutes are written with.
pub enum Engine {
    /// OpenAI or Azure OpenAI.
    Llm(Box<LlmEngine<OpenAiChat>>),
    /// No key configured: deterministic, labelled with its name.
    Offline(OfflineEngine),
}

impl Engine {
    /// The LLM engine when a provider is configured, else the offline one.
    pub fn from_provider(provider: Option<Provider>) -> Self {
        match provider {
            Some(provider) => Self::Llm(Box::new(LlmEngine::new(OpenAiChat(ChatClient::new(
                provider,
                reqwest::Client::new(),
            ))))),
            None => Self::Offline(OfflineEngine::default()),
        }
    }

    /// What `generated_by_model` will say.
    pub fn model(&self) -> String {
        use meetin_minutes::Engine as _;
        match self {
            Self::Llm(e) => e.model(),
            Self::Offline(e) => e.model(),
        }
    }

    async fn generate(
        &self,
        meeting: &MeetingInfo,
        lines: &[Line],
    ) -> Result<Generated, EngineError> {
        match self {
            Self::Llm(e) => meetin_minutes::generate(e.as_ref(), meeting, lines).await,
            Self::Offline(e) => meetin_minutes::generate(e, meeting, lines).await,
        }
    }
}

/// What the worker needs, built once per cold start.
pub struct Worker {
    pub pool: PgPool,
    /// The back-off of a retried record on `MINUTES_QUEUE_URL` (first delay
    /// [`DEFAULT_RETRY_BACKOFF`]).
    pub retries: Retries,
    pub engine: Engine,
}

impl Worker {
    /// The worker for settings read through `lookup`: the AWS endpoint, the database (URL or
    /// RDS secret), `MINUTES_QUEUE_URL` (optional), and the LLM (`OPENAI_API_KEY` /
    /// `AZURE_OPENAI_*`, or `LLM_SECRET_ID` naming a secret with those keys as JSON; none: the
    /// offline engine).
    pub async fn load(
        lookup: Lookup<'_>,
        pool_settings: meetin_data::PoolSettings,
    ) -> anyhow::Result<Self> {
        let sdk = meetin_aws::sdk_config_from(lookup).await?;
        Self::load_with(lookup, &sdk, pool_settings).await
    }

    /// [`Worker::load`] with an SDK configuration the caller already loaded (the local
    /// stack shares one between its functions and workers).
    pub async fn load_with(
        lookup: Lookup<'_>,
        sdk: &meetin_aws::aws_config::SdkConfig,
        pool_settings: meetin_data::PoolSettings,
    ) -> anyhow::Result<Self> {
        let database = DatabaseTarget::from_lookup(lookup)?;
        let queue_url = lookup("MINUTES_QUEUE_URL").filter(|u| !u.trim().is_empty());
        let secrets = meetin_aws::aws_sdk_secretsmanager::Client::new(sdk);
        let llm_secret = async {
            match lookup("LLM_SECRET_ID").filter(|s| !s.trim().is_empty()) {
                Some(id) => meetin_aws::secrets::json_fields(&secrets, &id)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let (url, secret) = tokio::try_join!(
            meetin_aws::secrets::database_url(&secrets, &database),
            llm_secret
        )?;
        // The secret's keys (e.g. OPENAI_API_KEY) fill what the environment leaves unset.
        let with_secret = |name: &str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .or_else(|| secret.as_ref().and_then(|s| s.get(name).cloned()))
        };
        let provider = meetin_openai::provider_from_lookup(&with_secret)
            .map_err(|e| anyhow::anyhow!("LLM settings: {e}"))?;
        Ok(Self {
            pool: meetin_data::connect_lazy(&url, pool_settings)?,
            retries: Retries {
                sqs: aws_sdk_sqs::Client::new(sdk),
                queue_url,
                backoff: DEFAULT_RETRY_BACKOFF,
            },
            engine: Engine::from_provider(provider),
        })
    }

    /// [`Worker::load`] from the process environment.
    pub async fn from_env(pool_settings: meetin_data::PoolSettings) -> anyhow::Result<Self> {
        Self::load(&|name| std::env::var(name).ok(), pool_settings).await
    }
}

/// The Lambda handler: each record on its own, one after the other (each may hold an LLM
/// call for minutes; [`meetin_worker::handle`]); the ids to deliver again as
/// `batchItemFailures`.
pub async fn handle(
    event: LambdaEvent<SqsEvent>,
    worker: &Worker,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    meetin_worker::handle(
        event,
        &worker.retries,
        Concurrency::Sequential,
        |job, receive| run_job(job, receive, worker),
    )
    .await
}

/// One record through the skeleton ([`meetin_worker::process`]): how it ended (the
/// benchmark times this).
pub async fn process(record: &SqsMessage, worker: &Worker) -> Outcome {
    meetin_worker::process(record, &worker.retries, |job, receive| {
        run_job(job, receive, worker)
    })
    .await
}

async fn run_job(job: GenerateMinutes, receive: u32, worker: &Worker) -> Outcome {
    run(&job, receive, worker).await
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
