//! The queue workers of the local stack (not built yet: the recording and minutes issues add
//! them).
//!
//! In AWS, SQS invokes each worker function with an `SqsEvent`. Here this module will
//! long-poll the emulator's queues and feed the same `handle()` each worker's Lambda entry
//! point calls, deleting the messages the handler did not report as batch item failures
//! (docs/adding-a-function.md, "A queue worker").
