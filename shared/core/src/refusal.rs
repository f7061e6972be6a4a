//! Refusals: every 4xx the API answers, as a pure value rendering the three error
//! families of docs/api-decisions.md ("Everywhere") — `{"detail": ...}` (optionally with `code`/`messages`), `{"field": [...]}` and
//! `{"error": ...}` — built from the same body types the OpenAPI document names. Unexpected
//! failures are not refusals: `meetin-http`'s `ApiError` adds them at the HTTP edge.

use std::borrow::Cow;
use std::collections::BTreeMap;

use http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::validation::FieldErrors;

/// `{"detail": "..."}` — 401, 403, 404, 405, 413, 415, 429 and some 400s.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"detail": "Not found."}))]
pub struct DetailBody {
    pub detail: String,
    /// Present on some authentication failures, e.g. `token_not_valid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// A bad access token: `{"detail", "code", "messages"}` (simplejwt's shape).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenErrorBody {
    pub detail: String,
    pub code: String,
    pub messages: Vec<TokenErrorMessage>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenErrorMessage {
    pub token_class: String,
    pub token_type: String,
    pub message: String,
}

/// Field errors: each field (or `non_field_errors`) with its messages.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"email": ["Enter a valid email address."]}))]
pub struct FieldErrorsBody(pub BTreeMap<String, Vec<String>>);

/// `{"error": "..."}` — hand-written errors, and every 500.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"error": "An internal error occurred. Please try again later."}))]
pub struct ErrorBody {
    pub error: String,
}

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

/// Every refusal the API gives; [`Refusal::status`] and [`Refusal::body`] are what the client sees.
#[derive(Debug)]
pub enum Refusal {
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
}

/// The body text of every 500 (docs/api-decisions.md, "Everywhere"): no internals, ever.
pub const INTERNAL_ERROR_MESSAGE: &str = "An internal error occurred. Please try again later.";

impl Refusal {
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

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Detail { status, .. } | Self::Message { status, .. } => *status,
            Self::Unauthorized { .. } | Self::AccessTokenNotValid(_) => StatusCode::UNAUTHORIZED,
            Self::Fields(_) => StatusCode::BAD_REQUEST,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The headers the refusal answers with besides its body: `WWW-Authenticate` on a 401
    /// (simplejwt's `Bearer realm="api"`), `Retry-After` on a 429.
    pub fn headers(&self) -> Option<(http::HeaderName, http::HeaderValue)> {
        match self {
            Self::Unauthorized { .. } | Self::AccessTokenNotValid(_) => Some((
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer realm=\"api\""),
            )),
            Self::Throttled { retry_after_secs } => Some((
                http::header::RETRY_AFTER,
                http::HeaderValue::from(*retry_after_secs),
            )),
            _ => None,
        }
    }

    /// The JSON body, exactly as the client sees it.
    pub fn body(&self) -> Value {
        let detail = |detail: &str, code: Option<&str>| {
            to_value(DetailBody {
                detail: detail.to_owned(),
                code: code.map(str::to_owned),
            })
        };
        match self {
            Self::Detail { detail: d, .. } => detail(d, None),
            Self::Unauthorized { detail: d, code } => detail(d, *code),
            Self::AccessTokenNotValid(problem) => to_value(TokenErrorBody {
                detail: "Given token not valid for any token type".into(),
                code: "token_not_valid".into(),
                messages: vec![TokenErrorMessage {
                    token_class: "AccessToken".into(),
                    token_type: "access".into(),
                    message: problem.message().into(),
                }],
            }),
            Self::Fields(errors) => errors.to_json(),
            Self::Message { error, .. } => error_body(error),
            Self::Throttled { retry_after_secs } => detail(
                &format!(
                    "Request was throttled. Expected available in {retry_after_secs} seconds."
                ),
                None,
            ),
        }
    }
}

/// `{"error": "..."}`.
pub fn error_body(error: &str) -> Value {
    to_value(ErrorBody {
        error: error.to_owned(),
    })
}

// The body types hold only strings, so serializing them cannot fail.
fn to_value(body: impl Serialize) -> Value {
    serde_json::to_value(body).unwrap_or(Value::Null)
}

impl From<FieldErrors> for Refusal {
    fn from(errors: FieldErrors) -> Self {
        Self::Fields(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_the_three_families() {
        assert_eq!(
            Refusal::no_match("Organization").body(),
            json!({"detail": "No Organization matches the given query."})
        );
        assert_eq!(
            Refusal::field("email", "Enter a valid email address.").body(),
            json!({"email": ["Enter a valid email address."]})
        );
        assert_eq!(
            Refusal::bad_request("Invalid token").body(),
            json!({"error": "Invalid token"})
        );
        assert_eq!(
            Refusal::Throttled {
                retry_after_secs: 42
            }
            .body(),
            json!({"detail": "Request was throttled. Expected available in 42 seconds."})
        );
        assert_eq!(
            Refusal::Unauthorized {
                detail: "User not found".into(),
                code: Some("user_not_found")
            }
            .body(),
            json!({"detail": "User not found", "code": "user_not_found"})
        );
        assert_eq!(
            Refusal::AccessTokenNotValid(TokenProblem::Expired).body(),
            json!({"detail": "Given token not valid for any token type", "code": "token_not_valid",
                   "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is expired"}]})
        );
    }
}
