//! The one API error type. It renders the contract's three error families:
//! `{"detail": ...}` (optionally with `code`/`messages`), `{"field": [...]}` and
//! `{"error": ...}`, and never puts internals in a body.

use std::borrow::Cow;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use crate::validation::FieldErrors;

pub type ApiResult<T> = Result<T, ApiError>;

/// Why an access token was refused; the text is simplejwt's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Invalid,
    Expired,
    WrongType,
    Blacklisted,
}

impl TokenProblem {
    pub fn message(self) -> &'static str {
        match self {
            Self::Invalid => "Token is invalid",
            Self::Expired => "Token is expired",
            Self::WrongType => "Token has wrong type",
            Self::Blacklisted => "Token is blacklisted",
        }
    }
}

#[derive(Debug)]
pub enum ApiError {
    /// `{"detail": ...}` with any status.
    Detail {
        status: StatusCode,
        detail: Cow<'static, str>,
    },
    /// 401 `{"detail", "code"}` (authentication failures that carry a code).
    Unauthorized {
        detail: Cow<'static, str>,
        code: Option<&'static str>,
    },
    /// 401 for a bad access token: `{"detail", "code", "messages": [...]}`.
    AccessTokenNotValid(TokenProblem),
    /// 400 `{"field": ["..."], "non_field_errors": [...]}`.
    Fields(FieldErrors),
    /// `{"error": ...}` with any status.
    Message {
        status: StatusCode,
        error: Cow<'static, str>,
    },
    /// 429 with `Retry-After`.
    Throttled { retry_after_secs: u64 },
    /// Anything unexpected: a JSON 500 without internals; the cause is logged.
    Internal(anyhow::Error),
}

pub const INTERNAL_ERROR_MESSAGE: &str = "An internal error occurred. Please try again later.";

impl ApiError {
    pub fn detail(status: StatusCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::Detail {
            status,
            detail: detail.into(),
        }
    }

    /// The generic 404, also used for malformed ids and unknown routes.
    pub fn not_found() -> Self {
        Self::detail(StatusCode::NOT_FOUND, "Not found.")
    }

    /// DRF's 404 for an object outside the caller's reach: "No X matches the given query."
    pub fn no_match(model: &str) -> Self {
        Self::detail(
            StatusCode::NOT_FOUND,
            format!("No {model} matches the given query."),
        )
    }

    pub fn forbidden(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::detail(StatusCode::FORBIDDEN, detail)
    }

    /// What a viewer gets when it tries to change anything.
    pub fn read_only_role() -> Self {
        Self::forbidden("You do not have permission to perform this action.")
    }

    pub fn not_authenticated() -> Self {
        Self::Unauthorized {
            detail: "Authentication credentials were not provided.".into(),
            code: None,
        }
    }

    pub fn method_not_allowed(method: &http::Method) -> Self {
        Self::detail(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Method \"{method}\" not allowed."),
        )
    }

    pub fn message(status: StatusCode, error: impl Into<Cow<'static, str>>) -> Self {
        Self::Message {
            status,
            error: error.into(),
        }
    }

    pub fn bad_request(error: impl Into<Cow<'static, str>>) -> Self {
        Self::message(StatusCode::BAD_REQUEST, error)
    }

    /// A single field error.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(name, message);
        Self::Fields(errors)
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Detail { status, .. } | Self::Message { status, .. } => *status,
            Self::Unauthorized { .. } | Self::AccessTokenNotValid(_) => StatusCode::UNAUTHORIZED,
            Self::Fields(_) => StatusCode::BAD_REQUEST,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body, exactly as the client sees it.
    pub fn body(&self) -> Value {
        match self {
            Self::Detail { detail, .. } => json!({ "detail": detail }),
            Self::Unauthorized {
                detail,
                code: Some(code),
            } => json!({ "detail": detail, "code": code }),
            Self::Unauthorized { detail, code: None } => json!({ "detail": detail }),
            Self::AccessTokenNotValid(problem) => json!({
                "detail": "Given token not valid for any token type",
                "code": "token_not_valid",
                "messages": [{
                    "token_class": "AccessToken",
                    "token_type": "access",
                    "message": problem.message(),
                }],
            }),
            Self::Fields(errors) => errors.to_json(),
            Self::Message { error, .. } => json!({ "error": error }),
            Self::Throttled { retry_after_secs } => json!({
                "detail": format!("Request was throttled. Expected available in {retry_after_secs} seconds.")
            }),
            Self::Internal(_) => json!({ "error": INTERNAL_ERROR_MESSAGE }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(err) = &self {
            // Logged inside the request's span, which carries the request id.
            tracing::error!(error = format!("{err:#}"), "unhandled error");
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::Unauthorized { .. } | Self::AccessTokenNotValid(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"api\""),
                );
            }
            Self::Throttled { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        Self::Fields(errors)
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        Self::Internal(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_three_families() {
        assert_eq!(
            ApiError::no_match("Organization").body(),
            json!({"detail": "No Organization matches the given query."})
        );
        assert_eq!(
            ApiError::field("email", "Enter a valid email address.").body(),
            json!({"email": ["Enter a valid email address."]})
        );
        assert_eq!(
            ApiError::bad_request("Invalid token").body(),
            json!({"error": "Invalid token"})
        );
        assert_eq!(
            ApiError::Throttled {
                retry_after_secs: 42
            }
            .body(),
            json!({"detail": "Request was throttled. Expected available in 42 seconds."})
        );
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let err = ApiError::internal(anyhow::anyhow!("password=hunter2 connection refused"));
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.body(), json!({"error": INTERNAL_ERROR_MESSAGE}));
    }

    #[test]
    fn unauthorized_responses_carry_www_authenticate() {
        let response = ApiError::AccessTokenNotValid(TokenProblem::Expired).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"api\""
        );
        let response = ApiError::Throttled {
            retry_after_secs: 7,
        }
        .into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
    }
}
