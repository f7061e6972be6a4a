//! Extractors: every request is parsed here, at the boundary, into domain values or the
//! contract's 4xx errors.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{
    ConnectInfo, FromRef, FromRequest, FromRequestParts, OriginalUri, RawPathParams, Request,
};
use chrono::Utc;
use http::request::Parts;
use http::{StatusCode, header};
use lambda_http::request::RequestContext;
use meetin_core::ApiError;
use meetin_core::jwt::TokenType;
use meetin_core::pagination::RequestUrl;
use meetin_data::users::{self, User};
use serde_json::Value;
use uuid::Uuid;

use crate::AppContext;
use crate::throttle::{self, Scope};

/// The caller, authenticated by `Authorization: Bearer <access JWT>` and counted against
/// the per-user rate limit.
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

/// simplejwt's reading of the header: anything but `Bearer <token>` is no credentials.
fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(ApiError::not_authenticated)?;
    let mut words = header.split_whitespace();
    if words.next() != Some("Bearer") {
        return Err(ApiError::not_authenticated());
    }
    match (words.next(), words.next()) {
        (Some(token), None) => Ok(token),
        _ => Err(ApiError::Unauthorized {
            detail: "Authorization header must contain two space-delimited values".into(),
            code: Some("bad_authorization_header"),
        }),
    }
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
        let claims = ctx
            .jwt
            .verify(token, TokenType::Access, Utc::now())
            .map_err(ApiError::AccessTokenNotValid)?;
        let user = users::find(&ctx.pool, claims.user_id)
            .await
            .map_err(ApiError::internal)?
            .ok_or(ApiError::Unauthorized {
                detail: "User not found".into(),
                code: Some("user_not_found"),
            })?;
        if !user.is_active {
            return Err(ApiError::Unauthorized {
                detail: "User is inactive".into(),
                code: Some("user_inactive"),
            });
        }
        throttle::check(&ctx, Scope::User, &user.id.to_string()).await?;
        Ok(Self(user))
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

/// The request's absolute URL, for pagination links: API Gateway's domain and stage in
/// production, the `Host` the client used locally.
#[derive(Debug, Clone)]
pub struct PageUrl(pub RequestUrl);

impl<S: Send + Sync> FromRequestParts<S> for PageUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |o| &o.0);
        let base = match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(ctx)) => {
                let domain = ctx.domain_name.as_deref().unwrap_or("localhost");
                match ctx.stage.as_deref() {
                    Some(stage) if !stage.is_empty() && stage != "$default" => {
                        format!("https://{domain}/{stage}")
                    }
                    _ => format!("https://{domain}"),
                }
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

/// The path's UUID (the last one when a route has several); anything else is a JSON 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathId(pub Uuid);

/// The first two UUIDs of a route like `/organizations/{org_id}/members/{membership_id}/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathIds(pub Uuid, pub Uuid);

async fn path_uuids<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<Vec<Uuid>, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::not_found())?;
    params
        .iter()
        .map(|(_, value)| Uuid::parse_str(value).map_err(|_| ApiError::not_found()))
        .collect()
}

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ids = path_uuids(parts, state).await?;
        ids.last()
            .copied()
            .map(Self)
            .ok_or_else(ApiError::not_found)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match path_uuids(parts, state).await?.as_slice() {
            [first, second, ..] => Ok(Self(*first, *second)),
            _ => Err(ApiError::not_found()),
        }
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
        serde_json::from_slice(&bytes).map(Self).map_err(|err| {
            ApiError::detail(StatusCode::BAD_REQUEST, format!("JSON parse error - {err}"))
        })
    }
}

/// Which per-address bucket an [`IpRateLimit`] counts against.
pub trait IpScope: Send + Sync + 'static {
    const SCOPE: Scope;
}

/// register, login and refresh, sharing one bucket.
#[derive(Debug, Clone, Copy)]
pub struct AuthEndpoints;

impl IpScope for AuthEndpoints {
    const SCOPE: Scope = Scope::Auth;
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
}
