//! Timestamps on the wire as DRF renders them (Python's `isoformat` of an aware UTC datetime):
//! ISO-8601 with a `Z`, microseconds only when non-zero. One type owns the format, as realworld's
//! `Timestamptz` does, instead of a `serialize_with` + `schema(value_type)` pair on every field.

use chrono::{SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant that serializes as DRF's `DateTimeField` does: `"2026-11-24T08:25:00Z"`,
/// `"2026-11-24T08:25:00.123450Z"`; it deserializes as any RFC 3339 time. `Option<DateTime>`
/// is `null` when absent.
///
/// The name is the OpenAPI's: `utoipa`'s derive recognises a field type whose last path segment
/// is `DateTime` (as for chrono's) and writes it inline as `{"type": "string", "format":
/// "date-time"}` (`["string", "null"]` for an `Option`), the document the attribute pair wrote.
/// Renamed, every field would become a `$ref`; the test below and the OpenAPI drift test
/// (tests/tests/api/openapi.rs) hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// The DRF text of `dt`.
pub fn format(dt: &chrono::DateTime<Utc>) -> String {
    let precision = if dt.nanosecond() / 1000 == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Micros
    };
    dt.to_rfc3339_opts(precision, true)
}

impl From<chrono::DateTime<Utc>> for DateTime {
    fn from(dt: chrono::DateTime<Utc>) -> Self {
        Self(dt)
    }
}

impl From<DateTime> for chrono::DateTime<Utc> {
    fn from(dt: DateTime) -> Self {
        dt.0
    }
}

impl std::fmt::Display for DateTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format(&self.0))
    }
}

impl Serialize for DateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(&self.0))
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        chrono::DateTime::<Utc>::deserialize(d).map(Self)
    }
}

impl utoipa::PartialSchema for DateTime {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .into()
    }
}

impl utoipa::ToSchema for DateTime {}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn whole() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 8, 25, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn renders_like_drf() {
        assert_eq!(
            serde_json::to_value(DateTime(whole())).expect("JSON"),
            json!("2026-11-24T08:25:00Z")
        );
        let micros = whole() + chrono::Duration::microseconds(123_450);
        assert_eq!(format(&micros), "2026-11-24T08:25:00.123450Z");
        // Nanoseconds below a microsecond are dropped, as Python's datetime has none.
        let nanos = whole() + chrono::Duration::nanoseconds(999);
        assert_eq!(DateTime(nanos).to_string(), "2026-11-24T08:25:00Z");
        assert_eq!(
            serde_json::to_value(None::<DateTime>).expect("JSON"),
            json!(null)
        );
        let back: DateTime =
            serde_json::from_value(json!("2026-11-24T08:25:00.123450Z")).expect("parses");
        assert_eq!(back, DateTime(micros));
    }

    #[test]
    fn the_openapi_field_is_an_inline_string_date_time() {
        #[derive(utoipa::ToSchema)]
        #[allow(dead_code)]
        struct Row {
            at: DateTime,
            maybe: Option<DateTime>,
        }
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(Row::schema()).expect("JSON");
        assert_eq!(
            schema["properties"]["at"],
            json!({"type": "string", "format": "date-time"})
        );
        assert_eq!(
            schema["properties"]["maybe"],
            json!({"type": ["string", "null"], "format": "date-time"})
        );
        assert_eq!(
            serde_json::to_value(DateTime::schema()).expect("JSON"),
            json!({"type": "string", "format": "date-time"})
        );
    }
}
