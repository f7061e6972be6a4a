//! The direct upload's limit: what API Gateway and Lambda carry.

use http::StatusCode;
use meetin_recordings::BodyLimit;

/// The largest direct-upload request body, in bytes (4 MiB). A Lambda behind API Gateway gets
/// at most 6 MiB of event, binary bodies base64-encoded (4/3 larger) plus the event's own
/// fields: 4 MiB of multipart fits with room to spare. Larger files use the presigned flow,
/// or the public host's streaming ingress (docs/api-decisions.md, "Large uploads").
pub const DIRECT_UPLOAD_MAX_BYTES: usize = 4 * 1024 * 1024;

/// The 413 text of a direct upload over [`DIRECT_UPLOAD_MAX_BYTES`].
pub const DIRECT_UPLOAD_TOO_LARGE: &str = "File too large for direct upload (at most 4 MiB through the API). Upload it with POST /api/meetings/{id}/recordings/initiate/, a PUT of the file to the upload_url it answers, then POST /api/recordings/{recording_id}/complete/.";

/// The direct upload's limit: a request body (and so its file) of at most
/// [`DIRECT_UPLOAD_MAX_BYTES`], else 413 [`DIRECT_UPLOAD_TOO_LARGE`].
pub const DIRECT_LIMIT: BodyLimit = BodyLimit {
    file_bytes: DIRECT_UPLOAD_MAX_BYTES as u64,
    body_bytes: DIRECT_UPLOAD_MAX_BYTES as u64,
    refusal: || {
        meetin_core::Refusal::message(StatusCode::PAYLOAD_TOO_LARGE, DIRECT_UPLOAD_TOO_LARGE)
    },
};
