use super::*;
use serde_json::json;

/// Each documented maxLength is the limit its parser enforces.
#[test]
fn schema_limits_are_the_parsers() {
    let doc = serde_json::to_value(<crate::Api as meetin_http::HttpFunction>::openapi())
        .expect("document");
    let max = |schema: &str, field: &str| {
        doc["components"]["schemas"][schema]["properties"][field]["maxLength"].as_u64()
    };
    let limit = |n: usize| Some(n as u64);
    for schema in ["MeetingRequest", "MeetingPatch"] {
        assert_eq!(max(schema, "title"), limit(TITLE_MAX_CHARS));
        assert_eq!(max(schema, "description"), limit(DESCRIPTION_MAX_CHARS));
    }
    assert_eq!(
        max("SpeakerPatch", "display_name"),
        limit(DISPLAY_NAME_MAX_CHARS)
    );
}

#[test]
fn live_configs_are_bounded() {
    let error = |config: Value| match LiveStartRequest::parse(&json!({ "config": config })) {
        Err(ApiError::Refused(r)) => r.body()["config"][0].as_str().map(str::to_owned),
        Ok(_) => None,
        Err(other) => panic!("{other:?}"),
    };
    // The largest object that fits: {"a":"xx…"} is 8 bytes of framing.
    let fits = json!({ "a": "x".repeat(LIVE_CONFIG_MAX_BYTES - 8) });
    assert_eq!(
        serde_json::to_vec(&fits).expect("json").len(),
        LIVE_CONFIG_MAX_BYTES
    );
    assert_eq!(error(fits), None);
    assert_eq!(
        error(json!({ "a": "x".repeat(LIVE_CONFIG_MAX_BYTES - 7) })).as_deref(),
        Some("Ensure this value has at most 8192 bytes as JSON.")
    );
    // An escaped character counts as the bytes it is stored as.
    assert!(error(json!({ "a": "\u{1}".repeat(LIVE_CONFIG_MAX_BYTES / 6) })).is_some());
    let mut deep = json!(1);
    for _ in 0..LIVE_CONFIG_MAX_DEPTH - 1 {
        deep = json!([deep]);
    }
    assert_eq!(error(json!({ "a": deep.clone() })), None);
    assert_eq!(
        error(json!({ "a": [deep] })).as_deref(),
        Some("Ensure this value is nested at most 8 levels deep.")
    );
}

#[test]
fn speaker_names() {
    assert_eq!(SpeakerPatch::parse(&json!({})).ok(), Some(None));
    assert_eq!(
        SpeakerPatch::parse(&json!({"display_name": "  "})).ok(),
        Some(None)
    );
    assert_eq!(
        SpeakerPatch::parse(&json!({"display_name": " Ann "})).ok(),
        Some(Some("Ann".into()))
    );
    let long = "x".repeat(DISPLAY_NAME_MAX_CHARS + 1);
    assert!(SpeakerPatch::parse(&json!({ "display_name": long })).is_err());
}
