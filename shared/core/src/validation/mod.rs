//! Request-body validation with DRF's field-error shapes and messages. A handler reads its
//! JSON object through [`Fields`], collecting every field's errors before failing once.
//!
//! One rule per file: `python.rs` reproduces what Python prints and parses, `email.rs` and
//! `username.rs` are Django's validators, `body.rs` reads the body and path ids, `kinds.rs`
//! holds the DRF field kinds beyond text and numbers (related keys, dates, datetimes, objects,
//! lists of UUIDs) and `numbers.rs` DRF's integer and boolean fields. Everything public is
//! re-exported here.

mod body;
mod email;
mod kinds;
mod numbers;
mod python;
#[cfg(test)]
mod tests;
mod username;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use uuid::Uuid;

pub use body::{parse_json_body, parse_path_uuid};
pub use email::normalize_email;
pub use kinds::{
    DATE_FORMAT, DATETIME_FORMAT, dict_expected, has_nul, json_depth, list_expected, parse_date,
    parse_datetime, pk_does_not_exist,
};
pub use python::{
    is_python_space, python_float_repr, python_int_literal, python_int_of, python_number_str,
    python_str, python_strip, python_type,
};
pub use username::{is_valid_username, normalize_username};

pub const REQUIRED: &str = "This field is required.";
pub const BLANK: &str = "This field may not be blank.";
pub const NULL: &str = "This field may not be null.";
pub const NOT_A_STRING: &str = "Not a valid string.";
pub const INVALID_EMAIL: &str = "Enter a valid email address.";
pub const INVALID_UUID: &str = "Must be a valid UUID.";
/// PostgreSQL text cannot hold NUL; DRF refuses it with this message.
pub const NULL_CHARACTER: &str = "Null characters are not allowed.";
pub const NON_FIELD_ERRORS: &str = "non_field_errors";
/// Django's `UnicodeUsernameValidator` message.
pub const INVALID_USERNAME: &str = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
/// DRF `IntegerField`'s messages.
pub const INVALID_INTEGER: &str = "A valid integer is required.";
pub const INTEGER_STRING_TOO_LONG: &str = "String value too large.";
/// DRF `BooleanField`'s message.
pub const INVALID_BOOLEAN: &str = "Must be a valid boolean.";
/// Django's `AbstractUser.username` length.
pub const MAX_USERNAME_CHARS: usize = 150;
/// Django's `EmailField` length (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

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
                        python_type(other)
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

    /// A password: a required text field like any other (DRF's plain `CharField`, as the
    /// original's serializers declared it), so it is trimmed and a blank one is refused.
    pub fn required_secret(&mut self, field: &str, max_chars: usize) -> Option<String> {
        self.required_text(field, Text::max(max_chars))
    }

    /// DRF `CharField.run_validation`: `str()` of a string or number, stripped of Python
    /// whitespace, blank check, then every validator (length, NUL) reported together.
    fn text_value(&mut self, field: &str, value: &Value, rule: Text) -> Option<String> {
        let text = match value {
            Value::Null => {
                self.error(field, NULL);
                return None;
            }
            Value::String(s) => python_strip(s).to_owned(),
            Value::Number(n) => python_number_str(n),
            Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
                self.error(field, NOT_A_STRING);
                return None;
            }
        };
        if text.is_empty() {
            if !rule.allow_blank {
                self.error(field, BLANK);
                return None;
            }
            return Some(text);
        }
        let mut ok = true;
        if text.chars().count() > rule.max_chars {
            self.error(field, too_long(rule.max_chars));
            ok = false;
        }
        if text.contains('\0') {
            self.error(field, NULL_CHARACTER);
            ok = false;
        }
        ok.then_some(text)
    }

    /// A required username: a text field of at most 150 characters that passes Django's
    /// `UnicodeUsernameValidator`, returned NFKC-normalized as Django stores it
    /// (`AbstractBaseUser.normalize_username`), so the uniqueness check sees the stored form.
    pub fn required_username(&mut self, field: &str) -> Option<String> {
        let raw = self.required_text(field, Text::max(MAX_USERNAME_CHARS))?;
        if !is_valid_username(&raw) {
            self.error(field, INVALID_USERNAME);
            return None;
        }
        let normalized = normalize_username(&raw);
        // NFKC can lengthen a name (U+FDFA is 18 letters); Django would fail at the database.
        if normalized.chars().count() > MAX_USERNAME_CHARS {
            self.error(field, too_long(MAX_USERNAME_CHARS));
            return None;
        }
        Some(normalized)
    }

    /// A required email address (at most 254 characters), domain part lowercased.
    pub fn required_email(&mut self, field: &str) -> Option<String> {
        let text = self.required_text(field, Text::max(MAX_EMAIL_CHARS))?;
        self.check_email(field, text)
    }

    pub fn optional_email(&mut self, field: &str) -> Option<String> {
        let text = self.optional_text(field, Text::max(MAX_EMAIL_CHARS))?;
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

    /// An optional UUID given as a string in any form Python's `uuid.UUID(hex=...)` takes
    /// that `Uuid::parse_str` also takes: hyphenated, 32 hex digits, `{...}`, `urn:uuid:...`,
    /// any case; not trimmed (DRF's `UUIDField` is not a `CharField`).
    pub fn optional_uuid(&mut self, field: &str) -> Option<Uuid> {
        let value = self.raw(field)?;
        match value.as_str().map(Uuid::parse_str) {
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

    /// An optional value out of a fixed set, parsed with `FromStr` from the exact string (DRF's
    /// `ChoiceField` neither trims nor folds case); other JSON types are shown as Python's
    /// `str()` prints them (`"True" is not a valid choice.`).
    pub fn optional_choice<T: std::str::FromStr>(&mut self, field: &str) -> Option<T> {
        let value = self.raw(field)?;
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Null => {
                self.error(field, NULL);
                return None;
            }
            other => python_str(other),
        };
        match value.as_str().map(str::parse::<T>) {
            Some(Ok(choice)) => Some(choice),
            _ => {
                self.error(
                    field,
                    format!("\"{}\" is not a valid choice.", shown(&text)),
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

/// Input as an error message echoes it: the first 64 characters, then `…` when cut (echoing
/// a megabyte of input back in an error helps nobody).
pub fn shown(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}
