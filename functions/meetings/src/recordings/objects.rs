//! The S3 side of a recording: its keys, and reading, copying and deleting the checked
//! version of an upload.

use http::StatusCode;
use meetin_aws::aws_sdk_sqs;
use meetin_http::{ApiError, ApiResult};
use uuid::Uuid;

use crate::media;
use crate::state::Uploads;

/// An AWS SDK error as a 500, with what the call was doing.
pub(super) fn aws_error<E: std::error::Error + Send + Sync + 'static>(
    what: &'static str,
) -> impl Fn(E) -> ApiError {
    move |err| {
        anyhow::anyhow!("{}", aws_sdk_sqs::error::DisplayErrorContext(err))
            .context(what)
            .into()
    }
}

/// The server-chosen object key of a new recording of `meeting`
/// ([`meetin_recordings::storage_key`], every upload path's).
pub(super) fn new_key(meeting: Uuid, ext: &str) -> String {
    meetin_recordings::storage_key(meeting, ext)
}

/// Where the presigned `PUT` of the recording whose `storage_key` is `recordings/{m}/{f}`
/// uploads: `uploads/{m}/{f}`. Objects under `uploads/` are only ever read by `complete`, which
/// copies the checked version to the `storage_key`; the bucket's lifecycle rule expires what
/// is left there (template.yaml).
pub fn upload_key(storage_key: &str) -> String {
    format!(
        "uploads/{}",
        storage_key
            .strip_prefix("recordings/")
            .unwrap_or(storage_key)
    )
}

/// The 409 of a `complete` whose upload changed (another PUT to its URL) between the check
/// and the copy: nothing was copied or marked; upload again and complete again.
pub const UPLOAD_CHANGED: &str = "The uploaded file changed while it was being checked. Upload it again, then complete the recording.";

pub(super) fn upload_changed() -> ApiError {
    meetin_core::Refusal::message(StatusCode::CONFLICT, UPLOAD_CHANGED).into()
}

/// Whether an S3 read or copy of an upload failed because the upload is no longer the
/// version checked: its precondition (`If-Match`, `x-amz-copy-source-if-match`) failed, or it
/// is gone (a concurrent complete of the same recording copied and deleted it).
pub fn upload_changed_under<E, R>(err: &meetin_aws::aws_sdk_s3::error::SdkError<E, R>) -> bool
where
    E: meetin_aws::aws_sdk_s3::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .is_some_and(|e| matches!(e.code(), Some("PreconditionFailed" | "NoSuchKey")))
}

/// One version of an object: its size and its ETag.
pub(super) struct ObjectVersion {
    pub size: i64,
    pub etag: String,
}

/// The object's current size and ETag, or `None` when there is no such object.
pub(super) async fn object_version(
    uploads: &Uploads,
    key: &str,
) -> ApiResult<Option<ObjectVersion>> {
    match uploads
        .s3
        .head_object()
        .bucket(&uploads.bucket)
        .key(key)
        .send()
        .await
    {
        Ok(head) => Ok(Some(ObjectVersion {
            size: head.content_length().unwrap_or(0),
            etag: head
                .e_tag()
                .ok_or_else(|| ApiError::internal("S3 answered an object without an ETag"))?
                .to_owned(),
        })),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
        Err(err) => Err(aws_error("reading the object's size")(err)),
    }
}

/// The first [`media::SNIFF_BYTES`] bytes of the version `etag` of the object (409 when it
/// changed since).
pub(super) async fn object_head(uploads: &Uploads, key: &str, etag: &str) -> ApiResult<Vec<u8>> {
    let object = match uploads
        .s3
        .get_object()
        .bucket(&uploads.bucket)
        .key(key)
        .if_match(etag)
        .range(format!("bytes=0-{}", media::SNIFF_BYTES - 1))
        .send()
        .await
    {
        Ok(object) => object,
        Err(err) if upload_changed_under(&err) => return Err(upload_changed()),
        Err(err) => return Err(aws_error("reading the object's first bytes")(err)),
    };
    let bytes = object
        .body
        .collect()
        .await
        .map_err(aws_error("reading the object's first bytes"))?
        .into_bytes();
    Ok(bytes.iter().take(media::SNIFF_BYTES).copied().collect())
}

/// Deletes an object no row refers to; a failure is only logged (the object is unreachable
/// through the API either way).
pub(super) async fn delete_object(uploads: &Uploads, key: &str) {
    uploads.store().delete(key).await;
}

/// Copies the version `etag` of the upload at `from` to `to` (S3 `CopyObject` with
/// `x-amz-copy-source-if-match`): when another PUT replaced the upload after its check, the
/// copy fails and nothing is copied (409).
pub(super) async fn copy_checked(
    uploads: &Uploads,
    from: &str,
    etag: &str,
    to: &str,
) -> ApiResult<()> {
    match uploads
        .s3
        .copy_object()
        .bucket(&uploads.bucket)
        .key(to)
        // Server-chosen keys: `[0-9a-z/.-]` only, nothing to percent-encode.
        .copy_source(format!("{}/{from}", uploads.bucket))
        .copy_source_if_match(etag)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(err) if upload_changed_under(&err) => Err(upload_changed()),
        Err(err) => Err(aws_error("copying the checked upload")(err)),
    }
}

#[cfg(test)]
mod tests;
