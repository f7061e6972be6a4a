//! Reading the request itself: the JSON body as Python's `json` reads it, and path ids as
//! Django's `<uuid:...>` converter takes them.

use std::collections::HashMap;

use serde_json::Value;
use serde_json::value::RawValue;
use uuid::Uuid;

/// A UUID in a URL path, accepted as Django's `<uuid:...>` converter does: only the
/// lowercase hyphenated 36-character form (`[0-9a-f]{8}-[0-9a-f]{4}-...-[0-9a-f]{12}`).
/// Braces, `urn:uuid:`, the 32-digit form and uppercase, which `Uuid::parse_str` takes,
/// are `None` (a 404).
pub fn parse_path_uuid(segment: &str) -> Option<Uuid> {
    let bytes = segment.as_bytes();
    let well_formed = bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        });
    well_formed.then(|| Uuid::parse_str(segment).ok()).flatten()
}

/// Parses a request body as `serde_json::from_slice` does, except that a top-level integer
/// too large for 64 bits (which serde_json rounds to an `f64`, `1.2345678901234568e22`) is
/// kept as the string of its digits: Python's `json` keeps every digit, and that string is
/// what DRF's `CharField` (`str(int)`) and `IntegerField` (`int(str)`) make of it. Nested
/// values are left as serde_json parses them.
pub fn parse_json_body(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut value: Value = serde_json::from_slice(bytes)?;
    let Value::Object(map) = &mut value else {
        return Ok(value);
    };
    if !map
        .values()
        .any(|v| matches!(v, Value::Number(n) if n.is_f64()))
    {
        return Ok(value);
    }
    // Second pass only over bodies with a float at the top: the literal text of each field.
    let raw: HashMap<String, Box<RawValue>> = serde_json::from_slice(bytes)?;
    for (key, field) in map.iter_mut() {
        if !matches!(field, Value::Number(n) if n.is_f64()) {
            continue;
        }
        let Some(literal) = raw.get(key).map(|r| r.get().trim()) else {
            continue;
        };
        if literal.contains(['.', 'e', 'E']) {
            continue;
        }
        // `-0` is an int to Python (serde_json makes it -0.0).
        *field = match (literal.parse::<i64>(), literal.parse::<u64>()) {
            (Ok(i), _) => Value::from(i),
            (_, Ok(u)) => Value::from(u),
            _ => Value::String(literal.to_owned()),
        };
    }
    Ok(value)
}
