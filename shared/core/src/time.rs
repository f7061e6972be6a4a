//! Timestamps as DRF renders them: ISO-8601 in UTC with a `Z`, microseconds when non-zero
//! (Python's `isoformat`).

use chrono::{DateTime, SecondsFormat, Timelike, Utc};

pub fn format_datetime(dt: &DateTime<Utc>) -> String {
    if dt.nanosecond() / 1000 == 0 {
        dt.to_rfc3339_opts(SecondsFormat::Secs, true)
    } else {
        dt.to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

/// `#[serde(serialize_with = "meetin_core::time::drf")]`
pub fn drf<S: serde::Serializer>(dt: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_datetime(dt))
}

/// The same for nullable timestamps.
pub fn drf_opt<S: serde::Serializer>(dt: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match dt {
        Some(dt) => drf(dt, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn renders_like_drf() {
        let whole = Utc
            .with_ymd_and_hms(2026, 11, 24, 8, 25, 0)
            .single()
            .expect("valid");
        assert_eq!(format_datetime(&whole), "2026-11-24T08:25:00Z");
        let micros = whole + chrono::Duration::microseconds(123_450);
        assert_eq!(format_datetime(&micros), "2026-11-24T08:25:00.123450Z");
    }
}
