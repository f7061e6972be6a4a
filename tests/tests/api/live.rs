//! Live transcription end to end (issue 19), over real sockets: the local stack's WebSocket
//! API stand-in running the deployed `live-socket` handler, the bridge's private relay API on
//! its own port, the fake Deepgram live server hearing tone speech, PostgreSQL and the AWS
//! emulator.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use meetin_test_support::fake_deepgram_live::FakeDeepgramLive;
use meetin_test_support::tone_speech;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;

use crate::helpers::{Account, TestApp};

/// The page origin the tests' sockets present (in `CORS_ALLOWED_ORIGINS`).
const ORIGIN: &str = "http://localhost:3000";

/// A whole live stack on free ports.
pub struct LiveStack {
    pub app: TestApp,
    #[allow(dead_code)]
    pub fake: FakeDeepgramLive,
    /// The stack's HTTP and WebSocket port.
    pub addr: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for LiveStack {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl LiveStack {
    pub async fn start() -> Self {
        let fake = FakeDeepgramLive::start()
            .await
            .expect("the fake Deepgram live");
        fake.recognize_tone_speech(true);
        let public = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let internal = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = public.local_addr().expect("addr");
        let internal_url = format!("http://{}", internal.local_addr().expect("addr"));
        let callback = format!("http://{addr}");
        let app = TestApp::spawn_with(&[
            ("BRIDGE_URL", internal_url.as_str()),
            ("BRIDGE_TASK_URL", internal_url.as_str()),
            ("WEBSOCKET_CALLBACK_URL", callback.as_str()),
            ("DEEPGRAM_API_KEY", fake.api_key.as_str()),
            ("DEEPGRAM_LIVE_URL", fake.base_url.as_str()),
        ])
        .await;
        let lookup = |name: &str| app.settings.get(name).cloned();
        let sdk = meetin_aws::sdk_config(
            &<meetin_core::AwsSettings as meetin_core::Setting>::from_lookup(&lookup).expect("AWS"),
        )
        .await;
        let sockets =
            live_socket::Sockets::with_context(app.ctx.service.clone(), &lookup, &sdk, &callback)
                .expect("the socket handler");
        let served = app.public.clone().merge(meetin_local::socket_api(
            sockets,
            meetin_local::sockets::SocketLimits::API_GATEWAY,
        ));
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(async move {
            let _ = meetin_local::http::serve(public, served, std::future::pending()).await;
        }));
        let relay = live_bridge::internal_service(&app.bridge);
        tasks.push(tokio::spawn(async move {
            let _ = live_bridge::server::serve(
                internal,
                live_bridge::server::http1(),
                relay,
                std::future::pending(),
                Duration::from_secs(1),
            )
            .await;
        }));
        Self {
            app,
            fake,
            addr,
            tasks,
        }
    }

    /// Opens the API Gateway form of the socket: `/ws?meeting_id=&token=`.
    pub async fn connect(&self, meeting: Uuid, token: &str) -> Socket {
        let url = format!("ws://{}/ws?meeting_id={meeting}&token={token}", self.addr);
        let mut request = url.into_client_request().expect("request");
        request
            .headers_mut()
            .insert("origin", ORIGIN.parse().expect("origin"));
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the socket opens");
        socket
    }
}

impl LiveStack {
    /// Opens the existing frontend's form of the socket: `/ws/meetings/{id}/live/?token=`,
    /// served by the bridge.
    pub async fn connect_legacy(&self, meeting: Uuid, token: &str) -> Socket {
        let url = format!(
            "ws://{}/ws/meetings/{meeting}/live/?token={token}",
            self.addr
        );
        let mut request = url.into_client_request().expect("request");
        request
            .headers_mut()
            .insert("origin", ORIGIN.parse().expect("origin"));
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the legacy socket opens");
        socket
    }
}

/// Sends `pcm` as the frontend does: binary frames of 8,192 bytes at real-time pace.
pub async fn stream_binary(socket: &mut Socket, pcm: &[u8]) {
    let mut tick = tokio::time::interval(Duration::from_millis(256));
    for chunk in pcm.chunks(8192) {
        tick.tick().await;
        socket
            .send(Message::binary(chunk.to_vec()))
            .await
            .expect("sending audio");
    }
}

pub async fn create_meeting(app: &TestApp, who: &Account) -> Uuid {
    let r = app
        .post(
            "/api/meetings/",
            json!({"title": "Standup", "organization": who.org_id, "language_preference": "en"}),
            Some(&who.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    r.body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id")
}

/// 16 kHz PCM16 LE of a tone-speech script `duration_ms` long.
pub fn speech(duration_ms: u32, seed: u64) -> (Vec<tone_speech::Word>, Vec<u8>) {
    let script = tone_speech::script(duration_ms, seed);
    let wav = tone_speech::render_wav(&script, duration_ms);
    (script, wav[44..].to_vec())
}

/// Sends `pcm` as `audio_chunk` frames of 8,192 bytes (256 ms) at real-time pace.
pub async fn stream_audio(socket: &mut Socket, pcm: &[u8], stream: Option<&str>, first_seq: u64) {
    use base64::Engine as _;
    let mut tick = tokio::time::interval(Duration::from_millis(256));
    for (i, chunk) in pcm.chunks(8192).enumerate() {
        tick.tick().await;
        let mut frame = json!({
            "type": "audio_chunk",
            "seq": first_seq + i as u64,
            "data": base64::engine::general_purpose::STANDARD.encode(chunk),
        });
        if let Some(stream) = stream {
            frame["stream"] = json!(stream);
        }
        socket
            .send(Message::text(frame.to_string()))
            .await
            .expect("sending audio");
    }
}

/// Reads JSON messages until `until` holds for one (included) or `timeout` passes.
pub async fn read_until(
    socket: &mut Socket,
    timeout: Duration,
    until: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next()).await;
        let Ok(Some(Ok(message))) = next else {
            return seen;
        };
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(text.as_str()).expect("JSON frames");
            let done = until(&value);
            seen.push(value);
            if done {
                return seen;
            }
        }
    }
}

/// The words of `text`, lowercase, without punctuation (Deepgram's smart formatting).
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

fn of_type<'a>(messages: &'a [Value], kind: &str) -> Vec<&'a Value> {
    messages.iter().filter(|m| m["type"] == kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_speaker_and_two_listeners_get_interims_and_finals_in_order_and_the_transcript_keeps_them()
 {
    let stack = LiveStack::start().await;
    let app = &stack.app;
    let alice = app.register().await;
    let meeting = create_meeting(app, &alice).await;
    let r = app
        .post(
            &format!("/api/meetings/{meeting}/live/start/"),
            json!({}),
            Some(&alice.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["status"], "active");

    let listen = |mut socket: Socket| {
        tokio::spawn(async move {
            read_until(&mut socket, Duration::from_secs(60), |m| {
                m["type"] == "session_status" && m["status"] == "ended"
            })
            .await
        })
    };
    let first = listen(stack.connect(meeting, &alice.access).await);
    let second = listen(stack.connect(meeting, &alice.access).await);
    let mut speaker = stack.connect(meeting, &alice.access).await;
    let (script, pcm) = speech(8_000, 7);
    stream_audio(&mut speaker, &pcm, Some("mic"), 0).await;
    // Deepgram's last window closes on stop.
    let r = app
        .post(
            &format!("/api/meetings/{meeting}/live/stop/"),
            json!({}),
            Some(&alice.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["status"], "ended");
    let first = first.await.expect("listener");
    let second = second.await.expect("listener");

    let transcript = app
        .get(
            &format!("/api/transcription/meetings/{meeting}/transcript/"),
            &alice.access,
        )
        .await;
    assert_eq!(transcript.status, StatusCode::OK, "{transcript:?}");
    let stored = transcript.body["segments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!stored.is_empty(), "finals stored: {transcript:?}");
    let stored_ids: Vec<&Value> = stored.iter().map(|s| &s["id"]).collect();
    for heard in [&first, &second] {
        let finals = of_type(heard, "transcript_segment");
        let ids: Vec<&Value> = finals.iter().map(|m| &m["data"]["id"]).collect();
        assert_eq!(ids, stored_ids, "every final, once, in order: {heard:#?}");
        assert!(finals.iter().all(|m| m["data"]["is_final"] == true));
        assert!(
            !of_type(heard, "transcript_interim").is_empty(),
            "interims too"
        );
        assert_eq!(heard.last().map(|m| &m["status"]), Some(&json!("ended")));
    }
    let heard_words: Vec<String> = stored
        .iter()
        .flat_map(|s| words(s["text"].as_str().unwrap_or_default()))
        .collect();
    let said: Vec<String> = script.iter().map(|w| w.text().to_owned()).collect();
    assert_eq!(heard_words, said, "the transcript is what was said");
    assert!(stored.iter().all(|s| {
        s["speaker_label"]
            .as_str()
            .is_some_and(|l| l.starts_with("Speaker "))
    }));
    let starts: Vec<i64> = stored
        .iter()
        .filter_map(|s| s["start_ms"].as_i64())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frontend_speaks_on_its_legacy_socket_and_listeners_of_both_kinds_get_every_final() {
    let stack = LiveStack::start().await;
    let app = &stack.app;
    let alice = app.register().await;
    let meeting = create_meeting(app, &alice).await;
    let r = app
        .post(
            &format!("/api/meetings/{meeting}/live/start/"),
            json!({}),
            Some(&alice.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let listen = |mut socket: Socket| {
        tokio::spawn(async move {
            read_until(&mut socket, Duration::from_secs(60), |m| {
                m["type"] == "session_status" && m["status"] == "ended"
            })
            .await
        })
    };
    let gateway = listen(stack.connect(meeting, &alice.access).await);
    let legacy = listen(stack.connect_legacy(meeting, &alice.access).await);
    let mut speaker = stack.connect_legacy(meeting, &alice.access).await;
    let (script, pcm) = speech(6_000, 11);
    stream_binary(&mut speaker, &pcm).await;
    let r = app
        .post(
            &format!("/api/meetings/{meeting}/live/stop/"),
            json!({}),
            Some(&alice.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let gateway = gateway.await.expect("listener");
    let legacy = legacy.await.expect("listener");
    let transcript = app
        .get(
            &format!("/api/transcription/meetings/{meeting}/transcript/"),
            &alice.access,
        )
        .await;
    let stored = transcript.body["segments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let stored_ids: Vec<&Value> = stored.iter().map(|s| &s["id"]).collect();
    assert!(!stored_ids.is_empty(), "{transcript:?}");
    for heard in [&gateway, &legacy] {
        let ids: Vec<&Value> = of_type(heard, "transcript_segment")
            .iter()
            .map(|m| &m["data"]["id"])
            .collect();
        assert_eq!(ids, stored_ids, "every final, once, in order: {heard:#?}");
    }
    let heard_words: Vec<String> = stored
        .iter()
        .flat_map(|s| words(s["text"].as_str().unwrap_or_default()))
        .collect();
    let said: Vec<String> = script.iter().map(|w| w.text().to_owned()).collect();
    assert_eq!(heard_words, said);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_socket_refuses_a_foreign_origin_a_bad_token_and_an_outsider() {
    let stack = LiveStack::start().await;
    let app = &stack.app;
    let alice = app.register().await;
    let mallory = app.register().await;
    let meeting = create_meeting(app, &alice).await;
    let attempt = |origin: Option<&'static str>, token: String| {
        let url = format!(
            "ws://{}/ws/meetings/{meeting}/live/?token={token}",
            stack.addr
        );
        async move {
            let mut request = url.into_client_request().expect("request");
            if let Some(origin) = origin {
                request
                    .headers_mut()
                    .insert("origin", origin.parse().expect("origin"));
            }
            match tokio_tungstenite::connect_async(request).await {
                Ok(_) => 101,
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    response.status().as_u16()
                }
                Err(other) => panic!("{other}"),
            }
        }
    };
    assert_eq!(attempt(Some(ORIGIN), alice.access.clone()).await, 101);
    assert_eq!(
        attempt(Some("https://evil.example"), alice.access.clone()).await,
        403
    );
    assert_eq!(attempt(None, alice.access.clone()).await, 403);
    assert_eq!(attempt(Some(ORIGIN), "not-a-token".into()).await, 403);
    assert_eq!(
        attempt(Some(ORIGIN), alice.refresh.clone()).await,
        403,
        "a refresh token is no access token"
    );
    assert_eq!(
        attempt(Some(ORIGIN), mallory.access.clone()).await,
        403,
        "another organization's meeting"
    );
}
