//! The reconciliation of a generation's action items with the meeting's, as a pure plan:
//! [`plan`] decides, from rows [`super::complete_task`] read and locked, which items to
//! refresh, which to keep and which to insert; `complete_task` only runs the statements.

use chrono::NaiveDate;
use meetin_vocab::Priority;
use serde_json::Value;
use sqlx::FromRow;
use uuid::Uuid;

use super::{GeneratedItem, ITEM_KEY_MAX_CHARS};
use crate::action_items::{DESCRIPTION_MAX_CHARS, SOURCE_SEGMENTS_MAX, TITLE_MAX_CHARS};

/// An action item of the meeting, as the reconciliation sees it.
#[derive(Debug, Clone, FromRow)]
pub(super) struct ExistingItem {
    pub id: Uuid,
    /// Set on generated items.
    pub generated_key: Option<String>,
    pub title: String,
    pub user_edited: bool,
}

/// A member of an organization, for matching an owner's name to an assignee.
#[derive(Debug, Clone, FromRow)]
pub(super) struct Member {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
}

/// The member named `owner`: by a speaker mapped to a user in this meeting (the speaker's
/// display name or label), else the one member whose full name, first name, username or
/// e-mail local part equals it (case-insensitively). `None` when nobody or several match.
fn assignee(owner: &str, members: &[Member], speakers: &[(String, Uuid)]) -> Option<Uuid> {
    let owner = owner.trim().to_lowercase();
    if owner.is_empty() {
        return None;
    }
    if let Some((_, user)) = speakers
        .iter()
        .find(|(name, _)| name.to_lowercase() == owner)
    {
        return Some(*user);
    }
    let matches: Vec<Uuid> = members
        .iter()
        .filter(|m| {
            let full = format!("{} {}", m.first_name.trim(), m.last_name.trim()).to_lowercase();
            let local = m.email.split('@').next().unwrap_or_default().to_lowercase();
            full.trim() == owner
                || (!m.first_name.trim().is_empty() && m.first_name.trim().to_lowercase() == owner)
                || m.username.to_lowercase() == owner
                || local == owner
        })
        .map(|m| m.id)
        .collect();
    match matches.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}
/// The fields an item write sets, cut to the action items' caps.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ItemWrite {
    pub title: String,
    pub description: String,
    pub assignee: Option<Uuid>,
    pub due_date: Option<NaiveDate>,
    pub priority: Priority,
    /// A JSON list of at most [`SOURCE_SEGMENTS_MAX`] segment ids.
    pub sources: Value,
}

/// What a generation does to the meeting's action items.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Plan {
    /// Untouched generated items proposed again, by id, refreshed in the generation's order;
    /// the other untouched generated items are deleted.
    pub updates: Vec<(Uuid, ItemWrite)>,
    /// New items with their key, in the generation's order: inserted after the deletes,
    /// while the meeting has fewer than [`crate::action_items::MAX_PER_MEETING`].
    pub inserts: Vec<(String, ItemWrite)>,
}

/// The plan for `generated` over the meeting's `existing` items (see [`super::complete_task`]):
/// a generated item whose key matches an existing item (its `generated_key`, or `key_of` its
/// title) refreshes it when it is an untouched generated item and leaves it alone otherwise;
/// a new key is inserted unless users deleted an item under it (`deleted`). Owners are
/// matched by [`assignee`] over `members` and `speakers`.
pub(super) fn plan(
    generated: &[GeneratedItem],
    existing: &[ExistingItem],
    deleted: &[String],
    members: &[Member],
    speakers: &[(String, Uuid)],
    key_of: impl Fn(&str) -> String,
) -> Plan {
    let mut plan = Plan::default();
    for item in generated {
        let key: String = item.key.chars().take(ITEM_KEY_MAX_CHARS).collect();
        let same = existing
            .iter()
            .find(|e| e.generated_key.as_deref() == Some(key.as_str()) || key_of(&e.title) == key);
        if same.is_none() && deleted.contains(&key) {
            continue;
        }
        let sources: Vec<Uuid> = item
            .source_segment_ids
            .iter()
            .take(SOURCE_SEGMENTS_MAX)
            .copied()
            .collect();
        let write = ItemWrite {
            title: item.title.chars().take(TITLE_MAX_CHARS).collect(),
            description: item
                .description
                .chars()
                .take(DESCRIPTION_MAX_CHARS)
                .collect(),
            assignee: item
                .owner
                .as_deref()
                .and_then(|o| assignee(o, members, speakers)),
            due_date: item.due_date,
            priority: item.priority,
            sources: serde_json::to_value(&sources).unwrap_or(Value::Null),
        };
        match same {
            // Created or edited by a user: theirs.
            Some(ExistingItem {
                generated_key: None,
                ..
            })
            | Some(ExistingItem {
                user_edited: true, ..
            }) => {}
            Some(e) => plan.updates.push((e.id, write)),
            None => plan.inserts.push((key, write)),
        }
    }
    plan
}

#[cfg(test)]
mod tests;
