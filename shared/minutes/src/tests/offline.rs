//! The pipeline end to end with the offline engine.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;

#[tokio::test]
async fn english_meeting_offline() {
    let lines = english();
    let g = generate(&OfflineEngine::new(), &meeting(Language::En), &lines)
        .await
        .expect("the offline engine does not fail");
    let c = &g.content;

    let decisions: Vec<(&str, Option<&str>, &[Uuid])> = c
        .decisions
        .iter()
        .map(|d| {
            (
                d.title.as_str(),
                d.made_by.as_deref(),
                d.source_segment_ids.as_slice(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        vec![
            (
                "Use PostgreSQL for the billing service",
                Some("Alice Martin"),
                &[seg(2)][..]
            ),
            (
                "Go with the vendor from Lyon",
                Some("Bob Chen"),
                &[seg(7)][..]
            ),
        ]
    );
    assert_eq!(
        actions(c),
        vec![
            (
                s("Send the migration plan by Friday"),
                Some(s("Bob Chen")),
                Some(date(2026, 3, 6)),
                Priority::Medium,
                seg(3)
            ),
            (
                s("Update the budget spreadsheet tomorrow"),
                Some(s("Claire Dubois")),
                Some(date(2026, 3, 5)),
                Priority::High,
                seg(5)
            ),
            (
                s("Review the security checklist"),
                Some(s("Bob Chen")),
                None,
                Priority::Low,
                seg(6)
            ),
            (
                s("Book the venue by March 20"),
                Some(s("David")),
                Some(date(2026, 3, 20)),
                Priority::Medium,
                seg(8)
            ),
        ]
    );
    assert_eq!(
        c.key_points,
        vec!["The important thing to note is that the launch date cannot move."]
    );
    assert_eq!(
        c.next_steps,
        vec!["The next step is to present the plan to the board next week."]
    );
    assert_eq!(
        c.attendees,
        vec!["Alice Martin", "Bob Chen", "Claire Dubois"]
    );
    assert!(
        c.summary.contains("Alice Martin: After a long discussion we decided to use PostgreSQL for the billing service."),
        "{}",
        c.summary
    );
    // Provenance and the contract's derived fields.
    let first = &c.action_items[0];
    assert_eq!(first.timestamp.as_deref(), Some("00:00:45"));
    assert_eq!(first.timestamp_ms, Some(45_000));
    assert_eq!(first.description, "I'll send the migration plan by Friday.");
    assert_eq!(first.confidence, Confidence::High);
    assert_eq!(first.status, Status::Open);
    assert_eq!(
        first.id,
        action_item_id(
            meeting(Language::En).id,
            "Send the migration plan by Friday"
        )
    );
    assert_eq!(
        (g.chunks, g.usage, g.model.as_str()),
        (1, Usage::default(), OFFLINE_MODEL)
    );
    assert!(g.skipped.is_empty());
    assert_eq!(
        c.coverage,
        Coverage {
            chunks: 1,
            transcript_start_ms: 0,
            transcript_end_ms: 9 * 15_000 + 12_000,
            ranges: vec![TimeRange {
                start_ms: 0,
                end_ms: 147_000
            }],
            complete: true,
        }
    );
    assert!(g.markdown.starts_with("# Quarterly planning\n"));
    assert!(
        g.markdown
            .contains("### 🔴 Update the budget spreadsheet tomorrow\n")
    );
    assert!(
        g.markdown
            .contains("**Assignee:** Claire Dubois\n\n**Due:** 2026-03-05\n")
    );
    assert!(!g.markdown.contains("## Coverage"));
}

#[tokio::test]
async fn french_meeting_offline() {
    let lines = french();
    let g = generate(&OfflineEngine::new(), &meeting(Language::Fr), &lines)
        .await
        .expect("the offline engine does not fail");
    let c = &g.content;
    let decisions: Vec<(&str, Option<&str>)> = c
        .decisions
        .iter()
        .map(|d| (d.title.as_str(), d.made_by.as_deref()))
        .collect();
    assert_eq!(
        decisions,
        vec![
            ("Lancer la version bêta en avril", Some("Claire Dubois")),
            (
                "Partir sur l\u{2019}hébergement en France",
                Some("Marc Petit")
            ),
        ]
    );
    assert_eq!(
        actions(c),
        vec![
            (
                s("Préparer la démo pour vendredi"),
                Some(s("Marc Petit")),
                Some(date(2026, 3, 6)),
                Priority::Medium,
                seg(3)
            ),
            (
                s("Contacter le client demain"),
                Some(s("Sophie Laurent")),
                Some(date(2026, 3, 5)),
                Priority::High,
                seg(5)
            ),
            (
                s("Mettre à jour le planning avant lundi"),
                Some(s("Marc Petit")),
                Some(date(2026, 3, 9)),
                Priority::Medium,
                seg(6)
            ),
            (
                s("Valider le contrat le 15 mars"),
                Some(s("Sophie Laurent")),
                Some(date(2026, 3, 15)),
                Priority::Medium,
                seg(8)
            ),
            (
                s("S'occuper de la réservation de la salle d\u{2019}ici la fin de semaine"),
                Some(s("Sophie Laurent")),
                Some(date(2026, 3, 6)),
                Priority::Medium,
                seg(9)
            ),
        ]
    );
    assert_eq!(
        c.key_points,
        vec!["Le point clé, c'est que le budget est fixé pour l'année."]
    );
    assert_eq!(
        c.next_steps,
        vec!["Prochaine étape : la revue du budget la semaine prochaine."]
    );
    assert_eq!(c.language, Language::Fr);
    for heading in [
        "## Résumé",
        "## Participants",
        "## Points clés",
        "## Décisions",
        "## Éléments d'action",
        "## Prochaines étapes",
    ] {
        assert!(
            g.markdown.contains(heading),
            "{heading} missing:\n{}",
            g.markdown
        );
    }
    assert!(
        g.markdown
            .contains("**Responsable:** Marc Petit\n\n**Échéance:** 2026-03-06")
    );
}

#[tokio::test]
async fn english_speech_with_french_output_keeps_content_and_changes_headings() {
    let g = generate(&OfflineEngine::new(), &meeting(Language::Fr), &english())
        .await
        .expect("the offline engine does not fail");
    assert_eq!(
        g.content.decisions[0].title,
        "Use PostgreSQL for the billing service"
    );
    assert!(
        g.markdown
            .contains("## Décisions\n\n### Use PostgreSQL for the billing service")
    );
    assert!(g.markdown.contains("**Prise par:** Alice Martin"));
}

#[tokio::test]
async fn content_json_has_the_contract_keys() {
    let g = generate(&OfflineEngine::new(), &meeting(Language::En), &english())
        .await
        .expect("the offline engine does not fail");
    let v = serde_json::to_value(&g.content).expect("content serialises");
    let keys: BTreeSet<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "meeting_id",
        "meeting_title",
        "language",
        "generated_at",
        "summary",
        "key_points",
        "next_steps",
        "decisions",
        "action_items",
        "attendees",
        "transcript_id",
        "ai_model",
        "ai_version",
        "coverage",
    ]
    .into();
    assert_eq!(keys, expected);
    assert_eq!(v["language"], "en");
    assert_eq!(v["ai_version"], "1.0");
    assert_eq!(v["ai_model"], "meetin-offline-1");
    let generated_at = v["generated_at"].as_str().expect("a string");
    assert!(
        chrono::DateTime::parse_from_rfc3339(generated_at).is_ok(),
        "{generated_at}"
    );
    let a = &v["action_items"][1];
    assert_eq!(a["due_date"], "2026-03-05");
    assert_eq!(a["priority"], "high");
    assert_eq!(a["status"], "open");
    assert_eq!(a["confidence"], "high");
    assert_eq!(a["timestamp"], "00:01:15");
    assert_eq!(a["source_segment_ids"], json!([seg(5).to_string()]));
    assert_eq!(v["action_items"][2]["due_date"], Value::Null);
    assert_eq!(v["decisions"][0]["made_by"], "Alice Martin");
    assert_eq!(
        v["coverage"],
        json!({"chunks": 1, "transcript_start_ms": 0, "transcript_end_ms": 147_000,
               "ranges": [{"start_ms": 0, "end_ms": 147_000}], "complete": true})
    );
    // And back.
    let back: MinutesContent = serde_json::from_value(v).expect("content deserialises");
    assert_eq!(back, g.content);
}

#[tokio::test]
async fn ids_are_deterministic_across_runs() {
    let engine = OfflineEngine::new();
    let a = generate(&engine, &meeting(Language::En), &english())
        .await
        .expect("ok");
    let b = generate(&engine, &meeting(Language::En), &english())
        .await
        .expect("ok");
    let ids = |g: &Generated| -> Vec<Uuid> {
        g.content
            .decisions
            .iter()
            .map(|d| d.id)
            .chain(g.content.action_items.iter().map(|a| a.id))
            .collect()
    };
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(
        ids(&a).iter().collect::<BTreeSet<_>>().len(),
        6,
        "ids are distinct"
    );
    let mut b_content = b.content.clone();
    b_content.generated_at = a.content.generated_at;
    assert_eq!(a.content, b_content);
    // Another meeting gives other ids for the same titles.
    let mut other = meeting(Language::En);
    other.id = Uuid::from_u128(0xB0B);
    let c = generate(&engine, &other, &english()).await.expect("ok");
    assert_ne!(ids(&a), ids(&c));
    assert_eq!(
        item_key("  Send the migration-plan, by FRIDAY! "),
        "send the migration plan by friday"
    );
}

#[tokio::test]
async fn empty_transcript_says_nothing_was_said() {
    let chat = FakeChat::new(|_| panic!("the engine must not be called"));
    let g = generate(&LlmEngine::new(&chat), &meeting(Language::En), &[])
        .await
        .expect("no error");
    assert_eq!(
        g.content.summary,
        "Nothing was said in this meeting: the transcript is empty."
    );
    assert!(g.content.decisions.is_empty() && g.content.action_items.is_empty());
    assert_eq!(g.chunks, 0);
    assert!(g.content.coverage.complete);
    assert!(g.markdown.contains("## Summary\n\nNothing was said"));
    let silent = script(&[("Alice", "  "), ("Bob", "\n")]);
    let g = generate(&OfflineEngine::new(), &meeting(Language::Fr), &silent)
        .await
        .expect("no error");
    assert_eq!(
        g.content.summary,
        "Rien n'a été dit pendant cette réunion : la transcription est vide."
    );
    assert_eq!(g.content.attendees, vec!["Alice", "Bob"]);
}

#[tokio::test]
async fn three_hour_transcript_in_small_chunks() {
    let lines = synthetic_transcript(3.0);
    assert_eq!(lines.len(), 1350);
    let budget = 2_000;
    let chunks = chunk_transcript(&lines, budget);
    assert!(chunks.len() >= 10, "{} chunks", chunks.len());
    assert!(chunks.iter().all(|c| c.estimated_tokens <= budget));
    // Some decision line sits in the overlap of two chunks, so the merge is really tested.
    let in_overlap = chunks.windows(2).any(|w| {
        (w[1].first_line()..=w[0].last_line()).any(|i| lines[i].text.contains("we decided"))
    });
    assert!(in_overlap);

    let g = generate(
        &OfflineEngine::with_chunk_budget(budget),
        &meeting(Language::En),
        &lines,
    )
    .await
    .expect("the offline engine does not fail");
    assert_eq!(g.chunks, chunks.len());
    let c = &g.content;
    assert_eq!(
        c.coverage,
        Coverage {
            chunks: chunks.len(),
            transcript_start_ms: 0,
            transcript_end_ms: 1349 * 8_000 + 6_500,
            ranges: vec![TimeRange {
                start_ms: 0,
                end_ms: 1349 * 8_000 + 6_500
            }],
            complete: true,
        }
    );
    let (decisions, action_items) = synthetic_item_counts(lines.len());
    assert_eq!(c.decisions.len(), decisions);
    assert_eq!(c.action_items.len(), action_items);
    let ids: BTreeSet<Uuid> = c
        .decisions
        .iter()
        .map(|d| d.id)
        .chain(c.action_items.iter().map(|a| a.id))
        .collect();
    assert_eq!(ids.len(), decisions + action_items, "no duplicate items");
    for d in &c.decisions {
        assert_eq!(d.source_segment_ids.len(), 1, "{d:?}");
    }
    for a in &c.action_items {
        let i = a.source_segment_ids[0].as_u128() as usize - 1;
        assert_eq!(a.title, format!("Prepare report {i} by Friday"));
        assert_eq!(a.assignee.as_deref(), Some(lines[i].speaker.as_str()));
        assert_eq!(a.due_date, Some(date(2026, 3, 6)));
        assert_eq!(a.timestamp_ms, Some(lines[i].start_ms));
    }
    // Items come in time order.
    let times: Vec<i64> = c
        .action_items
        .iter()
        .filter_map(|a| a.timestamp_ms)
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]));
    // One summary paragraph per chunk.
    assert_eq!(c.summary.split("\n\n").count(), chunks.len());
}

#[tokio::test]
async fn talk_is_not_a_task() {
    let lines = script(&[
        (
            "Alice Martin",
            "I'll be honest, the numbers are tight. Can you hear me?",
        ),
        (
            "Bob Chen",
            "It will rain tomorrow. Monday will be busy. Let me share my screen.",
        ),
        (
            "Marc Petit",
            "Je vais vous montrer l'écran. Le client va payer en mai. Ça va être compliqué.",
        ),
        ("Marc Petit", "Yes please. OK, that's what we agreed."),
    ]);
    let g = generate(&OfflineEngine::new(), &meeting(Language::En), &lines)
        .await
        .expect("the offline engine does not fail");
    assert!(
        g.content.action_items.is_empty(),
        "{:?}",
        g.content.action_items
    );
    assert!(g.content.decisions.is_empty(), "{:?}", g.content.decisions);
}
