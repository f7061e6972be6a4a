//! The worker's side of the recordings bucket: downloads to temporary files, presigned GET URLs
//! for Deepgram, and the window files of long recordings (`windows/{recording_id}/{i}.wav`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use meetin_aws::aws_sdk_s3;
use meetin_aws::aws_sdk_s3::presigning::PresigningConfig;
use meetin_aws::aws_sdk_s3::primitives::ByteStream;
use uuid::Uuid;

use crate::Worker;

/// How long the presigned GET URL Deepgram fetches the audio with is valid. Deepgram fetches
/// it when the request arrives; the margin covers a slow start.
pub const PRESIGNED_GET_TTL: Duration = Duration::from_secs(900);

/// The key of window `index` of `recording` (16 kHz mono PCM16 WAV). The bucket's lifecycle
/// rule (template.yaml) expires `windows/` objects a merge failed to delete.
pub fn window_key(recording: Uuid, index: u32) -> String {
    format!("{}{index}.wav", window_prefix(recording))
}

fn window_prefix(recording: Uuid) -> String {
    format!("windows/{recording}/")
}

/// A file under the temporary directory (or a directory, [`TempFile::dir`]), removed when
/// dropped.
pub struct TempFile(PathBuf);

impl TempFile {
    pub fn new(recording: Uuid) -> Self {
        Self(std::env::temp_dir().join(format!(
            "meetin-recording-{recording}-{}",
            Uuid::new_v4().simple()
        )))
    }

    /// A new empty directory, removed with what it holds when dropped.
    pub fn dir(recording: Uuid) -> std::io::Result<Self> {
        let dir = Self::new(recording);
        std::fs::create_dir(dir.path())?;
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Never created (a failed download), or already gone: nothing to do.
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

pub enum Download {
    /// No such key (a recording deleted since): permanent.
    Gone,
    Failed(String),
}

/// Streams `key` of the worker's bucket into `path`, a chunk at a time.
pub async fn download(worker: &Worker, key: &str, path: &Path) -> Result<(), Download> {
    use tokio::io::AsyncWriteExt;
    let object = worker
        .s3
        .get_object()
        .bucket(&worker.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                Download::Gone
            } else {
                Download::Failed(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
            }
        })?;
    let failed = |e: &dyn std::fmt::Display| Download::Failed(e.to_string());
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| failed(&e))?;
    let mut body = object.body;
    while let Some(chunk) = body.try_next().await.map_err(|e| failed(&e))? {
        file.write_all(&chunk).await.map_err(|e| failed(&e))?;
    }
    file.flush().await.map_err(|e| failed(&e))?;
    Ok(())
}

/// A GET URL of `key` in the worker's bucket, valid [`PRESIGNED_GET_TTL`].
pub async fn presigned_get(worker: &Worker, key: &str) -> anyhow::Result<String> {
    let presigned = worker
        .s3
        .get_object()
        .bucket(&worker.bucket)
        .key(key)
        .presigned(PresigningConfig::expires_in(PRESIGNED_GET_TTL)?)
        .await
        .map_err(|e| anyhow::anyhow!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(presigned.uri().to_owned())
}

/// Stores the WAV file at `path` as `key` (one PutObject: a window is at most 30 minutes,
/// 58 MB, under its 5 GB limit), streamed from the file.
pub async fn put_wav(worker: &Worker, key: &str, path: &Path) -> anyhow::Result<()> {
    let body = ByteStream::from_path(path).await?;
    worker
        .s3
        .put_object()
        .bucket(&worker.bucket)
        .key(key)
        .content_type("audio/wav")
        .body(body)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(())
}

/// Deletes the window files of `recording` (its `windows` of them), once merged. Best effort:
/// what is left, the lifecycle rule expires.
pub async fn delete_windows(worker: &Worker, recording: Uuid, windows: u32) {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let objects: Vec<ObjectIdentifier> = (0..windows)
        .filter_map(|i| {
            ObjectIdentifier::builder()
                .key(window_key(recording, i))
                .build()
                .ok()
        })
        .collect();
    // DeleteObjects takes at most 1,000 keys; a recording has fewer windows (migration 0008).
    let Ok(delete) = Delete::builder()
        .set_objects(Some(objects))
        .quiet(true)
        .build()
    else {
        return;
    };
    let deleted = worker
        .s3
        .delete_objects()
        .bucket(&worker.bucket)
        .delete(delete)
        .send()
        .await;
    if let Err(err) = deleted {
        tracing::warn!(%recording, error = %aws_sdk_s3::error::DisplayErrorContext(err), "deleting the window files failed; the lifecycle rule will");
    }
}
