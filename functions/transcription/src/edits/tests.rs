use super::*;
use serde_json::json;

fn version(content_json: Value, md: &str, language: &str) -> MinutesVersion {
    MinutesVersion {
        id: Uuid::new_v4(),
        minutes_id: Uuid::nil(),
        version: 1,
        source: "edit".into(),
        content_json,
        content_md: md.into(),
        output_language: language.parse().expect("en or fr"),
        created_by_id: None,
        created_by_email: None,
        created_at: chrono::Utc::now(),
    }
}

#[test]
fn changes_list_only_what_differs_in_a_stable_order() {
    let a = version(
        json!({"summary": "Old", "key_points": ["a"], "attendees": ["Ann"], "gone": 1}),
        "# Old",
        "en",
    );
    let b = version(
        json!({"summary": "New", "key_points": ["a"], "attendees": ["Ann", "Bo"], "new": null, "added": {"x": 1}}),
        "# Old",
        "fr",
    );
    let got = changes(&a, &b);
    let fields: Vec<&str> = got.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "content_json.added",
            "content_json.attendees",
            "content_json.gone",
            "content_json.summary",
            "output_language"
        ]
    );
    assert_eq!(got[0].from, Value::Null);
    assert_eq!(got[0].to, json!({"x": 1}));
    assert_eq!(got[2].from, json!(1));
    assert_eq!(got[2].to, Value::Null);
    assert_eq!(
        (got[4].from.clone(), got[4].to.clone()),
        (json!("en"), json!("fr"))
    );
    assert!(changes(&a, &a).is_empty());
    // content_md is listed when it differs.
    let c = version(a.content_json.clone(), "# New", "en");
    assert_eq!(
        changes(&a, &c),
        [FieldChange {
            field: "content_md".into(),
            from: json!("# Old"),
            to: json!("# New"),
        }]
    );
}

#[test]
fn preconditions_if_match_first() {
    let tags = [2];
    assert_eq!(failed_precondition(None, None, 3), None);
    assert_eq!(failed_precondition(Some(&[3][..]), Some(3), 3), None);
    assert_eq!(
        failed_precondition(Some(&tags[..]), Some(1), 3),
        Some(StatusCode::PRECONDITION_FAILED)
    );
    assert_eq!(
        failed_precondition(None, Some(1), 3),
        Some(StatusCode::CONFLICT)
    );
    assert_eq!(
        failed_precondition(Some(&[][..]), None, 3),
        Some(StatusCode::PRECONDITION_FAILED)
    );
}
