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
    no_attendees: &'static str,
    no_key_points: &'static str,
    no_decisions: &'static str,
    no_action_items: &'static str,
    no_next_steps: &'static str,
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
    no_attendees: "No attendees were recorded.",
    no_key_points: "No key points were recorded.",
    no_decisions: "No decisions were recorded.",
    no_action_items: "No action items were recorded.",
    no_next_steps: "No next steps were recorded.",
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
    no_attendees: "Aucun participant n'a été relevé.",
    no_key_points: "Aucun point clé n'a été relevé.",
    no_decisions: "Aucune décision n'a été relevée.",
    no_action_items: "Aucun élément d'action n'a été relevé.",
    no_next_steps: "Aucune prochaine étape n'a été relevée.",
    unassigned: "Non attribué",
    no_due_date: "Sans échéance",
    coverage: "## Couverture",
    partial: "Seule une partie de la transcription a été traitée :",
    of: "sur",
};

/// The markdown of `content`. Every text taken from the transcript or a model is put on one
/// line, and a leading markdown block marker (`#`, `>`, `-`, …) is backslash-escaped, so no
/// text can open a heading or a section of its own. A `## Coverage` section appears only when
/// the coverage is incomplete. A list with nothing in it says so in the output language ("No
/// decisions were recorded.", "Aucune décision n'a été relevée."); `content_json` keeps the
/// empty list.
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

    bullets(&mut md, l.attendees, &content.attendees, l.no_attendees);
    bullets(&mut md, l.key_points, &content.key_points, l.no_key_points);

    let _ = writeln!(md, "{}\n", l.decisions);
    if content.decisions.is_empty() {
        let _ = writeln!(md, "{}\n", l.no_decisions);
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
        let _ = writeln!(md, "{}\n", l.no_action_items);
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

    bullets(&mut md, l.next_steps, &content.next_steps, l.no_next_steps);

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
mod tests;
