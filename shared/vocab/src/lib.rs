//! The contract's choice lists, each one enum in one place: the JSON of every function, the SQS
//! job bodies, the minutes engine and the data crate's rows all use these instead of strings
//! compared by hand.
//!
//! Each enum serializes as its contract string (`"in_progress"`), is an OpenAPI string enum
//! (`ToSchema`), parses with `FromStr` (exact strings, as DRF's `ChoiceField`: no trimming, no
//! case folding) and prints with `Display`/[`as_str`](LanguagePreference::as_str). With the
//! `sqlx` feature (meetin-data's alone) each is also a PostgreSQL `TEXT` value: the columns stay
//! `text` with their `CHECK` lists (shared/data/migrations), and a value outside the list fails
//! to decode instead of travelling on as a string.
//!
//! A new list (audit actions, export formats, …) is one more entry in the [`vocab!`] invocation
//! below, with its contract section in the doc comment, and one line in the test that holds each
//! list equal to its columns' `CHECK` (tests/tests/api/vocab.rs).
//!
//! [`drf::DateTime`] is the contract's other shared word: a timestamp as DRF writes it, for every
//! function's JSON and the live-socket frames alike.

pub mod drf;

use std::fmt;

/// A string that is not one of a list's values (`FromStr`, and decoding a row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// The list's name, e.g. `RecordingStatus`.
    pub list: &'static str,
    /// The string refused.
    pub value: String,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a {} value", self.value, self.list)
    }
}

impl std::error::Error for UnknownValue {}

/// Declares string enums: `Variant = "text"` pairs, with the derives and impls every list gets
/// (serde, `ToSchema`, `FromStr`, `Display`, `as_str`, `ALL`, and the `sqlx` mapping behind the
/// feature). Variants order as declared (`Ord`). Attributes given before `pub enum` follow the
/// derives, so `#[schema(description = …)]` may set the OpenAPI text apart from the rustdoc.
/// (`$text` is a `tt`, not a `literal`: utoipa's derive does not see a `literal` fragment in
/// `#[serde(rename = …)]` and would list the Rust variant names.)
macro_rules! vocab {
    ($(
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:tt ),+ $(,)? }
    )*) => {$(
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        $(#[$meta])*
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The contract string (what the JSON and the column hold).
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(UnknownValue { list: stringify!($name), value: s.to_owned() }),
                }
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }

            fn array_compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::postgres::PgHasArrayType>::array_compatible(ty)
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::Encode<'_, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(
                value: sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                Ok(text.parse::<Self>()?)
            }
        }
    )*};
}

vocab! {
    /// A meeting's `language_preference` (contract §1.2): the language to transcribe, or `auto`
    /// to let the provider detect it.
    #[schema(description = "The transcription language a meeting asks for.")]
    pub enum LanguagePreference { En = "en", Fr = "fr", Auto = "auto" }

    /// The language minutes are written in (`minutes.output_language`, `content_json.language`,
    /// contract §1.3), whatever language was spoken; never `auto`.
    #[schema(description = "A minutes output language (contract §1.3).")]
    pub enum OutputLanguage { En = "en", Fr = "fr" }

    /// An action item's `priority` (contract §1.3): ordered `Low < Medium < High`, default
    /// `Medium`.
    #[schema(description = "How urgent an item is.")]
    pub enum Priority { Low = "low", Medium = "medium", High = "high" }

    /// An action item's `status` (contract §1.3), default `Open` (generated items are `open`).
    #[schema(description = "Where an item stands.")]
    pub enum ItemStatus { Open = "open", InProgress = "in_progress", Done = "done", Blocked = "blocked" }

    /// A recording's `status` (contract §1.2): `created` → `uploaded` → `processing` → `ready`
    /// (or `failed`).
    #[schema(description = "Where a recording stands: `created` → `uploaded` → `processing` → `ready` (or `failed`).")]
    pub enum RecordingStatus {
        Created = "created",
        Uploaded = "uploaded",
        Processing = "processing",
        Ready = "ready",
        Failed = "failed",
    }

    /// A live session's `status` (contract §1.2): at most one `active` per meeting.
    #[schema(description = "Where a live session stands.")]
    pub enum LiveSessionStatus { Active = "active", Ended = "ended", Failed = "failed" }

    /// A minutes generation's `status` (`minutes_tasks.status`, docs/api-decisions.md
    /// "Minutes"): `queued` → `running` → `succeeded` or `failed`.
    #[schema(description = "A minutes generation's status: `queued` → `running` → `succeeded` or `failed`.")]
    pub enum TaskStatus { Queued = "queued", Running = "running", Succeeded = "succeeded", Failed = "failed" }

    /// `copilot_suggestions.type` (contract §1.5; singular, decision 3).
    pub enum SuggestionType {
        /// From `action_items`.
        ActionItem = "action_item",
        /// From `decisions`.
        Decision = "decision",
        /// From `risks`.
        Risk = "risk",
        /// From `open_questions`.
        Question = "question",
    }

    /// `copilot_suggestions.status` (contract §1.5).
    pub enum SuggestionStatus {
        /// New.
        Proposed = "proposed",
        /// Turned into an action item or a minutes entry.
        Accepted = "accepted",
        /// Dismissed.
        Rejected = "rejected",
        /// Changed by a member.
        Edited = "edited",
    }

    /// `share_links.permission` (contract §1.4): what a share link lets its holder do.
    pub enum SharePermission { View = "view", Comment = "comment", Edit = "edit" }
}

impl Default for OutputLanguage {
    /// English: what `auto` writes (contract §4.3).
    fn default() -> Self {
        Self::En
    }
}

impl Default for Priority {
    /// Contract §1.3.
    fn default() -> Self {
        Self::Medium
    }
}

impl Default for ItemStatus {
    /// Contract §1.3.
    fn default() -> Self {
        Self::Open
    }
}

impl OutputLanguage {
    /// From a language code (`en`, `fr`, `fr-FR`, `auto`, …): French when the primary tag is
    /// `fr` (any case), English otherwise. Contract §4.3: `auto` writes English.
    pub fn from_code(code: &str) -> Self {
        let primary = code.trim().split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("fr") {
            Self::Fr
        } else {
            Self::En
        }
    }
}

impl From<LanguagePreference> for OutputLanguage {
    /// The minutes language a meeting's preference gives by default: `en` for `auto`
    /// (contract §4.3).
    fn from(preference: LanguagePreference) -> Self {
        match preference {
            LanguagePreference::Fr => Self::Fr,
            LanguagePreference::En | LanguagePreference::Auto => Self::En,
        }
    }
}

impl RecordingStatus {
    /// Whether the recording's transcription has finished, for good or ill (`ready`, `failed`).
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Ready | Self::Failed)
    }
}

impl TaskStatus {
    /// Whether the generation has finished (`succeeded`, `failed`).
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use std::str::FromStr;

    /// Every value round-trips through `as_str`/`FromStr`, `Display` and JSON as its string,
    /// and the strings are distinct.
    fn round_trips<T>(all: &[T], expected: &[&str])
    where
        T: Copy + PartialEq + fmt::Debug + fmt::Display + FromStr<Err = UnknownValue>,
        T: Serialize + DeserializeOwned,
    {
        let shown: Vec<String> = all.iter().map(ToString::to_string).collect();
        assert_eq!(shown, expected);
        for &value in all {
            let text = value.to_string();
            assert_eq!(text.parse::<T>(), Ok(value));
            let json = serde_json::to_value(value).expect("serializes");
            assert_eq!(json, serde_json::Value::String(text.clone()));
            assert_eq!(serde_json::from_value::<T>(json).expect("parses"), value);
        }
    }

    #[test]
    fn every_list_round_trips_as_its_contract_strings() {
        round_trips(LanguagePreference::ALL, &["en", "fr", "auto"]);
        round_trips(OutputLanguage::ALL, &["en", "fr"]);
        round_trips(Priority::ALL, &["low", "medium", "high"]);
        round_trips(ItemStatus::ALL, &["open", "in_progress", "done", "blocked"]);
        round_trips(
            RecordingStatus::ALL,
            &["created", "uploaded", "processing", "ready", "failed"],
        );
        round_trips(LiveSessionStatus::ALL, &["active", "ended", "failed"]);
        round_trips(
            TaskStatus::ALL,
            &["queued", "running", "succeeded", "failed"],
        );
        round_trips(
            SuggestionType::ALL,
            &["action_item", "decision", "risk", "question"],
        );
        round_trips(
            SuggestionStatus::ALL,
            &["proposed", "accepted", "rejected", "edited"],
        );
        round_trips(SharePermission::ALL, &["view", "comment", "edit"]);
        assert_eq!(ItemStatus::InProgress.as_str(), "in_progress");
    }

    #[test]
    fn unknown_values_are_refused_exactly() {
        // No trimming, no case folding (DRF's ChoiceField), no Rust variant names.
        for text in ["", "EN", " en", "en ", "english", "En"] {
            assert_eq!(
                text.parse::<LanguagePreference>(),
                Err(UnknownValue {
                    list: "LanguagePreference",
                    value: text.to_owned()
                })
            );
        }
        assert!("auto".parse::<OutputLanguage>().is_err());
        assert!("InProgress".parse::<ItemStatus>().is_err());
        assert!("urgent".parse::<Priority>().is_err());
        assert!("done".parse::<TaskStatus>().is_err());
        assert!(serde_json::from_str::<RecordingStatus>(r#""deleted""#).is_err());
        assert!(serde_json::from_str::<LiveSessionStatus>(r#""Active""#).is_err());
        assert_eq!(
            "paused"
                .parse::<LiveSessionStatus>()
                .expect_err("refused")
                .to_string(),
            "`paused` is not a LiveSessionStatus value"
        );
    }

    #[test]
    fn defaults_order_and_language_bridges_follow_the_contract() {
        assert_eq!(Priority::default(), Priority::Medium);
        assert!(Priority::Low < Priority::Medium && Priority::Medium < Priority::High);
        assert_eq!(ItemStatus::default(), ItemStatus::Open);
        assert_eq!(OutputLanguage::default(), OutputLanguage::En);
        assert_eq!(
            OutputLanguage::from(LanguagePreference::Auto),
            OutputLanguage::En
        );
        assert_eq!(
            OutputLanguage::from(LanguagePreference::Fr),
            OutputLanguage::Fr
        );
        assert_eq!(OutputLanguage::from_code("fr-FR"), OutputLanguage::Fr);
        assert_eq!(OutputLanguage::from_code("auto"), OutputLanguage::En);
        assert!(RecordingStatus::Failed.is_final() && !RecordingStatus::Processing.is_final());
        assert!(TaskStatus::Succeeded.is_final() && !TaskStatus::Running.is_final());
    }

    #[test]
    fn the_openapi_schema_is_a_string_enum() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(ItemStatus::schema()).expect("JSON");
        assert_eq!(schema["type"], "string");
        assert_eq!(
            schema["enum"],
            serde_json::json!(["open", "in_progress", "done", "blocked"])
        );
        assert_eq!(schema["description"], "Where an item stands.");
    }
}
