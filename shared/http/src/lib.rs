//! What every HTTP function shares: its dependencies ([`AppContext`]), the extractors that
//! parse requests at the boundary, rate limiting, the JSON fallbacks and common layers, and
//! the Lambda entry point.

pub mod context;
pub mod docs;
pub mod extract;
pub mod layers;
pub mod stage;
pub mod throttle;

pub use context::AppContext;
pub use extract::{
    AnonRateLimit, AuthRateLimit, AuthUser, ClientIp, JsonBody, PageUrl, PathId, PathIds,
};
pub use layers::{finish_router, not_found, run_on_lambda};
pub use throttle::Scope;
