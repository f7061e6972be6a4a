//! Integration tests of the HTTP API against real PostgreSQL and the AWS emulator, through
//! the same routers Lambda serves. One binary, one module per area.

mod access;
mod accounts;
mod bad_input;
mod cold_start;
mod events;
mod fidelity;
mod helpers;
mod hostile_recordings;
mod http_limits;
mod ingress;
mod invitations;
mod live;
mod live_events;
mod long_recordings;
mod meetings;
mod meetings_hostile;
mod memory_cap;
mod migrations;
mod minutes;
mod minutes_abuse;
mod minutes_edits;
mod minutes_worker;
mod openapi;
mod organizations;
mod rate_limits;
mod recording_windows;
mod recordings;
mod refresh_rotation;
mod service_core;
mod transcription;
mod vocab;
mod whisper;
