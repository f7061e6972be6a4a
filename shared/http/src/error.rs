//! The HTTP edge's one error type: a refusal (`meetin_core::Refusal`, rendered in the
//! contract's shapes) or an unexpected failure. Failures convert with `?` from the database,
//! the ephemeral store, secrets and `anyhow`, recording the call site; they answer the JSON
//! 500 of docs/api-decisions.md ("Errors") and are logged with what failed and where, never
//! shown to the client.

use std::borrow::Cow;
use std::panic::Location;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use meetin_core::password::{self, PasswordError};
use meetin_core::refusal::{INTERNAL_ERROR_MESSAGE, error_body};
use meetin_core::validation::FieldErrors;
use meetin_core::{Denied, Refusal};
use meetin_service::ServiceError;

pub type ApiResult<T> = Result<T, ApiError>;

/// What a handler fails with.
#[derive(Debug)]
pub enum ApiError {
    /// A 4xx the client caused.
    Refused(Refusal),
    /// A 500: the cause and the call site are logged, the body is the contract's generic one.
    Internal(Internal),
}

/// An unexpected failure and the line that propagated it (the service core's type, so its
/// failures keep their call site here).
pub use meetin_service::Internal;

impl ApiError {
    /// An unexpected failure with a description of what failed, e.g.
    /// `ApiError::internal("registration fields missing after validation")`.
    #[track_caller]
    pub fn internal(what: impl Into<Cow<'static, str>>) -> Self {
        Self::Internal(Internal {
            error: anyhow::anyhow!(what.into()),
            location: Location::caller(),
        })
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Refused(refusal) => refusal.status(),
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    // Shorthands for the refusals handlers give most.

    pub fn not_found() -> Self {
        Refusal::not_found().into()
    }

    pub fn no_match(model: &str) -> Self {
        Refusal::no_match(model).into()
    }

    pub fn forbidden(detail: impl Into<Cow<'static, str>>) -> Self {
        Refusal::forbidden(detail).into()
    }

    pub fn bad_request(error: impl Into<Cow<'static, str>>) -> Self {
        Refusal::bad_request(error).into()
    }

    pub fn field(name: &str, message: impl Into<String>) -> Self {
        Refusal::field(name, message).into()
    }

    pub fn detail(status: StatusCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Refusal::detail(status, detail).into()
    }

    pub fn unauthorized(detail: &'static str, code: &'static str) -> Self {
        Refusal::Unauthorized {
            detail: detail.into(),
            code: Some(code),
        }
        .into()
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

impl From<ServiceError> for ApiError {
    /// A refusal as such; an internal failure keeps the service core's call site.
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Refused(refusal) => Self::Refused(refusal),
            ServiceError::Internal(internal) => Self::Internal(internal),
        }
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        Self::Refused(Refusal::Fields(errors))
    }
}

/// Unexpected failures: each keeps the line of the `?` that propagated it.
macro_rules! internal_from {
    ($($source:ty => $what:literal),* $(,)?) => {$(
        impl From<$source> for ApiError {
            #[track_caller]
            fn from(err: $source) -> Self {
                Self::Internal(Internal {
                    error: anyhow::Error::new(err).context($what),
                    location: Location::caller(),
                })
            }
        }
    )*};
}

internal_from! {
    sqlx::Error => "database",
    meetin_aws::StoreError => "ephemeral store (DynamoDB)",
    meetin_aws::secrets::SecretError => "Secrets Manager",
    tokio::task::JoinError => "blocking task",
}

impl From<PasswordError> for ApiError {
    /// `Busy` is `503 {"detail": "The server is busy. Please try again in a few seconds."}`.
    #[track_caller]
    fn from(err: PasswordError) -> Self {
        match err {
            PasswordError::Busy => {
                Refusal::detail(StatusCode::SERVICE_UNAVAILABLE, password::BUSY_MESSAGE).into()
            }
            PasswordError::Internal(_) => Self::Internal(Internal {
                error: anyhow::Error::new(err),
                location: Location::caller(),
            }),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    #[track_caller]
    fn from(error: anyhow::Error) -> Self {
        Self::Internal(Internal {
            error,
            location: Location::caller(),
        })
    }
}

impl From<Denied> for ApiError {
    /// The usual refusal for an object of unnamed type; handlers that name the model use
    /// `Denied::refusal(model)` instead.
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::NotMember => Refusal::not_found().into(),
            Denied::RoleTooLow(_) => Refusal::read_only_role().into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Refused(refusal) => refusal_response(&refusal),
            Self::Internal(Internal { error, location }) => {
                // Inside the request span: the request id, method and route are on the line.
                tracing::error!(
                    error = format!("{error:#}"),
                    at = %location,
                    "request failed"
                );
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(error_body(INTERNAL_ERROR_MESSAGE)),
                )
                    .into_response()
            }
        }
    }
}

fn refusal_response(refusal: &Refusal) -> Response {
    let mut response = (refusal.status(), Json(refusal.body())).into_response();
    if let Some((name, value)) = refusal.headers() {
        response.headers_mut().insert(name, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header;
    use meetin_core::refusal::TokenProblem;
    use serde_json::json;

    #[test]
    fn internal_errors_hide_their_cause_and_keep_the_call_site() {
        let err = ApiError::from(anyhow::anyhow!("password=hunter2 connection refused"));
        let line = line!() - 1;
        let ApiError::Internal(internal) = &err else {
            panic!("not internal")
        };
        assert_eq!(internal.location.line(), line);
        assert!(internal.location.file().ends_with("error.rs"));
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn internal_body_is_the_generic_one() {
        use http_body_util::BodyExt;
        let response = ApiError::internal("boom").into_response();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(body, json!({"error": INTERNAL_ERROR_MESSAGE}));
    }

    #[test]
    fn saturated_hashing_is_a_503() {
        let err = ApiError::from(PasswordError::Busy);
        assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
        let ApiError::Refused(refusal) = err else {
            panic!("not a refusal")
        };
        assert_eq!(refusal.body(), json!({"detail": password::BUSY_MESSAGE}));
    }

    #[test]
    fn unauthorized_responses_carry_www_authenticate() {
        let response =
            ApiError::from(Refusal::AccessTokenNotValid(TokenProblem::Expired)).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"api\""
        );
        let response = ApiError::from(Refusal::Throttled {
            retry_after_secs: 7,
        })
        .into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
    }
}
