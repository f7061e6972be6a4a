use super::*;
use serde_json::json;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn minutes() -> GenerateMinutes {
    GenerateMinutes {
        meeting_id: id(1),
        transcript_id: id(2),
        requested_by: id(3),
        task_id: id(4),
        output_language: OutputLanguage::Fr,
    }
}

#[test]
fn every_job_round_trips_through_its_body() {
    let jobs: Vec<Job> = vec![
        TranscribeRecording {
            recording_id: id(1),
            meeting_id: id(2),
            organization_id: id(3),
            bucket: "meetin-recordings".into(),
            key: format!("recordings/{}/{}.webm", id(2), id(9)),
            language: LanguagePreference::Auto,
            window: None,
        }
        .into(),
        minutes().into(),
        RunCopilot {
            meeting_id: id(1),
            trigger: CopilotTrigger::PostMeeting,
            run_id: id(5),
        }
        .into(),
    ];
    for job in jobs {
        assert_eq!(parse(&job.to_body()).expect("parses"), job);
    }
}

#[test]
fn the_body_is_the_documented_json() {
    let body: Value = serde_json::from_str(&minutes().to_body()).expect("JSON");
    assert_eq!(
        body,
        json!({
            "type": "generate_minutes",
            "version": 1,
            "meeting_id": "00000000-0000-0000-0000-000000000001",
            "transcript_id": "00000000-0000-0000-0000-000000000002",
            "requested_by": "00000000-0000-0000-0000-000000000003",
            "task_id": "00000000-0000-0000-0000-000000000004",
            "output_language": "fr"
        })
    );
    let copilot = RunCopilot {
        meeting_id: id(1),
        trigger: CopilotTrigger::PostMeeting,
        run_id: id(5),
    };
    let body: Value = serde_json::from_str(&copilot.to_body()).expect("JSON");
    assert_eq!(body["type"], "run_copilot");
    assert_eq!(body["trigger"], "post_meeting");
}

#[test]
fn a_worker_reads_a_hand_written_body() {
    let body = r#"{"type":"run_copilot","version":1,"trigger":"live",
            "meeting_id":"00000000-0000-0000-0000-000000000001",
            "run_id":"00000000-0000-0000-0000-000000000002","added_later":true}"#;
    let job: RunCopilot = parse_as(body).expect("parses");
    assert_eq!(job.trigger, CopilotTrigger::Live);
    assert_eq!(job.run_id, id(2));
}

#[test]
fn a_body_that_is_not_json_is_refused() {
    let err = parse("transcribe recording 42").expect_err("refused");
    assert_eq!(err.kind(), "not_json");
    assert_eq!(parse("[1,2]").expect_err("refused").kind(), "not_an_object");
    assert_eq!(
        parse(r#"{"version":1}"#).expect_err("refused").kind(),
        "missing_type"
    );
}

#[test]
fn an_unknown_type_is_refused() {
    let err = parse(r#"{"type":"send_email","version":1}"#).expect_err("refused");
    assert!(matches!(&err, JobParseError::UnknownType(t) if t == "send_email"));
    assert_eq!(err.to_string(), "unknown job type `send_email`");
}

#[test]
fn an_unknown_or_missing_version_is_refused() {
    let mut body: Value = serde_json::from_str(&minutes().to_body()).expect("JSON");
    for version in [json!(2), json!(0), json!("1"), Value::Null] {
        body["version"] = version.clone();
        let err = parse(&body.to_string()).expect_err("refused");
        assert_eq!(err.kind(), "unsupported_version", "version {version}");
    }
    body.as_object_mut().expect("object").remove("version");
    let err = parse(&body.to_string()).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "job `generate_minutes` has version null; this build reads version 1"
    );
}

#[test]
fn missing_or_mistyped_fields_are_refused_naming_the_field() {
    let mut body: Value = serde_json::from_str(&minutes().to_body()).expect("JSON");
    body.as_object_mut().expect("object").remove("task_id");
    let err = parse(&body.to_string()).expect_err("refused");
    assert_eq!(err.kind(), "bad_fields");
    assert!(err.to_string().contains("task_id"), "{err}");

    body["task_id"] = json!("not-a-uuid");
    assert_eq!(
        parse(&body.to_string()).expect_err("refused").kind(),
        "bad_fields"
    );

    body["task_id"] = json!(id(4));
    body["output_language"] = json!("auto");
    let err = parse(&body.to_string()).expect_err("refused");
    assert_eq!(err.kind(), "bad_fields");
}

#[test]
fn a_worker_refuses_another_queues_job() {
    let err = parse_as::<RunCopilot>(&minutes().to_body()).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "this queue takes `run_copilot` jobs, got `generate_minutes`"
    );
}

#[test]
fn a_window_job_carries_its_window_and_a_recording_job_writes_none() {
    let recording = TranscribeRecording {
        recording_id: id(1),
        meeting_id: id(2),
        organization_id: id(3),
        bucket: "b".into(),
        key: "k".into(),
        language: LanguagePreference::En,
        window: None,
    };
    assert!(
        !recording.to_body().contains("window"),
        "version 1 body unchanged"
    );
    let window = TranscribeRecording {
        window: Some(4),
        ..recording
    };
    let body = window.to_body();
    assert!(body.contains(r#""window":4"#), "{body}");
    assert_eq!(
        parse_as::<TranscribeRecording>(&body).expect("parses"),
        window
    );
}
