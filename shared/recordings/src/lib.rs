//! Recording uploads sent as `multipart/form-data` with the file in the field `audio` (the
//! existing frontend's `POST /api/meetings/{id}/recordings/upload/`), in one implementation
//! for both ways such a body arrives: through API Gateway to the `meetings` function (at most
//! 4 MiB) and streamed by the Fargate ingress (up to the contract's 500 MiB).
//!
//! [`receive_upload`] checks, in the contract's order and with its strings: write access to
//! the meeting; a file is there; its extension and MIME type are allowed; it is not empty and
//! its first KiB is what it claims to be (before anything is stored); it stays within the
//! limit. Its bytes go to S3 as they arrive ([`MultipartUpload`]: one 8 MiB part held at most),
//! then its row is written `uploaded`. Refused or cut off midway, nothing is left stored.

use bytes::Bytes;
use futures_util::Stream;
use meetin_aws::aws_sdk_s3;
use meetin_aws::s3_upload::MultipartUpload;
use meetin_core::media::{self, Declared};
use meetin_core::{Access, Refusal};
use meetin_data::PgPool;
use meetin_data::recordings::{self, NewRecording, Recording};
use meetin_service::{ServiceError, ServiceResult};
use meetin_vocab::RecordingStatus;
use meetin_vocab::drf;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A recording as the API answers it (`GET /api/meetings/{id}/` embeds them; the upload
/// routes answer one).
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingJson {
    pub id: Uuid,
    /// `recordings/{meeting_id}/{uuid}{ext}`.
    pub storage_key: String,
    pub mime_type: String,
    /// Milliseconds.
    pub duration_ms: Option<i32>,
    /// Bytes.
    pub size_bytes: Option<i64>,
    pub status: RecordingStatus,
    pub created_at: drf::DateTime,
    pub uploaded_at: Option<drf::DateTime>,
}

impl From<Recording> for RecordingJson {
    fn from(r: Recording) -> Self {
        Self {
            id: r.id,
            storage_key: r.storage_key,
            mime_type: r.mime_type,
            duration_ms: r.duration_ms,
            size_bytes: r.size_bytes,
            status: r.status,
            created_at: r.created_at.into(),
            uploaded_at: r.uploaded_at.map(drf::DateTime),
        }
    }
}

/// The refusal of a body with no `audio` file (not multipart, no such field, or a body that
/// does not parse): DRF's reading of such a request.
pub const NO_AUDIO: &str = "No audio file provided";

/// What a multipart body may carry besides a file of the largest size (boundaries, headers,
/// other fields), in bytes: generous for a browser's form, small beside the file.
pub const MULTIPART_OVERHEAD_BYTES: u64 = 64 * 1024;

/// The S3 key of a new recording of `meeting`: `recordings/{meeting_id}/{uuid}{ext}` (under
/// 100 characters, the `storage_key` column holds 500).
pub fn storage_key(meeting: Uuid, ext: &str) -> String {
    format!("recordings/{meeting}/{}{ext}", Uuid::new_v4())
}

/// Where recordings are stored: the bucket (`RECORDINGS_BUCKET`) and its client.
#[derive(Clone, Debug)]
pub struct RecordingStore {
    /// Path-style against an endpoint override (see `meetin_aws::s3_client`).
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
}

impl RecordingStore {
    /// Deletes `key`; a failure is logged (the object then belongs to no row).
    pub async fn delete(&self, key: &str) {
        if let Err(err) = self
            .s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            tracing::warn!(key, error = %aws_sdk_s3::error::DisplayErrorContext(err), "deleting an orphaned object");
        }
    }
}

/// The most a body may carry, and what going over it answers (the `meetings` function: 413
/// pointing to the presigned flow; the ingress: the contract's 400 `File too large...`).
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit {
    /// The file's bytes.
    pub file_bytes: u64,
    /// The whole body's bytes, multipart framing and other fields included.
    pub body_bytes: u64,
    pub refusal: fn() -> Refusal,
}

impl BodyLimit {
    /// Whether a body declaring `content_length` bytes is over the limit before it is read.
    pub fn refuses_length(&self, content_length: Option<u64>) -> bool {
        content_length.is_some_and(|n| n > self.body_bytes)
    }
}

/// A multipart request's body and the headers that describe it.
#[derive(Debug)]
pub struct UploadBody<'a, S> {
    /// `Content-Type`: `multipart/form-data; boundary=…`.
    pub content_type: Option<&'a str>,
    /// `Content-Length`, when declared.
    pub content_length: Option<u64>,
    /// The body's bytes as they arrive.
    pub body: S,
}

/// Reads the multipart `body` (its `Content-Type` header names the boundary; a declared
/// `Content-Length` past the limit is refused before any of it is read), stores its
/// `audio` file under a new key of `meeting` in `store` and records it `uploaded` for
/// `caller`, a member or admin of the meeting's organization.
///
/// Refusals: 404 `No Meeting matches the given query.` (not the caller's, or deleted
/// meanwhile); 403 (a viewer); 400 [`NO_AUDIO`], the media checks' strings
/// (`meetin_core::media`); `limit.refusal()` past the limit. The body is read as it comes: a
/// body that is not audio is refused after its first KiB, and at most one S3 part is held.
/// An S3 or database failure is internal. Whatever ends the upload early, the object is not
/// left in S3 and no row is written.
pub async fn receive_upload<S, E>(
    store: &RecordingStore,
    pool: &PgPool,
    caller: Uuid,
    meeting: Uuid,
    upload: UploadBody<'_, S>,
    limit: BodyLimit,
) -> ServiceResult<Recording>
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    meetin_service::access::meeting(pool, caller, meeting, Access::Write).await?;
    let UploadBody {
        content_type,
        content_length,
        body,
    } = upload;
    if limit.refuses_length(content_length) {
        return Err((limit.refusal)().into());
    }
    let Some(boundary) = content_type.and_then(|ct| multer::parse_boundary(ct).ok()) else {
        return Err(no_audio());
    };
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(limit.body_bytes));
    let mut multipart = multer::Multipart::with_constraints(body, boundary, constraints);
    let read_error = |err: multer::Error| match err {
        multer::Error::StreamSizeExceeded { .. } => ServiceError::from((limit.refusal)()),
        _ => no_audio(),
    };
    let mut field = loop {
        match multipart.next_field().await.map_err(read_error)? {
            Some(field) if field.name() == Some("audio") => break field,
            Some(_) => continue,
            None => return Err(no_audio()),
        }
    };
    let filename = field.file_name().unwrap_or_default().to_owned();
    let declared_type = field.content_type().map(ToString::to_string);
    let Declared { ext, mime, format } =
        media::check_declared(None, &filename, declared_type.as_deref())
            .map_err(|message| ServiceError::from(Refusal::bad_request(message)))?;
    // The first KiB decides whether this is the audio it claims to be, before anything is
    // stored or more is read.
    let mut head: Vec<u8> = Vec::with_capacity(media::SNIFF_BYTES);
    let mut rest: Option<Bytes> = None;
    while head.len() < media::SNIFF_BYTES {
        let Some(chunk) = field.chunk().await.map_err(read_error)? else {
            break;
        };
        let take = chunk.len().min(media::SNIFF_BYTES - head.len());
        head.extend_from_slice(&chunk[..take]);
        if take < chunk.len() {
            rest = Some(chunk.slice(take..));
        }
    }
    if head.is_empty() {
        return Err(Refusal::bad_request(media::EMPTY).into());
    }
    if !media::bytes_are(format, &head) {
        return Err(Refusal::bad_request(media::content_mismatch(&ext, &mime)).into());
    }
    let key = storage_key(meeting, &ext);
    let mut upload = MultipartUpload::new(&store.s3, &store.bucket, &key, &mime);
    let mut pending = Some(Bytes::from(head)).into_iter().chain(rest);
    loop {
        let chunk = match pending.next() {
            Some(chunk) => chunk,
            None => match field.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(err) => {
                    upload.abort().await;
                    return Err(read_error(err));
                }
            },
        };
        if upload.size_bytes() + chunk.len() as u64 > limit.file_bytes {
            upload.abort().await;
            return Err((limit.refusal)().into());
        }
        upload.write(&chunk).await.map_err(ServiceError::internal)?;
    }
    let stored = upload.finish().await.map_err(ServiceError::internal)?;
    let size_bytes = i64::try_from(stored.size_bytes).unwrap_or(i64::MAX);
    let created = recordings::create(
        pool,
        caller,
        &NewRecording {
            meeting_id: meeting,
            storage_key: &key,
            mime_type: &mime,
            size_bytes: Some(size_bytes),
            status: RecordingStatus::Uploaded,
        },
    )
    .await;
    match created {
        Ok(Some(recording)) => Ok(recording),
        // The meeting was deleted (or the caller demoted) since the check: the stored object
        // belongs to no row, so it goes too.
        other => {
            store.delete(&key).await;
            other?;
            Err(write_missed(pool, caller, meeting).await)
        }
    }
}

/// What a write under `meeting` that wrote nothing answers, checked again now: the meeting
/// was deleted since the first check (404 `No Meeting matches the given query.`), or the
/// caller lost write access (403). Never a 500 and never a 403 for a deleted meeting.
pub async fn write_missed(pool: &PgPool, caller: Uuid, meeting: Uuid) -> ServiceError {
    match meetin_service::access::meeting(pool, caller, meeting, Access::Write).await {
        Err(err) => err,
        Ok(_) => Refusal::no_match("Meeting").into(),
    }
}

fn no_audio() -> ServiceError {
    Refusal::bad_request(NO_AUDIO).into()
}
