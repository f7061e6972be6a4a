//! The domain core shared by every function: configuration, the API error type rendered in
//! the contract's shapes, tokens, password hashing, input validation, pagination and the
//! small domain values (roles, timestamps).

pub mod config;
pub mod error;
pub mod jwt;
pub mod pagination;
pub mod password;
pub mod role;
pub mod telemetry;
pub mod time;
pub mod validation;

pub use config::{Config, DatabaseTarget, RateLimits, Secrets};
pub use error::{ApiError, ApiResult};
pub use role::Role;
