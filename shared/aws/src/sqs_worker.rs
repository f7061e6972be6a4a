//! What every SQS worker Lambda shares: reading a record's receive count, the partial batch
//! response, and the exponential backoff of a record to retry (Lambda docs,
//! "Handling errors for an SQS event source": `ReportBatchItemFailures`; SQS
//! `ChangeMessageVisibility`).

use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};

/// The longest backoff between two attempts of a record.
pub const MAX_BACKOFF: Duration = Duration::from_secs(900);

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
pub async fn back_off(
    sqs: &aws_sdk_sqs::Client,
    queue_url: Option<&str>,
    record: &SqsMessage,
    base: Duration,
) {
    let (Some(queue_url), Some(receipt)) = (queue_url, &record.receipt_handle) else {
        return;
    };
    let delay = backoff_delay(base, receive_count(record));
    let seconds = i32::try_from(delay.as_secs()).unwrap_or(i32::MAX);
    if let Err(err) = sqs
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
