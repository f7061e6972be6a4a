use super::*;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

fn json_of(message: &ServerMessage) -> Value {
    serde_json::from_str(&message.to_text()).expect("JSON")
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 8, 25, 0)
        .single()
        .expect("valid")
        + chrono::Duration::microseconds(123_450)
}

// Client frames, verbatim from contract §3 (and decision 7 for `seq`).

#[test]
fn contract_client_frames_parse() {
    assert_eq!(
        parse_client(r#"{"type": "control", "control": "start"}"#),
        Ok(Some(ClientMessage::Control {
            control: Control::Start
        }))
    );
    assert_eq!(
        parse_client(r#"{"type": "control", "control": "stop"}"#),
        Ok(Some(ClientMessage::Control {
            control: Control::Stop
        }))
    );
    assert_eq!(
        parse_client(r#"{"type":"audio_chunk","seq":7,"data":"AAD/fw=="}"#),
        Ok(Some(ClientMessage::AudioChunk {
            seq: 7,
            data: "AAD/fw==".into(),
            stream: None,
        }))
    );
    assert_eq!(
        parse_client(r#"{"type":"audio_chunk","seq":0,"data":"","stream":"mic-1"}"#),
        Ok(Some(ClientMessage::AudioChunk {
            seq: 0,
            data: String::new(),
            stream: Some("mic-1".into()),
        }))
    );
    for bad in [r#""""#, "7", &format!("{:?}", "x".repeat(65))] {
        assert_eq!(
            parse_client(&format!(
                r#"{{"type":"audio_chunk","seq":0,"data":"","stream":{bad}}}"#
            )),
            Err(ClientMessageError::InvalidStream),
            "{bad}"
        );
    }
    assert_eq!(
        parse_client(
            r#"{"type":"resume","after_segment_id":"6f1c2a9e-8d7b-4c3a-9e1f-0a2b3c4d5e6f"}"#
        ),
        Ok(Some(ClientMessage::Resume {
            after_segment_id: Some(uuid::uuid!("6f1c2a9e-8d7b-4c3a-9e1f-0a2b3c4d5e6f")),
            after_ms: None,
        }))
    );
    assert_eq!(
        parse_client(r#"{"type":"resume","after_ms":1500}"#),
        Ok(Some(ClientMessage::Resume {
            after_segment_id: None,
            after_ms: Some(1500),
        }))
    );
    for bad in [
        r#""after_ms":-1"#,
        r#""after_ms":"1""#,
        r#""after_segment_id":"nope""#,
    ] {
        assert_eq!(
            parse_client(&format!(r#"{{"type":"resume",{bad}}}"#)),
            Err(ClientMessageError::InvalidResume),
            "{bad}"
        );
    }
    assert_eq!(
        parse_client(
            r#"{"type": "speaker_mapping", "speaker_label": "Speaker 0", "display_name": "Alice"}"#
        ),
        Ok(Some(ClientMessage::SpeakerMapping {
            speaker_label: "Speaker 0".into(),
            display_name: "Alice".into()
        }))
    );
}

#[test]
fn client_frames_serialize_as_the_frontend_sends_them() {
    let sent = serde_json::to_value(ClientMessage::SpeakerMapping {
        speaker_label: "Speaker 0".into(),
        display_name: "Alice".into(),
    })
    .expect("JSON");
    assert_eq!(
        sent,
        json!({"type": "speaker_mapping", "speaker_label": "Speaker 0", "display_name": "Alice"})
    );
}

#[test]
fn unknown_types_are_ignored_silently() {
    assert_eq!(parse_client(r#"{"type": "ping"}"#), Ok(None));
    assert_eq!(parse_client(r#"{"hello": 1}"#), Ok(None));
}

#[test]
fn bad_frames_get_the_contract_error_strings() {
    let cases = [
        (
            "not json",
            r#"{"type": "error", "message": "Invalid message format"}"#,
        ),
        (
            "[1, 2]",
            r#"{"type": "error", "message": "An error occurred processing your message"}"#,
        ),
        (
            r#"{"type": "speaker_mapping", "speaker_label": "", "display_name": "Alice"}"#,
            r#"{"type": "error", "message": "Invalid speaker_label"}"#,
        ),
        (
            r#"{"type": "speaker_mapping", "speaker_label": "Speaker 0"}"#,
            r#"{"type": "error", "message": "Invalid display_name"}"#,
        ),
        (
            r#"{"type": "audio_chunk", "data": "AAA="}"#,
            r#"{"type": "error", "message": "Invalid seq"}"#,
        ),
        (
            r#"{"type": "audio_chunk", "seq": 1, "data": 5}"#,
            r#"{"type": "error", "message": "Invalid data"}"#,
        ),
        (
            r#"{"type": "control", "control": "pause"}"#,
            r#"{"type": "error", "message": "Invalid control"}"#,
        ),
    ];
    for (frame, answer) in cases {
        let refusal = parse_client(frame).expect_err(frame);
        let expected: Value = serde_json::from_str(answer).expect("JSON");
        assert_eq!(json_of(&refusal.to_server_message()), expected, "{frame}");
    }
}

#[test]
fn speaker_mapping_lengths_are_counted_in_characters() {
    let frame = |label: &str, name: &str| {
        json!({"type": "speaker_mapping", "speaker_label": label, "display_name": name}).to_string()
    };
    assert!(parse_client(&frame(&"é".repeat(100), &"é".repeat(255))).is_ok());
    assert_eq!(
        parse_client(&frame(&"é".repeat(101), "Alice")),
        Err(ClientMessageError::InvalidSpeakerLabel)
    );
    assert_eq!(
        parse_client(&frame("Speaker 0", &"x".repeat(256))),
        Err(ClientMessageError::InvalidDisplayName)
    );
}

// Server frames, verbatim from contract §3.

#[test]
fn contract_server_frames_serialize_exactly() {
    let cases = [
        (
            ServerMessage::ControlResponse {
                control: Control::Start,
                status: ControlStatus::UseApiToStart,
            },
            r#"{"type": "control_response", "control": "start", "status": "use_api_to_start"}"#,
        ),
        (
            ServerMessage::error(NO_ACTIVE_SESSION),
            r#"{"type": "error", "message": "No active transcription session"}"#,
        ),
        (
            ServerMessage::error(PROCESSING_FAILED),
            r#"{"type": "error", "message": "An error occurred processing your message"}"#,
        ),
        (
            ServerMessage::SpeakerUpdated {
                speaker_label: "Speaker 1".into(),
                display_name: "Bob".into(),
            },
            r#"{"type": "speaker_updated", "speaker_label": "Speaker 1", "display_name": "Bob"}"#,
        ),
        (
            ServerMessage::SessionStatus {
                status: SessionStatus::Disconnected,
                message: "Live session ended".into(),
            },
            r#"{"type": "session_status", "status": "disconnected", "message": "Live session ended"}"#,
        ),
    ];
    for (message, text) in cases {
        let expected: Value = serde_json::from_str(text).expect("JSON");
        assert_eq!(json_of(&message), expected);
        let back: ServerMessage = serde_json::from_str(text).expect("parses back");
        assert_eq!(back, message);
    }
}

#[test]
fn transcript_segment_carries_the_frontends_fields() {
    let message = ServerMessage::TranscriptSegment {
        data: TranscriptSegmentData {
            id: Uuid::from_u128(1),
            speaker_label: "Speaker 0".into(),
            speaker_display_name: None,
            text: "Bonjour à tous".into(),
            confidence: Some(0.98),
            is_final: true,
            start_ms: 1_250,
            end_ms: 2_900,
            timestamp: at().into(),
        },
    };
    assert_eq!(
        json_of(&message),
        json!({"type": "transcript_segment", "data": {
            "id": "00000000-0000-0000-0000-000000000001",
            "speaker_label": "Speaker 0",
            "speaker_display_name": null,
            "text": "Bonjour à tous",
            "confidence": 0.98,
            "is_final": true,
            "start_ms": 1250,
            "end_ms": 2900,
            "timestamp": "2026-11-24T08:25:00.123450Z"
        }})
    );
    let back: ServerMessage = serde_json::from_str(&message.to_text()).expect("parses back");
    assert_eq!(back, message);
}

#[test]
fn interim_results_have_their_own_type() {
    let message = ServerMessage::TranscriptInterim {
        data: InterimSegmentData {
            speaker_label: "Speaker 0".into(),
            speaker_display_name: Some("Alice".into()),
            text: "Bonjour".into(),
            confidence: None,
            start_ms: 1_250,
            end_ms: 1_700,
            timestamp: at().into(),
        },
    };
    let value = json_of(&message);
    assert_eq!(value["type"], "transcript_interim");
    assert_eq!(value["data"]["speaker_display_name"], "Alice");
    assert!(value["data"].get("is_final").is_none());
}

#[test]
fn copilot_pushes_are_forwarded_with_data() {
    let meeting = Uuid::from_u128(7);
    let updated = ServerMessage::CopilotSuggestionsUpdated {
        data: CopilotSuggestionsUpdated {
            suggestions: vec![PushedSuggestion {
                id: Uuid::from_u128(8),
                kind: SuggestionType::ActionItem,
                status: SuggestionStatus::Proposed,
                payload: json!({"title": "Send the deck"}),
                confidence: Some(0.8),
                created_at: at().into(),
            }],
            meeting_id: meeting,
        },
    };
    assert_eq!(
        json_of(&updated),
        json!({"type": "copilot_suggestions_updated", "data": {
            "suggestions": [{
                "id": "00000000-0000-0000-0000-000000000008",
                "type": "action_item",
                "status": "proposed",
                "payload": {"title": "Send the deck"},
                "confidence": 0.8,
                "created_at": "2026-11-24T08:25:00.123450Z"
            }],
            "meeting_id": "00000000-0000-0000-0000-000000000007"
        }})
    );
    let status = ServerMessage::CopilotSuggestionStatusUpdated {
        data: CopilotSuggestionStatusUpdated {
            suggestion_id: Uuid::from_u128(8),
            status: SuggestionStatus::Accepted,
            meeting_id: meeting,
        },
    };
    assert_eq!(
        json_of(&status),
        json!({"type": "copilot_suggestion_status_updated", "data": {
            "suggestion_id": "00000000-0000-0000-0000-000000000008",
            "status": "accepted",
            "meeting_id": "00000000-0000-0000-0000-000000000007"
        }})
    );
}

#[test]
fn whole_second_timestamps_have_no_fraction() {
    let whole = at() - chrono::Duration::microseconds(123_450);
    assert_eq!(
        serde_json::to_string(&drf::DateTime(whole)).expect("serializes"),
        r#""2026-11-24T08:25:00Z""#
    );
}
