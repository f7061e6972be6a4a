//! The reduce step: the chunks' extractions merged into one list of each, items that say the
//! same thing joined.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::content::{MAX_TITLE_CHARS, item_key};
use crate::text::{normalise, one_line, truncate_chars};
use crate::types::{Extraction, Priority};

/// An item being merged: a decision (`person` = made_by) or an action item (`person` = owner).
#[derive(Debug)]
pub(super) struct Item {
    pub(super) title: String,
    pub(super) key: String,
    pub(super) words: BTreeSet<String>,
    pub(super) numbers: BTreeSet<String>,
    pub(super) description: String,
    pub(super) person: Option<String>,
    pub(super) due_date: Option<NaiveDate>,
    pub(super) priority: Priority,
    pub(super) sources: BTreeSet<usize>,
}

impl Item {
    pub(super) fn new(
        title: &str,
        description: &str,
        person: Option<&str>,
        due_date: Option<NaiveDate>,
        priority: Priority,
        sources: &[usize],
        line_count: usize,
    ) -> Option<Item> {
        let title = truncate_chars(&one_line(title), MAX_TITLE_CHARS);
        let key = item_key(&title);
        if key.is_empty() {
            return None;
        }
        let words: BTreeSet<String> = key.split(' ').map(str::to_string).collect();
        let numbers = words
            .iter()
            .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
            .cloned()
            .collect();
        Some(Item {
            title,
            key,
            words,
            numbers,
            description: one_line(description),
            person: person.map(one_line).filter(|p| !p.is_empty()),
            due_date,
            priority,
            sources: sources
                .iter()
                .copied()
                .filter(|&i| i < line_count)
                .collect(),
        })
    }

    /// Same item: equal keys, or token Jaccard ≥ 0.8 with the same numbers ("Ship feature 12"
    /// and "Ship feature 13" differ by one word in three but are different items).
    pub(super) fn same_as(&self, other: &Item) -> bool {
        if self.key == other.key {
            return true;
        }
        if self.numbers != other.numbers {
            return false;
        }
        let common = self.words.intersection(&other.words).count();
        let union = self.words.len() + other.words.len() - common;
        union > 0 && common * 5 >= union * 4
    }

    pub(super) fn absorb(&mut self, other: Item) {
        if self.description.is_empty() {
            self.description = other.description;
        }
        if self.person.is_none() {
            self.person = other.person;
        }
        if self.due_date.is_none() {
            self.due_date = other.due_date;
        }
        self.priority = self.priority.max(other.priority);
        self.sources.extend(other.sources);
    }
}

pub(super) fn add_item(items: &mut Vec<Item>, item: Option<Item>) {
    let Some(item) = item else { return };
    match items.iter_mut().find(|i| i.same_as(&item)) {
        Some(existing) => existing.absorb(item),
        None => items.push(item),
    }
}

pub(super) fn add_text(list: &mut Vec<String>, keys: &mut BTreeSet<String>, text: &str) {
    let text = one_line(text);
    let key = normalise(&text);
    if !key.is_empty() && keys.insert(key) {
        list.push(text);
    }
}

#[derive(Debug, Default)]
pub(super) struct Merged {
    pub(super) summary: String,
    pub(super) key_points: Vec<String>,
    pub(super) next_steps: Vec<String>,
    pub(super) decisions: Vec<Item>,
    pub(super) action_items: Vec<Item>,
}

/// The reduce step: lists merged in chunk order, then items sorted by their earliest source.
pub(super) fn merge(extractions: impl Iterator<Item = Extraction>, line_count: usize) -> Merged {
    let mut merged = Merged::default();
    let mut paragraphs = Vec::new();
    let (mut paragraph_keys, mut kp_keys, mut ns_keys) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for x in extractions {
        add_text(&mut paragraphs, &mut paragraph_keys, &x.summary);
        for k in &x.key_points {
            add_text(&mut merged.key_points, &mut kp_keys, k);
        }
        for n in &x.next_steps {
            add_text(&mut merged.next_steps, &mut ns_keys, n);
        }
        for d in x.decisions {
            let item = Item::new(
                &d.title,
                &d.description,
                d.made_by.as_deref(),
                None,
                Priority::Medium,
                &d.source_lines,
                line_count,
            );
            add_item(&mut merged.decisions, item);
        }
        for a in x.action_items {
            let item = Item::new(
                &a.title,
                &a.description,
                a.owner.as_deref(),
                a.due_date,
                a.priority,
                &a.source_lines,
                line_count,
            );
            add_item(&mut merged.action_items, item);
        }
    }
    merged.summary = paragraphs.join("\n\n");
    let by_first_source = |i: &Item| i.sources.first().copied().unwrap_or(usize::MAX);
    merged.decisions.sort_by_key(by_first_source);
    merged.action_items.sort_by_key(by_first_source);
    merged
}
