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

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use meetin_aws::aws_sdk_sqs;
use meetin_aws::aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

/// Messages per receive (SQS's maximum, the template's `BatchSize`).
const BATCH_SIZE: i32 = 10;

/// Long-poll wait per receive, in seconds.
const WAIT_SECONDS: i32 = 1;

/// How long a received message stays hidden while the worker runs (the template's queue
/// `VisibilityTimeout` is longer; locally a crashed run is retried sooner).
const VISIBILITY_SECONDS: i32 = 60;

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
