//! Issue 16, the minutes side: one generation at a time per meeting (and a dead one does not
//! block for good), writes that race the meeting's deletion, deleted action items that stay
//! deleted, and every transcription response under Lambda's 6 MB whatever is stored.

use http::StatusCode;
use meetin_messages::jobs::JobMessage;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::minutes::{app_with_own_minutes_queue, insert_transcript, minutes_jobs};
use crate::minutes_worker::{
    STANDUP, failures, generate, handle, item, minutes_of, record, task_status,
};
use crate::recordings::meeting;

fn generate_path(m: Uuid) -> String {
    format!("/api/transcription/meetings/{m}/minutes/generate/")
}

fn task_of(body: &Value) -> Uuid {
    body["task_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no task_id in {body}"))
}

async fn versions_of(app: &TestApp, m: Uuid) -> i64 {
    app.count(
        "SELECT count(*) FROM minutes_versions v JOIN minutes mi ON mi.id = v.minutes_id \
         WHERE mi.meeting_id = $1",
        m,
    )
    .await
}

async fn tasks_of(app: &TestApp, m: Uuid) -> i64 {
    app.count(
        "SELECT count(*) FROM minutes_tasks WHERE meeting_id = $1",
        m,
    )
    .await
}

#[tokio::test]
async fn twenty_concurrent_generations_are_one_task_one_job_one_version() {
    let (app, queue) = app_with_own_minutes_queue().await;
    let worker = app.minutes_worker(&[]).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    insert_transcript(&app, m, STANDUP).await;

    // WHEN 20 generate calls race
    let path = generate_path(m);
    let calls = (0..20).map(|_| app.post(&path, json!({}), Some(&a.access)));
    let answers = futures_util::future::join_all(calls).await;

    // THEN every one is the same 202 with the same task, one task row and one job exist
    let first = task_of(&answers[0].body);
    for r in &answers {
        assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
        assert_eq!(
            r.body,
            json!({"message": "Minutes generation started", "task_id": first.to_string()})
        );
    }
    assert_eq!(tasks_of(&app, m).await, 1);
    let jobs = minutes_jobs(&app.uploads.sqs, &queue).await;
    assert_eq!(jobs.len(), 1, "one job on the queue: {jobs:?}");
    assert_eq!(jobs[0].task_id, first);

    // AND a call while it runs answers it too, without a new job
    sqlx::query("UPDATE minutes_tasks SET status = 'running', started_at = now() WHERE id = $1")
        .bind(first)
        .execute(&app.pool)
        .await
        .expect("running");
    let r = app
        .post(&generate_path(m), json!({}), Some(&a.access))
        .await;
    assert_eq!((r.status, task_of(&r.body)), (StatusCode::ACCEPTED, first));
    assert!(minutes_jobs(&app.uploads.sqs, &queue).await.is_empty());
    sqlx::query("UPDATE minutes_tasks SET status = 'queued', started_at = NULL WHERE id = $1")
        .bind(first)
        .execute(&app.pool)
        .await
        .expect("queued");

    // AND the worker writes one version
    let body = jobs[0].to_body();
    assert!(failures(&handle(&worker, vec![record("1", &body, 1)]).await).is_empty());
    assert_eq!(versions_of(&app, m).await, 1);
    assert_eq!(task_status(&app, &a, first).await["status"], "succeeded");

    // AND once it ended, a new call queues a new generation
    let r = app
        .post(&generate_path(m), json!({}), Some(&a.access))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    assert_ne!(task_of(&r.body), first);
    assert_eq!(tasks_of(&app, m).await, 2);
    assert_eq!(minutes_jobs(&app.uploads.sqs, &queue).await.len(), 1);
}

#[tokio::test]
async fn a_generation_whose_worker_died_no_longer_blocks() {
    let (app, queue) = app_with_own_minutes_queue().await;
    let worker = app.minutes_worker(&[]).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    insert_transcript(&app, m, STANDUP).await;
    let r = app
        .post(&generate_path(m), json!({}), Some(&a.access))
        .await;
    let dead = task_of(&r.body);
    let old_job = minutes_jobs(&app.uploads.sqs, &queue).await;
    assert_eq!(old_job.len(), 1);

    // GIVEN its worker started it 19 minutes ago (within 900 s + 300 s): it still blocks
    sqlx::query(
        "UPDATE minutes_tasks SET status = 'running', started_at = now() - interval '19 minutes', \
                created_at = now() - interval '30 minutes' WHERE id = $1",
    )
    .bind(dead)
    .execute(&app.pool)
    .await
    .expect("running");
    let r = app
        .post(&generate_path(m), json!({}), Some(&a.access))
        .await;
    assert_eq!(task_of(&r.body), dead);

    // WHEN it started 21 minutes ago and never finished (the worker died)
    sqlx::query(
        "UPDATE minutes_tasks SET started_at = now() - interval '21 minutes' WHERE id = $1",
    )
    .bind(dead)
    .execute(&app.pool)
    .await
    .expect("stale");
    let r = app
        .post(&generate_path(m), json!({}), Some(&a.access))
        .await;

    // THEN a new task is queued and the dead one is failed with a reason
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    let fresh = task_of(&r.body);
    assert_ne!(fresh, dead);
    let old = task_status(&app, &a, dead).await;
    assert_eq!(old["status"], "failed");
    assert_eq!(
        old["error"],
        "The generation did not finish in time and was replaced by a newer request."
    );
    let jobs = minutes_jobs(&app.uploads.sqs, &queue).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].task_id, fresh);

    // AND the dead task's redelivered job does nothing; the new one writes one version
    let old_body = old_job[0].to_body();
    let new_body = jobs[0].to_body();
    let r = handle(
        &worker,
        vec![record("old", &old_body, 2), record("new", &new_body, 1)],
    )
    .await;
    assert!(failures(&r).is_empty());
    assert_eq!(versions_of(&app, m).await, 1);
    assert_eq!(task_status(&app, &a, dead).await["status"], "failed");
    assert_eq!(task_status(&app, &a, fresh).await["status"], "succeeded");

    // AND a queued task that never started blocks only until the same age
    let r = app
        .post(&generate_path(m), json!({}), Some(&a.access))
        .await;
    let queued = task_of(&r.body);
    sqlx::query(
        "UPDATE minutes_tasks SET created_at = now() - interval '21 minutes' WHERE id = $1",
    )
    .bind(queued)
    .execute(&app.pool)
    .await
    .expect("old");
    let r = app
        .post(&generate_path(m), json!({}), Some(&a.access))
        .await;
    assert_ne!(task_of(&r.body), queued);
    assert_eq!(task_status(&app, &a, queued).await["status"], "failed");
}

const NO_MEETING: &str = "No Meeting matches the given query.";

/// Sends `request` while a transaction deletes meeting `m` and commits 400 ms later: the
/// request passes its access check (the deletion is not committed yet), then its write waits
/// on the rows the deletion locked and sees them gone.
async fn racing_deletion(
    app: &TestApp,
    m: Uuid,
    request: http::Request<axum::body::Body>,
) -> crate::helpers::TestResponse {
    let mut tx = app.pool.begin().await.expect("tx");
    sqlx::query("DELETE FROM meetings WHERE id = $1")
        .bind(m)
        .execute(&mut *tx)
        .await
        .expect("delete");
    let commit = async {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        tx.commit().await.expect("commit");
    };
    let (r, ()) = tokio::join!(app.send(request, crate::helpers::random_ip()), commit);
    r
}

/// A meeting of `who` with a transcript, minutes (made by an action item) and that item.
async fn meeting_with_an_item(app: &TestApp, who: &crate::helpers::Account) -> (Uuid, Uuid) {
    let m = meeting(app, who).await;
    insert_transcript(app, m, STANDUP).await;
    let r = app
        .post(
            &format!("/api/transcription/meetings/{m}/action-items/"),
            json!({"title": "Book the room"}),
            Some(&who.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    (m, task_of(&json!({"task_id": r.body["id"]})))
}

#[tokio::test]
async fn writes_racing_the_meetings_deletion_are_its_404_and_write_nothing() {
    use http::Method;
    let (app, queue) = app_with_own_minutes_queue().await;
    let a = app.register().await;
    let cases: [(&str, Method, &str, Option<Value>); 7] = [
        (
            "create an item",
            Method::POST,
            "action-items/",
            Some(json!({"title": "Call Bob"})),
        ),
        (
            "replace an item",
            Method::PUT,
            "action-items/{id}/",
            Some(json!({"title": "Call Ann"})),
        ),
        (
            "change an item",
            Method::PATCH,
            "action-items/{id}/",
            Some(json!({"status": "done"})),
        ),
        ("delete an item", Method::DELETE, "action-items/{id}/", None),
        (
            "generate",
            Method::POST,
            "minutes/generate/",
            Some(json!({})),
        ),
        (
            "replace the minutes",
            Method::PUT,
            "minutes/",
            Some(json!({"content_md": "# New"})),
        ),
        (
            "change the minutes",
            Method::PATCH,
            "minutes/",
            Some(json!({"content_json": {"a": 1}})),
        ),
    ];
    for (what, method, path, body) in cases {
        let (m, item) = meeting_with_an_item(&app, &a).await;
        let path = format!(
            "/api/transcription/meetings/{m}/{}",
            path.replace("{id}", &item.to_string())
        );
        let request = TestApp::request(method, &path, body.as_ref(), Some(&a.access));
        let r = racing_deletion(&app, m, request).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{what}: {r:?}");
        assert_eq!(r.body, json!({"detail": NO_MEETING}), "{what}");
        for table in [
            "SELECT count(*) FROM action_items WHERE meeting_id = $1",
            "SELECT count(*) FROM minutes WHERE meeting_id = $1",
            "SELECT count(*) FROM minutes_tasks WHERE meeting_id = $1",
            "SELECT count(*) FROM action_item_tombstones WHERE meeting_id = $1",
        ] {
            assert_eq!(app.count(table, m).await, 0, "{what}: {table}");
        }
    }
    // The generation queued no job.
    assert!(minutes_jobs(&app.uploads.sqs, &queue).await.is_empty());

    // AND a meeting without minutes: the item's minutes are not half-created
    let m = meeting(&app, &a).await;
    insert_transcript(&app, m, STANDUP).await;
    let request = TestApp::request(
        Method::POST,
        &format!("/api/transcription/meetings/{m}/action-items/"),
        Some(&json!({"title": "Call Bob"})),
        Some(&a.access),
    );
    let r = racing_deletion(&app, m, request).await;
    assert_eq!(
        (r.status, r.body),
        (StatusCode::NOT_FOUND, json!({"detail": NO_MEETING}))
    );
    assert_eq!(
        app.count("SELECT count(*) FROM minutes WHERE meeting_id = $1", m)
            .await,
        0
    );
}

#[tokio::test]
async fn a_deleted_generated_item_stays_deleted_through_regenerations() {
    let (app, queue) = app_with_own_minutes_queue().await;
    let worker = app.minutes_worker(&[]).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    insert_transcript(&app, m, STANDUP).await;
    let (_, body) = generate(&app, &queue, &a, m).await;
    assert!(failures(&handle(&worker, vec![record("1", &body, 1)]).await).is_empty());
    let first = minutes_of(&app, &a, m).await;
    let count = first["action_items"].as_array().expect("items").len();
    assert!(count >= 2, "{first:#}");
    let pricing = item(&first, "pricing page").clone();
    let pricing_title = pricing["title"].as_str().expect("title").to_owned();
    assert!(
        first["content_md"]
            .as_str()
            .expect("md")
            .contains(&pricing_title),
        "{first:#}"
    );

    // WHEN the user deletes one generated item, and edits then deletes another
    let items = format!("/api/transcription/meetings/{m}/action-items/");
    let r = app
        .delete(
            &format!("{items}{}/", pricing["id"].as_str().expect("id")),
            &a.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{r:?}");
    let migration = item(&first, "migration plan")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = app
        .patch(
            &format!("{items}{migration}/"),
            json!({"title": "Migration plan (done in the wiki)"}),
            &a.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = app.delete(&format!("{items}{migration}/"), &a.access).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{r:?}");

    // AND the minutes are generated again, twice
    for round in 2..=3 {
        let (_, body) = generate(&app, &queue, &a, m).await;
        let r = handle(&worker, vec![record(&round.to_string(), &body, 1)]).await;
        assert!(failures(&r).is_empty());

        // THEN neither item came back, in the items or in the content; the others are there
        let again = minutes_of(&app, &a, m).await;
        assert_eq!(again["version"], round, "{again:#}");
        let titles: Vec<String> = again["action_items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["title"].as_str().expect("title").to_lowercase())
            .collect();
        assert_eq!(titles.len(), count - 2, "{titles:?}");
        assert!(
            !titles
                .iter()
                .any(|t| t.contains("pricing page") || t.contains("migration plan")),
            "{titles:?}"
        );
        let content = again["content_json"]["action_items"]
            .to_string()
            .to_lowercase();
        assert!(
            !content.contains("pricing page") && !content.contains("migration plan"),
            "{content}"
        );
        assert!(
            !again["content_md"]
                .as_str()
                .expect("md")
                .contains(&pricing_title),
            "{again:#}"
        );
    }
    assert_eq!(
        app.count(
            "SELECT count(*) FROM action_item_tombstones WHERE meeting_id = $1 \
             AND deleted_by_id IS NOT NULL",
            m
        )
        .await,
        3,
        "the pricing item's key, and the edited item's generated key and title key"
    );
}
