//! The password rules of docs/api-decisions.md ("Accounts and tokens"): Django's length,
//! common-password and numeric validators, with their messages.

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Hashing cost grows with length; nobody types a longer password.
pub const MAX_PASSWORD_CHARS: usize = 4096;

/// The messages of the rules, as Django words them (returned by [`check_rules`]).
pub const TOO_SHORT: &str = "This password is too short. It must contain at least 10 characters.";
pub const TOO_COMMON: &str = "This password is too common.";
pub const ENTIRELY_NUMERIC: &str = "This password is entirely numeric.";

/// Every rule the password breaks, in Django's order.
pub fn check_rules(password: &str) -> Vec<&'static str> {
    let mut problems = Vec::new();
    if password.chars().count() < MIN_PASSWORD_CHARS {
        problems.push(TOO_SHORT);
    }
    if is_common(password) {
        problems.push(TOO_COMMON);
    }
    if is_python_digits(password) {
        problems.push(ENTIRELY_NUMERIC);
    }
    problems
}

/// Python's `str.isdigit()`, which Django's `NumericPasswordValidator` calls: true when the
/// text is not empty and every character is a decimal digit of any script (full-width `１`,
/// Arabic-Indic `٣`) or a digit-like sign (superscript `²`, circled `①`).
pub fn is_python_digits(text: &str) -> bool {
    !text.is_empty()
        && text.chars().all(|c| {
            PYTHON_DIGITS
                .binary_search_by(|&(lo, hi)| {
                    if hi < c {
                        std::cmp::Ordering::Less
                    } else if lo > c {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Equal
                    }
                })
                .is_ok()
        })
}

/// The characters for which Python's `str.isdigit()` is true (Numeric_Type Decimal or Digit),
/// as inclusive ranges, generated with CPython 3.11 (Unicode 14.0):
/// `[c for c in range(0x110000) if chr(c).isdigit()]`.
const PYTHON_DIGITS: &[(char, char)] = &[
    ('\u{30}', '\u{39}'),
    ('\u{B2}', '\u{B3}'),
    ('\u{B9}', '\u{B9}'),
    ('\u{660}', '\u{669}'),
    ('\u{6F0}', '\u{6F9}'),
    ('\u{7C0}', '\u{7C9}'),
    ('\u{966}', '\u{96F}'),
    ('\u{9E6}', '\u{9EF}'),
    ('\u{A66}', '\u{A6F}'),
    ('\u{AE6}', '\u{AEF}'),
    ('\u{B66}', '\u{B6F}'),
    ('\u{BE6}', '\u{BEF}'),
    ('\u{C66}', '\u{C6F}'),
    ('\u{CE6}', '\u{CEF}'),
    ('\u{D66}', '\u{D6F}'),
    ('\u{DE6}', '\u{DEF}'),
    ('\u{E50}', '\u{E59}'),
    ('\u{ED0}', '\u{ED9}'),
    ('\u{F20}', '\u{F29}'),
    ('\u{1040}', '\u{1049}'),
    ('\u{1090}', '\u{1099}'),
    ('\u{1369}', '\u{1371}'),
    ('\u{17E0}', '\u{17E9}'),
    ('\u{1810}', '\u{1819}'),
    ('\u{1946}', '\u{194F}'),
    ('\u{19D0}', '\u{19DA}'),
    ('\u{1A80}', '\u{1A89}'),
    ('\u{1A90}', '\u{1A99}'),
    ('\u{1B50}', '\u{1B59}'),
    ('\u{1BB0}', '\u{1BB9}'),
    ('\u{1C40}', '\u{1C49}'),
    ('\u{1C50}', '\u{1C59}'),
    ('\u{2070}', '\u{2070}'),
    ('\u{2074}', '\u{2079}'),
    ('\u{2080}', '\u{2089}'),
    ('\u{2460}', '\u{2468}'),
    ('\u{2474}', '\u{247C}'),
    ('\u{2488}', '\u{2490}'),
    ('\u{24EA}', '\u{24EA}'),
    ('\u{24F5}', '\u{24FD}'),
    ('\u{24FF}', '\u{24FF}'),
    ('\u{2776}', '\u{277E}'),
    ('\u{2780}', '\u{2788}'),
    ('\u{278A}', '\u{2792}'),
    ('\u{A620}', '\u{A629}'),
    ('\u{A8D0}', '\u{A8D9}'),
    ('\u{A900}', '\u{A909}'),
    ('\u{A9D0}', '\u{A9D9}'),
    ('\u{A9F0}', '\u{A9F9}'),
    ('\u{AA50}', '\u{AA59}'),
    ('\u{ABF0}', '\u{ABF9}'),
    ('\u{FF10}', '\u{FF19}'),
    ('\u{104A0}', '\u{104A9}'),
    ('\u{10A40}', '\u{10A43}'),
    ('\u{10D30}', '\u{10D39}'),
    ('\u{10E60}', '\u{10E68}'),
    ('\u{11052}', '\u{1105A}'),
    ('\u{11066}', '\u{1106F}'),
    ('\u{110F0}', '\u{110F9}'),
    ('\u{11136}', '\u{1113F}'),
    ('\u{111D0}', '\u{111D9}'),
    ('\u{112F0}', '\u{112F9}'),
    ('\u{11450}', '\u{11459}'),
    ('\u{114D0}', '\u{114D9}'),
    ('\u{11650}', '\u{11659}'),
    ('\u{116C0}', '\u{116C9}'),
    ('\u{11730}', '\u{11739}'),
    ('\u{118E0}', '\u{118E9}'),
    ('\u{11950}', '\u{11959}'),
    ('\u{11C50}', '\u{11C59}'),
    ('\u{11D50}', '\u{11D59}'),
    ('\u{11DA0}', '\u{11DA9}'),
    ('\u{16A60}', '\u{16A69}'),
    ('\u{16AC0}', '\u{16AC9}'),
    ('\u{16B50}', '\u{16B59}'),
    ('\u{1D7CE}', '\u{1D7FF}'),
    ('\u{1E140}', '\u{1E149}'),
    ('\u{1E2F0}', '\u{1E2F9}'),
    ('\u{1E950}', '\u{1E959}'),
    ('\u{1F100}', '\u{1F10A}'),
    ('\u{1FBF0}', '\u{1FBF9}'),
];

/// Django's common-password list (shared/core/data/README.md): what the original backend's
/// `CommonPasswordValidator` checked, one lowercase entry per line.
const COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords.txt");

/// True when the password, trimmed and lowercased, is an entry of Django's list, as
/// `CommonPasswordValidator` decides (`password.lower().strip() in passwords`). A scan of the
/// compiled-in text (about 160 KB, well under a millisecond) rather than a set built in
/// memory: it runs only at registration and password changes, beside a 19 MiB hash.
fn is_common(password: &str) -> bool {
    let candidate = password.trim().to_lowercase();
    !candidate.is_empty()
        && COMMON_PASSWORDS
            .lines()
            .any(|entry| entry.trim() == candidate)
}
