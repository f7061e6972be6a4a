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
    let jobs = minutes_jobs(app.uploads.jobs.sqs(), &queue).await;
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
    assert!(
        minutes_jobs(app.uploads.jobs.sqs(), &queue)
            .await
            .is_empty()
    );
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
    assert_eq!(minutes_jobs(app.uploads.jobs.sqs(), &queue).await.len(), 1);
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
    let old_job = minutes_jobs(app.uploads.jobs.sqs(), &queue).await;
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
    let jobs = minutes_jobs(app.uploads.jobs.sqs(), &queue).await;
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
    let item = r.body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("the item's id");
    (m, item)
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
    assert!(
        minutes_jobs(app.uploads.jobs.sqs(), &queue)
            .await
            .is_empty()
    );

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

/// The envelope bytes of a response (its body as the JSON string API Gateway's event carries),
/// checked against Lambda's 6 MB and this function's budget.
fn assert_fits(what: &str, r: &crate::helpers::TestResponse) -> usize {
    assert_eq!(r.status, StatusCode::OK, "{what}: {}", r.status);
    let size = transcription::limits::envelope_len(&r.text);
    eprintln!("{what}: {size} envelope bytes");
    assert!(
        size <= transcription::limits::RESPONSE_BUDGET_BYTES
            && size + 4096 < transcription::limits::LAMBDA_RESPONSE_MAX_BYTES,
        "{what}: {size} bytes"
    );
    size
}

/// The worst character for a length counted in characters: U+0001 is `\u0001` in a JSON body
/// (6 bytes) and `\\u0001` in Lambda's envelope (7).
const WORST: char = '\u{1}';

#[tokio::test]
async fn every_transcription_response_fits_lambda_at_the_caps() {
    use transcription::action_items::{
        DESCRIPTION_MAX_CHARS, MAX_PER_MEETING, SOURCE_SEGMENTS_MAX, TITLE_MAX_CHARS,
    };
    use transcription::edits::{CONTENT_JSON_MAX_BYTES, CONTENT_MD_MAX_CHARS};
    // Some 260 requests of one user.
    let app = TestApp::spawn_with(&[("RATE_LIMIT_USER_PER_MINUTE", "1000")]).await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    insert_transcript(&app, m, STANDUP).await;
    // The assignee's e-mail at its longest (254 characters).
    let email = format!("{}{}@example.com", a.id.simple(), "e".repeat(254 - 12 - 32));
    assert_eq!(email.len(), 254);
    sqlx::query("UPDATE users SET email = $2 WHERE id = $1")
        .bind(a.id)
        .bind(&email)
        .execute(&app.pool)
        .await
        .expect("email");
    let base = format!("/api/transcription/meetings/{m}/");

    // GIVEN the meeting's action items filled to their number, each field at its cap
    let ids: Vec<String> = (0..SOURCE_SEGMENTS_MAX)
        .map(|i| Uuid::from_u128(i as u128).to_string())
        .collect();
    let title = |i: i64| format!("{i}{}", WORST.to_string().repeat(TITLE_MAX_CHARS - 4));
    let item = |i: i64| {
        json!({
            "title": title(i),
            "description": WORST.to_string().repeat(DESCRIPTION_MAX_CHARS),
            "assignee": a.id,
            "due_date": "2026-03-09",
            "priority": "high",
            "status": "in_progress",
            "source_segment_ids": ids,
        })
    };
    for i in 0..MAX_PER_MEETING {
        let r = app
            .post(&format!("{base}action-items/"), item(i), Some(&a.access))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "item {i}: {r:?}");
    }
    let r = app
        .post(
            &format!("{base}action-items/"),
            item(MAX_PER_MEETING),
            Some(&a.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(
        r.body,
        json!({"error": "A meeting has at most 200 action items. Delete some first."})
    );
    // AND over the caps, each field is refused
    let mut over = item(0);
    over["description"] = json!("d".repeat(DESCRIPTION_MAX_CHARS + 1));
    over["source_segment_ids"] = json!(vec![ids[0].clone(); SOURCE_SEGMENTS_MAX + 1]);
    let r = app
        .post(&format!("{base}action-items/"), over, Some(&a.access))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(
        r.body,
        json!({
            "description": ["Ensure this field has no more than 1000 characters."],
            "source_segment_ids": ["Ensure this field has no more than 50 elements."],
        })
    );
    assert_eq!(
        app.count("SELECT count(*) FROM action_items WHERE meeting_id = $1", m)
            .await,
        MAX_PER_MEETING
    );

    // AND 21 edits, each storing content at its caps with the worst characters: quotes in
    // content_json (2 body bytes, 4 envelope bytes each), U+0001 in content_md
    let quotes = |n: usize| "\"".repeat(n);
    // {"summary":"<2n>"} is 14 + 2n bytes of JSON.
    let fat_json = |tag: usize| {
        let mut v = json!({"summary": quotes((CONTENT_JSON_MAX_BYTES - 14) / 2)});
        v["summary"] = json!(format!(
            "{tag:03}{}",
            quotes((CONTENT_JSON_MAX_BYTES - 14) / 2 - 2)
        ));
        v
    };
    let md = WORST.to_string().repeat(CONTENT_MD_MAX_CHARS - 1);
    for tag in 0..21 {
        let body = json!({"content_json": fat_json(tag), "content_md": format!("#{md}")});
        assert!(body["content_json"].to_string().len() <= CONTENT_JSON_MAX_BYTES);
        let r = app.patch(&format!("{base}minutes/"), body, &a.access).await;
        assert_fits(&format!("edit {tag}"), &r);
    }
    let mut too_big = fat_json(0);
    too_big["x"] = json!(1);
    let r = app
        .patch(
            &format!("{base}minutes/"),
            json!({"content_json": too_big, "content_md": format!("#{md}x")}),
            &a.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(
        r.body,
        json!({
            "content_json": ["Ensure this value is at most 131072 bytes of JSON."],
            "content_md": ["Ensure this field has no more than 100000 characters."],
        })
    );

    // THEN the minutes read, the items list, the versions list, a version, and a diff fit
    let minutes = app.get(&format!("{base}minutes/"), &a.access).await;
    let size = assert_fits("GET minutes/", &minutes);
    assert_eq!(
        minutes.body["action_items"].as_array().map(Vec::len),
        Some(200),
        "{size}"
    );
    for page in ["1", "last"] {
        let r = app
            .get(&format!("{base}action-items/?page={page}"), &a.access)
            .await;
        assert_fits("GET action-items/", &r);
        assert_eq!(r.body["results"].as_array().map(Vec::len), Some(20));
    }
    let versions = app
        .get(&format!("{base}minutes/versions/"), &a.access)
        .await;
    assert_fits("GET minutes/versions/", &versions);
    let results = versions.body["results"].as_array().expect("results");
    assert_eq!(results.len(), 20);
    let newest = results[0]["id"].as_str().expect("id").to_owned();
    let oldest = results[19]["id"].as_str().expect("id").to_owned();
    assert_fits(
        "GET minutes/versions/{id}/",
        &app.get(&format!("{base}minutes/versions/{newest}/"), &a.access)
            .await,
    );
    assert_fits(
        "GET minutes/versions/{a}/diff/{b}/",
        &app.get(
            &format!("{base}minutes/versions/{oldest}/diff/{newest}/"),
            &a.access,
        )
        .await,
    );

    // AND a diff between two versions of as many distinct keys as fit the cap, with
    // different Markdown of the worst characters: the largest diff there is
    let many_keys = |prefix: char| {
        let mut map = serde_json::Map::new();
        let mut size = 2;
        let mut i = 0;
        loop {
            let key = format!("{prefix}{i:x}");
            let added = key.len() + 5; // "key":0,
            if size + added > CONTENT_JSON_MAX_BYTES {
                break Value::Object(map);
            }
            size += added;
            map.insert(key, json!(0));
            i += 1;
        }
    };
    for (prefix, md) in [('a', format!("#{md}")), ('b', format!("{}#", md))] {
        let body = json!({"content_json": many_keys(prefix), "content_md": md});
        let r = app.patch(&format!("{base}minutes/"), body, &a.access).await;
        assert_fits("edit", &r);
    }
    let versions = app
        .get(&format!("{base}minutes/versions/"), &a.access)
        .await;
    let ids: Vec<&str> = versions.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .take(2)
        .map(|v| v["id"].as_str().expect("id"))
        .collect();
    let diff = app
        .get(
            &format!("{base}minutes/versions/{}/diff/{}/", ids[1], ids[0]),
            &a.access,
        )
        .await;
    assert_fits("the largest diff", &diff);
    assert!(diff.body["changes"].as_array().expect("changes").len() > 20_000);
}

#[tokio::test]
async fn a_transcript_past_six_megabytes_is_answered_in_parts_that_fit() {
    let app = TestApp::spawn().await;
    let a = app.register().await;
    let m = meeting(&app, &a).await;
    // 3,000 segments of 3,000 quotes: 36 MB of envelope in all.
    let transcript: Uuid =
        sqlx::query_scalar("INSERT INTO transcripts (meeting_id) VALUES ($1) RETURNING id")
            .bind(m)
            .fetch_one(&app.pool)
            .await
            .expect("transcript");
    sqlx::query(
        "INSERT INTO transcript_segments (transcript_id, start_ms, end_ms, text, is_final) \
         SELECT $1, g * 1000, g * 1000 + 900, lpad(g::text, 6, '0') || repeat('\"', 2994), true \
         FROM generate_series(0, 2999) g",
    )
    .bind(transcript)
    .execute(&app.pool)
    .await
    .expect("segments");

    let mut url = format!("/api/transcription/meetings/{m}/transcript/");
    let mut seen = Vec::new();
    let mut parts = 0;
    loop {
        let r = app.get(&url, &a.access).await;
        assert_fits(&format!("part {parts}"), &r);
        assert_eq!(r.body["segment_count"], 3000);
        let segments = r.body["segments"].as_array().expect("segments");
        assert!(!segments.is_empty(), "every part progresses");
        seen.extend(
            segments
                .iter()
                .map(|s| s["text"].as_str().expect("text")[..6].to_owned()),
        );
        parts += 1;
        match r.body["next"].as_str() {
            Some(next) => {
                url = next
                    .strip_prefix("http://testserver")
                    .expect("an absolute URL")
                    .to_owned();
            }
            None => break,
        }
    }
    assert!(parts >= 6, "{parts} parts");
    let expected: Vec<String> = (0..3000).map(|g| format!("{g:06}")).collect();
    assert_eq!(seen, expected, "every segment once, in order");

    // A bad offset is a field error; one past the end is an empty last part.
    let base = format!("/api/transcription/meetings/{m}/transcript/");
    let r = app.get(&format!("{base}?offset=x"), &a.access).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(r.body, json!({"offset": ["A valid integer is required."]}));
    let r = app.get(&format!("{base}?offset=5000"), &a.access).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        (r.body["segments"].clone(), r.body["next"].clone()),
        (json!([]), json!(null))
    );
}
