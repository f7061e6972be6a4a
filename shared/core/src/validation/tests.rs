use super::*;
use serde_json::json;

#[test]
fn collects_every_fields_errors() {
    let body = json!({"email": "nope", "username": 12, "first_name": ["x"], "title": "   "});
    let mut f = Fields::new(&body).expect("object");
    assert_eq!(f.required_email("email"), None);
    assert_eq!(
        f.required_text("username", Text::max(150)).as_deref(),
        Some("12")
    );
    assert_eq!(f.optional_text("first_name", Text::blank_ok(150)), None);
    assert_eq!(f.required_text("title", Text::max(10)), None);
    assert_eq!(f.required_text("missing", Text::max(10)), None);
    let errors = f.finish().expect_err("errors");
    assert_eq!(
        errors.to_json(),
        json!({
            "email": [INVALID_EMAIL],
            "first_name": [NOT_A_STRING],
            "title": [BLANK],
            "missing": [REQUIRED],
        })
    );
}

#[test]
fn null_characters_are_refused() {
    let body = json!({"name": "a\u{0}b", "password": "secret\u{0}secret"});
    let mut f = Fields::new(&body).expect("object");
    assert_eq!(f.required_text("name", Text::max(255)), None);
    assert_eq!(f.required_secret("password", 4096), None);
    assert_eq!(
        f.finish().expect_err("errors").to_json(),
        json!({"name": [NULL_CHARACTER], "password": [NULL_CHARACTER]})
    );
}

#[test]
fn non_objects_are_refused_like_drf() {
    let errors = Fields::new(&json!([1, 2])).expect_err("list");
    assert_eq!(
        errors.to_json(),
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    );
    let errors = Fields::new(&Value::Null).expect_err("null");
    assert_eq!(
        errors.to_json(),
        json!({"non_field_errors": ["No data provided"]})
    );
}

#[test]
fn long_values_are_refused_without_echo() {
    let huge = "a".repeat(1_000_000);
    let body = json!({"name": huge, "role": huge});
    let mut f = Fields::new(&body).expect("object");
    assert_eq!(f.required_text("name", Text::max(255)), None);
    assert_eq!(f.optional_choice::<crate::Role>("role"), None);
    let json = f.finish().expect_err("errors").to_json().to_string();
    assert!(json.len() < 300, "error body stays small: {json}");
}

#[test]
fn emails_are_checked_and_domains_lowercased() {
    assert_eq!(
        normalize_email("Ann.Lee@Example.COM").as_deref(),
        Some("Ann.Lee@example.com")
    );
    for bad in [
        "",
        "a",
        "a@",
        "@b.com",
        "a@b",
        "a b@c.com",
        "a@-b.com",
        "a..b@c.com",
        "a@b.c0m.1",
    ] {
        assert_eq!(normalize_email(bad), None, "{bad:?}");
    }
}

#[test]
fn text_is_stripped_of_python_whitespace_then_checked_for_blank() {
    let body = json!({
        "spaces": " ".repeat(10),
        "nbsp": "\u{a0}".repeat(10),
        "ideographic": "\u{3000}\u{1f}",
        "padded": "\u{a0} Ann \u{2003}\u{1c}",
        "zero_width": "\u{200b}",
    });
    let mut f = Fields::new(&body).expect("object");
    assert_eq!(f.required_secret("spaces", 4096), None);
    assert_eq!(f.required_secret("nbsp", 4096), None);
    assert_eq!(f.required_text("ideographic", Text::max(10)), None);
    assert_eq!(
        f.required_text("padded", Text::max(10)).as_deref(),
        Some("Ann")
    );
    // U+200B is not whitespace to Python either.
    assert_eq!(
        f.required_text("zero_width", Text::max(10)).as_deref(),
        Some("\u{200b}")
    );
    assert_eq!(
        f.finish().expect_err("errors").to_json(),
        json!({"spaces": [BLANK], "nbsp": [BLANK], "ideographic": [BLANK]})
    );
}

#[test]
fn passwords_are_trimmed_like_any_char_field() {
    let body = json!({"password": "  plum-harbor-71\t"});
    let mut f = Fields::new(&body).expect("object");
    assert_eq!(
        f.required_secret("password", 4096).as_deref(),
        Some("plum-harbor-71")
    );
}

#[test]
fn length_and_null_character_are_reported_together() {
    let body = json!({"name": "ab\u{0}cd"});
    let mut f = Fields::new(&body).expect("object");
    assert_eq!(f.required_text("name", Text::max(3)), None);
    assert_eq!(
        f.finish().expect_err("errors").to_json(),
        json!({"name": [too_long(3), NULL_CHARACTER]})
    );
}

#[test]
fn numbers_become_the_text_python_prints() {
    let cases = [
        ("12", "12"),
        ("-0", "0"),
        ("12.0", "12.0"),
        ("-0.0", "-0.0"),
        ("0.1", "0.1"),
        ("1e15", "1000000000000000.0"),
        ("1e16", "1e+16"),
        ("0.0001", "0.0001"),
        ("1e-05", "1e-05"),
        ("1.5e300", "1.5e+300"),
        ("1.2345678901234568e22", "1.2345678901234568e+22"),
        ("18446744073709551615", "18446744073709551615"),
        ("12345678901234567890123", "12345678901234567890123"),
    ];
    for (literal, python) in cases {
        let body =
            parse_json_body(format!(r#"{{"first_name": {literal}}}"#).as_bytes()).expect("json");
        let mut f = Fields::new(&body).expect("object");
        let text = f.required_text("first_name", Text::max(150));
        assert_eq!(text.as_deref(), Some(python), "{literal}");
    }
    // Plain serde_json would have rounded the 23 digits; nested values are untouched.
    let body = parse_json_body(br#"{"a": [12345678901234567890123], "b": "x"}"#).expect("json");
    assert!(body["a"][0].is_f64());
    assert_eq!(body["b"], "x");
    assert!(parse_json_body(b"{\"a\": 1,}").is_err());
}

#[test]
fn usernames_follow_djangos_unicode_validator() {
    for good in [
        "ann.lee+work@x_y-z",
        "zoë",
        "Ιωάννης",
        "ユーザー",
        "user٣",
        "ﬁle",
    ] {
        assert!(is_valid_username(good), "{good:?}");
    }
    // Spaces, slashes, a trailing newline, an empty name, a combining accent (a mark,
    // not a word character to Python) and a Devanagari vowel sign (likewise).
    for bad in ["ann lee", "ann/lee", "ann\n", "", "e\u{301}", "क\u{93e}"] {
        assert!(!is_valid_username(bad), "{bad:?}");
    }
    let body = json!({"a": "  ﬁle ", "b": "ann lee", "c": "ａｎｎ"});
    let mut f = Fields::new(&body).expect("object");
    assert_eq!(f.required_username("a").as_deref(), Some("file"));
    assert_eq!(f.required_username("b"), None);
    assert_eq!(f.required_username("c").as_deref(), Some("ann"));
    assert_eq!(
        f.finish().expect_err("errors").to_json(),
        json!({"b": [INVALID_USERNAME]})
    );
}

#[test]
fn path_uuids_are_only_the_lowercase_hyphenated_form() {
    let id = "6f1c7c1e-3b0a-4c1d-9e2f-0a1b2c3d4e5f";
    assert_eq!(parse_path_uuid(id), Uuid::parse_str(id).ok());
    for other in [
        "6F1C7C1E-3B0A-4C1D-9E2F-0A1B2C3D4E5F",
        "6f1c7c1e3b0a4c1d9e2f0a1b2c3d4e5f",
        "{6f1c7c1e-3b0a-4c1d-9e2f-0a1b2c3d4e5f}",
        "urn:uuid:6f1c7c1e-3b0a-4c1d-9e2f-0a1b2c3d4e5f",
        "6f1c7c1e-3b0a-4c1d-9e2f-0a1b2c3d4e5g",
        "",
    ] {
        assert!(Uuid::parse_str(other).is_ok() || other.is_empty() || other.ends_with('g'));
        assert_eq!(parse_path_uuid(other), None, "{other}");
    }
}

#[test]
fn body_uuids_take_pythons_forms_but_no_padding() {
    let body = json!({
        "a": "6F1C7C1E3B0A4C1D9E2F0A1B2C3D4E5F",
        "b": "{6f1c7c1e-3b0a-4c1d-9e2f-0a1b2c3d4e5f}",
        "c": " 6f1c7c1e-3b0a-4c1d-9e2f-0a1b2c3d4e5f",
        "d": 5,
    });
    let mut f = Fields::new(&body).expect("object");
    assert!(f.optional_uuid("a").is_some());
    assert!(f.optional_uuid("b").is_some());
    assert_eq!(f.optional_uuid("c"), None);
    assert_eq!(f.optional_uuid("d"), None);
    assert_eq!(
        f.finish().expect_err("errors").to_json(),
        json!({"c": [INVALID_UUID], "d": [INVALID_UUID]})
    );
}

#[test]
fn integers_follow_drfs_integer_field() {
    let body = json!({
        "int": 12, "float": 12.0, "str": " 12 ", "dec": "12.00", "under": "1_000",
        "neg": "-7", "half": 12.5, "big": 1e16, "bool": true, "word": "twelve",
        "high": 101, "low": "-1", "long": "1".repeat(1001),
    });
    let mut f = Fields::new(&body).expect("object");
    assert_eq!(f.required_int("int", 0, 100), Some(12));
    assert_eq!(f.required_int("float", 0, 100), Some(12));
    assert_eq!(f.required_int("str", 0, 100), Some(12));
    assert_eq!(f.required_int("dec", 0, 100), Some(12));
    assert_eq!(f.required_int("under", 0, 10_000), Some(1000));
    assert_eq!(f.required_int("neg", -10, 100), Some(-7));
    for bad in [
        "half", "big", "bool", "word", "high", "low", "long", "missing",
    ] {
        assert_eq!(f.required_int(bad, 0, 100), None, "{bad}");
    }
    assert_eq!(
        f.finish().expect_err("errors").to_json(),
        json!({
            "half": [INVALID_INTEGER], "big": [INVALID_INTEGER], "bool": [INVALID_INTEGER],
            "word": [INVALID_INTEGER],
            "high": ["Ensure this value is less than or equal to 100."],
            "low": ["Ensure this value is greater than or equal to 0."],
            "long": [INTEGER_STRING_TOO_LONG], "missing": [REQUIRED],
        })
    );
}

#[test]
fn booleans_follow_drfs_boolean_field() {
    let body = json!({
        "a": true, "b": "yes", "c": "Off", "d": 1, "e": 0.0, "f": "maybe", "g": 2, "h": "TrUe",
    });
    let mut f = Fields::new(&body).expect("object");
    assert_eq!(f.optional_bool("a"), Some(true));
    assert_eq!(f.optional_bool("b"), Some(true));
    assert_eq!(f.optional_bool("c"), Some(false));
    assert_eq!(f.optional_bool("d"), Some(true));
    assert_eq!(f.optional_bool("e"), Some(false));
    assert_eq!(f.optional_bool("f"), None);
    assert_eq!(f.optional_bool("g"), None);
    assert_eq!(f.optional_bool("h"), None);
    assert_eq!(f.optional_bool("absent"), None);
    assert_eq!(
        f.finish().expect_err("errors").to_json(),
        json!({"f": [INVALID_BOOLEAN], "g": [INVALID_BOOLEAN], "h": [INVALID_BOOLEAN]})
    );
}

#[test]
fn choices_are_exact_and_echo_python_text() {
    let body = json!({"a": "member", "b": " admin", "c": true, "d": [1, "x"], "e": 1.0});
    let mut f = Fields::new(&body).expect("object");
    assert_eq!(
        f.optional_choice::<crate::Role>("a"),
        Some(crate::Role::Member)
    );
    for field in ["b", "c", "d", "e"] {
        assert_eq!(f.optional_choice::<crate::Role>(field), None);
    }
    assert_eq!(
        f.finish().expect_err("errors").to_json(),
        json!({
            "b": ["\" admin\" is not a valid choice."],
            "c": ["\"True\" is not a valid choice."],
            "d": ["\"[1, 'x']\" is not a valid choice."],
            "e": ["\"1.0\" is not a valid choice."],
        })
    );
}

#[test]
fn emails_follow_djangos_validator() {
    for (input, stored) in [
        ("ann@localhost", "ann@localhost"),
        ("ann@example.123", "ann@example.123"),
        ("ann@[127.0.0.1]", "ann@[127.0.0.1]"),
        ("ann@[::1]", "ann@[::1]"),
        ("\"ann@lee\"@example.com", "\"ann@lee\"@example.com"),
        ("\"ann\\\"lee\"@example.com", "\"ann\\\"lee\"@example.com"),
        ("Ann@Exämple.COM", "Ann@exämple.com"),
        (
            &format!("{}@example.com", "a".repeat(70)),
            &format!("{}@example.com", "a".repeat(70)),
        ),
    ] {
        assert_eq!(normalize_email(input).as_deref(), Some(stored), "{input}");
    }
    for bad in [
        "\"ann lee\"@example.com",
        "ann@[127.0.0.300]",
        "ann@example.com.",
        "ann@ex_ample.com",
        "ann@example.c-",
        "ännie@example.com",
        "ann@LOCALHOST",
    ] {
        assert_eq!(normalize_email(bad), None, "{bad}");
    }
}

#[test]
fn python_int_of_reads_json_as_pythons_int() {
    for (value, int) in [
        (json!(12), Some(12)),
        (json!(12.9), Some(12)),
        (json!(-12.9), Some(-12)),
        (json!("12"), Some(12)),
        (json!(" 1_000 "), Some(1000)),
        (json!("12.5"), None),
        (json!(true), Some(1)),
        (json!(false), Some(0)),
        (json!(null), None),
        (json!([1]), None),
        (json!(u64::MAX), Some(i128::from(u64::MAX))),
    ] {
        assert_eq!(python_int_of(&value), int, "{value}");
    }
}
