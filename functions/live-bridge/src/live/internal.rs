//! The private relay API ([`meetin_live`]'s table), served on the task's internal port.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use meetin_live::{AudioIn, Moved, PushIn, Refused, ResumeIn, StartSession, StopSession, paths};
use serde::de::DeserializeOwned;

use super::Live;
use super::fanout::Outgoing;
use super::session::{Chunk, Command, INVALID_DATA};
use crate::{Body, BoxError, json};

/// Largest request body, in bytes: an audio chunk is at most API Gateway's 32 KB frame.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// One request of the relay API.
pub async fn route<B>(live: &Arc<Live>, req: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    if req.uri().path() == "/health" {
        return json(
            StatusCode::OK,
            &serde_json::json!({"status": "ok", "sessions": live.session_count()}),
        );
    }
    if req.method() != Method::POST {
        return refused(StatusCode::NOT_FOUND, "Not found.");
    }
    let path = req.uri().path().to_owned();
    let body = match http_body_util::Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => return refused(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large."),
    };
    match path.as_str() {
        paths::START => match parse::<StartSession>(&body) {
            Ok(start) => match live.open(start.session_id, None).await {
                Ok(_) => json(StatusCode::CREATED, &serde_json::json!({})),
                Err(r) => refused(status(r.status), &r.message),
            },
            Err(answer) => *answer,
        },
        paths::STOP => match parse::<StopSession>(&body) {
            Ok(stop) => {
                live.stop(stop.session_id).await;
                json(StatusCode::OK, &serde_json::json!({}))
            }
            Err(answer) => *answer,
        },
        paths::AUDIO => match parse::<AudioIn>(&body) {
            Ok(chunk) => audio(live, chunk).await,
            Err(answer) => *answer,
        },
        paths::RESUME => match parse::<ResumeIn>(&body) {
            Ok(resume) => match live.session(resume.session_id) {
                Some(handle) => {
                    let _ = handle
                        .commands
                        .send(Command::Resume {
                            connection: resume.connection_id,
                            after_segment_id: resume.after_segment_id,
                            after_ms: resume.after_ms,
                        })
                        .await;
                    json(StatusCode::ACCEPTED, &serde_json::json!({}))
                }
                None => refused(
                    StatusCode::NOT_FOUND,
                    meetin_messages::socket::NO_ACTIVE_SESSION,
                ),
            },
            Err(answer) => *answer,
        },
        paths::PUSH => match parse::<PushIn>(&body) {
            Ok(push) => {
                if live
                    .local
                    .send(&push.connection_id, Outgoing::Text(push.text.into()))
                {
                    json(StatusCode::OK, &serde_json::json!({}))
                } else {
                    refused(StatusCode::GONE, "Gone.")
                }
            }
            Err(answer) => *answer,
        },
        _ => refused(StatusCode::NOT_FOUND, "Not found."),
    }
}

async fn audio(live: &Arc<Live>, chunk: AudioIn) -> Response<Body> {
    let Ok(pcm) = base64::engine::general_purpose::STANDARD.decode(chunk.data.as_bytes()) else {
        return refused(StatusCode::BAD_REQUEST, INVALID_DATA);
    };
    let handle = match live.session(chunk.session_id) {
        Some(handle) => handle,
        None => {
            let route = match live.routes.get(chunk.meeting_id).await {
                Ok(route) => route.filter(|r| r.session == chunk.session_id),
                Err(error) => {
                    tracing::error!(error = %error, "reading the live route failed");
                    return refused(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        meetin_messages::socket::PROCESSING_FAILED,
                    );
                }
            };
            let Some(route) = route else {
                return refused(
                    StatusCode::NOT_FOUND,
                    meetin_messages::socket::NO_ACTIVE_SESSION,
                );
            };
            let owner_is_dead = chunk.take_over_from.as_deref() == Some(route.owner.id.as_str())
                || (route.owner.url == live.task.url && route.owner.id != live.task.id);
            if !owner_is_dead {
                if route.owner.id == live.task.id {
                    // Recorded as ours but not running: it ended here.
                    return refused(
                        StatusCode::NOT_FOUND,
                        meetin_messages::socket::NO_ACTIVE_SESSION,
                    );
                }
                return json(
                    StatusCode::CONFLICT,
                    &serde_json::to_value(Moved {
                        owner_url: route.owner.url,
                    })
                    .unwrap_or_default(),
                );
            }
            match live
                .take_over(chunk.meeting_id, chunk.session_id, &route.owner.id)
                .await
            {
                Ok(Ok(handle)) => handle,
                Ok(Err(owner_url)) => {
                    return json(
                        StatusCode::CONFLICT,
                        &serde_json::to_value(Moved { owner_url }).unwrap_or_default(),
                    );
                }
                Err(r) => return refused(status(r.status), &r.message),
            }
        }
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    let command = Command::Audio {
        chunk: Chunk {
            stream: chunk.stream.unwrap_or_else(|| chunk.connection_id.clone()),
            connection: chunk.connection_id,
            acknowledged: true,
            seq: chunk.seq,
            pcm: Bytes::from(pcm),
        },
        reply,
    };
    if handle.commands.send(command).await.is_err() {
        return refused(
            StatusCode::NOT_FOUND,
            meetin_messages::socket::NO_ACTIVE_SESSION,
        );
    }
    match answer.await {
        Ok(Ok(())) => json(StatusCode::ACCEPTED, &serde_json::json!({})),
        Ok(Err(message)) => refused(StatusCode::BAD_REQUEST, message),
        Err(_) => refused(
            StatusCode::NOT_FOUND,
            meetin_messages::socket::NO_ACTIVE_SESSION,
        ),
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response<Body>>> {
    serde_json::from_slice(body)
        .map_err(|_| Box::new(refused(StatusCode::BAD_REQUEST, "Malformed request.")))
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn refused(status: StatusCode, message: &str) -> Response<Body> {
    json(
        status,
        &serde_json::to_value(Refused {
            error: message.to_owned(),
        })
        .unwrap_or_default(),
    )
}
