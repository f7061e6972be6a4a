//! The local stack: every HTTP function's own routes, merged at their production paths and
//! finished with the same layers Lambda uses, plus the CORS API Gateway applies in AWS.
//!
//! | module      | stands in for                                                              |
//! |-------------|----------------------------------------------------------------------------|
//! | [`http`]    | API Gateway's HTTP API: the listener, its limits, the JSON refusals        |
//! | [`sockets`] | API Gateway's WebSocket API and Management API (`GET /ws`, `@connections`) |
//! | [`workers`] | SQS invoking the worker functions ([`workers::WORKERS`])                   |
//! | [`bridge`]  | the Fargate Deepgram bridge (to come)                                      |

pub mod bridge;
pub mod http;
pub mod sockets;
pub mod workers;

use std::future::Future;
use std::pin::Pin;

use axum::Router;
use meetin_aws::aws_config::SdkConfig;
use meetin_core::CorsOrigins;
use meetin_core::settings::Lookup;
use meetin_http::{AppContext, HttpFunction};

/// A future the stack awaits while it borrows its settings.
type Loading<'a, T> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send + 'a>>;

/// One HTTP function of the stack: its name, its OpenAPI part and how its routes are built.
pub struct Function {
    pub name: &'static str,
    pub openapi: fn() -> utoipa::openapi::OpenApi,
    routes: for<'a> fn(AppContext, Lookup<'a>, &'a SdkConfig) -> Loading<'a, Router>,
}

impl Function {
    /// The entry of `F`.
    pub const fn of<F: HttpFunction>() -> Self {
        Self {
            name: F::NAME,
            openapi: F::openapi,
            routes: routes_of::<F>,
        }
    }
}

fn routes_of<'a, F: HttpFunction>(
    app: AppContext,
    lookup: Lookup<'a>,
    sdk: &'a SdkConfig,
) -> Loading<'a, Router> {
    Box::pin(async move { Ok(F::routes(F::state(app, lookup, sdk).await?)) })
}

/// Every HTTP function, in the order their routes and OpenAPI parts merge. A new function is
/// one line here.
pub const FUNCTIONS: &[Function] = &[
    Function::of::<auth::Api>(),
    Function::of::<meetings::Api>(),
    Function::of::<transcription::Api>(),
];

/// The served app: exactly the deployed routers of [`FUNCTIONS`], each with its state built
/// from the shared `ctx` (one process: one pool, one rate limiter) and settings read through
/// `lookup`, with the CORS API Gateway applies in AWS.
pub async fn app(
    ctx: &AppContext,
    lookup: Lookup<'_>,
    sdk: &SdkConfig,
    origins: &CorsOrigins,
) -> anyhow::Result<Router> {
    let mut routes = Router::new();
    for function in FUNCTIONS {
        routes = routes.merge((function.routes)(ctx.clone(), lookup, sdk).await?);
    }
    Ok(meetin_http::finish_router(routes)
        .layer(axum::middleware::from_fn(http::api_gateway_limits))
        // API Gateway's `CorsConfiguration`: the Fargate service's own layer, the same rules.
        .layer(live_bridge::cors(&origins.0)))
}

/// What the API's public host serves (CloudFront in AWS): the upload path and the existing
/// frontend's live socket (`/ws/meetings/{id}/live/`) go to the Fargate service
/// ([`live_bridge`], with its own CORS), everything else to `app` (API Gateway and the
/// functions, [`app`]).
pub fn public_app(app: Router, bridge: live_bridge::Bridge) -> Router {
    let bridge = std::sync::Arc::new(bridge);
    app.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let bridge = std::sync::Arc::clone(&bridge);
            async move {
                let path = req.uri().path();
                if live_bridge::ingress::upload_path(path).is_some()
                    || live_bridge::legacy::socket_path(path).is_some()
                {
                    return live_bridge::handle(bridge, req)
                        .await
                        .map(axum::body::Body::new);
                }
                next.run(req).await
            }
        },
    ))
}

/// The WebSocket API of the stack ([`sockets`]): the deployed `live-socket` handler behind
/// API Gateway's semantics, at `/ws` and `/@connections/{id}`.
pub fn socket_api(sockets: live_socket::Sockets, limits: sockets::SocketLimits) -> Router {
    let sockets = std::sync::Arc::new(sockets);
    let handler = sockets::handler(move |event| {
        let sockets = std::sync::Arc::clone(&sockets);
        async move { Ok(live_socket::handle(&sockets, event).await) }
    });
    sockets::WebSocketApi::new(handler, limits).routes()
}

/// The OpenAPI document of every function, merged.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut parts = FUNCTIONS.iter().map(|f| (f.openapi)());
    let first = parts.next().expect("the stack has functions");
    parts.fold(first, |doc, part| doc.merge_from(part))
}

/// The document as committed in `docs/openapi.json`.
pub fn openapi_json() -> String {
    let mut json = openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
