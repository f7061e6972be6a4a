//! `live-bridge`: the long-running service on Fargate, behind a load balancer that the API's
//! public host (CloudFront) routes some paths to (docs/api-decisions.md, "Large uploads").
//!
//! | path                                             | module      |
//! |--------------------------------------------------|-------------|
//! | `POST /api/meetings/{id}/recordings/upload/`     | [`ingress`] |
//! | `GET /health`                                    | this file   |
//!
//! What API Gateway cannot carry goes through here: a recording upload of any size up to the
//! contract's 500 MB (API Gateway stops at 10 MB and Lambda at 6 MB), streamed to S3. The live
//! transcription bridge (Deepgram streams, the frontend's legacy WebSocket path) will join it.
//! It authenticates and authorizes with the service core, exactly as the Lambda functions do,
//! and links no Lambda crate and no axum (CI's layering check).

pub mod ingress;
pub mod legacy;
pub mod live;
pub mod server;
pub mod task_address;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use meetin_aws::aws_config::SdkConfig;
use meetin_core::settings::Lookup;
use meetin_core::{CorsOrigins, RecordingsBucket, Refusal, Setting, SettingsError};
use meetin_data::PoolSettings;
use meetin_recordings::RecordingStore;
use meetin_service::{Deps, ServiceContext, ServiceError};
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

/// The port the task listens on (the load balancer's target port), unless `PORT` says.
pub const DEFAULT_PORT: u16 = 8080;

/// What the service needs, built once per task.
#[derive(Clone, Debug)]
pub struct Bridge {
    /// The pool, JWT keys, ephemeral store and rate limiter of the service core.
    pub service: ServiceContext,
    /// The recordings bucket (`RECORDINGS_BUCKET`).
    pub recordings: RecordingStore,
    /// CORS for the origins `CORS_ALLOWED_ORIGINS` allows, built once ([`cors`]): nothing in
    /// front of the task adds CORS headers.
    pub cors: CorsLayer,
    /// The browser origins allowed (`CORS_ALLOWED_ORIGINS`; `*` any): the legacy socket's
    /// Origin check.
    pub origins: Vec<String>,
    /// One permit per upload in progress ([`MaxConcurrentUploads`]): past them an upload is
    /// answered 503 at once, so the task's memory (one 8 MiB part per upload) stays bounded.
    pub uploads: Arc<tokio::sync::Semaphore>,
    /// Live transcription: the sessions this task serves ([`live`]).
    pub live: Arc<live::Live>,
}

/// How many uploads one task streams at once (`MAX_CONCURRENT_UPLOADS`, 1 to 256, default
/// 16): each holds one 8 MiB part and the parser's buffers, about 10 MiB, so 16 fit a 512 MiB
/// task with room for the rest; the load balancer spreads uploads over the tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxConcurrentUploads(pub usize);

impl Setting for MaxConcurrentUploads {
    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        let name = "MAX_CONCURRENT_UPLOADS";
        let Some(raw) = lookup(name).filter(|v| !v.trim().is_empty()) else {
            return Ok(Self(16));
        };
        match raw.trim().parse::<usize>() {
            Ok(n) if (1..=256).contains(&n) => Ok(Self(n)),
            _ => Err(SettingsError::Invalid {
                name,
                reason: format!("{raw:?} is not a whole number from 1 to 256"),
            }),
        }
    }
}

impl Bridge {
    /// The service around `service` (the local stack shares its functions' context), with
    /// the bucket's client for `sdk`, the settings read through `lookup`, and the live side
    /// ([`live::load`]; `engine` overrides the configured one: the local stack's keyless
    /// engine, a test's fake).
    pub async fn with_context(
        service: ServiceContext,
        lookup: Lookup<'_>,
        sdk: &SdkConfig,
        engine: Option<live::engine::Engine>,
    ) -> anyhow::Result<Self> {
        let live = Arc::new(live::load(&service, lookup, sdk, engine).await?);
        Ok(Self {
            live,
            service,
            recordings: RecordingStore {
                s3: meetin_aws::s3_client(sdk),
                bucket: RecordingsBucket::from_lookup(lookup)?.0,
            },
            cors: cors(&CorsOrigins::from_lookup(lookup)?.0),
            origins: CorsOrigins::from_lookup(lookup)?.0,
            uploads: Arc::new(tokio::sync::Semaphore::new(
                MaxConcurrentUploads::from_lookup(lookup)?.0,
            )),
        })
    }
}

impl Deps for Bridge {
    /// The service core's context, then [`Bridge::with_context`].
    async fn load_with(
        lookup: Lookup<'_>,
        sdk: &SdkConfig,
        pool: PoolSettings,
    ) -> anyhow::Result<Self> {
        let service = ServiceContext::load_with(lookup, sdk, pool).await?;
        Self::with_context(service, lookup, sdk, None).await
    }
}

/// A response body: the JSON and empty answers are whole.
pub type Body = Full<Bytes>;

/// The private relay API's service for [`server::serve`] on the internal port.
pub fn internal_service(
    bridge: &Bridge,
) -> impl Fn(Request<Incoming>, SocketAddr) -> BoxFuture<'static, Response<Body>> + Clone + Send + 'static
{
    let live = Arc::clone(&bridge.live);
    move |req, _peer| {
        let live = Arc::clone(&live);
        Box::pin(async move { live::internal::route(&live, req).await })
    }
}

/// The service for [`server::serve`]: each request through [`handle`].
pub fn service(
    bridge: Bridge,
) -> impl Fn(Request<Incoming>, SocketAddr) -> BoxFuture<'static, Response<Body>> + Clone + Send + 'static
{
    let bridge = Arc::new(bridge);
    move |req, _peer| Box::pin(handle(Arc::clone(&bridge), req))
}

/// One request: [`route`] inside CORS ([`cors`]: nothing in front of the task adds it), in a
/// span with its id, logged once served, with the headers every function's answer carries
/// (`x-request-id`, `x-content-type-options: nosniff`, `x-frame-options: DENY`,
/// `cache-control: no-store` unless set).
pub async fn handle<B>(bridge: Arc<Bridge>, req: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    // CloudFront's id of the request, else a fresh one.
    let id = req
        .headers()
        .get("x-amz-cf-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    async move {
        let started = std::time::Instant::now();
        let routed = bridge
            .cors
            .clone()
            .layer(tower::service_fn(move |req: Request<B>| {
                let bridge = Arc::clone(&bridge);
                async move { Ok::<_, std::convert::Infallible>(route(&bridge, req).await) }
            }));
        let mut response = match routed.oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "served"
        );
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&id) {
            headers.insert(HeaderName::from_static("x-request-id"), value);
        }
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
        response
    }
    .instrument(span)
    .await
}

/// A request body's error, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The paths this service answers; any other is the API's JSON 404. Generic over the request
/// body: hyper's on Fargate, axum's where the local stack mounts it.
pub async fn route<B>(bridge: &Arc<Bridge>, req: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let path = req.uri().path();
    if path == "/health" {
        return json(StatusCode::OK, &serde_json::json!({"status": "ok"}));
    }
    if let Some(meeting) = legacy::socket_path(path) {
        if req.method() != Method::GET {
            return refusal(&Refusal::method_not_allowed(req.method()));
        }
        return legacy::upgrade(bridge, meeting, req).await;
    }
    if let Some(meeting) = ingress::upload_path(path) {
        if req.method() != Method::POST {
            return refusal(&Refusal::method_not_allowed(req.method()));
        }
        return match meeting {
            Some(meeting) => ingress::upload(bridge, meeting, req).await,
            // A malformed id: the JSON 404, as the functions answer it.
            None => refusal(&Refusal::not_found()),
        };
    }
    refusal(&Refusal::not_found())
}

/// docs/api-decisions.md ("CORS"): the configured origins, GET/POST/PUT/PATCH/DELETE, the
/// `authorization` and `content-type` headers, no credentials; what API Gateway's
/// `CorsConfiguration` gives the functions (the local stack applies this one too).
pub fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .allow_credentials(false)
        .max_age(std::time::Duration::from_secs(3600))
}

/// `value` as a JSON answer with `status`.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A refusal as the functions answer it: its status, JSON body and headers.
pub fn refusal(refusal: &Refusal) -> Response<Body> {
    let mut response = json(refusal.status(), &refusal.body());
    if let Some((name, value)) = refusal.headers() {
        response.headers_mut().insert(name, value);
    }
    response
}

/// A service error as the functions answer it: a refusal as such; an internal failure
/// logged with its call site and answered with the contract's 500, no internals.
pub fn error(err: ServiceError) -> Response<Body> {
    match err {
        ServiceError::Refused(r) => refusal(&r),
        ServiceError::Internal(internal) => {
            tracing::error!(error = ?internal, "internal error");
            json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &meetin_core::refusal::error_body(meetin_core::refusal::INTERNAL_ERROR_MESSAGE),
            )
        }
    }
}
