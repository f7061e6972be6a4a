use super::*;
use meetin_core::Refusal;
use meetin_core::validation::{NULL, NULL_CHARACTER};
use meetin_http::ApiError;
use serde_json::json;

#[test]
fn edits_parse_drf_style() {
    let parsed = MinutesEditRequest::parse(
        &json!({"content_md": "  # Hi  ", "output_language": "fr", "version": "4", "id": "ignored"}),
    )
    .expect("valid");
    assert_eq!(parsed.version, Some(4));
    assert_eq!(parsed.edit.content_md.as_deref(), Some("# Hi"));
    assert_eq!(parsed.edit.output_language, Some(OutputLanguage::Fr));
    assert_eq!(parsed.edit.content_json, None);
    let refusal = |body: Value| match MinutesEditRequest::parse(&body) {
        Err(ApiError::Refused(Refusal::Fields(errors))) => errors.to_json(),
        other => panic!("not field errors: {other:?}"),
    };
    assert_eq!(
        refusal(json!({
            "content_json": [1],
            "content_md": 5,
            "output_language": "de",
            "version": "x"
        })),
        json!({
            "content_json": ["Expected a dictionary of items but got type \"list\"."],
            "output_language": ["\"de\" is not a valid choice."],
            "version": ["A valid integer is required."]
        }),
        "a number is text to DRF"
    );
    assert_eq!(
        refusal(json!({"content_json": null, "content_md": null, "version": 0})),
        json!({
            "content_json": [NULL],
            "content_md": [NULL],
            "version": ["Ensure this value is greater than or equal to 1."]
        })
    );
    assert_eq!(
        refusal(json!({"content_json": {"a": ["b\u{0}"]}})),
        json!({"content_json": [NULL_CHARACTER]})
    );
    let huge = "x".repeat(CONTENT_JSON_MAX_BYTES);
    assert_eq!(
        refusal(json!({"content_json": {"summary": huge}})),
        json!({"content_json": ["Ensure this value is at most 131072 bytes of JSON."]})
    );
}
