//! What keeps every response of this function under Lambda's 6 MB (issue 16; docs/
//! api-decisions.md, "Response sizes").
//!
//! Lambda's limit applies to the whole invocation response: behind API Gateway that is an
//! envelope whose `body` is the JSON body **as a JSON string**, so each `"` and `\` of the body
//! counts twice ([`envelope_len`]). Stored sizes are capped where they are written (minutes
//! content, action items, their number per meeting) so that, at those caps and with the worst
//! characters (a control character is 6 bytes in the body, 7 in the envelope), every answer
//! stays under [`RESPONSE_BUDGET_BYTES`]; the transcript, whose size this function does not
//! control, is answered in parts ([`crate::transcript`]).

/// Lambda's synchronous response payload limit (6 MB), in bytes.
pub const LAMBDA_RESPONSE_MAX_BYTES: usize = 6 * 1024 * 1024;

/// What the envelope of every response of this function stays under, in bytes: Lambda's limit
/// less room for the headers and the envelope's own fields.
pub const RESPONSE_BUDGET_BYTES: usize = 6_000_000;

/// How many bytes `body` takes once API Gateway's envelope carries it as a JSON string
/// (without the quotes around it): each `"` and `\` is escaped once more. A JSON body has no
/// raw control character, so nothing else grows.
pub fn envelope_len(body: &str) -> usize {
    body.len() + body.bytes().filter(|b| *b == b'"' || *b == b'\\').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_escapes_quotes_and_backslashes_once_more() {
        for body in [r#"{"a":"b"}"#, r#"{"text":"say \"hi\" \\ \u0001 é"}"#, ""] {
            let as_string = serde_json::to_string(body).expect("string");
            assert_eq!(envelope_len(body), as_string.len() - 2, "{body}");
        }
    }
}
