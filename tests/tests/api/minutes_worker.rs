//! The minutes worker: generate → 202 → worker → minutes, a version and action items, with
//! the offline engine (no key) and with OpenAI / Azure OpenAI (the fake in test-support);
//! the task through its states; regeneration; redelivery; poison; the LLM's failure kinds;
//! a 3-hour transcript chunked with full coverage.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use http::StatusCode;
use lambda_runtime::LambdaEvent;
use meetin_messages::jobs::{GenerateMinutes, OutputLanguage};
use meetin_test_support::fake_openai::{Failure, FakeOpenAi};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Account, TestApp};
use crate::minutes::{app_with_own_minutes_queue, insert_transcript};
use crate::recordings::{meeting, set_language};

/// A scripted English stand-up (speaker, start s, text).
pub(crate) const STANDUP: &[(&str, u32, &str)] = &[
    (
        "Alice",
        0,
        "Welcome everyone, let's review the launch plan.",
    ),
    (
        "Bob",
        10,
        "We decided to move the launch to the second week of March.",
    ),
    ("Alice", 20, "Bob will send the migration plan by Friday."),
    (
        "Bob",
        30,
        "I'll update the pricing page tomorrow, it is urgent.",
    ),
    (
        "Alice",
        40,
        "Next step: a review with the sales team next week.",
    ),
];

/// A scripted French meeting.
const REUNION: &[(&str, u32, &str)] = &[
    (
        "Claire",
        0,
        "Bonjour à tous, on fait le point sur le budget.",
    ),
    ("David", 12, "On a décidé de garder le prestataire actuel."),
    ("Claire", 24, "David doit envoyer le compte rendu demain."),
    ("David", 36, "Je vais préparer le budget pour vendredi."),
];

/// Sets the meeting's date (the day relative due dates resolve against): Monday 2026-03-02.
async fn on_monday(app: &TestApp, meeting: Uuid) {
    sqlx::query("UPDATE meetings SET scheduled_at = '2026-03-02T09:00:00Z' WHERE id = $1")
        .bind(meeting)
        .execute(&app.pool)
        .await
        .expect("date");
}

/// Names the caller `first_name` (so an owner named so is assigned to them).
async fn name(app: &TestApp, who: &Account, first_name: &str) {
    sqlx::query("UPDATE users SET first_name = $2 WHERE id = $1")
        .bind(who.id)
        .bind(first_name)
        .execute(&app.pool)
        .await
        .expect("name");
}

/// Runs the local stack's poller for `worker` on `queue` until the sender is used or dropped.
fn start_poller(
    app: &TestApp,
    worker: std::sync::Arc<minutes_worker::Worker>,
    queue: &str,
) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(meetin_local::workers::poll(
        "minutes-worker",
        app.uploads.jobs.sqs().clone(),
        queue.to_owned(),
        move |event| {
            let worker = worker.clone();
            async move { meetin_worker::handle_batch(event, worker.as_ref()).await }
        },
        async move {
            let _ = stopped.await;
        },
    ));
    stop
}

pub(crate) fn record(id: &str, body: &str, receive: u32) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_owned());
    m.body = Some(body.to_owned());
    m.attributes
        .insert("ApproximateReceiveCount".into(), receive.to_string());
    m
}

pub(crate) async fn handle(
    worker: &minutes_worker::Worker,
    records: Vec<SqsMessage>,
) -> SqsBatchResponse {
    let mut event = SqsEvent::default();
    event.records = records;
    meetin_worker::handle_batch(LambdaEvent::new(event, Default::default()), worker)
        .await
        .expect("the handler answers")
}

pub(crate) fn failures(response: &SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

/// POSTs `minutes/generate/` and takes its job off the app's own queue: (task id, job body).
pub(crate) async fn generate(
    app: &TestApp,
    queue: &str,
    who: &Account,
    meeting: Uuid,
) -> (Uuid, String) {
    let r = app
        .post(
            &format!("/api/transcription/meetings/{meeting}/minutes/generate/"),
            json!({}),
            Some(&who.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    let task: Uuid = r.body["task_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("task_id");
    let out = app
        .uploads
        .jobs
        .sqs()
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("receive");
    let messages = out.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1, "one job per generate");
    let body = messages[0].body().expect("body").to_owned();
    for m in messages {
        app.uploads
            .jobs
            .sqs()
            .delete_message()
            .queue_url(queue)
            .receipt_handle(m.receipt_handle.unwrap_or_default())
            .send()
            .await
            .expect("delete");
    }
    (task, body)
}

pub(crate) async fn task_status(app: &TestApp, who: &Account, task: Uuid) -> Value {
    let r = app
        .get(&format!("/api/transcription/tasks/{task}/"), &who.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    r.body
}

pub(crate) async fn minutes_of(app: &TestApp, who: &Account, meeting: Uuid) -> Value {
    let r = app
        .get(
            &format!("/api/transcription/meetings/{meeting}/minutes/"),
            &who.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        r.headers.get("etag").and_then(|v| v.to_str().ok()),
        Some(format!("\"{}\"", r.body["version"]).as_str())
    );
    r.body
}

pub(crate) fn item<'a>(minutes: &'a Value, title_part: &str) -> &'a Value {
    minutes["action_items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| {
            i["title"]
                .as_str()
                .is_some_and(|t| t.to_lowercase().contains(title_part))
        })
        .unwrap_or_else(|| panic!("no action item with {title_part:?} in {minutes:#}"))
}

#[tokio::test]
async fn offline_minutes_in_english_through_every_task_state() {
    let (app, queue) = app_with_own_minutes_queue().await;
    let worker = app.minutes_worker(&[]).await;
    assert_eq!(worker.engine.model(), "meetin-offline-1");
    let alice = app.register().await;
    let bob = app.register().await;
    app.add_member(&alice, alice.org_id, &bob, "member").await;
    name(&app, &alice, "Alice").await;
    name(&app, &bob, "Bob").await;
    let m = meeting(&app, &alice).await;
    on_monday(&app, m).await;
    insert_transcript(&app, m, STANDUP).await;

    let (task, body) = generate(&app, &queue, &alice, m).await;
    assert_eq!(task_status(&app, &alice, task).await["status"], "queued");
    // The worker starts it; while it is `running`, the status says so.
    sqlx::query("UPDATE minutes_tasks SET status = 'running' WHERE id = $1")
        .bind(task)
        .execute(&app.pool)
        .await
        .expect("running");
    assert_eq!(task_status(&app, &alice, task).await["status"], "running");
    let r = handle(&worker, vec![record("m1", &body, 2)]).await;
    assert!(failures(&r).is_empty());

    let status = task_status(&app, &alice, task).await;
    assert_eq!(status["status"], "succeeded", "{status}");
    assert_eq!(status["engine"], "meetin-offline-1");
    assert_eq!(status["prompt_tokens"], 0);
    let minutes = minutes_of(&app, &alice, m).await;
    assert_eq!(status["minutes"], minutes["id"]);
    assert_eq!(minutes["generated_by_model"], "meetin-offline-1");
    assert_eq!(minutes["output_language"], "en");
    assert_eq!(minutes["version"], 1);
    let content = &minutes["content_json"];
    assert_eq!(content["meeting_id"], json!(m));
    let decisions = content["decisions"].as_array().expect("decisions");
    assert!(
        decisions
            .iter()
            .any(|d| d["title"].as_str().is_some_and(|t| t.contains("launch"))),
        "{content:#}"
    );
    assert_eq!(content["attendees"], json!(["Alice", "Bob"]));
    assert_eq!(content["coverage"]["complete"], true);
    // Owned, dated action items: Friday and tomorrow of Monday 2 March 2026.
    let plan = item(&minutes, "migration plan");
    assert_eq!(plan["assignee"], json!(bob.id));
    assert_eq!(plan["assignee_email"], json!(bob.email));
    assert_eq!(plan["due_date"], "2026-03-06");
    let pricing = item(&minutes, "pricing page");
    assert_eq!(pricing["assignee"], json!(bob.id));
    assert_eq!(pricing["due_date"], "2026-03-03");
    assert_eq!(pricing["priority"], "high");
    assert!(
        pricing["source_segment_ids"]
            .as_array()
            .is_some_and(|s| s.len() == 1)
    );
    let md = minutes["content_md"].as_str().expect("md");
    assert!(
        md.contains("## Action Items") && md.contains("## Decisions"),
        "{md}"
    );
    // The version row: a generation, by the member who asked.
    let (source, by): (String, Option<Uuid>) = sqlx::query_as(
        "SELECT v.source, v.created_by_id FROM minutes_versions v JOIN minutes mi \
         ON mi.id = v.minutes_id WHERE mi.meeting_id = $1",
    )
    .bind(m)
    .fetch_one(&app.pool)
    .await
    .expect("one version");
    assert_eq!((source.as_str(), by), ("generation", Some(alice.id)));
}

#[tokio::test]
async fn offline_minutes_in_french() {
    let (app, queue) = app_with_own_minutes_queue().await;
    let worker = app.minutes_worker(&[]).await;
    let claire = app.register().await;
    let david = app.register().await;
    app.add_member(&claire, claire.org_id, &david, "member")
        .await;
    name(&app, &david, "David").await;
    let m = meeting(&app, &claire).await;
    on_monday(&app, m).await;
    set_language(&app, &claire, m, "fr").await;
    insert_transcript(&app, m, REUNION).await;
    let (_, body) = generate(&app, &queue, &claire, m).await;
    let job: GenerateMinutes = meetin_messages::jobs::parse_as(&body).expect("job");
    assert_eq!(
        job.output_language,
        OutputLanguage::Fr,
        "the meeting's language"
    );
    assert!(failures(&handle(&worker, vec![record("f", &body, 1)]).await).is_empty());

    let minutes = minutes_of(&app, &claire, m).await;
    assert_eq!(minutes["output_language"], "fr");
    let content = &minutes["content_json"];
    assert!(
        content["decisions"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["title"]
                .as_str()
                .is_some_and(|t| t.contains("prestataire")))),
        "{content:#}"
    );
    let report = item(&minutes, "compte rendu");
    assert_eq!(report["assignee"], json!(david.id));
    assert_eq!(report["due_date"], "2026-03-03");
    let budget = item(&minutes, "budget");
    assert_eq!(budget["assignee"], json!(david.id));
    assert_eq!(budget["due_date"], "2026-03-06");
    let md = minutes["content_md"].as_str().expect("md");
    assert!(
        md.contains("## Éléments d'action") && md.contains("## Décisions"),
        "{md}"
    );
}

#[tokio::test]
async fn regeneration_duplicates_no_item_and_keeps_user_edits() {
    let (app, queue) = app_with_own_minutes_queue().await;
    let worker = app.minutes_worker(&[]).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    on_monday(&app, m).await;
    insert_transcript(&app, m, STANDUP).await;
    let (_, body) = generate(&app, &queue, &a, m).await;
    assert!(failures(&handle(&worker, vec![record("1", &body, 1)]).await).is_empty());
    let first = minutes_of(&app, &a, m).await;
    let count = first["action_items"].as_array().expect("items").len();
    assert!(count >= 2, "{first:#}");

    // A user edits one generated item and adds their own.
    let edited = item(&first, "pricing page")["id"]
        .as_str()
        .expect("id")
        .parse::<Uuid>()
        .expect("uuid");
    sqlx::query(
        "UPDATE action_items SET title = 'Pricing page (Bob owns it)', status = 'in_progress', \
         user_edited = true WHERE id = $1",
    )
    .bind(edited)
    .execute(&app.pool)
    .await
    .expect("edit");
    let minutes_id: Uuid = first["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    sqlx::query(
        "INSERT INTO action_items (meeting_id, minutes_id, title) VALUES ($1, $2, 'Book the room')",
    )
    .bind(m)
    .bind(minutes_id)
    .execute(&app.pool)
    .await
    .expect("user item");

    let (_, body) = generate(&app, &queue, &a, m).await;
    assert!(failures(&handle(&worker, vec![record("2", &body, 1)]).await).is_empty());
    let second = minutes_of(&app, &a, m).await;
    assert_eq!(second["version"], 2);
    assert_eq!(second["id"], first["id"], "the same minutes, a new version");
    let items = second["action_items"].as_array().expect("items");
    // The generated items once each, plus the user's: the edited one was not re-added.
    assert_eq!(items.len(), count + 1, "{second:#}");
    let mine = items
        .iter()
        .find(|i| i["id"] == json!(edited))
        .expect("the edited item survives");
    assert_eq!(mine["title"], "Pricing page (Bob owns it)");
    assert_eq!(mine["status"], "in_progress");
    assert!(items.iter().any(|i| i["title"] == "Book the room"));
    assert_eq!(
        app.count(
            "SELECT count(*) FROM minutes_versions v JOIN minutes mi ON mi.id = v.minutes_id \
             WHERE mi.meeting_id = $1",
            m
        )
        .await,
        2
    );
}

#[tokio::test]
async fn a_redelivered_job_has_one_effect_and_poison_is_a_batch_item_failure() {
    let (app, queue) = app_with_own_minutes_queue().await;
    let worker = app.minutes_worker(&[]).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    insert_transcript(&app, m, STANDUP).await;
    let (task, body) = generate(&app, &queue, &a, m).await;

    let r = handle(
        &worker,
        vec![
            record("good", &body, 1),
            record("poison", "not a job", 1),
            record("again", &body, 2),
        ],
    )
    .await;
    assert_eq!(failures(&r), ["poison"]);
    let r = handle(&worker, vec![record("good", &body, 3)]).await;
    assert!(failures(&r).is_empty());
    assert_eq!(
        app.count(
            "SELECT count(*) FROM minutes_versions v JOIN minutes mi ON mi.id = v.minutes_id \
             WHERE mi.meeting_id = $1",
            m
        )
        .await,
        1,
        "one version, whatever the deliveries"
    );
    assert_eq!(task_status(&app, &a, task).await["status"], "succeeded");
}

#[tokio::test]
async fn a_poison_minutes_job_reaches_the_dead_letter_queue_after_three_receives() {
    let (app, queue) = app_with_own_minutes_queue().await;
    let worker = std::sync::Arc::new(app.minutes_worker(&[("MINUTES_QUEUE_URL", &queue)]).await);
    let stop = start_poller(&app, worker, &queue);
    app.uploads
        .jobs
        .sqs()
        .send_message()
        .queue_url(&queue)
        .message_body(r#"{"type":"generate_minutes","version":9}"#)
        .send()
        .await
        .expect("send");
    let dlq = format!("{queue}-dlq");
    let mut found = false;
    for _ in 0..60 {
        let out = app
            .uploads
            .jobs
            .sqs()
            .receive_message()
            .queue_url(&dlq)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        if !out.messages.unwrap_or_default().is_empty() {
            found = true;
            break;
        }
    }
    let _ = stop.send(());
    assert!(found, "the poison message never reached {dlq}");
}

/// An extraction as the model would answer it for [`STANDUP`] (refs are line indexes).
fn scripted_answer() -> Value {
    json!({
        "summary": "The team reviewed the launch plan.",
        "key_points": ["The launch moves to March."],
        "decisions": [{"title": "Move the launch to the second week of March",
                       "description": "Agreed by the team.", "made_by": "Bob", "source_refs": ["S1"]}],
        "action_items": [
            {"title": "Send the migration plan", "description": "", "owner": "Bob",
             "due_date": "2026-03-06", "priority": "medium", "source_refs": ["S2"]},
            {"title": "Update the pricing page", "description": "Urgent.", "owner": "Bob",
             "due_date": "2026-03-03", "priority": "high", "source_refs": ["S3", "S99"]}
        ],
        "next_steps": ["Review with sales next week."]
    })
}

#[tokio::test]
async fn openai_minutes_with_a_strict_schema_and_recorded_tokens() {
    let (app, queue) = app_with_own_minutes_queue().await;
    let fake = FakeOpenAi::start().await.expect("fake OpenAI");
    let base = fake.base_url.to_string();
    let worker = app
        .minutes_worker(&[
            ("OPENAI_API_KEY", &fake.api_key),
            ("OPENAI_BASE_URL", &base),
        ])
        .await;
    assert_eq!(worker.engine.model(), "gpt-4o-mini");
    let a = app.register().await;
    let bob = app.register().await;
    app.add_member(&a, a.org_id, &bob, "member").await;
    name(&app, &bob, "Bob").await;
    let m = meeting(&app, &a).await;
    on_monday(&app, m).await;
    insert_transcript(&app, m, STANDUP).await;
    fake.push_content(scripted_answer());
    let (task, body) = generate(&app, &queue, &a, m).await;
    assert!(failures(&handle(&worker, vec![record("o", &body, 1)]).await).is_empty());

    let status = task_status(&app, &a, task).await;
    assert_eq!(status["status"], "succeeded", "{status}");
    assert_eq!(status["engine"], "gpt-4o-mini");
    assert!(
        status["prompt_tokens"].as_i64().is_some_and(|n| n > 0),
        "{status}"
    );
    assert!(status["completion_tokens"].as_i64().is_some_and(|n| n > 0));
    let minutes = minutes_of(&app, &a, m).await;
    assert_eq!(minutes["generated_by_model"], "gpt-4o-mini");
    assert_eq!(
        minutes["content_json"]["summary"],
        "The team reviewed the launch plan."
    );
    let pricing = item(&minutes, "pricing page");
    assert_eq!(pricing["assignee"], json!(bob.id));
    assert_eq!(pricing["priority"], "high");
    assert_eq!(
        pricing["source_segment_ids"].as_array().map(Vec::len),
        Some(1),
        "the unknown ref S99 is dropped"
    );

    // The request: a strict json_schema, the transcript inside its delimiters only.
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let body = &requests[0].body;
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    let user = body["messages"][1]["content"]
        .as_str()
        .expect("user prompt");
    let open = user.find("<<<TRANSCRIPT").expect("open");
    let close = user.find("TRANSCRIPT>>>").expect("close");
    let line = user.find("Bob will send the migration plan").expect("line");
    assert!(open < line && line < close);
    let system = body["messages"][0]["content"].as_str().expect("system");
    assert!(
        !system.contains("migration plan"),
        "transcript text stays out of the system prompt"
    );
}

#[tokio::test]
async fn azure_openai_is_used_when_configured() {
    let (app, queue) = app_with_own_minutes_queue().await;
    let fake = FakeOpenAi::start().await.expect("fake OpenAI");
    let endpoint = fake.endpoint.to_string();
    let worker = app
        .minutes_worker(&[
            ("AZURE_OPENAI_ENDPOINT", &endpoint),
            ("AZURE_OPENAI_API_KEY", &fake.api_key),
            ("AZURE_OPENAI_DEPLOYMENT", "minutes-4o"),
            ("AZURE_OPENAI_API_VERSION", "2024-10-21"),
        ])
        .await;
    assert_eq!(worker.engine.model(), "azure:minutes-4o");
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    insert_transcript(&app, m, STANDUP).await;
    let (task, body) = generate(&app, &queue, &a, m).await;
    assert!(failures(&handle(&worker, vec![record("z", &body, 1)]).await).is_empty());
    assert_eq!(task_status(&app, &a, task).await["status"], "succeeded");
    let q = &fake.requests()[0];
    assert_eq!(q.path, "/openai/deployments/minutes-4o/chat/completions");
    assert_eq!(q.query_value("api-version"), Some("2024-10-21"));
    assert_eq!(q.api_key.as_deref(), Some(fake.api_key.as_str()));
    assert_eq!(q.authorization, None);
}

#[tokio::test]
async fn llm_failures_fail_the_task_with_a_reason_or_are_retried() {
    let (app, queue) = app_with_own_minutes_queue().await;
    let fake = FakeOpenAi::start().await.expect("fake OpenAI");
    let base = fake.base_url.to_string();
    let worker = app
        .minutes_worker(&[
            ("OPENAI_API_KEY", &fake.api_key),
            ("OPENAI_BASE_URL", &base),
        ])
        .await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    insert_transcript(&app, m, STANDUP).await;

    // A 429 with retry-after-ms is waited out inside the call.
    fake.fail_next(
        Failure::RateLimited {
            retry_after_ms: Some(50),
            retry_after_secs: None,
        },
        1,
    );
    let (task, body) = generate(&app, &queue, &a, m).await;
    assert!(failures(&handle(&worker, vec![record("r", &body, 1)]).await).is_empty());
    assert_eq!(task_status(&app, &a, task).await["status"], "succeeded");

    // Failures that retrying cannot fix: the task fails at once, with the reason.
    for (failure, says) in [
        (Failure::InsufficientQuota, "quota"),
        (Failure::Length, "token limit"),
        (
            Failure::Refusal("I can't help with that.".into()),
            "can't help",
        ),
        (Failure::ContentFilter, "filter"),
    ] {
        let asked = fake.requests().len();
        fake.fail_next(failure, 1);
        let (task, body) = generate(&app, &queue, &a, m).await;
        let r = handle(&worker, vec![record("x", &body, 1)]).await;
        assert!(failures(&r).is_empty(), "{says}: not retried");
        assert_eq!(fake.requests().len(), asked + 1, "{says}: one request");
        let status = task_status(&app, &a, task).await;
        assert_eq!(status["status"], "failed", "{status}");
        let error = status["error"].as_str().expect("error").to_lowercase();
        assert!(error.contains(says), "{says}: {error}");
    }

    // 500s past the client's retries: redelivered, then given up on the last receive.
    fake.fail_next(Failure::ServerError, 3);
    let (task, body) = generate(&app, &queue, &a, m).await;
    let r = handle(&worker, vec![record("s", &body, 1)]).await;
    assert_eq!(failures(&r), ["s"]);
    assert_eq!(task_status(&app, &a, task).await["status"], "running");
    fake.fail_next(Failure::ServerError, 3);
    let r = handle(&worker, vec![record("s", &body, 3)]).await;
    assert!(failures(&r).is_empty());
    let status = task_status(&app, &a, task).await;
    assert_eq!(status["status"], "failed");
    assert!(
        status["error"]
            .as_str()
            .is_some_and(|e| e.contains("gave up after 3 attempts")),
        "{status}"
    );
}

#[tokio::test]
async fn a_three_hour_meeting_is_chunked_and_covered_whole() {
    let (app, queue) = app_with_own_minutes_queue().await;
    let fake = FakeOpenAi::start().await.expect("fake OpenAI");
    let base = fake.base_url.to_string();
    let worker = app
        .minutes_worker(&[
            ("OPENAI_API_KEY", &fake.api_key),
            ("OPENAI_BASE_URL", &base),
        ])
        .await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    // 3 hours, a line every 8 s, 4 speakers (1,350 segments), written in one statement.
    let transcript: Uuid =
        sqlx::query_scalar("INSERT INTO transcripts (meeting_id) VALUES ($1) RETURNING id")
            .bind(m)
            .fetch_one(&app.pool)
            .await
            .expect("transcript");
    sqlx::query(
        "INSERT INTO transcript_segments (transcript_id, start_ms, end_ms, speaker_label_raw, \
             text, is_final) \
         SELECT $1, g * 8000, g * 8000 + 7000, 'Speaker ' || (g % 4), \
                'Line ' || g || ': we went through the quarterly numbers and the hiring plan \
                 for the platform team in some detail.', true \
         FROM generate_series(0, 1349) g",
    )
    .bind(transcript)
    .execute(&app.pool)
    .await
    .expect("segments");
    let (task, body) = generate(&app, &queue, &a, m).await;
    assert!(failures(&handle(&worker, vec![record("3h", &body, 1)]).await).is_empty());
    assert_eq!(task_status(&app, &a, task).await["status"], "succeeded");

    let minutes = minutes_of(&app, &a, m).await;
    let coverage = &minutes["content_json"]["coverage"];
    let chunks = coverage["chunks"].as_u64().expect("chunks");
    assert!(chunks >= 3, "{coverage}");
    assert_eq!(fake.requests().len() as u64, chunks, "one call per chunk");
    assert_eq!(coverage["complete"], true, "{coverage}");
    assert_eq!(coverage["transcript_start_ms"], 0);
    assert_eq!(coverage["transcript_end_ms"], 1349 * 8000 + 7000);
    let ranges = coverage["ranges"].as_array().expect("ranges");
    assert_eq!(ranges.first().map(|r| &r["start_ms"]), Some(&json!(0)));
    assert_eq!(
        ranges.last().map(|r| &r["end_ms"]),
        Some(&json!(1349 * 8000 + 7000))
    );
}

/// With the worker polling the queue, a job taken the moment it is sent still finds its task
/// (the task is committed before the job is sent): every generation succeeds.
#[tokio::test]
async fn jobs_taken_at_once_find_their_task() {
    let (app, queue) = app_with_own_minutes_queue().await;
    let worker = std::sync::Arc::new(app.minutes_worker(&[("MINUTES_QUEUE_URL", &queue)]).await);
    let stop = start_poller(&app, worker, &queue);
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    insert_transcript(&app, m, STANDUP).await;
    for _ in 0..5 {
        let r = app
            .post(
                &format!("/api/transcription/meetings/{m}/minutes/generate/"),
                json!({}),
                Some(&a.access),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
        let task: Uuid = r.body["task_id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("task_id");
        let mut status = Value::Null;
        for _ in 0..100 {
            status = task_status(&app, &a, task).await["status"].clone();
            if status == "succeeded" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(status, "succeeded", "task {task}");
    }
    let _ = stop.send(());
}
