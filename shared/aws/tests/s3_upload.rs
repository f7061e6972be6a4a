//! Streaming multipart uploads against the S3 emulator through the real SDK client: what is
//! stored when an upload finishes, and that an upload given up (aborted, failed or dropped)
//! leaves neither an object nor parts behind.

use std::path::Path;

use meetin_aws::aws_sdk_s3;
use meetin_aws::s3_upload::{MultipartUpload, PART_BYTES};

async fn bucket() -> (aws_sdk_s3::Client, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let env = meetin_test_support::local_settings(&root).expect("infra/local/env");
    let sdk = meetin_aws::sdk_config_from(&|name| env.get(name).cloned())
        .await
        .expect("AWS settings");
    let s3 = meetin_aws::s3_client(&sdk);
    let bucket =
        std::env::var("RECORDINGS_BUCKET").unwrap_or_else(|_| env["RECORDINGS_BUCKET"].clone());
    meetin_test_support::ensure_recordings_bucket(&s3, &bucket)
        .await
        .expect("bucket");
    (s3, bucket)
}

fn key() -> String {
    format!("uploads/test-s3-upload/{}", uuid::Uuid::new_v4())
}

/// Multipart uploads still open for `key`.
async fn open_uploads(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> usize {
    s3.list_multipart_uploads()
        .bucket(bucket)
        .prefix(key)
        .send()
        .await
        .expect("ListMultipartUploads")
        .uploads
        .unwrap_or_default()
        .len()
}

async fn exists(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> bool {
    s3.head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}

/// Bytes whose every position differs from its neighbours' (a misplaced part shows).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn a_finished_upload_stores_every_byte_in_order() {
    let (s3, bucket) = bucket().await;
    let key = key();
    let body = pattern(2 * PART_BYTES + 12_345);
    let mut upload = MultipartUpload::new(&s3, &bucket, &key, "audio/wav");
    for chunk in body.chunks(64 * 1024 + 7) {
        upload.write(chunk).await.expect("write");
    }
    assert_eq!(upload.size_bytes(), body.len() as u64);
    let stored = upload.finish().await.expect("finish");
    assert_eq!(stored.size_bytes, body.len() as u64);
    assert!(stored.e_tag.is_some());
    let object = s3
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .expect("GetObject");
    assert_eq!(object.content_type.as_deref(), Some("audio/wav"));
    let read = object.body.collect().await.expect("body").into_bytes();
    assert!(read.as_ref() == body.as_slice(), "the stored bytes differ");
    assert_eq!(open_uploads(&s3, &bucket, &key).await, 0);
}

#[tokio::test]
async fn an_empty_upload_is_an_empty_object() {
    let (s3, bucket) = bucket().await;
    let key = key();
    let upload = MultipartUpload::new(&s3, &bucket, &key, "audio/wav");
    let stored = upload.finish().await.expect("finish");
    assert_eq!(stored.size_bytes, 0);
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.content_length, Some(0));
}

#[tokio::test]
async fn an_aborted_upload_leaves_no_object_and_no_parts() {
    let (s3, bucket) = bucket().await;
    let key = key();
    let mut upload = MultipartUpload::new(&s3, &bucket, &key, "audio/wav");
    upload
        .write(&pattern(PART_BYTES + 10))
        .await
        .expect("write");
    assert_eq!(open_uploads(&s3, &bucket, &key).await, 1);
    upload.abort().await;
    assert_eq!(open_uploads(&s3, &bucket, &key).await, 0);
    assert!(!exists(&s3, &bucket, &key).await);
}

#[tokio::test]
async fn a_dropped_upload_is_aborted_in_the_background() {
    let (s3, bucket) = bucket().await;
    let key = key();
    let mut upload = MultipartUpload::new(&s3, &bucket, &key, "audio/wav");
    upload
        .write(&pattern(PART_BYTES + 10))
        .await
        .expect("write");
    drop(upload);
    let mut open = 1;
    for _ in 0..50 {
        open = open_uploads(&s3, &bucket, &key).await;
        if open == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(open, 0, "the dropped upload is still open");
    assert!(!exists(&s3, &bucket, &key).await);
}

#[tokio::test]
async fn an_object_within_one_part_is_one_put_and_a_missing_bucket_fails_it() {
    let (s3, bucket) = bucket().await;
    let key = key();
    let mut small = MultipartUpload::new(&s3, &bucket, &key, "audio/ogg");
    small.write(b"OggS and a little more").await.expect("write");
    assert_eq!(
        open_uploads(&s3, &bucket, &key).await,
        0,
        "no multipart upload yet"
    );
    let stored = small.finish().await.expect("finish");
    assert_eq!(stored.size_bytes, 22);
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.content_type.as_deref(), Some("audio/ogg"));
    let mut nowhere = MultipartUpload::new(&s3, "meetin-no-such-bucket-ever", &key, "audio/ogg");
    nowhere.write(b"OggS").await.expect("buffered");
    let err = nowhere.finish().await.expect_err("no bucket");
    assert_eq!(err.operation, "PutObject");
    let mut large = MultipartUpload::new(&s3, "meetin-no-such-bucket-ever", &key, "audio/ogg");
    let err = large
        .write(&pattern(PART_BYTES))
        .await
        .expect_err("no bucket");
    assert_eq!(err.operation, "CreateMultipartUpload");
}
