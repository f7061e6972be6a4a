//! Request-body validation with DRF's field-error shapes and messages. A handler reads its
//! JSON object through [`Fields`], collecting every field's errors before failing once.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use uuid::Uuid;

pub const REQUIRED: &str = "This field is required.";
pub const BLANK: &str = "This field may not be blank.";
pub const NULL: &str = "This field may not be null.";
pub const NOT_A_STRING: &str = "Not a valid string.";
pub const INVALID_EMAIL: &str = "Enter a valid email address.";
pub const INVALID_UUID: &str = "Must be a valid UUID.";
/// PostgreSQL text cannot hold NUL; DRF refuses it with this message.
pub const NULL_CHARACTER: &str = "Null characters are not allowed.";
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

/// Field name → messages, rendered as `{"field": ["msg", ...]}`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn to_json(&self) -> Value {
        json!(self.0)
    }

    /// `Ok(())` when nothing was wrong.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

/// Python's name for a JSON value's type, as DRF prints it.
fn python_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Length rules for a text field.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    pub max_chars: usize,
    pub allow_blank: bool,
}

impl Text {
    pub const fn max(max_chars: usize) -> Self {
        Self {
            max_chars,
            allow_blank: false,
        }
    }

    pub const fn blank_ok(max_chars: usize) -> Self {
        Self {
            max_chars,
            allow_blank: true,
        }
    }
}

/// The body's fields plus the errors found so far.
#[derive(Debug)]
pub struct Fields<'a> {
    data: Option<&'a Map<String, Value>>,
    errors: FieldErrors,
}

impl<'a> Fields<'a> {
    /// Accepts only a JSON object, as a DRF serializer does.
    pub fn new(body: &'a Value) -> Result<Self, FieldErrors> {
        match body {
            Value::Object(map) => Ok(Self {
                data: Some(map),
                errors: FieldErrors::default(),
            }),
            Value::Null => {
                let mut errors = FieldErrors::default();
                errors.add(NON_FIELD_ERRORS, "No data provided");
                Err(errors)
            }
            other => {
                let mut errors = FieldErrors::default();
                errors.add(
                    NON_FIELD_ERRORS,
                    format!(
                        "Invalid data. Expected a dictionary, but got {}.",
                        python_type_name(other)
                    ),
                );
                Err(errors)
            }
        }
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.add(field, message);
    }

    pub fn has_error(&self, field: &str) -> bool {
        self.errors.has(field)
    }

    pub fn is_present(&self, field: &str) -> bool {
        self.data.is_some_and(|d| d.contains_key(field))
    }

    pub fn raw(&self, field: &str) -> Option<&'a Value> {
        self.data.and_then(|d| d.get(field))
    }

    /// A required string; DRF trims it and turns numbers into text.
    pub fn required_text(&mut self, field: &str, rule: Text) -> Option<String> {
        match self.raw(field) {
            None => {
                self.error(field, REQUIRED);
                None
            }
            Some(value) => self.text_value(field, value, rule),
        }
    }

    /// An optional string: `None` when absent. `null` is refused, as in DRF.
    pub fn optional_text(&mut self, field: &str, rule: Text) -> Option<String> {
        let value = self.raw(field)?;
        self.text_value(field, value, rule)
    }

    /// A password-like string: not trimmed, kept exactly as typed.
    pub fn required_secret(&mut self, field: &str, max_chars: usize) -> Option<String> {
        match self.raw(field) {
            None => {
                self.error(field, REQUIRED);
                None
            }
            Some(Value::Null) => {
                self.error(field, NULL);
                None
            }
            Some(Value::String(s)) if s.is_empty() => {
                self.error(field, BLANK);
                None
            }
            Some(Value::String(s)) if s.chars().count() > max_chars => {
                self.error(field, too_long(max_chars));
                None
            }
            Some(Value::String(s)) if s.contains('\0') => {
                self.error(field, NULL_CHARACTER);
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.error(field, NOT_A_STRING);
                None
            }
        }
    }

    fn text_value(&mut self, field: &str, value: &Value, rule: Text) -> Option<String> {
        let text = match value {
            Value::Null => {
                self.error(field, NULL);
                return None;
            }
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
                self.error(field, NOT_A_STRING);
                return None;
            }
        };
        if text.is_empty() && !rule.allow_blank {
            self.error(field, BLANK);
            return None;
        }
        if text.chars().count() > rule.max_chars {
            self.error(field, too_long(rule.max_chars));
            return None;
        }
        if text.contains('\0') {
            self.error(field, NULL_CHARACTER);
            return None;
        }
        Some(text)
    }

    /// A required email address (at most 254 characters), domain part lowercased.
    pub fn required_email(&mut self, field: &str) -> Option<String> {
        let text = self.required_text(field, Text::max(254))?;
        self.check_email(field, text)
    }

    pub fn optional_email(&mut self, field: &str) -> Option<String> {
        let text = self.optional_text(field, Text::max(254))?;
        self.check_email(field, text)
    }

    fn check_email(&mut self, field: &str, text: String) -> Option<String> {
        match normalize_email(&text) {
            Some(email) => Some(email),
            None => {
                self.error(field, INVALID_EMAIL);
                None
            }
        }
    }

    /// An optional UUID given as a string.
    pub fn optional_uuid(&mut self, field: &str) -> Option<Uuid> {
        let value = self.raw(field)?;
        match value.as_str().map(|s| Uuid::parse_str(s.trim())) {
            Some(Ok(id)) => Some(id),
            _ if value.is_null() => {
                self.error(field, NULL);
                None
            }
            _ => {
                self.error(field, INVALID_UUID);
                None
            }
        }
    }

    /// An optional value out of a fixed set, parsed with `FromStr`.
    pub fn optional_choice<T: std::str::FromStr>(&mut self, field: &str) -> Option<T> {
        let value = self.raw(field)?;
        let shown = match value {
            Value::String(s) => s.clone(),
            Value::Null => {
                self.error(field, NULL);
                return None;
            }
            other => other.to_string(),
        };
        match value.as_str().map(str::parse::<T>) {
            Some(Ok(choice)) => Some(choice),
            _ => {
                self.error(
                    field,
                    format!(
                        "\"{}\" is not a valid choice.",
                        truncate_for_message(&shown)
                    ),
                );
                None
            }
        }
    }

    /// Every error collected, or `Ok(())`.
    pub fn finish(self) -> Result<(), FieldErrors> {
        self.errors.into_result()
    }
}

pub fn too_long(max_chars: usize) -> String {
    format!("Ensure this field has no more than {max_chars} characters.")
}

/// Echoing a megabyte of input back in an error helps nobody.
fn truncate_for_message(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// Validates an address the way Django's `EmailValidator` does in spirit (a dot-atom local
/// part, a dotted domain of letters, digits and hyphens) and lowercases the domain.
pub fn normalize_email(input: &str) -> Option<String> {
    let (local, domain) = input.rsplit_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && !tld.chars().all(|c| c.is_ascii_digit()));
    (local_ok && domain_ok).then(|| format!("{local}@{}", domain.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
