//! The versions of a meeting's minutes and the difference between two of them.

use meetin_data::minutes::MinutesVersion;
use meetin_vocab::{OutputLanguage, drf};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// One version of a meeting's minutes in the versions list (contract §2.5
/// `minutes/versions/`, plus `version`, `source` and `output_language`). Its `content_md` is
/// left out (a page of 20 with it could pass Lambda's 6 MB): `GET minutes/versions/{id}/`
/// answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MinutesVersionJson {
    pub id: Uuid,
    /// The minutes' `version` this write made.
    pub version: i32,
    /// `generation` or `edit`.
    pub source: String,
    /// At most 131,072 bytes of JSON.
    #[schema(value_type = Object)]
    pub content_json: Value,
    pub output_language: OutputLanguage,
    /// Who asked for the generation or made the edit.
    pub created_by: Option<Uuid>,
    pub created_by_email: Option<String>,
    pub created_at: drf::DateTime,
}

impl From<MinutesVersion> for MinutesVersionJson {
    fn from(v: MinutesVersion) -> Self {
        Self {
            id: v.id,
            version: v.version,
            source: v.source,
            content_json: v.content_json,
            output_language: v.output_language,
            created_by: v.created_by_id,
            created_by_email: v.created_by_email,
            created_at: v.created_at.into(),
        }
    }
}

/// One version of a meeting's minutes with all its content (`GET minutes/versions/{id}/`).
#[derive(Debug, Serialize, ToSchema)]
pub struct MinutesVersionDetailJson {
    #[serde(flatten)]
    pub version: MinutesVersionJson,
    /// The Markdown this write left (at most 100,000 characters).
    pub content_md: String,
}

impl From<MinutesVersion> for MinutesVersionDetailJson {
    fn from(mut v: MinutesVersion) -> Self {
        let content_md = std::mem::take(&mut v.content_md);
        Self {
            version: v.into(),
            content_md,
        }
    }
}

/// A version a diff compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VersionRef {
    /// The version's id.
    pub id: Uuid,
    /// The minutes' version number it recorded.
    pub version: i32,
}

/// One field that differs between two versions.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldChange {
    /// `content_json.<top-level key>`, `content_md` or `output_language`.
    pub field: String,
    /// The value in `from`; `null` when the key is absent there.
    pub from: Value,
    /// The value in `to`; `null` when the key is absent there.
    pub to: Value,
}

/// What changed from one version of the minutes to another.
#[derive(Debug, Serialize, ToSchema)]
pub struct MinutesDiffJson {
    pub from: VersionRef,
    pub to: VersionRef,
    /// Only the fields that differ: the `content_json` keys in sorted order, then
    /// `content_md`, then `output_language`.
    pub changes: Vec<FieldChange>,
}
