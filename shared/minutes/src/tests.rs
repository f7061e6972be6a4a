//! End-to-end tests of the pipeline with both engines: the meetings they share here, each
//! engine's tests in `tests/`.

mod llm;
mod offline;
mod spoken;

use std::sync::Mutex;

use chrono::NaiveDate;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

/// Wednesday 4 March 2026.
fn meeting(language: Language) -> MeetingInfo {
    MeetingInfo {
        id: Uuid::from_u128(0xA11CE),
        title: "Quarterly planning".into(),
        date: date(2026, 3, 4),
        language,
        transcript_id: Uuid::from_u128(0x7EA),
    }
}

fn script(lines: &[(&str, &str)]) -> Vec<Line> {
    lines
        .iter()
        .enumerate()
        .map(|(i, (speaker, text))| Line {
            segment_id: Uuid::from_u128(1000 + i as u128),
            start_ms: i as i64 * 15_000,
            end_ms: i as i64 * 15_000 + 12_000,
            speaker: speaker.to_string(),
            text: text.to_string(),
        })
        .collect()
}

fn english() -> Vec<Line> {
    script(&[
        (
            "Alice Martin",
            "Good morning everyone, thanks for joining the quarterly planning meeting.",
        ),
        (
            "Bob Chen",
            "The important thing to note is that the launch date cannot move.",
        ),
        (
            "Alice Martin",
            "After a long discussion we decided to use PostgreSQL for the billing service.",
        ),
        (
            "Bob Chen",
            "Fine by me. I'll send the migration plan by Friday.",
        ),
        ("Claire Dubois", "Sure, no problem."),
        (
            "Alice Martin",
            "Claire will update the budget spreadsheet tomorrow, it is urgent.",
        ),
        (
            "Claire Dubois",
            "Bob, can you review the security checklist when you can?",
        ),
        ("Bob Chen", "Yes. Let's go with the vendor from Lyon."),
        (
            "Alice Martin",
            "Action item: David to book the venue by March 20.",
        ),
        (
            "Alice Martin",
            "The next step is to present the plan to the board next week.",
        ),
    ])
}

fn french() -> Vec<Line> {
    script(&[
        ("Claire Dubois", "Bonjour à tous, merci d\u{2019}être là."),
        (
            "Marc Petit",
            "Le point clé, c'est que le budget est fixé pour l'année.",
        ),
        (
            "Claire Dubois",
            "Nous avons décidé de lancer la version bêta en avril.",
        ),
        ("Marc Petit", "Je vais préparer la démo pour vendredi."),
        ("Sophie Laurent", "D'accord."),
        (
            "Claire Dubois",
            "Sophie va contacter le client demain, c'est urgent.",
        ),
        (
            "Sophie Laurent",
            "Marc, tu peux mettre à jour le planning avant lundi ?",
        ),
        (
            "Marc Petit",
            "Oui. On part sur l\u{2019}hébergement en France.",
        ),
        (
            "Claire Dubois",
            "Sophie doit valider le contrat le 15 mars.",
        ),
        (
            "Sophie Laurent",
            "Je m\u{2019}occupe de la réservation de la salle d\u{2019}ici la fin de semaine.",
        ),
        (
            "Claire Dubois",
            "Prochaine étape : la revue du budget la semaine prochaine.",
        ),
    ])
}

/// (title, assignee, due, priority, first source segment) of an action item.
type ActionRow = (String, Option<String>, Option<NaiveDate>, Priority, Uuid);

/// The rows of every action item.
fn actions(c: &MinutesContent) -> Vec<ActionRow> {
    c.action_items
        .iter()
        .map(|a| {
            (
                a.title.clone(),
                a.assignee.clone(),
                a.due_date,
                a.priority,
                a.source_segment_ids[0],
            )
        })
        .collect()
}

fn seg(i: u128) -> Uuid {
    Uuid::from_u128(1000 + i)
}

fn s(text: &str) -> String {
    text.to_string()
}

// ---------------------------------------------------------------------------------------------
// LLM engine with a scripted chat.

type Script = Box<dyn Fn(&str) -> Result<Value, EngineError> + Send + Sync>;

#[derive(Debug, Clone)]
struct Call {
    system: String,
    user: String,
    schema_name: String,
    schema: Value,
    max_completion_tokens: u32,
}

/// Answers each call with `script(user message)` and records the prompts.
struct FakeChat {
    script: Script,
    calls: Mutex<Vec<Call>>,
}

impl FakeChat {
    fn new(
        script: impl Fn(&str) -> Result<Value, EngineError> + Send + Sync + 'static,
    ) -> FakeChat {
        FakeChat {
            script: Box::new(script),
            calls: Mutex::new(Vec::new()),
        }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("not poisoned").clone()
    }
}

impl StructuredChat for &FakeChat {
    fn model(&self) -> String {
        "gpt-4o-mini".into()
    }

    async fn complete(
        &self,
        system: &str,
        user: &str,
        schema_name: &str,
        schema: &Value,
        max_completion_tokens: u32,
    ) -> Result<(Value, Usage), EngineError> {
        self.calls.lock().expect("not poisoned").push(Call {
            system: system.into(),
            user: user.into(),
            schema_name: schema_name.into(),
            schema: schema.clone(),
            max_completion_tokens,
        });
        let answer = (self.script)(user)?;
        Ok((
            answer,
            Usage {
                prompt_tokens: 100,
                completion_tokens: 20,
            },
        ))
    }
}

/// The refs `S{n}` the user message's transcript lines carry, in order.
fn refs_in(user: &str) -> Vec<usize> {
    user.lines()
        .filter_map(|l| l.strip_prefix("[S"))
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect()
}

fn empty_answer() -> Value {
    json!({"summary": "", "key_points": [], "decisions": [], "action_items": [], "next_steps": []})
}

#[test]
fn language_codes() {
    assert_eq!(Language::from_code("fr-FR"), Language::Fr);
    assert_eq!(Language::from_code("FR"), Language::Fr);
    assert_eq!(Language::from_code("auto"), Language::En);
    assert_eq!(Language::from_code("en"), Language::En);
    assert_eq!(Language::Fr.as_str(), "fr");
}
