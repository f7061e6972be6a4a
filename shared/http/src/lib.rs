//! What every HTTP function shares: its dependencies ([`AppContext`]), the one error type
//! ([`ApiError`]), tenant access ([`access::require`]), the extractors that parse requests at
//! the boundary, rate limiting, the router/OpenAPI boilerplate ([`api`]), the JSON fallbacks
//! and common layers, and the Lambda entry point.

pub mod access;
pub mod api;
pub mod context;
pub mod docs;
pub mod error;
pub mod extract;
pub mod function;
pub mod layers;
pub mod paginate;
pub mod responses;
pub mod stage;
pub mod start;
pub mod throttle;

pub use context::{AppContext, Deps};
pub use error::{ApiError, ApiResult};
pub use extract::{
    AnonRateLimit, AuthRateLimit, AuthUser, ClientIp, IfMatch, JsonBody, PageUrl, PathParams,
    RefreshRateLimit,
};
pub use function::HttpFunction;
pub use layers::{finish_router, not_found, run_on_lambda};
pub use paginate::PageRequest;
pub use start::{run_function, run_on_lambda_starting};
pub use throttle::Scope;
