//! What Python prints and parses, reproduced for DRF's messages and number rules: `str()`,
//! `repr(float)`, `str.strip()`, `int()`, and the type names DRF's messages print.

use serde_json::{Number, Value};

/// Python's name for a JSON value's type, as DRF prints it (`Expected a dictionary of items
/// but got type "list".`).
pub fn python_type(value: &Value) -> &'static str {
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

/// Python's `str.isspace()`: Unicode White_Space plus the separators U+001C–U+001F.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()`, which DRF's `CharField` applies (`trim_whitespace=True`): so ten
/// spaces, or ten no-break spaces, are blank.
pub fn python_strip(s: &str) -> &str {
    s.trim_matches(is_python_space)
}

/// Python's `str()` of the number `json.loads` makes of a JSON number: integers keep every
/// digit; floats print as Python's `repr` (`12.0`, `1e+16`, `1e-05`).
pub fn python_number_str(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    n.as_f64().map_or_else(|| n.to_string(), python_float_repr)
}

/// Python's `repr(float)`: the shortest round-tripping digits, positional when the decimal
/// exponent is in -4..16 (with `.0` when integral), otherwise `d.ddde+XX`.
pub fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    // `{:e}` gives the same shortest digits: "-1.2345e22", "1e-5", "0e0".
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let body = if (-4..16).contains(&exp) {
        if exp >= 0 {
            let point = usize::try_from(exp).unwrap_or(0) + 1;
            let padded = format!("{digits:0<point$}");
            let (int, frac) = padded.split_at(point);
            format!("{int}.{}", if frac.is_empty() { "0" } else { frac })
        } else {
            let zeros = "0".repeat(usize::try_from(-exp - 1).unwrap_or(0));
            format!("0.{zeros}{digits}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{first}{frac}e{esign}{:02}", exp.abs())
    };
    format!("{sign}{body}")
}

/// Python's `str()` of a JSON value as `json.loads` makes it (`True`, `None`, `[1, 'a']`),
/// for messages that echo the input.
pub fn python_str(value: &Value) -> String {
    fn repr(value: &Value) -> String {
        match value {
            Value::String(s) => {
                let quote = if s.contains('\'') && !s.contains('"') {
                    '"'
                } else {
                    '\''
                };
                let mut out = String::from(quote);
                for c in s.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c if c == quote => {
                            out.push('\\');
                            out.push(c);
                        }
                        c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
                        c => out.push(c),
                    }
                }
                out.push(quote);
                out
            }
            other => python_str(other),
        }
    }
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => python_number_str(n),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(repr).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", repr(&Value::String(k.clone())), repr(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// Python's `int(s)` after DRF's `IntegerField` drops a trailing `.0…`: surrounding
/// whitespace, a sign, ASCII digits with single `_` between them. `None` when Python would
/// raise (or the value does not fit 128 bits).
pub(super) fn python_int(s: &str) -> Option<i128> {
    // DRF: re.compile(r'\.0*\s*$').sub('', str(data))
    let mut s = s.trim_end_matches(is_python_space);
    if let Some(dot) = s.rfind('.')
        && s[dot + 1..].chars().all(|c| c == '0')
    {
        s = &s[..dot];
    }
    python_int_literal(s)
}

/// Python's `int(s)` of a string: surrounding whitespace, a sign, ASCII digits with single
/// `_` between them (Django's paginator reads `?page=` this way). `None` when Python would
/// raise (or the value does not fit 128 bits).
pub fn python_int_literal(s: &str) -> Option<i128> {
    let s = python_strip(s);
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let valid = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !valid {
        return None;
    }
    let magnitude: i128 = digits.replace('_', "").parse().ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Python's `int(value)` of a JSON value as `json.loads` makes it: an integer as is, a float
/// truncated toward zero (`12.9` → 12), a string by [`python_int_literal`] (`"12"` → 12,
/// `"12.5"` → none), `true`/`false` as 1/0; `null`, lists and objects are none. Not DRF's
/// `IntegerField` rule (which refuses `12.9` and booleans): the recording bodies' `{"error"}`
/// checks read numbers this way.
pub fn python_int_of(value: &Value) -> Option<i128> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.trunc() as i128)
            }),
        Value::String(s) => python_int_literal(s),
        Value::Bool(b) => Some(i128::from(*b)),
        _ => None,
    }
}
