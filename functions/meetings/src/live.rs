//! Live sessions over REST: start, stop, status, with the contract's state machine and
//! strings (`meetin_data::live_sessions`). The audio and transcript stream is the WebSocket
//! side, not here.
//!
//! A start records the `active` session and its transcript, then asks the bridge fleet
//! (`BRIDGE_URL`) to open its stream. With no fleet configured, or when the fleet cannot open
//! a stream (no engine, the engine unreachable), the session is recorded `failed` with its
//! `error_message` and the answer is the contract's
//! `500 {"error": "Failed to start live session. Please try again."}` — never a pretend
//! `active`. That 500 is a known state, not an unexpected failure: it is a refusal (logged at
//! info level), not an `ApiError::Internal` (logged as an error).
//!
//! A stop asks the task serving the session to flush and store its last finals (bounded by
//! `meetin_live::STOP_TIMEOUT`), then ends the session.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use meetin_core::Refusal;
use meetin_data::live_sessions::{self, LiveError};
use meetin_http::docs::ErrorBody;
use meetin_http::responses::{MeetingWrite, Viewer};
use meetin_http::{ApiError, ApiResult, AppContext, AuthUser, JsonBody, PathParams};

use crate::json::{LiveSessionJson, LiveStartRequest, NoActiveSessionBody};
use crate::meetings::{MeetingPath, readable, writable, write_missed};
use crate::state::LiveBridge;

pub const ALREADY_ACTIVE: &str = "Live session already active";
pub const START_FAILED: &str = "Failed to start live session. Please try again.";
pub const NO_ACTIVE_SESSION: &str = "No active live session";
/// The `error_message` of a session started while no transcription backend is reachable.
pub const NO_BACKEND: &str = "No live transcription backend is available.";

/// Starts live transcription of the meeting (members and admins). Today it always fails
/// (no transcription backend yet): the session is recorded as `failed` with its
/// `error_message`, and the answer is the 500 below.
#[utoipa::path(
    post, path = "/api/meetings/{id}/live/start/", tag = "meetings", operation_id = "meetings_live_start",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    request_body = LiveStartRequest,
    responses(
        (status = 201, description = "Started: `status` is `active` (once a transcription backend is reachable)", body = LiveSessionJson),
        (status = 400, description = "`{\"error\": \"Live session already active\"}`, or a `config` that is not an object", body = ErrorBody),
        MeetingWrite,
        (status = 500, description = "`{\"error\": \"Failed to start live session. Please try again.\"}`: no transcription backend reachable; a `failed` session is recorded", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn start(
    State(ctx): State<AppContext>,
    State(bridge): State<LiveBridge>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { id }): PathParams<MeetingPath>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<LiveSessionJson>)> {
    writable(&ctx, caller.id, id).await?;
    let config = LiveStartRequest::parse(&body)?;
    let ctx = &ctx;
    let refused = |err: LiveError| async move {
        match err {
            LiveError::AlreadyActive => ApiError::bad_request(ALREADY_ACTIVE),
            // Deleted (or the caller demoted) since the check.
            LiveError::NotFound => write_missed(ctx, caller.id, id).await,
            LiveError::Database(err) => err.into(),
        }
    };
    let Some(fleet) = bridge.url.as_deref() else {
        let session =
            match live_sessions::record_failed_start(&ctx.pool, caller.id, id, &config, NO_BACKEND)
                .await
            {
                Ok(session) => session,
                Err(err) => return Err(refused(err).await),
            };
        tracing::info!(meeting = %id, session = %session.id, "live start refused: no transcription backend");
        return Err(Refusal::message(StatusCode::INTERNAL_SERVER_ERROR, START_FAILED).into());
    };
    let started = match live_sessions::start(&ctx.pool, caller.id, id, &config, PROVIDER).await {
        Ok(started) => started,
        Err(err) => return Err(refused(err).await),
    };
    let session = started.session;
    let open = meetin_live::StartSession {
        session_id: session.id,
    };
    if let Err(error) = bridge.relay.start(fleet, &open).await {
        let reason = match &error {
            meetin_live::RelayError::Refused { error, .. } => error.clone(),
            _ => NO_BACKEND.to_owned(),
        };
        tracing::warn!(meeting = %id, session = %session.id, error = %error, "live start refused by the bridge");
        live_sessions::fail(&ctx.pool, session.id, &reason).await?;
        return Err(Refusal::message(StatusCode::INTERNAL_SERVER_ERROR, START_FAILED).into());
    }
    // As the bridge left it (it records the engine serving the session).
    let session = live_sessions::active(&ctx.pool, caller.id, id)
        .await?
        .filter(|active| active.id == session.id)
        .unwrap_or(session);
    Ok((StatusCode::CREATED, Json(session.into())))
}

/// `live_sessions.provider` of a session the bridge serves.
pub const PROVIDER: &str = "deepgram";

/// Ends the meeting's active session (members and admins).
#[utoipa::path(
    post, path = "/api/meetings/{id}/live/stop/", tag = "meetings", operation_id = "meetings_live_stop",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "Ended: `status` is `ended`, `ended_at` set", body = LiveSessionJson),
        Viewer,
        (status = 404, description = "`{\"error\": \"No active live session\"}`, or `No Meeting matches the given query.`", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn stop(
    State(ctx): State<AppContext>,
    State(bridge): State<LiveBridge>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { id }): PathParams<MeetingPath>,
) -> ApiResult<Json<LiveSessionJson>> {
    writable(&ctx, caller.id, id).await?;
    // The serving task flushes its last finals first; a task that is gone has nothing to add.
    if let Some(route) = bridge.routes.get(id).await.map_err(anyhow::Error::from)? {
        let stop = meetin_live::StopSession {
            meeting_id: id,
            session_id: route.session,
        };
        if let Err(error) = bridge.relay.stop(&route.owner.url, &stop).await {
            tracing::warn!(meeting = %id, error = %error, "the bridge did not stop the session");
        }
    }
    let session = live_sessions::stop_active(&ctx.pool, caller.id, id)
        .await?
        .ok_or_else(|| Refusal::message(StatusCode::NOT_FOUND, NO_ACTIVE_SESSION))?;
    Ok(Json(session.into()))
}

/// The meeting's active session (any member).
#[utoipa::path(
    get, path = "/api/meetings/{id}/live/status/", tag = "meetings", operation_id = "meetings_live_status",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The active session", body = LiveSessionJson),
        (status = 404, description = "`{\"status\": \"no_active_session\"}`, or `No Meeting matches the given query.`", body = NoActiveSessionBody),
    ),
    security(("jwt" = []))
)]
pub async fn status(
    State(ctx): State<AppContext>,
    AuthUser(caller): AuthUser,
    PathParams(MeetingPath { id }): PathParams<MeetingPath>,
) -> ApiResult<Response> {
    readable(&ctx, caller.id, id).await?;
    Ok(
        match live_sessions::active(&ctx.pool, caller.id, id).await? {
            Some(session) => Json(LiveSessionJson::from(session)).into_response(),
            None => (
                StatusCode::NOT_FOUND,
                Json(NoActiveSessionBody {
                    status: "no_active_session".into(),
                }),
            )
                .into_response(),
        },
    )
}
