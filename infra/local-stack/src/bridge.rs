//! The Deepgram bridge inside the local stack (not built yet: the live-transcription issue
//! adds it).
//!
//! In AWS the bridge is a Fargate service relaying a meeting's audio to Deepgram's live API and
//! pushing transcript segments back through the API Gateway Management API. Here it will run
//! as a task of this process against the configured Deepgram URL, or the fake Deepgram server
//! (test-support) while no key is configured, saying so at start-up.
