use super::*;
use serde_json::json;

fn error(r: ApiResult<impl std::fmt::Debug>) -> String {
    match r {
        Err(ApiError::Refused(refusal)) => refusal.body()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn bodies_that_are_not_objects_are_refused() {
    for body in [
        json!([1, 2]),
        json!("str"),
        json!(5),
        json!(true),
        json!(null),
    ] {
        for refused in [
            InitiateRequest::parse(&body).map(|_| ()),
            CompleteRequest::parse(&body).map(|_| ()),
        ] {
            match refused {
                Err(ApiError::Refused(r)) => {
                    assert!(
                        r.body()["non_field_errors"].is_array(),
                        "{body}: {:?}",
                        r.body()
                    )
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }
    assert!(InitiateRequest::parse(&json!({})).is_ok());
}

#[test]
fn complete_reads_ints_as_python_does() {
    let ok = CompleteRequest::parse(&json!({"size_bytes": "12", "duration_ms": 12.9})).expect("ok");
    assert_eq!((ok.size_bytes, ok.duration_ms), (Some(12), Some(12)));
    assert_eq!(
        error(CompleteRequest::parse(&json!({"size_bytes": "12.5"}))),
        "size_bytes must be a valid integer"
    );
    assert_eq!(
        error(CompleteRequest::parse(&json!({"size_bytes": 524288001}))),
        "Invalid size_bytes value"
    );
    assert_eq!(
        error(CompleteRequest::parse(&json!({"duration_ms": -1}))),
        "Invalid duration_ms value"
    );
    assert_eq!(
        error(CompleteRequest::parse(&json!({"duration_ms": []}))),
        "duration_ms must be a valid integer"
    );
}

#[test]
fn initiate_limits_are_the_schemas() {
    let long = "a".repeat(FILENAME_MAX_CHARS + 1);
    assert!(InitiateRequest::parse(&json!({"filename": long})).is_err());
    assert_eq!(
        error(InitiateRequest::parse(&json!({"size_bytes": 524288001}))),
        crate::media::TOO_LARGE
    );
    assert_eq!(
        InitiateRequest::parse(&json!({})).expect("empty").filename,
        None
    );
}

fn field_errors(r: ApiResult<impl std::fmt::Debug>) -> Value {
    match r {
        Err(ApiError::Refused(refusal @ meetin_core::Refusal::Fields(_))) => refusal.body(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

#[test]
fn initiate_refuses_what_drf_refuses_as_field_errors() {
    for size in [
        json!(true),
        json!(false),
        json!(12.5),
        json!("x"),
        json!([1]),
    ] {
        assert_eq!(
            field_errors(InitiateRequest::parse(&json!({ "size_bytes": size }))),
            json!({"size_bytes": ["A valid integer is required."]}),
            "{size}"
        );
    }
    assert_eq!(
        field_errors(InitiateRequest::parse(
            &json!({"filename": "a\u{0}.wav", "content_type": "audio/\u{0}wav", "size_bytes": true})
        )),
        json!({
            "filename": ["Null characters are not allowed."],
            "content_type": ["Null characters are not allowed."],
            "size_bytes": ["A valid integer is required."],
        })
    );
    assert_eq!(
        field_errors(InitiateRequest::parse(
            &json!({"filename": 5, "size_bytes": -1})
        ))["size_bytes"],
        json!(["Ensure this value is greater than or equal to 0."])
    );
    let ok = InitiateRequest::parse(
        &json!({"filename": " a.wav ", "size_bytes": "12", "content_type": null}),
    )
    .expect("ok");
    assert_eq!(
        (ok.filename.as_deref(), ok.size_bytes, ok.content_type),
        (Some("a.wav"), Some(12), None)
    );
}
