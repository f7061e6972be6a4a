//! The bodies of `recordings/initiate/` and `complete/`, and `initiate`'s answer. `initiate`
//! reads its body as DRF serializer fields; `complete` keeps the contract's own `{"error"}`
//! strings (`size_bytes must be a valid integer`, `Invalid size_bytes value`) and Python's
//! `int()` reading of numbers.

use meetin_core::validation::{Fields, Text, python_int_of};
use meetin_http::{ApiError, ApiResult};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /api/meetings/{id}/recordings/initiate/`: every field optional; with none, a
/// `.webm` / `audio/webm` upload of unknown size (the original's only form).
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct InitiateRequest {
    /// The client's file name; only its last extension is used (default `recording.webm`).
    #[schema(max_length = 255, example = "standup.wav")]
    pub filename: Option<String>,
    /// The MIME type the PUT will send (default from the extension, e.g. `audio/webm`).
    #[schema(max_length = 100, example = "audio/wav")]
    pub content_type: Option<String>,
    /// Bytes the PUT will send, 1 to 524 288 000 (500 MiB; 0 is `The submitted file is
    /// empty.`); when given, `complete`
    /// checks the object has exactly this size and the presigned PUT is signed for it.
    #[schema(minimum = 1, maximum = 524288000)]
    pub size_bytes: Option<i64>,
}

/// Longest `filename` and `content_type` accepted by `initiate`, in characters.
pub const FILENAME_MAX_CHARS: usize = 255;
pub const CONTENT_TYPE_MAX_CHARS: usize = 100;

/// An optional integer field in `min..=max`, with the contract's two `{"error"}` strings:
/// `<field> must be a valid integer` and `Invalid <field> value`. `null` counts as absent.
fn optional_bounded_int(body: &Value, field: &str, min: i128, max: i128) -> ApiResult<Option<i64>> {
    let Some(raw) = body.get(field).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let n = python_int_of(raw)
        .ok_or_else(|| ApiError::bad_request(format!("{field} must be a valid integer")))?;
    if !(min..=max).contains(&n) {
        return Err(ApiError::bad_request(format!("Invalid {field} value")));
    }
    i64::try_from(n)
        .map(Some)
        .map_err(|_| ApiError::bad_request(format!("Invalid {field} value")))
}

impl InitiateRequest {
    /// The body's fields, checked as DRF serializer fields and refused all at once as field
    /// errors (`{"size_bytes": ["A valid integer is required."]}`): `filename` and
    /// `content_type` are `CharField`s (text, trimmed, no U+0000, at most 255 / 100
    /// characters), `size_bytes` an `IntegerField` (`true`, `12.5` and `"x"` are refused;
    /// `"12"` and `12.0` read as 12). `null` counts as absent. An empty body reads as `{}`,
    /// one that is not an object is DRF's `non_field_errors`. Then the upload's own `{"error"}`
    /// refusals: a declared size over 500 MiB is `File too large. Maximum size is 500MB.`,
    /// 0 is `The submitted file is empty.`.
    pub fn parse(body: &Value) -> ApiResult<Self> {
        let mut f = Fields::new(body)?;
        let given = |field: &str| body.get(field).is_some_and(|v| !v.is_null());
        let filename = if given("filename") {
            f.optional_text("filename", Text::blank_ok(FILENAME_MAX_CHARS))
        } else {
            None
        };
        let content_type = if given("content_type") {
            f.optional_text("content_type", Text::blank_ok(CONTENT_TYPE_MAX_CHARS))
        } else {
            None
        };
        let size_bytes = if given("size_bytes") {
            f.optional_int("size_bytes", 0, i64::MAX)
        } else {
            None
        };
        f.finish()?;
        match size_bytes {
            Some(s) if s > crate::media::MAX_RECORDING_BYTES => {
                Err(ApiError::bad_request(crate::media::TOO_LARGE))
            }
            // Nothing to upload, and nothing `complete` could check.
            Some(0) => Err(ApiError::bad_request(crate::media::EMPTY)),
            size_bytes => Ok(Self {
                filename,
                content_type,
                size_bytes,
            }),
        }
    }
}

/// `initiate`'s answer (200).
#[derive(Debug, Serialize, ToSchema)]
pub struct InitiatedJson {
    pub recording_id: Uuid,
    /// A presigned S3 `PUT` URL, valid 3600 s, for the key `uploads/{meeting_id}/{uuid}{ext}`;
    /// the PUT must send the `Content-Type` given (or defaulted) at `initiate`, and exactly
    /// `size_bytes` bytes when those were declared.
    pub upload_url: String,
    /// `recordings/{meeting_id}/{uuid}{ext}`: where `complete` copies the checked upload (no
    /// URL is ever issued for it).
    pub storage_key: String,
}

/// `POST /api/recordings/{id}/complete/` (and `/api/meetings/recordings/{id}/complete/`).
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct CompleteRequest {
    /// Bytes uploaded, 0 to 524 288 000; must equal the object's size (and the size declared
    /// at `initiate`, if any). Python `int()` semantics: `"12"` and `12.9` read as 12.
    #[schema(minimum = 0, maximum = 524288000, value_type = Option<i64>)]
    pub size_bytes: Option<i64>,
    /// Milliseconds, 0 to 86 400 000.
    #[schema(minimum = 0, maximum = 86400000, value_type = Option<i32>)]
    pub duration_ms: Option<i32>,
}

/// Longest recording, in milliseconds (24 h, the table's CHECK).
pub const DURATION_MAX_MS: i32 = 86_400_000;

impl CompleteRequest {
    /// The contract's checks and strings, `size_bytes` first; a body that is not an object is
    /// DRF's 400 `non_field_errors`.
    pub fn parse(body: &Value) -> ApiResult<Self> {
        Fields::new(body).map_err(meetin_core::Refusal::from)?;
        let size_bytes = optional_bounded_int(
            body,
            "size_bytes",
            0,
            i128::from(crate::media::MAX_RECORDING_BYTES),
        )?;
        let duration_ms =
            optional_bounded_int(body, "duration_ms", 0, i128::from(DURATION_MAX_MS))?
                .and_then(|d| i32::try_from(d).ok());
        Ok(Self {
            size_bytes,
            duration_ms,
        })
    }
}

#[cfg(test)]
mod tests;
