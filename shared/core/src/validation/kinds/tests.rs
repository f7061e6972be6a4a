use super::*;
use serde_json::json;

#[test]
fn dates_as_django_reads_them() {
    assert_eq!(
        parse_date("2026-03-09"),
        NaiveDate::from_ymd_opt(2026, 3, 9)
    );
    assert_eq!(parse_date("2026-3-9"), NaiveDate::from_ymd_opt(2026, 3, 9));
    for bad in [
        "2026-02-30",
        "0000-01-01",
        "26-03-09",
        "2026-03-09T10:00",
        "2026/03/09",
        "2026-003-09",
        " 2026-03-09",
        "",
        "2026-03",
        "2026-03-09-1",
    ] {
        assert_eq!(parse_date(bad), None, "{bad}");
    }
}

#[test]
fn datetimes_as_django_reads_them() {
    let utc = |s: &str| parse_datetime(s).map(|d| d.to_rfc3339());
    assert_eq!(
        utc("2026-03-01T10:30:00Z").as_deref(),
        Some("2026-03-01T10:30:00+00:00")
    );
    assert_eq!(
        utc("2026-03-01T10:30:00+02:00").as_deref(),
        Some("2026-03-01T08:30:00+00:00")
    );
    assert_eq!(
        utc("2026-03-01 10:30").as_deref(),
        Some("2026-03-01T10:30:00+00:00")
    );
    assert_eq!(
        utc("2026-03-01").as_deref(),
        Some("2026-03-01T00:00:00+00:00")
    );
    for bad in ["tomorrow", "2026-13-01T00:00", "01/03/2026", ""] {
        assert_eq!(utc(bad), None, "{bad}");
    }
}

#[test]
fn date_fields_are_nullable_and_refuse_the_rest() {
    let body = json!({"a": "2026-03-09", "b": null, "c": "2026-02-30", "d": 5,
        "e": " 2026-03-01T10:30 ", "f": null, "g": "tomorrow", "h": []});
    let mut f = Fields::new(&body).expect("object");
    assert_eq!(
        f.optional_date("a"),
        Some(NaiveDate::from_ymd_opt(2026, 3, 9))
    );
    assert_eq!(f.optional_date("b"), Some(None));
    assert_eq!(f.optional_date("c"), None);
    assert_eq!(f.optional_date("d"), None);
    assert_eq!(f.optional_date("absent"), None);
    assert_eq!(
        f.optional_datetime("e").flatten().map(|d| d.to_rfc3339()),
        Some("2026-03-01T10:30:00+00:00".to_owned())
    );
    assert_eq!(f.optional_datetime("f"), Some(None));
    assert_eq!(f.optional_datetime("g"), None);
    assert_eq!(f.optional_datetime("h"), None);
    assert_eq!(
        f.finish().expect_err("errors").to_json(),
        json!({"c": [DATE_FORMAT], "d": [DATE_FORMAT], "g": [DATETIME_FORMAT], "h": [DATETIME_FORMAT]})
    );
}

#[test]
fn primary_keys_as_drf_related_fields() {
    let id = Uuid::new_v4();
    let long = "x".repeat(100);
    let body = json!({"a": id.to_string(), "b": null, "c": "nope", "d": 5, "e": long});
    let mut f = Fields::new(&body).expect("object");
    assert_eq!(f.optional_pk("a"), Some(Some((id, id.to_string()))));
    assert_eq!(f.optional_pk("b"), Some(None));
    assert_eq!(f.optional_pk("absent"), None);
    assert_eq!(f.pk("a", true), Some((id, id.to_string())));
    assert_eq!(f.pk("absent", false), None);
    assert_eq!(f.pk("missing", true), None);
    assert_eq!(f.pk("b", false), None);
    assert_eq!(f.optional_pk("c"), None);
    assert_eq!(f.optional_pk("d"), None);
    assert_eq!(f.pk("e", true), None);
    assert_eq!(
        f.finish().expect_err("errors").to_json(),
        json!({
            "missing": [REQUIRED],
            "b": [NULL],
            "c": ["“nope” is not a valid UUID."],
            "d": ["Incorrect type. Expected pk value, received int."],
            "e": [format!("“{}…” is not a valid UUID.", "x".repeat(64))],
        })
    );
    assert_eq!(
        pk_does_not_exist("abc"),
        "Invalid pk \"abc\" - object does not exist."
    );
}

#[test]
fn objects_are_capped_and_free_of_nul() {
    let body = json!({"a": {"k": [1]}, "b": [1], "c": null, "d": {"k": "\u{0}"}, "e": {"k": "x".repeat(20)}});
    let mut f = Fields::new(&body).expect("object");
    assert_eq!(f.optional_object("a", 16), Some(json!({"k": [1]})));
    assert_eq!(f.optional_object("absent", 16), None);
    for field in ["b", "c", "d", "e"] {
        assert_eq!(f.optional_object(field, 16), None, "{field}");
    }
    assert_eq!(
        f.finish().expect_err("errors").to_json(),
        json!({
            "b": ["Expected a dictionary of items but got type \"list\"."],
            "c": [NULL],
            "d": [NULL_CHARACTER],
            "e": ["Ensure this value is at most 16 bytes of JSON."],
        })
    );
    assert_eq!(json_depth(&json!(1)), 0);
    assert_eq!(json_depth(&json!({"a": []})), 2);
}

#[test]
fn segment_ids_are_a_list_of_uuids() {
    let parse = |body: Value| {
        let mut f = Fields::new(&body).expect("object");
        let ids = f.optional_uuid_list("s", 50);
        (ids, f.finish().err().map(|e| e.to_json()))
    };
    let id = Uuid::new_v4();
    let (ids, errors) = parse(json!({"s": [id.to_string().to_uppercase()]}));
    assert_eq!(ids, Some(vec![id]));
    assert_eq!(errors, None);
    let (_, errors) = parse(json!({"s": [id.to_string(), 5]}));
    assert_eq!(errors, Some(json!({"s": [INVALID_UUID]})));
    let (_, errors) = parse(json!({"s": {"a": 1}}));
    assert_eq!(
        errors,
        Some(json!({"s": ["Expected a list of items but got type \"dict\"."]}))
    );
    let (_, errors) = parse(json!({"s": null}));
    assert_eq!(errors, Some(json!({"s": [NULL]})));
    let (_, errors) = parse(json!({"s": vec![id.to_string(); 51]}));
    assert_eq!(
        errors,
        Some(json!({"s": ["Ensure this field has no more than 50 elements."]}))
    );
}
