use super::*;
use crate::content::{ActionItem, Confidence, Coverage, Decision, Status, TimeRange};
use chrono::{NaiveDate, TimeZone, Utc};
use uuid::Uuid;

fn content(language: Language) -> MinutesContent {
    MinutesContent {
        meeting_id: Uuid::nil(),
        meeting_title: "Weekly sync".into(),
        language,
        generated_at: Utc
            .with_ymd_and_hms(2026, 3, 4, 10, 0, 0)
            .single()
            .expect("a valid time"),
        summary: "Alice: we planned.\n\n# Injected heading\nstill here".into(),
        key_points: vec!["Budget fixed".into(), "\n## Not a heading".into()],
        next_steps: vec!["Review next week".into()],
        decisions: vec![Decision {
            id: Uuid::nil(),
            title: "Use PostgreSQL".into(),
            description: "We decided to use PostgreSQL.\n# Owned".into(),
            made_by: Some("Alice".into()),
            timestamp: Some("00:01:00".into()),
            timestamp_ms: Some(60_000),
            confidence: Confidence::High,
            source_segment_ids: vec![],
        }],
        action_items: vec![
            ActionItem {
                id: Uuid::nil(),
                title: "Send the plan".into(),
                description: "I'll send the plan.".into(),
                assignee: Some("Bob".into()),
                due_date: NaiveDate::from_ymd_opt(2026, 3, 6),
                priority: Priority::High,
                timestamp: None,
                timestamp_ms: None,
                status: Status::Open,
                confidence: Confidence::High,
                source_segment_ids: vec![],
            },
            ActionItem {
                id: Uuid::nil(),
                title: "Tidy up".into(),
                description: String::new(),
                assignee: None,
                due_date: None,
                priority: Priority::Low,
                timestamp: None,
                timestamp_ms: None,
                status: Status::Open,
                confidence: Confidence::Medium,
                source_segment_ids: vec![],
            },
        ],
        attendees: vec!["Alice".into(), "Bob".into()],
        transcript_id: Uuid::nil(),
        ai_model: "meetin-offline-1".into(),
        ai_version: "1.0".into(),
        coverage: Coverage {
            chunks: 1,
            transcript_start_ms: 0,
            transcript_end_ms: 120_000,
            ranges: vec![TimeRange {
                start_ms: 0,
                end_ms: 120_000,
            }],
            complete: true,
        },
    }
}

#[test]
fn english_layout() {
    let md = render_markdown(&content(Language::En));
    let expected = "# Weekly sync

**Generated:** 2026-03-04T10:00:00Z

**Language:** EN

## Summary

Alice: we planned.

\\# Injected heading still here

## Attendees

- Alice
- Bob

## Key Points

- Budget fixed
- \\## Not a heading

## Decisions

### Use PostgreSQL

We decided to use PostgreSQL. # Owned

**Made by:** Alice

## Action Items

### 🔴 Send the plan

I'll send the plan.

**Assignee:** Bob

**Due:** 2026-03-06

### 🟢 Tidy up

**Assignee:** Unassigned

**Due:** No due date

## Next Steps

- Review next week
";
    assert_eq!(md, expected);
    // No line taken from the transcript starts a heading.
    let headings: Vec<&str> = md.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        headings,
        vec![
            "# Weekly sync",
            "## Summary",
            "## Attendees",
            "## Key Points",
            "## Decisions",
            "### Use PostgreSQL",
            "## Action Items",
            "### 🔴 Send the plan",
            "### 🟢 Tidy up",
            "## Next Steps"
        ]
    );
}

#[test]
fn french_headings_and_labels() {
    let md = render_markdown(&content(Language::Fr));
    for expected in [
        "**Généré le:** 2026-03-04T10:00:00Z",
        "**Langue:** FR",
        "## Résumé",
        "## Participants",
        "## Points clés",
        "## Décisions",
        "**Prise par:** Alice",
        "## Éléments d'action",
        "**Responsable:** Bob",
        "**Échéance:** 2026-03-06",
        "**Responsable:** Non attribué",
        "## Prochaines étapes",
    ] {
        assert!(md.contains(expected), "missing {expected:?} in\n{md}");
    }
    for english in ["## Summary", "**Assignee:**", "## Next Steps", "Coverage"] {
        assert!(!md.contains(english), "{english:?} in French minutes");
    }
}

#[test]
fn coverage_section_only_when_incomplete() {
    let mut c = content(Language::En);
    assert!(!render_markdown(&c).contains("## Coverage"));
    c.coverage.complete = false;
    c.coverage.ranges = vec![
        TimeRange {
            start_ms: 0,
            end_ms: 40_000,
        },
        TimeRange {
            start_ms: 80_000,
            end_ms: 120_000,
        },
    ];
    let md = render_markdown(&c);
    assert!(
        md.ends_with(
            "## Coverage\n\nOnly part of the transcript was processed: \
                 00:00:00–00:00:40, 00:01:20–00:02:00 of 00:00:00–00:02:00.\n"
        ),
        "{md}"
    );
    c.language = Language::Fr;
    assert!(render_markdown(&c).contains("## Couverture\n\nSeule une partie"));
}
