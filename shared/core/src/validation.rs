//! Request-body validation with DRF's field-error shapes and messages. A handler reads its
//! JSON object through [`Fields`], collecting every field's errors before failing once.

use std::collections::{BTreeMap, HashMap};

use serde_json::value::RawValue;
use serde_json::{Map, Number, Value, json};
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};
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
        let shown = match value {
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
fn python_int(s: &str) -> Option<i128> {
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

/// Django's `UnicodeUsernameValidator` (`^[\w.@+-]+\Z`): one or more letters or numbers of
/// any script (Python's `\w`: general categories L and N, not combining marks) or `_ . @ + -`.
pub fn is_valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| {
            matches!(c, '_' | '.' | '@' | '+' | '-')
                || matches!(
                    c.general_category_group(),
                    GeneralCategoryGroup::Letter | GeneralCategoryGroup::Number
                )
        })
}

/// Django's `AbstractBaseUser.normalize_username`: NFKC, so `ﬁle` and `file`, or full-width
/// `ａｎｎ` and `ann`, are one username.
pub fn normalize_username(name: &str) -> String {
    name.nfkc().collect()
}

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

/// Django's `EmailValidator`: a dot-atom or quoted local part; a domain of dotted labels
/// (letters, digits, hyphens; a last label of 2–63), or `localhost`, or an `[IP literal]`,
/// or an internationalized domain whose punycode form is such a domain. Then
/// `normalize_email`: the domain part lowercased. At most 254 characters is the field's
/// own rule (checked before).
pub fn normalize_email(input: &str) -> Option<String> {
    if input.is_empty() || input.chars().count() > 320 {
        return None;
    }
    let (local, domain) = input.rsplit_once('@')?;
    if !(is_dot_atom(local) || is_quoted_local(local)) {
        return None;
    }
    let domain_ok = domain == "localhost"
        || is_domain(domain)
        || is_ip_literal(domain)
        || (!domain.is_ascii()
            && matches!(url::Host::parse(domain), Ok(url::Host::Domain(ascii)) if is_domain(&ascii)));
    domain_ok.then(|| format!("{local}@{}", domain.to_lowercase()))
}

fn is_atom_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-!#$%&'*+/=?^_`{}|~".contains(c)
}

fn is_dot_atom(local: &str) -> bool {
    local
        .split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(is_atom_char))
}

/// `"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"`
fn is_quoted_local(local: &str) -> bool {
    let Some(inner) = local
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return false;
    };
    let plain = |c: char| matches!(u32::from(c), 0x01..=0x08 | 0x0b | 0x0c | 0x0e..=0x1f | 0x21 | 0x23..=0x5b | 0x5d..=0x7f);
    let escaped = |c: char| matches!(u32::from(c), 0x01..=0x09 | 0x0b | 0x0c | 0x0e..=0x7f);
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        let ok = if c == '\\' {
            chars.next().is_some_and(escaped)
        } else {
            plain(c)
        };
        if !ok {
            return false;
        }
    }
    true
}

/// `((?:[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?\.)+)(?:[A-Z0-9-]{2,63}(?<!-))\Z`, any case.
fn is_domain(domain: &str) -> bool {
    let Some((labels, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    let label_char = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let labels_ok = labels.split('.').all(|l| {
        (1..=63).contains(&l.len())
            && l.chars().all(label_char)
            && !l.starts_with('-')
            && !l.ends_with('-')
    });
    labels_ok && (2..=63).contains(&tld.len()) && tld.chars().all(label_char) && !tld.ends_with('-')
}

/// `\[([A-F0-9:.]+)\]\Z` holding an IPv4 or IPv6 address.
fn is_ip_literal(domain: &str) -> bool {
    domain
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .is_some_and(|ip| {
            ip.chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
                && ip.parse::<std::net::IpAddr>().is_ok()
        })
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
            let body = parse_json_body(format!(r#"{{"first_name": {literal}}}"#).as_bytes())
                .expect("json");
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
}
