//! DRF field kinds beyond text, numbers and choices, with DRF's messages: a related object's
//! primary key (a UUID), a date, a datetime, a JSON object with a size cap and a list of
//! UUIDs. Each reads one field of a [`Fields`] body and records its errors there.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{Fields, INVALID_UUID, NULL, NULL_CHARACTER, REQUIRED, python_type, shown};

/// DRF `DateField`'s message (with `ISO_8601` as the only input format).
pub const DATE_FORMAT: &str =
    "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.";
/// DRF `DateTimeField`'s message (with `ISO_8601` as the only input format).
pub const DATETIME_FORMAT: &str = "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].";

/// DRF `PrimaryKeyRelatedField`'s message for a well-formed key that names no object the
/// field may point at; `shown` is the key as the client wrote it (see [`shown`]).
pub fn pk_does_not_exist(shown: &str) -> String {
    format!("Invalid pk \"{shown}\" - object does not exist.")
}

/// DRF `DictField`'s message for a value that is not an object.
pub fn dict_expected(value: &Value) -> String {
    format!(
        "Expected a dictionary of items but got type \"{}\".",
        python_type(value)
    )
}

/// DRF `ListField`'s message for a value that is not a list.
pub fn list_expected(value: &Value) -> String {
    format!(
        "Expected a list of items but got type \"{}\".",
        python_type(value)
    )
}

/// Whether a key or string anywhere in `value` holds U+0000, which PostgreSQL's `jsonb`
/// cannot store.
pub fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// How deeply `value` nests: a scalar is 0, `{}` 1, `{"a": []}` 2. The body parser's
/// recursion limit (128) bounds the recursion.
pub fn json_depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(json_depth).max().unwrap_or(0),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => 0,
    }
}

/// Django's date pattern `^\d{4}-\d{1,2}-\d{1,2}$` with ASCII digits, as a real date within
/// Python's years 1–9999.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |p: &str, lens: std::ops::RangeInclusive<usize>| {
        lens.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    if parts.next().is_some() || !digits(y, 4..=4) || !digits(m, 1..=2) || !digits(d, 1..=2) {
        return None;
    }
    let year: i32 = y.parse().ok()?;
    if year < 1 {
        return None;
    }
    NaiveDate::from_ymd_opt(year, m.parse().ok()?, d.parse().ok()?)
}

/// What Python's `datetime.fromisoformat` (Django 5's first try) reads, within years
/// 1–9999: an offset or `Z`, or none (UTC); `T` or a space; optional seconds and fraction; a
/// date alone is its midnight.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let parsed = if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        at.with_timezone(&Utc)
    } else if let Ok(at) = s.parse::<DateTime<chrono::FixedOffset>>() {
        at.with_timezone(&Utc)
    } else {
        let naive = [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(s, format).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
        naive.and_utc()
    };
    use chrono::Datelike;
    (1..=9999).contains(&parsed.year()).then_some(parsed)
}

impl Fields<'_> {
    /// DRF `PrimaryKeyRelatedField` over a UUID key that may not be `null`: the id and how the
    /// client wrote it ([`shown`], for [`pk_does_not_exist`]). Absent is `None`, or "This
    /// field is required." when `required`. Whether the object exists is the caller's check.
    pub fn pk(&mut self, field: &str, required: bool) -> Option<(Uuid, String)> {
        let Some(value) = self.raw(field) else {
            if required {
                self.error(field, REQUIRED);
            }
            return None;
        };
        if value.is_null() {
            self.error(field, NULL);
            return None;
        }
        self.pk_value(field, value)
    }

    /// DRF `PrimaryKeyRelatedField(allow_null=True)` over a UUID key: absent → `None`, `null`
    /// → `Some(None)`, an id → `Some(Some((id, as the client wrote it)))`.
    pub fn optional_pk(&mut self, field: &str) -> Option<Option<(Uuid, String)>> {
        let value = self.raw(field)?;
        if value.is_null() {
            return Some(None);
        }
        self.pk_value(field, value).map(Some)
    }

    /// A non-null key: a string `Uuid::parse_str` takes, else DRF's two messages.
    fn pk_value(&mut self, field: &str, value: &Value) -> Option<(Uuid, String)> {
        let problem = match value {
            Value::String(s) => match Uuid::parse_str(s) {
                Ok(id) => return Some((id, shown(s))),
                Err(_) => format!("“{}” is not a valid UUID.", shown(s)),
            },
            other => format!(
                "Incorrect type. Expected pk value, received {}.",
                python_type(other)
            ),
        };
        self.error(field, problem);
        None
    }

    /// A nullable DRF `DateField` ([`parse_date`]; not trimmed): absent → `None`, `null` →
    /// `Some(None)`; anything else, an impossible date included, is [`DATE_FORMAT`].
    pub fn optional_date(&mut self, field: &str) -> Option<Option<NaiveDate>> {
        let value = self.raw(field)?;
        match value {
            Value::Null => Some(None),
            Value::String(s) => match parse_date(s) {
                Some(date) => Some(Some(date)),
                None => {
                    self.error(field, DATE_FORMAT);
                    None
                }
            },
            _ => {
                self.error(field, DATE_FORMAT);
                None
            }
        }
    }

    /// A nullable DRF `DateTimeField` ([`parse_datetime`] of the trimmed string; naive times
    /// are UTC, as `TIME_ZONE = "UTC"` makes them): absent → `None`, `null` → `Some(None)`;
    /// anything else is [`DATETIME_FORMAT`].
    pub fn optional_datetime(&mut self, field: &str) -> Option<Option<DateTime<Utc>>> {
        let value = self.raw(field)?;
        match value {
            Value::Null => Some(None),
            Value::String(s) => match parse_datetime(s.trim()) {
                Some(at) => Some(Some(at)),
                None => {
                    self.error(field, DATETIME_FORMAT);
                    None
                }
            },
            _ => {
                self.error(field, DATETIME_FORMAT);
                None
            }
        }
    }

    /// An optional JSON object of at most `max_bytes` bytes as compact JSON (DRF `DictField`'s
    /// message otherwise; `null` is refused). PostgreSQL's `jsonb` cannot hold U+0000, so a
    /// NUL anywhere in it is refused as in a text field.
    pub fn optional_object(&mut self, field: &str, max_bytes: usize) -> Option<Value> {
        let value = self.raw(field)?;
        match value {
            Value::Object(_) if has_nul(value) => {
                self.error(field, NULL_CHARACTER);
                None
            }
            Value::Object(_) if value.to_string().len() > max_bytes => {
                self.error(
                    field,
                    format!("Ensure this value is at most {max_bytes} bytes of JSON."),
                );
                None
            }
            Value::Object(_) => Some(value.clone()),
            Value::Null => {
                self.error(field, NULL);
                None
            }
            other => {
                self.error(field, dict_expected(other));
                None
            }
        }
    }

    /// An optional DRF `ListField(child=UUIDField(), max_length=max)`: UUID strings in any
    /// form `Uuid::parse_str` takes; `null` is refused; one bad item fails the whole list
    /// with "Must be a valid UUID.".
    pub fn optional_uuid_list(&mut self, field: &str, max: usize) -> Option<Vec<Uuid>> {
        let value = self.raw(field)?;
        let items = match value {
            Value::Array(items) => items,
            Value::Null => {
                self.error(field, NULL);
                return None;
            }
            other => {
                self.error(field, list_expected(other));
                return None;
            }
        };
        if items.len() > max {
            self.error(
                field,
                format!("Ensure this field has no more than {max} elements."),
            );
            return None;
        }
        let ids: Option<Vec<Uuid>> = items
            .iter()
            .map(|item| item.as_str().and_then(|s| Uuid::parse_str(s).ok()))
            .collect();
        if ids.is_none() {
            self.error(field, INVALID_UUID);
        }
        ids
    }
}

#[cfg(test)]
mod tests;
