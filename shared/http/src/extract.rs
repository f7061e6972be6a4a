//! Extractors: every request is parsed here, at the boundary, into domain values or the
//! contract's 4xx errors.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{
    ConnectInfo, FromRef, FromRequest, FromRequestParts, OptionalFromRequestParts, OriginalUri,
    Request,
};
use http::request::Parts;
use http::{HeaderMap, StatusCode, header};
use lambda_http::request::RequestContext;
use meetin_core::Refusal;
use meetin_core::pagination::RequestUrl;
use meetin_data::users::User;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::throttle::{self, Scope};
use crate::{ApiError, AppContext};

/// The caller, authenticated by `Authorization: Bearer <access JWT>` and counted against
/// the per-user rate limit ([`meetin_service::authenticate`]: the count comes before the
/// user is read, so a throttled request costs no database query).
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

/// The `Authorization` header's access token ([`meetin_service::bearer_token`]).
fn bearer_token(parts: &Parts) -> Result<&str, Refusal> {
    meetin_service::bearer_token(
        parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    )
}

impl<S> FromRequestParts<S> for AuthUser
where
    AppContext: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = AppContext::from_ref(state);
        let token = bearer_token(parts)?;
        Ok(Self(meetin_service::authenticate(&ctx, token).await?))
    }
}

/// The client's address: API Gateway's `sourceIp`, or the socket peer in the local stack.
/// Never a header the client can set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

impl ClientIp {
    pub fn from_parts(parts: &Parts) -> Self {
        if let Some(RequestContext::ApiGatewayV2(ctx)) = parts.extensions.get::<RequestContext>()
            && let Some(ip) = &ctx.http.source_ip
        {
            return Self(ip.clone());
        }
        if let Some(ConnectInfo(addr)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            return Self(addr.ip().to_string());
        }
        Self("unknown".into())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

/// The request's absolute URL, for pagination links: API Gateway's domain and the path the
/// client used (stage included) in production, the `Host` the client used locally.
#[derive(Debug, Clone)]
pub struct PageUrl(pub RequestUrl);

impl<S: Send + Sync> FromRequestParts<S> for PageUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |o| &o.0);
        // The path is the one the client used: with a named stage in it on API Gateway's
        // own domain, without one behind a custom domain (crate::stage).
        let base = match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(ctx)) => {
                format!(
                    "https://{}",
                    ctx.domain_name.as_deref().unwrap_or("localhost")
                )
            }
            _ => {
                let host = parts
                    .headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .filter(|h| {
                        h.chars()
                            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
                    })
                    .unwrap_or("localhost");
                format!("http://{host}")
            }
        };
        Ok(Self(RequestUrl {
            base,
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
        }))
    }
}

/// Deserializes a path id as Django's `<uuid:…>` converter reads it: the lowercase, hyphenated
/// 36-character form only (docs/api-decisions.md, "Django and DRF fidelity"); for path
/// structs, `#[serde(deserialize_with = "meetin_http::extract::path_uuid")]`.
pub fn path_uuid<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<uuid::Uuid, D::Error> {
    let raw = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
    meetin_core::validation::parse_path_uuid(&raw)
        .ok_or_else(|| serde::de::Error::custom("not a UUID in Django's path form"))
}

/// A route's path parameters by name, e.g. `PathParams<MemberPath>` for
/// `/api/auth/organizations/{org_id}/members/{membership_id}/` with
/// `struct MemberPath { org_id: Uuid, membership_id: Uuid }`. A parameter that does not parse
/// (a malformed id) is the JSON 404 `{"detail": "Not found."}` (docs/api-decisions.md, "Ids").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathParams<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParams<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        <axum::extract::Path<T> as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(params)| Self(params))
            .map_err(|_| ApiError::not_found())
    }
}

/// A JSON request body. An empty body reads as `{}` (so missing fields are reported as
/// such); malformed JSON, another content type or an oversized body are 4xx errors.
#[derive(Debug, Clone)]
pub struct JsonBody(pub Value);

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("").to_owned());
        let bytes =
            Bytes::from_request(req, state)
                .await
                .map_err(|rejection: BytesRejection| {
                    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::detail(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "Request body is too large.",
                        )
                    } else {
                        ApiError::detail(
                            StatusCode::BAD_REQUEST,
                            "The request body could not be read.",
                        )
                    }
                })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(Value::Object(serde_json::Map::new())));
        }
        if let Some(ct) = content_type.as_deref()
            && !is_json(ct)
        {
            let shown: String = ct.chars().take(100).collect();
            return Err(ApiError::detail(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Unsupported media type \"{shown}\" in request."),
            ));
        }
        meetin_core::validation::parse_json_body(&bytes)
            .map(Self)
            .map_err(|err| {
                ApiError::detail(StatusCode::BAD_REQUEST, format!("JSON parse error - {err}"))
            })
    }
}

/// What `If-Match` asks for (RFC 9110 §13.1.1, strong comparison), for resources whose
/// `ETag` is `"<version>"` (a row's version number). As `Option<IfMatch>` among a handler's
/// arguments: `None` when the request has no `If-Match`. Reading it refuses nothing; the
/// handler compares it with the current version when its own checks allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current representation.
    Any,
    /// The versions of the strong tags `"N"` given (a bare `N` is read as `"N"`). Weak tags
    /// (`W/"N"`) and anything else match nothing, so a list of only those is never met.
    Versions(Vec<i32>),
}

impl IfMatch {
    /// Every `If-Match` header of the request, or `None` when there is none.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let mut values = headers.get_all(header::IF_MATCH).iter().peekable();
        values.peek()?;
        let mut versions = Vec::new();
        for value in values {
            let Ok(text) = value.to_str() else { continue };
            for tag in text.split(',').map(str::trim) {
                if tag == "*" {
                    return Some(Self::Any);
                }
                let digits = tag
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .unwrap_or(tag);
                if !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && let Ok(version) = digits.parse::<i32>()
                {
                    versions.push(version);
                }
            }
        }
        Some(Self::Versions(versions))
    }

    /// The versions the write is conditioned on (`None`: any).
    pub fn versions(&self) -> Option<&[i32]> {
        match self {
            Self::Any => None,
            Self::Versions(v) => Some(v),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for IfMatch {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(Self::from_headers(&parts.headers))
    }
}

/// Which per-address bucket an [`IpRateLimit`] counts against.
pub trait IpScope: Send + Sync + 'static {
    const SCOPE: Scope;
}

/// register and login, sharing one bucket.
#[derive(Debug, Clone, Copy)]
pub struct AuthEndpoints;

impl IpScope for AuthEndpoints {
    const SCOPE: Scope = Scope::Auth;
}

/// Token refresh, in a bucket of its own: a client retrying a failed refresh in a loop uses
/// it up without locking its user out of logging in.
#[derive(Debug, Clone, Copy)]
pub struct RefreshEndpoint;

impl IpScope for RefreshEndpoint {
    const SCOPE: Scope = Scope::Refresh;
}

/// Other unauthenticated requests.
#[derive(Debug, Clone, Copy)]
pub struct Anonymous;

impl IpScope for Anonymous {
    const SCOPE: Scope = Scope::Anon;
}

/// Counts the request against its scope's bucket for the client's address, refusing it with
/// 429 when over. Put it first among a handler's arguments so it runs before the body is
/// read: every request counts, valid or not.
#[derive(Debug, Clone, Copy)]
pub struct IpRateLimit<S>(std::marker::PhantomData<S>);

pub type AuthRateLimit = IpRateLimit<AuthEndpoints>;
pub type RefreshRateLimit = IpRateLimit<RefreshEndpoint>;
pub type AnonRateLimit = IpRateLimit<Anonymous>;

impl<S, St> FromRequestParts<St> for IpRateLimit<S>
where
    S: IpScope,
    AppContext: FromRef<St>,
    St: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let ctx = AppContext::from_ref(state);
        throttle::check(&ctx, S::SCOPE, &ClientIp::from_parts(parts).0).await?;
        Ok(Self(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("multipart/form-data; boundary=x"));
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                header::IF_MATCH,
                http::HeaderValue::from_str(v).expect("header"),
            );
        }
        h
    }

    #[test]
    fn if_match_reads_strong_tags_and_star() {
        assert_eq!(IfMatch::from_headers(&headers(&[])), None);
        assert_eq!(
            IfMatch::from_headers(&headers(&["\"3\""])),
            Some(IfMatch::Versions(vec![3]))
        );
        assert_eq!(
            IfMatch::from_headers(&headers(&["\"3\", W/\"4\", \"x\"", "5"])),
            Some(IfMatch::Versions(vec![3, 5]))
        );
        assert_eq!(
            IfMatch::from_headers(&headers(&["W/\"4\""])),
            Some(IfMatch::Versions(vec![]))
        );
        assert_eq!(
            IfMatch::from_headers(&headers(&["\"1\", *"])),
            Some(IfMatch::Any)
        );
        assert_eq!(
            IfMatch::from_headers(&headers(&["\"99999999999\""])),
            Some(IfMatch::Versions(vec![]))
        );
    }
}
