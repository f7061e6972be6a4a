use super::*;

#[test]
fn language_preference_maps_to_query() {
    let auto = PrerecordedOptions::for_language("auto");
    assert_eq!(
        auto.query_pairs(),
        [
            ("model", "nova-3"),
            ("diarize", "true"),
            ("utterances", "true"),
            ("punctuate", "true"),
            ("smart_format", "true"),
            ("detect_language", "true"),
        ]
    );
    let fr = PrerecordedOptions::for_language("fr");
    assert_eq!(fr.query_pairs().last(), Some(&("language", "fr")));
}

#[test]
fn a_typed_preference_gives_the_same_options_as_its_string() {
    for preference in LanguagePreference::ALL {
        assert_eq!(
            PrerecordedOptions::for_preference(*preference),
            PrerecordedOptions::for_language(preference.as_str())
        );
    }
    assert_eq!(
        PrerecordedOptions::for_preference(LanguagePreference::Auto).language,
        Language::Detect
    );
}

#[test]
fn endpoint_keeps_a_base_path() {
    let http = reqwest::Client::new();
    let root = DeepgramClient::new(
        Url::parse(DEFAULT_BASE_URL).expect("url"),
        "k".into(),
        http.clone(),
    );
    assert_eq!(
        root.endpoint().as_str(),
        "https://api.deepgram.com/v1/listen"
    );
    let proxied = DeepgramClient::new(
        Url::parse("http://127.0.0.1:9/deepgram").expect("url"),
        "k".into(),
        http,
    );
    assert_eq!(
        proxied.endpoint().as_str(),
        "http://127.0.0.1:9/deepgram/v1/listen"
    );
}

#[test]
fn debug_hides_the_key() {
    let client = DeepgramClient::new(
        Url::parse(DEFAULT_BASE_URL).expect("url"),
        "sekrit-key".into(),
        reqwest::Client::new(),
    );
    assert!(!format!("{client:?}").contains("sekrit"));
}

/// The documented error bodies (docs page `errors`), each status on its side of the split.
#[test]
fn documented_error_bodies_classify_by_status() {
    let e = status_error(
        401,
        br#"{"err_code":"INVALID_AUTH","err_msg":"Invalid credentials.","request_id":"uuid"}"#,
    );
    assert!(
        matches!(&e, DeepgramError::Rejected { status: 401, code: Some(c), message, request_id: Some(r) }
        if c == "INVALID_AUTH" && message == "Invalid credentials." && r == "uuid")
    );
    let e = status_error(
        400,
        br#"{"category":"INVALID_JSON","message":"Invalid JSON submitted.","details":"Json deserialize error: expected `:` at line 3 column 13","request_id":"uuid"}"#,
    );
    assert!(
        matches!(&e, DeepgramError::Rejected { code: Some(c), message, .. }
        if c == "INVALID_JSON" && message.starts_with("Invalid JSON submitted. Json deserialize"))
    );
    let e = status_error(
        503,
        br#"{"error_code":"Service Unavailable","err_msg": "Please try again later","request_id": "[unique_request_id]"}"#,
    );
    assert!(e.is_retryable());
    assert_eq!(e.status(), Some(503));
    let e = status_error(
        429,
        br#"{"err_code":"TOO_MANY_REQUESTS","err_msg":"Too many requests. Please try again later","request_id":"uuid"}"#,
    );
    assert!(e.is_retryable());
    let e = status_error(402, br#"{"err_code":"ASR_PAYMENT_REQUIRED","err_msg":"Project does not have enough credits for an ASR request and does not have an overage agreement.","request_id":"uuid"}"#);
    assert!(!e.is_retryable());
    let e = status_error(502, b"<html>bad gateway</html>");
    assert!(
        matches!(&e, DeepgramError::Retryable { status: Some(502), message } if message == "<html>bad gateway</html>")
    );
}
