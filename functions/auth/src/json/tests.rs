use super::*;
use meetin_core::password;
use meetin_http::ApiError;
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
    let email = limit(meetin_core::validation::MAX_EMAIL_CHARS);
    assert_eq!(max("RegisterRequest", "email"), email);
    assert_eq!(
        max("RegisterRequest", "username"),
        limit(meetin_core::validation::MAX_USERNAME_CHARS)
    );
    assert_eq!(
        max("RegisterRequest", "password"),
        limit(password::MAX_PASSWORD_CHARS)
    );
    assert_eq!(
        max("RegisterRequest", "first_name"),
        limit(PERSON_NAME_MAX_CHARS)
    );
    assert_eq!(
        max("RegisterRequest", "last_name"),
        limit(PERSON_NAME_MAX_CHARS)
    );
    assert_eq!(max("LoginRequest", "email"), email);
    assert_eq!(
        max("LoginRequest", "password"),
        limit(password::MAX_PASSWORD_CHARS)
    );
    assert_eq!(
        max("RefreshRequest", "refresh"),
        limit(REFRESH_TOKEN_MAX_CHARS)
    );
    for field in ["old_password", "new_password"] {
        assert_eq!(
            max("PasswordChangeRequest", field),
            limit(password::MAX_PASSWORD_CHARS)
        );
    }
    assert_eq!(
        max("OrganizationRequest", "name"),
        limit(ORGANIZATION_NAME_MAX_CHARS)
    );
    assert_eq!(
        max("OrganizationPatch", "name"),
        limit(ORGANIZATION_NAME_MAX_CHARS)
    );
    assert_eq!(max("AddMemberRequest", "email"), email);
    assert_eq!(
        ORGANIZATION_NAME_MAX_CHARS,
        meetin_data::registration::ORGANIZATION_NAME_MAX_CHARS
    );
}

#[test]
fn parsers_collect_every_error() {
    let err = AddMemberRequest::parse(&json!({"email": "x", "user_id": "y", "role": "boss"}))
        .expect_err("invalid");
    let ApiError::Refused(refusal) = err else {
        panic!("not a refusal")
    };
    let body = refusal.body();
    for field in ["email", "user_id", "role", "non_field_errors"] {
        assert!(body.get(field).is_some(), "{field} missing from {body}");
    }
}
