//! The direct upload's request: the multipart `audio` field, read within what API Gateway
//! and Lambda carry.

use axum::extract::multipart::Multipart;
use http::StatusCode;
use meetin_http::{ApiError, ApiResult};

use super::NO_AUDIO;

/// The largest direct-upload request body, in bytes (4 MiB). A Lambda behind API Gateway gets
/// at most 6 MiB of event, binary bodies base64-encoded (4/3 larger) plus the event's own
/// fields: 4 MiB of multipart fits with room to spare. Larger files use the presigned flow.
pub const DIRECT_UPLOAD_MAX_BYTES: usize = 4 * 1024 * 1024;

/// The 413 text of a direct upload over [`DIRECT_UPLOAD_MAX_BYTES`].
pub const DIRECT_UPLOAD_TOO_LARGE: &str = "File too large for direct upload (at most 4 MiB through the API). Upload it with POST /api/meetings/{id}/recordings/initiate/, a PUT of the file to the upload_url it answers, then POST /api/recordings/{recording_id}/complete/.";

/// The 413 of a direct upload over [`DIRECT_UPLOAD_MAX_BYTES`].
pub(super) fn too_large_for_direct() -> ApiError {
    meetin_core::Refusal::message(StatusCode::PAYLOAD_TOO_LARGE, DIRECT_UPLOAD_TOO_LARGE).into()
}

/// The multipart `audio` field: its file name, content type and bytes; `None` when absent.
pub(super) async fn read_audio(
    mut multipart: Multipart,
) -> ApiResult<Option<(String, Option<String>, Vec<u8>)>> {
    let multer_error = |err: axum::extract::multipart::MultipartError| {
        if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large_for_direct()
        } else {
            ApiError::bad_request(NO_AUDIO)
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(multer_error)? {
        if field.name() != Some("audio") {
            continue;
        }
        let filename = field.file_name().unwrap_or_default().to_owned();
        let content_type = field.content_type().map(str::to_owned);
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multer_error)? {
            if bytes.len() + chunk.len() > DIRECT_UPLOAD_MAX_BYTES {
                return Err(too_large_for_direct());
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(Some((filename, content_type, bytes)));
    }
    Ok(None)
}
