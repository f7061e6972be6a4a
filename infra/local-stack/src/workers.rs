//! The queue workers of the local stack: SQS's part of the event source mapping.
//!
//! In AWS, SQS invokes each worker function with an `SqsEvent` and deletes the messages the
//! function did not report as batch item failures. Here [`poll`] long-polls the emulator's
//! queue, builds the same event (message id, receipt handle, body, `ApproximateReceiveCount`,
//! the queue's ARN) and feeds it to the same `handle()` the worker's Lambda entry point calls,
//! then deletes what succeeded. A failed message comes back when its visibility timeout ends
//! (or the worker's backoff), and moves to the dead-letter queue after its queue's
//! `maxReceiveCount`, as in AWS.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use std::sync::Arc;

use anyhow::Context;
use meetin_aws::aws_config::SdkConfig;
use meetin_aws::aws_sdk_sqs;
use meetin_aws::aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use meetin_core::settings::Lookup;
use meetin_data::PoolSettings;
use meetin_worker::SqsWorker;
use meetin_worker::lambda_runtime::{self, LambdaEvent};
use meetin_worker::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use tokio::task::JoinHandle;

use crate::Loading;

/// One worker of the stack: its name and how it starts.
pub struct Worker {
    pub name: &'static str,
    start: for<'a> fn(Lookup<'a>, &'a SdkConfig) -> Loading<'a, Running>,
}

impl Worker {
    /// The entry of `W`.
    pub const fn of<W: SqsWorker>() -> Self {
        Self {
            name: W::NAME,
            start: start::<W>,
        }
    }

    /// Loads the worker from settings read through `lookup` (its queue's `*_QUEUE_URL` and
    /// `RETRY_BACKOFF_SECONDS` included) and polls its queue until [`Running::task`] is
    /// aborted.
    pub async fn start(&self, lookup: Lookup<'_>, sdk: &SdkConfig) -> anyhow::Result<Running> {
        (self.start)(lookup, sdk).await
    }
}

/// Every worker, each fed by its own queue. A new worker is one line here.
pub const WORKERS: &[Worker] = &[
    Worker::of::<recording_worker::Worker>(),
    Worker::of::<minutes_worker::Worker>(),
];

/// A worker polling its queue.
pub struct Running {
    pub name: &'static str,
    pub queue_url: String,
    /// What it runs with ([`SqsWorker::describe`]).
    pub description: String,
    pub task: JoinHandle<()>,
}

/// How many copies of each worker poll its queue at once (`WORKER_INSTANCES`, 1 to 8,
/// default 2): what Lambda's concurrent invocations are in AWS, so a long recording's windows
/// are transcribed side by side here too (each copy has its own engine).
pub fn instances(lookup: Lookup<'_>) -> anyhow::Result<usize> {
    match lookup("WORKER_INSTANCES") {
        None => Ok(2),
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if (1..=8).contains(&n) => Ok(n),
            _ => anyhow::bail!("WORKER_INSTANCES={raw:?} is not a whole number from 1 to 8"),
        },
    }
}

fn start<'a, W: SqsWorker>(lookup: Lookup<'a>, sdk: &'a SdkConfig) -> Loading<'a, Running> {
    Box::pin(async move {
        let mut copies = Vec::new();
        for _ in 0..instances(lookup)? {
            copies.push(W::load_with(lookup, sdk, PoolSettings::LOCAL).await?);
        }
        let retries = copies[0].retries();
        let queue_url = retries
            .queue_url
            .clone()
            .with_context(|| format!("{}: its queue's URL is not set", W::NAME))?;
        let sqs = retries.sqs.clone();
        let description = format!("{} ({} at once)", copies[0].describe(), copies.len());
        let pollers: Vec<_> = copies
            .into_iter()
            .map(|worker| {
                let worker = Arc::new(worker);
                poll(
                    W::NAME,
                    sqs.clone(),
                    queue_url.clone(),
                    move |event| {
                        let worker = Arc::clone(&worker);
                        async move { meetin_worker::handle_batch(event, worker.as_ref()).await }
                    },
                    std::future::pending(),
                )
            })
            .collect();
        let task = tokio::spawn(async move {
            futures_util::future::join_all(pollers).await;
        });
        Ok(Running {
            name: W::NAME,
            queue_url,
            description,
            task,
        })
    })
}

/// Messages per receive: the template's `BatchSize` of every worker (one job per invocation;
/// Lambda runs invocations side by side, [`instances`] here).
const BATCH_SIZE: i32 = 1;

/// Long-poll wait per receive, in seconds.
const WAIT_SECONDS: i32 = 1;

/// How long a received message stays hidden while the worker runs: a worker's longest run
/// (its Lambda `Timeout`, 900 s), so a long Whisper window is never handed to a second copy
/// while the first still works on it (the template's queues hide longer still). A failed
/// job's retry comes sooner: the worker sets its own back-off.
const VISIBILITY_SECONDS: i32 = 900;

/// Pause after the emulator failed to answer, before trying again.
const ERROR_PAUSE: Duration = Duration::from_secs(2);

/// The SQS event of received messages, as Lambda's event source mapping builds it.
pub fn sqs_event(messages: Vec<aws_sdk_sqs::types::Message>, queue_arn: &str) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .into_iter()
        .map(|m| {
            let mut record = SqsMessage::default();
            let attributes: HashMap<String, String> = m
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_owned(), v))
                .collect();
            record.attributes = attributes;
            record.message_id = m.message_id;
            record.receipt_handle = m.receipt_handle;
            record.md5_of_body = m.md5_of_body;
            record.body = m.body;
            record.event_source = Some("aws:sqs".to_owned());
            record.event_source_arn = Some(queue_arn.to_owned());
            record
        })
        .collect();
    event
}

/// Receives from `queue_url` and hands each batch to `handle` until `stop` resolves; deletes
/// the messages `handle` did not report as failures. `name` labels the logs.
pub async fn poll<H, Fut>(
    name: &'static str,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    handle: H,
    stop: impl Future<Output = ()>,
) where
    H: Fn(LambdaEvent<SqsEvent>) -> Fut,
    Fut: Future<Output = Result<SqsBatchResponse, lambda_runtime::Error>>,
{
    let queue_arn = queue_arn(&sqs, &queue_url).await.unwrap_or_default();
    tokio::pin!(stop);
    loop {
        let received = tokio::select! {
            () = &mut stop => return,
            received = sqs
                .receive_message()
                .queue_url(&queue_url)
                .max_number_of_messages(BATCH_SIZE)
                .wait_time_seconds(WAIT_SECONDS)
                .visibility_timeout(VISIBILITY_SECONDS)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send() => received,
        };
        let messages = match received {
            Ok(output) => output.messages.unwrap_or_default(),
            Err(err) => {
                tracing::warn!(worker = name, error = %aws_sdk_sqs::error::DisplayErrorContext(err), "receive failed");
                tokio::time::sleep(ERROR_PAUSE).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let receipts: HashMap<String, String> = messages
            .iter()
            .filter_map(|m| Some((m.message_id.clone()?, m.receipt_handle.clone()?)))
            .collect();
        let event = sqs_event(messages, &queue_arn);
        let failed: Vec<String> = match handle(LambdaEvent::new(event, Default::default())).await {
            Ok(response) => response
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect(),
            Err(err) => {
                // A handler error fails the whole batch, as in AWS.
                tracing::error!(worker = name, error = %err, "handler failed");
                receipts.keys().cloned().collect()
            }
        };
        for (id, receipt) in receipts {
            if failed.contains(&id) {
                continue;
            }
            if let Err(err) = sqs
                .delete_message()
                .queue_url(&queue_url)
                .receipt_handle(receipt)
                .send()
                .await
            {
                tracing::warn!(worker = name, error = %aws_sdk_sqs::error::DisplayErrorContext(err), "delete failed");
            }
        }
    }
}

/// The queue's ARN (what `eventSourceARN` carries).
async fn queue_arn(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Option<String> {
    sqs.get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .ok()?
        .attributes?
        .remove(&QueueAttributeName::QueueArn)
}
