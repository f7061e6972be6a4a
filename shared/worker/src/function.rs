//! What makes a crate a queue worker: its dependencies ([`Deps`]), its job type and its
//! `run`. The batch handling ([`crate::handle`]), the Lambda entry point ([`run`]) and the
//! local stack's poller come with it, so adding a worker is its job type, its `run` and one
//! line in the local stack's list (docs/adding-a-function.md).

use std::future::Future;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};
use meetin_data::PoolSettings;
use meetin_messages::jobs::JobMessage;
use meetin_service::Deps;

use crate::{Concurrency, Outcome, Retries};

/// A worker Lambda fed by one SQS queue of [`SqsWorker::Job`]s.
pub trait SqsWorker: Deps + Sync + 'static {
    /// The name it is deployed and logged under (the SAM resource's, lower-case).
    const NAME: &'static str;

    /// Whether a batch's records run side by side or one after the other.
    const CONCURRENCY: Concurrency;

    /// The jobs it reads; any other body is poison.
    type Job: JobMessage + Send;

    /// Its queue (`retries().queue_url`, what the local stack polls) and back-off
    /// ([`Retries::load`]).
    fn retries(&self) -> &Retries;

    /// One line on what it runs with (its engine, a model), for the local stack's banner.
    fn describe(&self) -> String;

    /// One job on its `receive`-th delivery (from 1).
    fn run(&self, job: Self::Job, receive: u32) -> impl Future<Output = Outcome> + Send;
}

/// The Lambda handler of `worker`: each record through [`crate::handle`]; the records to
/// deliver again as `batchItemFailures`.
pub async fn handle_batch<W: SqsWorker>(
    event: LambdaEvent<SqsEvent>,
    worker: &W,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    crate::handle(
        event,
        worker.retries(),
        W::CONCURRENCY,
        |job: W::Job, receive| worker.run(job, receive),
    )
    .await
}

/// The Lambda entry point of `W` (its `main.rs`): loaded from the environment in init, then
/// every batch through [`handle_batch`].
pub async fn run<W: SqsWorker>() -> Result<(), lambda_runtime::Error> {
    let worker = W::from_env(PoolSettings::LAMBDA).await?;
    lambda_runtime::run(service_fn(|event| handle_batch(event, &worker))).await
}

/// One record through the skeleton ([`crate::process`]) with `worker`: how it ended.
pub async fn process_record<W: SqsWorker>(
    record: &aws_lambda_events::event::sqs::SqsMessage,
    worker: &W,
) -> Outcome {
    crate::process(record, worker.retries(), |job: W::Job, receive| {
        worker.run(job, receive)
    })
    .await
}
