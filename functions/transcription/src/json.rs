//! The JSON this function speaks, one file per resource: the minutes and their generation
//! ([`minutes`]), their versions and diffs ([`version`]) and action items ([`action_item`]).
//! Request bodies keep their documented schema beside their parser. (The transcript's shapes
//! are still in the crate root.)

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
