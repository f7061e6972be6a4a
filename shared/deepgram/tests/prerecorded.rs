//! The client against the fake Deepgram of `meetin-test-support`, over real sockets: the fake
//! fetches real WAV bytes from a small audio server, as Deepgram fetches a presigned S3 URL.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use meetin_deepgram::{DeepgramClient, DeepgramError, PrerecordedOptions, Segment, transcription};
use meetin_test_support::fake_deepgram::{DEFAULT_PHRASE, FakeDeepgram, sha256_hex, sine_wav};

/// Serves `GET /audio/{name}` from a fixed map (404 otherwise); stops when dropped.
struct AudioServer {
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AudioServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AudioServer {
    async fn start(files: Vec<(&str, Vec<u8>)>) -> Self {
        let files: Arc<HashMap<String, Vec<u8>>> = Arc::new(
            files
                .into_iter()
                .map(|(name, bytes)| (name.to_owned(), bytes))
                .collect(),
        );
        async fn serve(
            State(files): State<Arc<HashMap<String, Vec<u8>>>>,
            Path(name): Path<String>,
        ) -> axum::response::Response {
            match files.get(&name) {
                Some(bytes) => ([("content-type", "audio/wav")], bytes.clone()).into_response(),
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }
        let app = axum::Router::new()
            .route("/audio/{name}", axum::routing::get(serve))
            .with_state(files);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind audio server");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("audio server");
        });
        Self { base, task }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/audio/{name}", self.base)
    }
}

fn client(fake: &FakeDeepgram, key: &str) -> DeepgramClient {
    DeepgramClient::new(
        fake.base_url.clone(),
        key.to_owned(),
        reqwest::Client::new(),
    )
}

/// A port on 127.0.0.1 nobody listens on (bound, then released).
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test]
async fn transcribes_a_wav_by_url_with_the_documented_request() {
    let wav = sine_wav(1000, 16_000);
    let audio = AudioServer::start(vec![("meeting.wav", wav.clone())]).await;
    let fake = FakeDeepgram::start().await.expect("fake");
    fake.register_transcript(
        sha256_hex(&wav),
        [
            (0, "Hello everyone, let's start."),
            (1, "Sounds good to me."),
        ],
    );

    let response = client(&fake, &fake.api_key)
        .transcribe_url(
            &audio.url("meeting.wav"),
            &PrerecordedOptions::for_language("en"),
        )
        .await
        .expect("transcribed");

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let seen = &requests[0];
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/v1/listen")
    );
    let query: Vec<(&str, &str)> = seen
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        query,
        [
            ("model", "nova-3"),
            ("diarize", "true"),
            ("utterances", "true"),
            ("punctuate", "true"),
            ("smart_format", "true"),
            ("language", "en"),
        ]
    );
    assert_eq!(
        seen.authorization.as_deref(),
        Some(format!("Token {}", fake.api_key).as_str())
    );
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        seen.json(),
        serde_json::json!({ "url": audio.url("meeting.wav") })
    );

    assert_eq!(
        response.metadata.sha256.as_deref(),
        Some(sha256_hex(&wav).as_str())
    );
    let t = transcription(&response);
    assert_eq!(
        t.duration_ms, 1000,
        "from the WAV header: 16000 samples at 16 kHz"
    );
    assert_eq!(t.language_detected, None, "no detection was asked");
    assert_eq!(
        t.segments,
        vec![
            Segment {
                start_ms: 0,
                end_ms: 500,
                speaker_label: "Speaker 0".into(),
                text: "Hello everyone, let's start.".into(),
                confidence: Some(0.99),
            },
            Segment {
                start_ms: 500,
                end_ms: 1000,
                speaker_label: "Speaker 1".into(),
                text: "Sounds good to me.".into(),
                confidence: Some(0.99),
            },
        ]
    );
}

#[tokio::test]
async fn auto_language_asks_for_detection_and_reads_it_from_the_channel() {
    let wav = sine_wav(2500, 16_000);
    let audio = AudioServer::start(vec![("recordings-abc-fr.wav", wav)]).await;
    let fake = FakeDeepgram::start().await.expect("fake");
    fake.register_transcript_in("recordings-abc-fr", "fr", [(0, "Bonjour à tous.")]);

    let response = client(&fake, &fake.api_key)
        .transcribe_url(
            &audio.url("recordings-abc-fr.wav"),
            &PrerecordedOptions::for_language("auto"),
        )
        .await
        .expect("transcribed");

    let seen = &fake.requests()[0];
    assert_eq!(seen.query_value("detect_language"), Some("true"));
    assert_eq!(seen.query_value("language"), None);
    let t = transcription(&response);
    assert_eq!(t.language_detected.as_deref(), Some("fr"));
    assert_eq!(t.duration_ms, 2500);
    assert_eq!(
        t.segments
            .iter()
            .map(|s| (s.start_ms, s.end_ms, s.text.as_str()))
            .collect::<Vec<_>>(),
        [(0, 2500, "Bonjour à tous.")]
    );
}

#[tokio::test]
async fn unregistered_audio_gets_the_fixed_phrase() {
    let audio = AudioServer::start(vec![("other.wav", sine_wav(300, 8_000))]).await;
    let fake = FakeDeepgram::start().await.expect("fake");
    let response = client(&fake, &fake.api_key)
        .transcribe_url(&audio.url("other.wav"), &PrerecordedOptions::default())
        .await
        .expect("transcribed");
    let t = transcription(&response);
    assert_eq!(t.duration_ms, 300);
    assert_eq!(t.segments.len(), 1);
    assert_eq!(t.segments[0].text, DEFAULT_PHRASE);
    assert_eq!((t.segments[0].start_ms, t.segments[0].end_ms), (0, 300));
}

#[tokio::test]
async fn wrong_key_is_rejected_with_401() {
    let audio = AudioServer::start(vec![("a.wav", sine_wav(100, 16_000))]).await;
    let fake = FakeDeepgram::start().await.expect("fake");
    let err = client(&fake, "not-the-key")
        .transcribe_url(&audio.url("a.wav"), &PrerecordedOptions::default())
        .await
        .expect_err("bad key");
    assert!(!err.is_retryable());
    match err {
        DeepgramError::Rejected {
            status,
            code,
            message,
            request_id,
        } => {
            assert_eq!(status, 401);
            assert_eq!(code.as_deref(), Some("INVALID_AUTH"));
            assert_eq!(message, "Invalid credentials.");
            assert!(request_id.is_some());
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(
        fake.requests()[0].authorization.as_deref(),
        Some("Token not-the-key")
    );
}

#[tokio::test]
async fn overload_and_rate_limit_are_retryable_and_pass_once_over() {
    let audio = AudioServer::start(vec![("a.wav", sine_wav(100, 16_000))]).await;
    let fake = FakeDeepgram::start().await.expect("fake");
    let client = client(&fake, &fake.api_key);
    let options = PrerecordedOptions::default();
    fake.fail_next(1, 503);
    fake.fail_next(1, 429);

    let first = client
        .transcribe_url(&audio.url("a.wav"), &options)
        .await
        .expect_err("503");
    assert!(
        matches!(&first, DeepgramError::Retryable { status: Some(503), message } if message == "Please try again later"),
        "{first:?}"
    );
    let second = client
        .transcribe_url(&audio.url("a.wav"), &options)
        .await
        .expect_err("429");
    assert!(first.is_retryable() && second.is_retryable());
    assert_eq!(second.status(), Some(429));
    client
        .transcribe_url(&audio.url("a.wav"), &options)
        .await
        .expect("the third attempt goes through");
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn unreachable_or_missing_or_non_audio_url_is_a_400_rejection() {
    let audio = AudioServer::start(vec![("notes.txt", b"meeting notes, not audio".to_vec())]).await;
    let fake = FakeDeepgram::start().await.expect("fake");
    let client = client(&fake, &fake.api_key);
    let options = PrerecordedOptions::default();
    let port = closed_port().await;

    let cases = [
        (
            format!("http://127.0.0.1:{port}/audio/a.wav"),
            "REMOTE_CONTENT_ERROR",
            "failed to return valid data",
        ),
        (
            audio.url("missing.wav"),
            "REMOTE_CONTENT_ERROR",
            "returned a client error: 404 Not Found",
        ),
        (
            audio.url("notes.txt"),
            "Bad Request",
            "corrupt or unsupported data",
        ),
    ];
    for (url, want_code, want_message) in cases {
        let err = client
            .transcribe_url(&url, &options)
            .await
            .expect_err("not transcribable");
        match err {
            DeepgramError::Rejected {
                status: 400,
                code,
                message,
                ..
            } => {
                assert_eq!(code.as_deref(), Some(want_code), "{url}");
                assert!(message.contains(want_message), "{url}: {message}");
            }
            other => panic!("{url}: expected a 400 Rejected, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn no_answer_is_retryable() {
    // Nobody listening: connection refused.
    let port = closed_port().await;
    let refused = DeepgramClient::new(
        format!("http://127.0.0.1:{port}/").parse().expect("url"),
        "k".into(),
        reqwest::Client::new(),
    );
    let err = refused
        .transcribe_url("http://127.0.0.1:1/a.wav", &PrerecordedOptions::default())
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, DeepgramError::Retryable { status: None, message } if message.starts_with("connection failed")),
        "{err:?}"
    );

    // Accepts the connection, never answers: the request times out.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let silent = DeepgramClient::new(
        format!("http://{addr}/").parse().expect("url"),
        "k".into(),
        reqwest::Client::new(),
    )
    .with_timeout(Duration::from_millis(300));
    let err = silent
        .transcribe_url("http://127.0.0.1:1/a.wav", &PrerecordedOptions::default())
        .await
        .expect_err("timeout");
    hold.abort();
    assert!(
        matches!(&err, DeepgramError::Retryable { status: None, message } if message.starts_with("timed out")),
        "{err:?}"
    );
}

/// The fake refuses what Deepgram refuses, so a client mistake cannot pass unnoticed: an
/// unknown or non-boolean parameter, a URL body without the JSON content type, a body without
/// `url`.
#[tokio::test]
async fn fake_refuses_malformed_requests_like_deepgram() {
    let fake = FakeDeepgram::start().await.expect("fake");
    let http = reqwest::Client::new();
    let listen = fake.base_url.join("v1/listen").expect("url");
    let auth = format!("Token {}", fake.api_key);
    let send = |query: &'static str, content_type: &'static str, body: &'static str| {
        let mut url = listen.clone();
        url.set_query(Some(query));
        http.post(url)
            .header("authorization", &auth)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases = [
        (
            "model=nova-3&diarise=true",
            "application/json",
            r#"{"url":"http://127.0.0.1:1/a"}"#,
            "INVALID_QUERY_PARAMETER",
        ),
        (
            "model=nova-3&utterances=yes",
            "application/json",
            r#"{"url":"http://127.0.0.1:1/a"}"#,
            "INVALID_QUERY_PARAMETER",
        ),
        (
            "model=nova-3",
            "audio/webm",
            r#"{"url":"http://127.0.0.1:1/a"}"#,
            "Bad Request",
        ),
        (
            "model=nova-3",
            "application/json",
            r#"{"uri":"http://127.0.0.1:1/a"}"#,
            "INVALID_JSON",
        ),
        (
            "model=nova-3",
            "application/json",
            "not json",
            "Bad Request",
        ),
    ];
    for (query, content_type, body, want) in cases {
        let response = send(query, content_type, body).await.expect("answer");
        assert_eq!(response.status(), 400, "{query} {content_type} {body}");
        let json: serde_json::Value = response.json().await.expect("json error body");
        let code = json.get("err_code").or_else(|| json.get("category"));
        assert_eq!(
            code.and_then(|c| c.as_str()),
            Some(want),
            "{query} {content_type} {body}: {json}"
        );
        assert!(json["request_id"].is_string());
    }
}
