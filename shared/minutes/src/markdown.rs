//! `minutes.content_md`, laid out as contract §4.3 describes, with English or French headings
//! by the output language.

use std::fmt::Write;

use crate::content::MinutesContent;
use crate::text::{hms, one_line};
use crate::types::{Language, Priority};

struct Labels {
    generated: &'static str,
    language: &'static str,
    summary: &'static str,
    attendees: &'static str,
    key_points: &'static str,
    decisions: &'static str,
    made_by: &'static str,
    action_items: &'static str,
    assignee: &'static str,
    due: &'static str,
    next_steps: &'static str,
    none: &'static str,
    unassigned: &'static str,
    no_due_date: &'static str,
    coverage: &'static str,
    partial: &'static str,
    of: &'static str,
}

const EN: Labels = Labels {
    generated: "**Generated:**",
    language: "**Language:**",
    summary: "## Summary",
    attendees: "## Attendees",
    key_points: "## Key Points",
    decisions: "## Decisions",
    made_by: "**Made by:**",
    action_items: "## Action Items",
    assignee: "**Assignee:**",
    due: "**Due:**",
    next_steps: "## Next Steps",
    none: "_None_",
    unassigned: "Unassigned",
    no_due_date: "No due date",
    coverage: "## Coverage",
    partial: "Only part of the transcript was processed:",
    of: "of",
};

const FR: Labels = Labels {
    generated: "**Généré le:**",
    language: "**Langue:**",
    summary: "## Résumé",
    attendees: "## Participants",
    key_points: "## Points clés",
    decisions: "## Décisions",
    made_by: "**Prise par:**",
    action_items: "## Éléments d'action",
    assignee: "**Responsable:**",
    due: "**Échéance:**",
    next_steps: "## Prochaines étapes",
    none: "_Aucun_",
    unassigned: "Non attribué",
    no_due_date: "Sans échéance",
    coverage: "## Couverture",
    partial: "Seule une partie de la transcription a été traitée :",
    of: "sur",
};

/// The markdown of `content`. Every text taken from the transcript or a model is put on one
/// line, and a leading markdown block marker (`#`, `>`, `-`, …) is backslash-escaped, so no
/// text can open a heading or a section of its own. A `## Coverage` section appears only when
/// the coverage is incomplete.
pub fn render_markdown(content: &MinutesContent) -> String {
    let l = match content.language {
        Language::En => &EN,
        Language::Fr => &FR,
    };
    let mut md = String::new();
    // `write!` to a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(md, "# {}\n", heading(&content.meeting_title));
    let _ = writeln!(
        md,
        "{} {}\n",
        l.generated,
        content
            .generated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let _ = writeln!(
        md,
        "{} {}\n",
        l.language,
        content.language.as_str().to_uppercase()
    );

    let _ = writeln!(md, "{}\n", l.summary);
    let paragraphs: Vec<String> = content
        .summary
        .split("\n\n")
        .map(block)
        .filter(|p| !p.is_empty())
        .collect();
    if paragraphs.is_empty() {
        let _ = writeln!(md, "{}\n", l.none);
    }
    for p in paragraphs {
        let _ = writeln!(md, "{p}\n");
    }

    bullets(&mut md, l.attendees, &content.attendees, l.none);
    bullets(&mut md, l.key_points, &content.key_points, l.none);

    let _ = writeln!(md, "{}\n", l.decisions);
    if content.decisions.is_empty() {
        let _ = writeln!(md, "{}\n", l.none);
    }
    for d in &content.decisions {
        let _ = writeln!(md, "### {}\n", heading(&d.title));
        let description = block(&d.description);
        if !description.is_empty() {
            let _ = writeln!(md, "{description}\n");
        }
        if let Some(by) = &d.made_by {
            let _ = writeln!(md, "{} {}\n", l.made_by, block(by));
        }
    }

    let _ = writeln!(md, "{}\n", l.action_items);
    if content.action_items.is_empty() {
        let _ = writeln!(md, "{}\n", l.none);
    }
    for a in &content.action_items {
        let emoji = match a.priority {
            Priority::High => "🔴",
            Priority::Medium => "🟡",
            Priority::Low => "🟢",
        };
        let _ = writeln!(md, "### {emoji} {}\n", heading(&a.title));
        let description = block(&a.description);
        if !description.is_empty() {
            let _ = writeln!(md, "{description}\n");
        }
        let assignee = a
            .assignee
            .as_deref()
            .map_or(l.unassigned.to_string(), block);
        let _ = writeln!(md, "{} {assignee}\n", l.assignee);
        let due = a.due_date.map_or(l.no_due_date.to_string(), |d| {
            d.format("%Y-%m-%d").to_string()
        });
        let _ = writeln!(md, "{} {due}\n", l.due);
    }

    bullets(&mut md, l.next_steps, &content.next_steps, l.none);

    let c = &content.coverage;
    if !c.complete {
        let spans: Vec<String> = c
            .ranges
            .iter()
            .map(|r| format!("{}–{}", hms(r.start_ms), hms(r.end_ms)))
            .collect();
        let _ = writeln!(
            md,
            "{}\n\n{} {} {} {}–{}.\n",
            l.coverage,
            l.partial,
            if spans.is_empty() {
                "—".to_string()
            } else {
                spans.join(", ")
            },
            l.of,
            hms(c.transcript_start_ms),
            hms(c.transcript_end_ms)
        );
    }
    while md.ends_with("\n\n") {
        md.pop();
    }
    md
}

fn bullets(md: &mut String, title: &str, items: &[String], none: &str) {
    let _ = writeln!(md, "{title}\n");
    let items: Vec<String> = items
        .iter()
        .map(|i| block(i))
        .filter(|i| !i.is_empty())
        .collect();
    if items.is_empty() {
        let _ = writeln!(md, "{none}\n");
        return;
    }
    for item in items {
        let _ = writeln!(md, "- {item}");
    }
    md.push('\n');
}

/// Heading text: one line (a `#` inside an ATX heading is plain text).
fn heading(text: &str) -> String {
    one_line(text)
}

/// A paragraph or list item on one line, a leading block marker escaped.
fn block(text: &str) -> String {
    let line = one_line(text);
    match line.chars().next() {
        Some('#' | '>' | '-' | '+' | '*' | '=' | '|' | '`' | '~') => format!("\\{line}"),
        _ => line,
    }
}

#[cfg(test)]
mod tests {
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
}
