//! A queue paired with the one job type it carries, at compile time: the producer side of the
//! workers (`meetin-worker` is the consumer side). Sending links no Lambda crate.

use std::marker::PhantomData;

use aws_sdk_sqs::error::DisplayErrorContext;
use meetin_messages::jobs::JobMessage;

/// The SQS queue of `J` jobs (e.g. `JobQueue<TranscribeRecording>`), by URL.
pub struct JobQueue<J> {
    sqs: aws_sdk_sqs::Client,
    url: String,
    job: PhantomData<fn(J)>,
}

// Derived Clone/Debug would ask `J` for them too.
impl<J> Clone for JobQueue<J> {
    fn clone(&self) -> Self {
        Self {
            sqs: self.sqs.clone(),
            url: self.url.clone(),
            job: PhantomData,
        }
    }
}

impl<J> std::fmt::Debug for JobQueue<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue").field("url", &self.url).finish()
    }
}

/// A job could not be sent (SQS refused or could not be reached); the text is for logs, not
/// for users.
#[derive(Debug, thiserror::Error)]
#[error("sending a {job} job: {reason}")]
pub struct SendError {
    /// The job's `type` tag.
    pub job: &'static str,
    pub reason: String,
}

impl<J: JobMessage> JobQueue<J> {
    /// The queue at `url` (a `*_QUEUE_URL` setting, or the emulator's resolved URL).
    pub fn new(sqs: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            sqs,
            url: url.into(),
            job: PhantomData,
        }
    }

    /// The SQS client it sends with.
    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        &self.sqs
    }

    /// Sends `job` as one message (its [`JobMessage::to_body`]).
    pub async fn send(&self, job: &J) -> Result<(), SendError> {
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(job.to_body())
            .send()
            .await
            .map(drop)
            .map_err(|e| SendError {
                job: J::TYPE,
                reason: DisplayErrorContext(e).to_string(),
            })
    }
}
