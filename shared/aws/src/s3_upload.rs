//! Streaming an object of unknown length into S3 with bounded memory: a multipart upload fed
//! a chunk at a time (S3 `CreateMultipartUpload`, `UploadPart`, `CompleteMultipartUpload`).
//! At most one part ([`PART_BYTES`]) is held; a part is sent before more is read, so a slow
//! S3 slows the sender instead of growing the buffer. An object that ends within its first
//! part is one `PutObject` (no multipart upload is started). An upload that does not finish
//! (an error, a client gone, the future dropped) is aborted, so S3 keeps neither the object
//! nor its parts.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

/// The size of every part but the last, in bytes: 8 MiB (S3's minimum is 5 MiB, its maximum
/// part count 10,000, so objects up to 78 GiB fit; the 500 MiB recordings take 63 parts).
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// An S3 call that failed (the SDK's error with its context; for logs, never for clients).
#[derive(Debug, thiserror::Error)]
#[error("S3 {operation}: {detail}")]
pub struct UploadError {
    pub operation: &'static str,
    pub detail: String,
}

fn failed<E>(operation: &'static str) -> impl FnOnce(E) -> UploadError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |err| UploadError {
        operation,
        detail: aws_sdk_s3::error::DisplayErrorContext(err).to_string(),
    }
}

/// What [`MultipartUpload::finish`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Bytes written.
    pub size_bytes: u64,
    /// The object's ETag as S3 answered it (quoted, `-<parts>` suffixed).
    pub e_tag: Option<String>,
}

/// One object being written: [`MultipartUpload::new`], [`MultipartUpload::write`] chunks, then
/// [`MultipartUpload::finish`] or [`MultipartUpload::abort`]. Dropped unfinished, it aborts in
/// the background.
#[derive(Debug)]
pub struct MultipartUpload {
    s3: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    content_type: String,
    /// Started once the first part is full.
    upload_id: Option<String>,
    part: Vec<u8>,
    parts: Vec<CompletedPart>,
    size_bytes: u64,
    /// Finished or aborted: nothing for `Drop` to do.
    settled: bool,
}

impl MultipartUpload {
    /// An upload of `key` in `bucket` with the given `Content-Type`; nothing is sent to S3
    /// before the first part is full (or [`MultipartUpload::finish`]).
    pub fn new(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, content_type: &str) -> Self {
        Self {
            s3: s3.clone(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            content_type: content_type.to_owned(),
            upload_id: None,
            part: Vec::new(),
            parts: Vec::new(),
            size_bytes: 0,
            settled: false,
        }
    }

    /// The upload id, starting the multipart upload on first use.
    async fn upload_id(&mut self) -> Result<String, UploadError> {
        if let Some(id) = &self.upload_id {
            return Ok(id.clone());
        }
        let created = self
            .s3
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type(&self.content_type)
            .send()
            .await
            .map_err(failed("CreateMultipartUpload"))?;
        let id = created.upload_id.ok_or_else(|| UploadError {
            operation: "CreateMultipartUpload",
            detail: "no UploadId in the answer".into(),
        })?;
        self.upload_id = Some(id.clone());
        Ok(id)
    }

    /// The key being written.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Bytes written so far.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Appends `chunk`, sending every full part before returning (the first starts the
    /// multipart upload). On an error the upload is aborted.
    pub async fn write(&mut self, mut chunk: &[u8]) -> Result<(), UploadError> {
        while !chunk.is_empty() {
            if self.part.capacity() == 0 {
                self.part.reserve_exact(PART_BYTES);
            }
            let take = chunk.len().min(PART_BYTES - self.part.len());
            self.part.extend_from_slice(&chunk[..take]);
            self.size_bytes += take as u64;
            chunk = &chunk[take..];
            if self.part.len() == PART_BYTES
                && let Err(err) = self.send_part().await
            {
                self.abort_now().await;
                return Err(err);
            }
        }
        Ok(())
    }

    /// Sends what is buffered as the next part.
    async fn send_part(&mut self) -> Result<(), UploadError> {
        let upload_id = self.upload_id().await?;
        let number = i32::try_from(self.parts.len() + 1).unwrap_or(i32::MAX);
        let body = std::mem::take(&mut self.part);
        let sent = self
            .s3
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(failed("UploadPart"))?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(sent.e_tag)
                .build(),
        );
        Ok(())
    }

    /// Stores what is left: one `PutObject` when the object fits its first part, else the
    /// last part and `CompleteMultipartUpload`. On an error the upload is aborted.
    pub async fn finish(mut self) -> Result<StoredObject, UploadError> {
        if self.upload_id.is_none() {
            let put = self
                .s3
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .content_type(&self.content_type)
                .body(ByteStream::from(std::mem::take(&mut self.part)))
                .send()
                .await
                .map_err(failed("PutObject"));
            self.settled = true;
            return put.map(|done| StoredObject {
                size_bytes: self.size_bytes,
                e_tag: done.e_tag,
            });
        }
        if !self.part.is_empty()
            && let Err(err) = self.send_part().await
        {
            self.abort_now().await;
            return Err(err);
        }
        let upload_id = self.upload_id.clone().unwrap_or_default();
        let completed = self
            .s3
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(std::mem::take(&mut self.parts)))
                    .build(),
            )
            .send()
            .await
            .map_err(failed("CompleteMultipartUpload"));
        match completed {
            Ok(done) => {
                self.settled = true;
                Ok(StoredObject {
                    size_bytes: self.size_bytes,
                    e_tag: done.e_tag,
                })
            }
            Err(err) => {
                self.abort_now().await;
                Err(err)
            }
        }
    }

    /// Abandons the upload: S3 drops its parts.
    pub async fn abort(mut self) {
        self.abort_now().await;
    }

    async fn abort_now(&mut self) {
        if self.settled {
            return;
        }
        self.settled = true;
        self.part = Vec::new();
        if let Some(upload_id) = &self.upload_id {
            abort(&self.s3, &self.bucket, &self.key, upload_id).await;
        }
    }
}

impl Drop for MultipartUpload {
    fn drop(&mut self) {
        let Some(upload_id) = self.upload_id.take() else {
            return;
        };
        if self.settled {
            return;
        }
        // Dropped mid-way (the request's future cancelled): abort in the background.
        let (s3, bucket, key) = (
            self.s3.clone(),
            std::mem::take(&mut self.bucket),
            std::mem::take(&mut self.key),
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { abort(&s3, &bucket, &key, &upload_id).await });
        } else {
            tracing::warn!(
                key,
                "multipart upload dropped outside a runtime; the bucket's lifecycle rule removes its parts"
            );
        }
    }
}

/// `AbortMultipartUpload`; a failure is logged (the bucket's lifecycle rule for incomplete
/// multipart uploads is the backstop).
async fn abort(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, upload_id: &str) {
    if let Err(err) = s3
        .abort_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await
    {
        tracing::warn!(key, error = %aws_sdk_s3::error::DisplayErrorContext(err), "multipart upload not aborted");
    }
}
