//! The JSON this function speaks, one file per resource: the minutes and their generation
//! (`json/minutes.rs`), their versions and diffs (`json/version.rs`) and action items
//! (`json/action_item.rs`). Request bodies keep their documented schema beside their parser.
//! (The transcript's shapes are still in the crate root.)

mod action_item;
mod minutes;
mod version;

pub use action_item::{ActionItemJson, ActionItemPatch, ActionItemRequest, CreateItemRefusal};
pub use minutes::{
    GenerateAccepted, GenerateRequest, MinutesEditRequest, MinutesJson, ParsedEdit, TaskJson,
};
pub use version::{
    FieldChange, MinutesDiffJson, MinutesVersionDetailJson, MinutesVersionJson, VersionRef,
};
