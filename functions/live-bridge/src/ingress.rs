//! The streaming ingress of `POST /api/meetings/{id}/recordings/upload/` (issue 18): the
//! frontend's Upload and Record Live send every recording there as `multipart/form-data`,
//! whatever its length. The `meetings` function serves the same route for bodies API Gateway
//! can carry; both run [`meetin_recordings::receive_upload`], so the checks, their strings
//! and the row are the same. Here the body streams to S3 as it arrives, up to the contract's
//! 500 MB, with one 8 MiB part held at most.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use meetin_core::Refusal;
use meetin_core::media;
use meetin_recordings::{BodyLimit, RecordingJson, UploadBody};
use meetin_service::ServiceResult;
use uuid::Uuid;

use crate::{Body, BoxError, Bridge};

/// How long the body may pause before the upload is given up (and aborted): a client gone
/// without closing its connection holds nothing longer than this.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The contract's limit and its 400 `File too large. Maximum size is 500MB.`.
pub const LIMIT: BodyLimit = BodyLimit {
    file_bytes: media::MAX_RECORDING_BYTES as u64,
    body_bytes: media::MAX_RECORDING_BYTES as u64 + meetin_recordings::MULTIPART_OVERHEAD_BYTES,
    refusal: || Refusal::bad_request(media::TOO_LARGE),
};

/// The 503 `{"error"}` of an upload past the task's [`crate::MaxConcurrentUploads`].
pub const BUSY: &str = "Too many uploads are in progress. Please try again in a few seconds.";

/// Its `Retry-After`, in seconds.
pub const BUSY_RETRY_AFTER_SECS: u32 = 5;

/// Whether `path` is the upload route: `Some(Some(id))` with a meeting id in Django's path
/// form, `Some(None)` with a malformed one (the JSON 404), `None` for any other path.
pub fn upload_path(path: &str) -> Option<Option<Uuid>> {
    let id = path
        .strip_prefix("/api/meetings/")?
        .strip_suffix("/recordings/upload/")?;
    if id.contains('/') {
        return None;
    }
    Some(meetin_core::validation::parse_path_uuid(id))
}

/// Stores the recording and answers 201 with it, or the refusal, as the `meetings`
/// function's route does.
pub async fn upload<B>(bridge: &Bridge, meeting: Uuid, req: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    // Taken before anything is read; held until the recording is stored or refused.
    let Ok(_permit) = Arc::clone(&bridge.uploads).try_acquire_owned() else {
        let mut busy = crate::refusal(&Refusal::message(StatusCode::SERVICE_UNAVAILABLE, BUSY));
        busy.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(BUSY_RETRY_AFTER_SECS),
        );
        return busy;
    };
    match receive(bridge, meeting, req).await {
        Ok(recording) => crate::json(
            StatusCode::CREATED,
            &serde_json::to_value(RecordingJson::from(recording)).unwrap_or_default(),
        ),
        Err(err) => crate::error(err),
    }
}

async fn receive<B>(
    bridge: &Bridge,
    meeting: Uuid,
    req: Request<B>,
) -> ServiceResult<meetin_data::recordings::Recording>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (parts, body) = req.into_parts();
    let text = |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let token = meetin_service::bearer_token(text(header::AUTHORIZATION))?;
    let caller = meetin_service::authenticate(&bridge.service, token).await?;
    let content_length = text(header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    meetin_recordings::receive_upload(
        &bridge.recordings,
        &bridge.service.pool,
        caller.id,
        meeting,
        UploadBody {
            content_type: text(header::CONTENT_TYPE),
            content_length,
            body: data_frames(body),
        },
        LIMIT,
    )
    .await
}

/// The body's data, ending with an error when it pauses longer than [`IDLE_TIMEOUT`].
fn data_frames<B>(body: B) -> impl Stream<Item = Result<Bytes, BoxError>> + Send + 'static
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let body = Box::pin(body);
    futures_util::stream::unfold(Some(body), |body| async move {
        let mut body = body?;
        loop {
            match tokio::time::timeout(IDLE_TIMEOUT, body.frame()).await {
                Err(_) => return Some((Err("the upload paused too long".into()), None)),
                Ok(None) => return None,
                Ok(Some(Err(err))) => return Some((Err(err.into()), None)),
                Ok(Some(Ok(frame))) => {
                    // Trailers carry no data.
                    if let Ok(data) = frame.into_data() {
                        return Some((Ok(data), Some(body)));
                    }
                }
            }
        }
    })
}
