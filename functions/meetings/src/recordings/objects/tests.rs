use super::*;

#[test]
fn uploads_go_under_their_own_prefix() {
    let meeting = Uuid::new_v4();
    let key = new_key(meeting, ".wav");
    let upload = upload_key(&key);
    assert_eq!(upload, key.replacen("recordings/", "uploads/", 1));
    assert!(
        upload.starts_with(&format!("uploads/{meeting}/")),
        "{upload}"
    );
    // The 500-character column holds the key; the upload key is never stored.
    assert!(key.len() < 100, "{key}");
}
