//! The service core: what every front end (the HTTP functions, the coming WebSocket handlers
//! and the live bridge) does before it acts for a caller, as plain async functions over a
//! [`ServiceContext`]: authenticate an access token ([`authenticate`]), count a request
//! against a rate limit ([`throttle::check`]) and check tenant access ([`access`]). Each
//! refuses with `meetin_core::Refusal` inside a [`ServiceError`]; the front end maps it (the
//! HTTP crate to `ApiError`, a socket handler to a `$connect` status or an error frame, the
//! bridge to a close code). No Lambda crate and no web framework here.

pub mod access;
pub mod auth;
pub mod context;
pub mod deps;
pub mod error;
pub mod throttle;

pub use auth::{authenticate, bearer_token};
pub use context::{DB_WARM_UP_TIMEOUT, DatabaseWarmUp, ServiceContext};
pub use deps::Deps;
pub use error::{Internal, ServiceError, ServiceResult};
pub use throttle::Scope;
