//! DRF's `IntegerField` and `BooleanField`, read as Python reads their input.

use serde_json::Value;

use super::python::{python_int, python_number_str};
use super::{Fields, INTEGER_STRING_TOO_LONG, INVALID_BOOLEAN, INVALID_INTEGER, NULL, REQUIRED};

impl Fields<'_> {
    /// An optional DRF `IntegerField` within `min..=max`: JSON integers, floats with no
    /// fraction (`12.0`), and strings such as `"12"`, `" -7 "`, `"1_000"`, `"12.00"`; not
    /// booleans, `12.5`, or `1e16` (Python prints it `1e+16`, which `int()` refuses).
    pub fn optional_int(&mut self, field: &str, min: i64, max: i64) -> Option<i64> {
        let value = self.raw(field)?;
        self.int_value(field, value, min, max)
    }

    /// [`Fields::optional_int`], but absence is "This field is required.".
    pub fn required_int(&mut self, field: &str, min: i64, max: i64) -> Option<i64> {
        match self.raw(field) {
            None => {
                self.error(field, REQUIRED);
                None
            }
            Some(value) => self.int_value(field, value, min, max),
        }
    }

    fn int_value(&mut self, field: &str, value: &Value, min: i64, max: i64) -> Option<i64> {
        let parsed = match value {
            Value::Null => {
                self.error(field, NULL);
                return None;
            }
            Value::String(s) if s.chars().count() > 1000 => {
                self.error(field, INTEGER_STRING_TOO_LONG);
                return None;
            }
            Value::String(s) => python_int(s),
            Value::Number(n) => python_int(&python_number_str(n)),
            Value::Bool(_) | Value::Array(_) | Value::Object(_) => None,
        };
        let Some(parsed) = parsed else {
            self.error(field, INVALID_INTEGER);
            return None;
        };
        if parsed > i128::from(max) {
            self.error(
                field,
                format!("Ensure this value is less than or equal to {max}."),
            );
            return None;
        }
        if parsed < i128::from(min) {
            self.error(
                field,
                format!("Ensure this value is greater than or equal to {min}."),
            );
            return None;
        }
        i64::try_from(parsed).ok()
    }

    /// An optional DRF `BooleanField`: `true`/`false`, `1`/`0` (also `1.0`/`0.0`), and the
    /// strings `t y yes true on 1` / `f n no false off 0` in lower, Title or UPPER case.
    pub fn optional_bool(&mut self, field: &str) -> Option<bool> {
        let value = self.raw(field)?;
        let parsed = match value {
            Value::Null => {
                self.error(field, NULL);
                return None;
            }
            Value::Bool(b) => Some(*b),
            // Python: 1 == 1.0 == True, so all three are in DRF's TRUE_VALUES set.
            Value::Number(n) => match n.as_f64() {
                Some(1.0) => Some(true),
                Some(0.0) => Some(false),
                _ => None,
            },
            Value::String(s) => match s.as_str() {
                "t" | "T" | "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on"
                | "On" | "ON" | "1" => Some(true),
                "f" | "F" | "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE"
                | "off" | "Off" | "OFF" | "0" => Some(false),
                _ => None,
            },
            Value::Array(_) | Value::Object(_) => None,
        };
        if parsed.is_none() {
            self.error(field, INVALID_BOOLEAN);
        }
        parsed
    }
}
