use super::*;

fn parse(json: &str) -> ServerMessage {
    serde_json::from_str(json).expect("a documented message parses")
}

/// A `Results` Deepgram really sent (tests/fixtures/README.md).
#[test]
fn recorded_results_message_parses() {
    let ServerMessage::Results(results) = parse(include_str!(
        "../../../tests/fixtures/python-sdk-live-testing-123-results.json"
    )) else {
        panic!("not a Results");
    };
    assert_eq!(results.channel_index, vec![0, 1]);
    assert_eq!((results.start, results.duration), (0.74, 3.08));
    assert!(results.is_final && results.speech_final && !results.from_finalize);
    let alternative = &results.channel.alternatives[0];
    assert_eq!(alternative.transcript, "Testing. 123. Testing. 123.");
    assert_eq!(alternative.words.len(), 4);
    assert_eq!(alternative.words[2].start, 2.1799998);
    assert_eq!(
        alternative.words[2].punctuated_word.as_deref(),
        Some("Testing.")
    );
    assert_eq!(alternative.words[2].speaker, None);
    let metadata = results.metadata.as_ref().expect("metadata");
    assert_eq!(metadata.request_id, "26dd8cc9-77e6-4db7-a0ae-3034c013cb64");
    assert_eq!(
        metadata.model_info.as_ref().map(|m| m.arch.as_str()),
        Some("nova-3")
    );
}

/// An interim result leaves out `is_final` / `speech_final` / `from_finalize` or sets them
/// false; diarized words carry `speaker`, `language=multi` words `language`.
#[test]
fn interim_diarized_multilingual_results_parse() {
    let ServerMessage::Results(results) = parse(
        r#"{"type":"Results","channel_index":[0,1],"duration":1.02,"start":0.0,
            "channel":{"alternatives":[{"transcript":"bonjour hello","confidence":0.9,"languages":["fr","en"],
              "words":[{"word":"bonjour","start":0.1,"end":0.5,"confidence":0.9,"speaker":1,"punctuated_word":"Bonjour","language":"fr"},
                       {"word":"hello","start":0.6,"end":0.9,"confidence":0.8,"speaker":0,"punctuated_word":"hello","language":"en"}]}]},
            "metadata":{"request_id":"r","model_info":{"name":"general-nova-3","version":"v","arch":"nova-3"},"model_uuid":"u"}}"#,
    ) else {
        panic!("not a Results");
    };
    assert!(!results.is_final && !results.speech_final && !results.from_finalize);
    let alternative = &results.channel.alternatives[0];
    assert_eq!(alternative.languages, vec!["fr", "en"]);
    assert_eq!(alternative.words[0].speaker, Some(1));
    assert_eq!(alternative.words[0].language.as_deref(), Some("fr"));
}

/// The other server messages, as the docs print them (protocols.md §3.2; docs page
/// `close-stream` for the Metadata example), and a type we do not know.
#[test]
fn metadata_utterance_end_speech_started_and_unknown_parse() {
    assert_eq!(
        parse(
            r#"{"type":"Metadata","transaction_key":"deprecated","request_id":"8c8ebea9-1a1a-4e0b-8ef6-3a8a5c7a9f3e","sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","created":"2024-08-29T22:37:55.202Z","duration":0.0,"channels":0}"#
        ),
        ServerMessage::Metadata(MetadataMessage {
            request_id: "8c8ebea9-1a1a-4e0b-8ef6-3a8a5c7a9f3e".into(),
            transaction_key: Some("deprecated".into()),
            sha256: Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into()),
            created: Some("2024-08-29T22:37:55.202Z".into()),
            duration: 0.0,
            channels: 0,
        })
    );
    assert_eq!(
        parse(r#"{"type":"UtteranceEnd","channel":[0,1],"last_word_end":2.395}"#),
        ServerMessage::UtteranceEnd(UtteranceEnd {
            channel: vec![0, 1],
            last_word_end: 2.395
        })
    );
    assert_eq!(
        parse(r#"{"type":"SpeechStarted","channel":[0],"timestamp":1.5}"#),
        ServerMessage::SpeechStarted(SpeechStarted {
            channel: vec![0],
            timestamp: 1.5
        })
    );
    assert_eq!(
        parse(r#"{"type":"Warning","message":"something new"}"#),
        ServerMessage::Unknown
    );
}

/// Control messages are exactly the documented text frames.
#[test]
fn client_messages_serialize_as_documented() {
    let text = |m: &ClientMessage| serde_json::to_string(m).expect("serializes");
    assert_eq!(text(&ClientMessage::KeepAlive), r#"{"type":"KeepAlive"}"#);
    assert_eq!(
        text(&ClientMessage::Finalize { channel: None }),
        r#"{"type":"Finalize"}"#
    );
    assert_eq!(
        text(&ClientMessage::Finalize { channel: Some(0) }),
        r#"{"type":"Finalize","channel":0}"#
    );
    assert_eq!(
        text(&ClientMessage::CloseStream),
        r#"{"type":"CloseStream"}"#
    );
}
