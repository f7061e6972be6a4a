use chrono::NaiveDate;

use super::merge::Item;
use super::*;
use crate::types::{ExtractedActionItem, ExtractedDecision, Priority};

fn action(title: &str, owner: Option<&str>, priority: Priority, src: &[usize]) -> Item {
    Item::new(title, "", owner, None, priority, src, 100).expect("a non-empty title")
}

#[test]
fn near_equal_titles_merge_but_different_numbers_do_not() {
    let a = action(
        "Send the quarterly report to finance",
        None,
        Priority::Low,
        &[1],
    );
    let b = action(
        "send the quarterly report to the finance",
        None,
        Priority::Low,
        &[2],
    );
    let c = action(
        "Send the quarterly report 12 to finance",
        None,
        Priority::Low,
        &[3],
    );
    let d = action(
        "Send the quarterly report 13 to finance",
        None,
        Priority::Low,
        &[4],
    );
    let e = action(
        "Prepare the slides for the board meeting next month",
        None,
        Priority::Low,
        &[],
    );
    let f = action(
        "prepare the slides for the board meeting next month please",
        None,
        Priority::Low,
        &[],
    );
    let g = action("Book the venue", None, Priority::Low, &[]);
    let h = action("Book the flights", None, Priority::Low, &[]);
    assert!(a.same_as(&b));
    assert!(e.same_as(&f), "8 of 9 words shared");
    assert!(!g.same_as(&h), "2 of 4 words shared");
    assert!(!a.same_as(&c));
    assert!(!c.same_as(&d));
}

#[test]
fn merge_keeps_union_of_sources_first_owner_and_highest_priority() {
    let x1 = Extraction {
        summary: "First part.".into(),
        key_points: vec!["Budget is fixed.".into()],
        action_items: vec![ExtractedActionItem {
            title: "Book the venue".into(),
            owner: None,
            priority: Priority::Low,
            source_lines: vec![7, 3],
            ..Default::default()
        }],
        ..Default::default()
    };
    let x2 = Extraction {
        summary: "Second part.".into(),
        key_points: vec!["budget is FIXED".into(), "Launch in May.".into()],
        decisions: vec![ExtractedDecision {
            title: "  ".into(),
            ..Default::default()
        }],
        action_items: vec![ExtractedActionItem {
            title: "book the venue!".into(),
            description: "Book it before the fair.".into(),
            owner: Some("Dana".into()),
            due_date: NaiveDate::from_ymd_opt(2026, 3, 6),
            priority: Priority::High,
            source_lines: vec![9, 500],
        }],
        ..Default::default()
    };
    let m = merge([x1, x2].into_iter(), 100);
    assert_eq!(m.summary, "First part.\n\nSecond part.");
    assert_eq!(m.key_points, vec!["Budget is fixed.", "Launch in May."]);
    assert!(m.decisions.is_empty(), "blank titles are dropped");
    assert_eq!(m.action_items.len(), 1);
    let a = &m.action_items[0];
    assert_eq!(a.title, "Book the venue");
    assert_eq!(a.description, "Book it before the fair.");
    assert_eq!(a.person.as_deref(), Some("Dana"));
    assert_eq!(a.due_date, NaiveDate::from_ymd_opt(2026, 3, 6));
    assert_eq!(a.priority, Priority::High);
    assert_eq!(a.sources.iter().copied().collect::<Vec<_>>(), vec![3, 7, 9]);
}
