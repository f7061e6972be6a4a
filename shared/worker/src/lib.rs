//! The SQS worker skeleton (issue 17): what every queue-fed Lambda does around its own work,
//! so that a worker is its job type and one `run(job, receive)` function.
//!
//! ```text
//! SqsEvent ── handle ──► for each record, on its own (one bad body never fails its neighbours):
//!               span "job" {message_id, receive}
//!               body ── parse_as::<J>() ──► run(job, receive) ──► Outcome
//!                        └─ not a J: Outcome::Poison
//!               log by outcome; Retry / Poison: ChangeMessageVisibility back-off
//!             ◄── SqsBatchResponse: the records to deliver again (ReportBatchItemFailures)
//! ```
//!
//! Lambda docs, "Handling errors for an SQS event source" (`ReportBatchItemFailures`); SQS
//! `ChangeMessageVisibility`. This is the only crate that links the Lambda SQS event types: a
//! service that only sends jobs uses [`meetin_aws::JobQueue`] and links no Lambda crate.

use std::future::Future;
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use meetin_aws::aws_config::SdkConfig;
use meetin_aws::aws_sdk_sqs;
use meetin_core::settings::Lookup;
use meetin_core::{RetryBackoff, Setting, SettingsError};
use meetin_messages::jobs::{self, JobMessage};
use tracing::Instrument;
use uuid::Uuid;

pub mod function;

pub use aws_lambda_events::event::sqs;
pub use function::{SqsWorker, handle_batch, process_record, run};
pub use lambda_runtime;
pub use meetin_service::Deps;

/// The longest back-off between two attempts of a record.
pub const MAX_BACKOFF: Duration = Duration::from_secs(900);

/// How one record ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The job's effect was stored: the id of what it made (a transcript, minutes).
    Done { id: Uuid },
    /// The job's work was handed on as `jobs` further jobs (a long recording's windows).
    Split { jobs: usize },
    /// Nothing to do (done already, running elsewhere, gone).
    Skipped { why: &'static str },
    /// The job failed for good; its reason is stored where users read it.
    Failed { reason: String },
    /// Try again later: a batch item failure, visible again after the back-off.
    Retry { reason: String },
    /// Not a job this worker reads: a batch item failure, on to the dead-letter queue after
    /// the queue's `maxReceiveCount` receives (at the back-off's pace).
    Poison { reason: String },
}

impl Outcome {
    /// Whether SQS should deliver the record again.
    pub fn redeliver(&self) -> bool {
        matches!(self, Self::Retry { .. } | Self::Poison { .. })
    }
}

/// Whether a batch's records run side by side or one after the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// All at once (waiting on other services).
    Concurrent,
    /// One at a time (each holds a paid call or every vCPU).
    Sequential,
}

/// Where and how a retried record is made visible again.
#[derive(Debug, Clone)]
pub struct Retries {
    pub sqs: aws_sdk_sqs::Client,
    /// The worker's queue URL (`*_QUEUE_URL`); without it the queue's visibility timeout
    /// alone spaces the attempts.
    pub queue_url: Option<String>,
    /// The first retry's delay; each later receive doubles it, up to [`MAX_BACKOFF`].
    pub backoff: Duration,
}

impl Retries {
    /// The back-off of a worker on `queue_url` (its `*_QUEUE_URL`, optional): its SQS client
    /// for `sdk` and the first delay from `RETRY_BACKOFF_SECONDS` ([`RetryBackoff`]).
    pub fn load(
        lookup: Lookup<'_>,
        sdk: &SdkConfig,
        queue_url: Option<String>,
    ) -> Result<Self, SettingsError> {
        Ok(Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            queue_url,
            backoff: RetryBackoff::from_lookup(lookup)?.0,
        })
    }
}

/// The Lambda handler of a worker of `J` jobs: each record parsed into a `J` and given to
/// `run(job, receive)` (receive from 1), concurrently or one at a time; answers the records
/// to deliver again as `batchItemFailures` (the event source mapping must report them:
/// `FunctionResponseTypes: [ReportBatchItemFailures]`).
pub async fn handle<J, F, Fut>(
    event: LambdaEvent<SqsEvent>,
    retries: &Retries,
    concurrency: Concurrency,
    run: F,
) -> Result<SqsBatchResponse, lambda_runtime::Error>
where
    J: JobMessage,
    F: Fn(J, u32) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let records = &event.payload.records;
    let outcomes = match concurrency {
        Concurrency::Concurrent => {
            futures_util::future::join_all(records.iter().map(|r| process(r, retries, &run))).await
        }
        Concurrency::Sequential => {
            let mut outcomes = Vec::with_capacity(records.len());
            for record in records {
                outcomes.push(process(record, retries, &run).await);
            }
            outcomes
        }
    };
    let redeliver: Vec<bool> = outcomes.iter().map(Outcome::redeliver).collect();
    Ok(batch_response(records, &redeliver))
}

/// One record: parsed, run and logged by outcome in a span of its own (never the body: it may
/// name what users said); a record to retry is backed off.
pub async fn process<J, F, Fut>(record: &SqsMessage, retries: &Retries, run: F) -> Outcome
where
    J: JobMessage,
    F: Fn(J, u32) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let message_id = record.message_id.as_deref().unwrap_or("");
    let receive = receive_count(record);
    let span = tracing::info_span!("job", job = J::TYPE, message_id, receive);
    async {
        let outcome = match jobs::parse_as::<J>(record.body.as_deref().unwrap_or("")) {
            Err(err) => Outcome::Poison {
                reason: err.to_string(),
            },
            Ok(job) => run(job, receive).await,
        };
        match &outcome {
            Outcome::Done { id } => tracing::info!(%id, "job done"),
            Outcome::Split { jobs } => tracing::info!(jobs, "job split"),
            Outcome::Skipped { why } => tracing::info!(why, "job skipped"),
            Outcome::Failed { reason } => tracing::warn!(reason, "job failed"),
            Outcome::Retry { reason } => {
                tracing::warn!(reason, "job will be retried");
                back_off(retries, record).await;
            }
            Outcome::Poison { reason } => {
                tracing::error!(reason, "poison job");
                back_off(retries, record).await;
            }
        }
        outcome
    }
    .instrument(span)
    .await
}

/// The record's `ApproximateReceiveCount` attribute (1 when absent or unreadable).
pub fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// The batch response naming the records to deliver again (`redeliver[i]` for `records[i]`).
pub fn batch_response(records: &[SqsMessage], redeliver: &[bool]) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for (record, again) in records.iter().zip(redeliver) {
        if *again {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = record.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// `base × 2^(receive − 1)`, at most [`MAX_BACKOFF`].
pub fn backoff_delay(base: Duration, receive: u32) -> Duration {
    base.saturating_mul(1 << receive.saturating_sub(1).min(16))
        .min(MAX_BACKOFF)
}

/// Makes `record` visible again after [`backoff_delay`] instead of the queue's visibility
/// timeout; does nothing without a queue URL or a receipt handle. A failure is logged: the
/// queue's own timeout still brings the record back.
pub async fn back_off(retries: &Retries, record: &SqsMessage) {
    let (Some(queue_url), Some(receipt)) = (&retries.queue_url, &record.receipt_handle) else {
        return;
    };
    let delay = backoff_delay(retries.backoff, receive_count(record));
    let seconds = i32::try_from(delay.as_secs()).unwrap_or(i32::MAX);
    if let Err(err) = retries
        .sqs
        .change_message_visibility()
        .queue_url(queue_url)
        .receipt_handle(receipt)
        .visibility_timeout(seconds)
        .send()
        .await
    {
        tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(err), "backoff not set");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff_delay(base, 1), Duration::from_secs(30));
        assert_eq!(backoff_delay(base, 2), Duration::from_secs(60));
        assert_eq!(backoff_delay(base, 3), Duration::from_secs(120));
        assert_eq!(backoff_delay(base, 40), MAX_BACKOFF);
        assert_eq!(backoff_delay(Duration::ZERO, 3), Duration::ZERO);
    }

    #[test]
    fn the_batch_response_names_the_records_to_redeliver() {
        let record = |id: &str| {
            let mut m = SqsMessage::default();
            m.message_id = Some(id.to_owned());
            m
        };
        let records = [record("a"), record("b"), record("c")];
        let response = batch_response(&records, &[false, true, true]);
        let ids: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(ids, ["b", "c"]);
        let mut m = SqsMessage::default();
        m.attributes
            .insert("ApproximateReceiveCount".into(), "3".into());
        assert_eq!(receive_count(&m), 3);
        assert_eq!(receive_count(&SqsMessage::default()), 1);
    }
}
