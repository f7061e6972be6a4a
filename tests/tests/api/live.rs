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
    /// The bridge's relay port.
    pub internal: SocketAddr,
    /// The bridge task serving it now (replaced by [`LiveStack::restart_bridge`]).
    pub bridge: live_bridge::Bridge,
    relay: Option<tokio::task::JoinHandle<()>>,
    /// The second bridge task of [`LiveStack::start_full`], and its relay server.
    pub second: Option<(live_bridge::Bridge, tokio::task::JoinHandle<()>)>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for LiveStack {
    fn drop(&mut self) {
        for task in self
            .tasks
            .iter()
            .chain(self.relay.iter())
            .chain(self.second.iter().map(|(_, relay)| relay))
        {
            task.abort();
        }
    }
}

fn serve_relay(bridge: &live_bridge::Bridge, listener: TcpListener) -> tokio::task::JoinHandle<()> {
    let relay = live_bridge::internal_service(bridge);
    tokio::spawn(async move {
        let _ = live_bridge::server::serve(
            listener,
            live_bridge::server::http1(),
            relay,
            std::future::pending(),
            Duration::from_secs(1),
        )
        .await;
    })
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl LiveStack {
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// With `keyless`, no Deepgram key: the bridge transcribes with the embedded Whisper
    /// engine (the provisioned model).
    pub async fn start_with(keyless: bool) -> Self {
        Self::start_with_settings(keyless, &[]).await
    }

    /// [`LiveStack::start_with`] plus settings `extra`.
    pub async fn start_with_settings(keyless: bool, extra: &[(&str, &str)]) -> Self {
        Self::start_full(keyless, extra, false).await
    }

    /// With `second_task`, a second bridge task runs on its own relay port and is the
    /// socket handler's fleet (`BRIDGE_URL` of `live-socket`), while sessions open on the
    /// first (`BRIDGE_URL` of `meetings`).
    pub async fn start_full(keyless: bool, extra: &[(&str, &str)], second_task: bool) -> Self {
        let fake = FakeDeepgramLive::start()
            .await
            .expect("the fake Deepgram live");
        fake.recognize_tone_speech(true);
        let public = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let internal = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = public.local_addr().expect("addr");
        let internal_addr = internal.local_addr().expect("addr");
        let internal_url = format!("http://{internal_addr}");
        let callback = format!("http://{addr}");
        let model = meetin_test_support::speech::whisper_model()
            .to_string_lossy()
            .into_owned();
        let multilingual = meetin_test_support::speech::whisper_multilingual_model()
            .to_string_lossy()
            .into_owned();
        let mut overrides = vec![
            ("BRIDGE_URL", internal_url.as_str()),
            ("BRIDGE_TASK_URL", internal_url.as_str()),
            ("WEBSOCKET_CALLBACK_URL", callback.as_str()),
        ];
        if keyless {
            overrides.push(("WHISPER_MODEL_PATH", model.as_str()));
            overrides.push(("WHISPER_MULTILINGUAL_MODEL_PATH", multilingual.as_str()));
        } else {
            overrides.push(("DEEPGRAM_API_KEY", fake.api_key.as_str()));
            overrides.push(("DEEPGRAM_LIVE_URL", fake.base_url.as_str()));
        }
        overrides.extend_from_slice(extra);
        let app = TestApp::spawn_with(&overrides).await;
        let lookup = |name: &str| app.settings.get(name).cloned();
        let sdk = meetin_aws::sdk_config(
            &<meetin_core::AwsSettings as meetin_core::Setting>::from_lookup(&lookup).expect("AWS"),
        )
        .await;
        let mut sockets =
            live_socket::Sockets::with_context(app.ctx.service.clone(), &lookup, &sdk, &callback)
                .expect("the socket handler");
        let mut second = None;
        if second_task {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
            let url = format!("http://{}", listener.local_addr().expect("addr"));
            let mut settings = app.settings.clone();
            settings.insert("BRIDGE_TASK_URL".into(), url.clone());
            let lookup = |name: &str| settings.get(name).cloned();
            let bridge =
                live_bridge::Bridge::with_context(app.ctx.service.clone(), &lookup, &sdk, None)
                    .await
                    .expect("a second bridge task");
            let relay = serve_relay(&bridge, listener);
            sockets.bridge_url = Some(url);
            second = Some((bridge, relay));
        }
        let served = app.public.clone().merge(meetin_local::socket_api(
            sockets,
            meetin_local::sockets::SocketLimits::API_GATEWAY,
        ));
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(async move {
            let _ = meetin_local::http::serve(public, served, std::future::pending()).await;
        }));
        let relay = Some(serve_relay(&app.bridge, internal));
        Self {
            bridge: app.bridge.clone(),
            app,
            fake,
            addr,
            internal: internal_addr,
            relay,
            second,
            tasks,
        }
    }

    /// Kills the bridge task: its sessions end at once with nothing flushed, its relay port
    /// closes (as when the process dies).
    pub async fn kill_bridge(&mut self) {
        self.bridge.live.crash();
        if let Some(relay) = self.relay.take() {
            relay.abort();
            let _ = relay.await;
        }
    }

    /// Starts a new bridge task at the same address (a new task id, nothing in memory).
    pub async fn restart_bridge(&mut self) {
        let lookup = |name: &str| self.app.settings.get(name).cloned();
        let sdk = meetin_aws::sdk_config(
            &<meetin_core::AwsSettings as meetin_core::Setting>::from_lookup(&lookup).expect("AWS"),
        )
        .await;
        let bridge =
            live_bridge::Bridge::with_context(self.app.ctx.service.clone(), &lookup, &sdk, None)
                .await
                .expect("a new bridge task");
        let listener = TcpListener::bind(self.internal)
            .await
            .expect("the relay port again");
        self.relay = Some(serve_relay(&bridge, listener));
        self.bridge = bridge;
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

/// Reads `socket` in a task until the session's `ended` status (at most 60 s).
fn listen_until_ended(mut socket: Socket) -> tokio::task::JoinHandle<Vec<Value>> {
    tokio::spawn(async move {
        read_until(&mut socket, Duration::from_secs(60), |m| {
            m["type"] == "session_status" && m["status"] == "ended"
        })
        .await
    })
}

/// The ids of the finals `heard` carried, in order.
fn final_ids(heard: &[Value]) -> Vec<Value> {
    of_type(heard, "transcript_segment")
        .iter()
        .map(|m| m["data"]["id"].clone())
        .collect()
}

/// The ids of the stored segments, in order.
fn ids_of(segments: &[Value]) -> Vec<Value> {
    segments.iter().map(|s| s["id"].clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_speaker_and_two_listeners_get_interims_and_finals_in_order_and_the_transcript_keeps_them()
 {
    let stack = LiveStack::start().await;
    let (alice, meeting) = started(&stack).await;
    let first = listen_until_ended(stack.connect(meeting, &alice.access).await);
    let second = listen_until_ended(stack.connect(meeting, &alice.access).await);
    let mut speaker = stack.connect(meeting, &alice.access).await;
    let (script, pcm) = speech(8_000, 7);
    stream_audio(&mut speaker, &pcm, Some("mic"), 0).await;
    // Deepgram's last window closes on stop.
    stop(&stack, &alice, meeting).await;
    let first = first.await.expect("listener");
    let second = second.await.expect("listener");
    let stored = stored(&stack, &alice, meeting).await;
    assert!(!stored.is_empty(), "finals stored");
    for heard in [&first, &second] {
        assert_eq!(
            final_ids(heard),
            ids_of(&stored),
            "every final, once, in order: {heard:#?}"
        );
        assert!(
            of_type(heard, "transcript_segment")
                .iter()
                .all(|m| m["data"]["is_final"] == true)
        );
        assert!(
            !of_type(heard, "transcript_interim").is_empty(),
            "interims too"
        );
        assert_eq!(heard.last().map(|m| &m["status"]), Some(&json!("ended")));
    }
    assert_eq!(
        transcript_words(&stored),
        said(&script),
        "the transcript is what was said"
    );
    assert!(stored.iter().all(|s| {
        s["speaker_label"]
            .as_str()
            .is_some_and(|l| l.starts_with("Speaker "))
    }));
    assert_monotonic(&stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frontend_speaks_on_its_legacy_socket_and_listeners_of_both_kinds_get_every_final() {
    let stack = LiveStack::start().await;
    let (alice, meeting) = started(&stack).await;
    let gateway = listen_until_ended(stack.connect(meeting, &alice.access).await);
    let legacy = listen_until_ended(stack.connect_legacy(meeting, &alice.access).await);
    let mut speaker = stack.connect_legacy(meeting, &alice.access).await;
    let (script, pcm) = speech(6_000, 11);
    stream_binary(&mut speaker, &pcm).await;
    stop(&stack, &alice, meeting).await;
    let gateway = gateway.await.expect("listener");
    let legacy = legacy.await.expect("listener");
    let stored = stored(&stack, &alice, meeting).await;
    assert!(!stored.is_empty());
    for heard in [&gateway, &legacy] {
        assert_eq!(
            final_ids(heard),
            ids_of(&stored),
            "every final, once, in order: {heard:#?}"
        );
    }
    assert_eq!(transcript_words(&stored), said(&script));
    // The frontend keeps sending until its stop returns: those frames are dropped silently
    // (no error banner), and its close gets a clean close back (not 1006).
    stream_binary(&mut speaker, &pcm[..8192 * 4]).await;
    let after = read_until(&mut speaker, Duration::from_secs(2), |_| false).await;
    assert!(of_type(&after, "error").is_empty(), "{after:?}");
    speaker.close(None).await.expect("close sent");
    let mut clean = false;
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_secs(5), speaker.next()).await {
        match frame {
            Ok(Message::Close(_))
            | Err(tokio_tungstenite::tungstenite::Error::ConnectionClosed) => {
                clean = true;
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    assert!(clean, "the server answered the close");
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

/// A speaker that keeps its chunks until acknowledged, as a resuming client does: it sends
/// at real-time pace, reads `audio_ack` and `audio_resend` beside, and answers a resend at
/// once.
pub struct Speaker {
    pub chunks: Vec<Vec<u8>>,
    pub stream: String,
    pub acked: std::sync::Arc<std::sync::Mutex<Option<u64>>>,
    pub resends: std::sync::Arc<std::sync::Mutex<Vec<u64>>>,
}

impl Speaker {
    pub fn new(pcm: &[u8], stream: &str) -> Self {
        Self {
            chunks: pcm.chunks(8192).map(<[u8]>::to_vec).collect(),
            stream: stream.to_owned(),
            acked: Default::default(),
            resends: Default::default(),
        }
    }

    pub fn frame(&self, seq: usize) -> Message {
        use base64::Engine as _;
        Message::text(
            json!({
                "type": "audio_chunk",
                "seq": seq,
                "stream": self.stream,
                "data": base64::engine::general_purpose::STANDARD.encode(&self.chunks[seq]),
            })
            .to_string(),
        )
    }

    /// Sends chunks `from..to` on `socket`; answers resends; gives the socket back.
    pub async fn speak(&self, socket: Socket, from: usize, to: usize) -> Socket {
        self.speak_then(socket, from, to, false).await
    }

    /// [`Speaker::speak`], then with `until_acked` keeps listening (up to 30 s) until some
    /// chunk is acknowledged.
    pub async fn speak_then(
        &self,
        socket: Socket,
        from: usize,
        to: usize,
        until_acked: bool,
    ) -> Socket {
        let (mut sink, mut incoming) = socket.split();
        let (resend_tx, mut resend_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let acked = std::sync::Arc::clone(&self.acked);
        let resends = std::sync::Arc::clone(&self.resends);
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let reader = tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    message = incoming.next() => message,
                    _ = &mut stop_rx => break,
                };
                let Some(Ok(message)) = message else { break };
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                match value["type"].as_str() {
                    Some("audio_ack") => {
                        *acked.lock().expect("lock") = value["seq"].as_u64();
                    }
                    Some("audio_resend") => {
                        if let Some(from) = value["from_seq"].as_u64() {
                            resends.lock().expect("lock").push(from);
                            let _ = resend_tx.send(from);
                        }
                    }
                    _ => {}
                }
            }
            incoming
        });
        let mut tick = tokio::time::interval(Duration::from_millis(256));
        for seq in from..to {
            tick.tick().await;
            while let Ok(again) = resend_rx.try_recv() {
                for old in (again as usize)..seq {
                    sink.send(self.frame(old)).await.expect("resending");
                }
            }
            sink.send(self.frame(seq)).await.expect("sending audio");
        }
        // Let late acks and resend requests arrive.
        tokio::time::sleep(Duration::from_millis(600)).await;
        if until_acked {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            while self.acked.lock().expect("lock").is_none()
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let _ = stop_tx.send(());
        let incoming = reader.await.expect("the reader");
        sink.reunite(incoming).expect("the same socket")
    }
}

/// Starts a session on a new meeting of a new account.
async fn started(stack: &LiveStack) -> (Account, Uuid) {
    let alice = stack.app.register().await;
    let meeting = create_meeting(&stack.app, &alice).await;
    start(stack, &alice, meeting).await;
    (alice, meeting)
}

/// `live/start/` on `meeting`, as `alice`: 201.
async fn start(stack: &LiveStack, alice: &Account, meeting: Uuid) {
    let r = stack
        .app
        .post(
            &format!("/api/meetings/{meeting}/live/start/"),
            json!({}),
            Some(&alice.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
}

async fn stop(stack: &LiveStack, alice: &Account, meeting: Uuid) {
    let r = stack
        .app
        .post(
            &format!("/api/meetings/{meeting}/live/stop/"),
            json!({}),
            Some(&alice.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}

/// The stored transcript's segments.
async fn stored(stack: &LiveStack, alice: &Account, meeting: Uuid) -> Vec<Value> {
    let r = stack
        .app
        .get(
            &format!("/api/transcription/meetings/{meeting}/transcript/"),
            &alice.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    r.body["segments"].as_array().cloned().unwrap_or_default()
}

fn said(script: &[tone_speech::Word]) -> Vec<String> {
    script.iter().map(|w| w.text().to_owned()).collect()
}

fn transcript_words(segments: &[Value]) -> Vec<String> {
    segments
        .iter()
        .flat_map(|s| words(s["text"].as_str().unwrap_or_default()))
        .collect()
}

fn assert_monotonic(segments: &[Value]) {
    let spans: Vec<(i64, i64)> = segments
        .iter()
        .map(|s| {
            (
                s["start_ms"].as_i64().unwrap_or(-1),
                s["end_ms"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert!(
        spans
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1)
            && spans.iter().all(|(s, e)| s <= e),
        "times run forward: {spans:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deepgram_drops_mid_stream_and_no_final_is_lost() {
    let stack = LiveStack::start().await;
    // The first stream drops (no close frame) once it has 3 s of audio.
    stack.fake.drop_after_bytes(3 * 32_000);
    let (alice, meeting) = started(&stack).await;
    let listener = {
        let mut socket = stack.connect(meeting, &alice.access).await;
        tokio::spawn(async move {
            read_until(&mut socket, Duration::from_secs(60), |m| {
                m["type"] == "session_status" && m["status"] == "ended"
            })
            .await
        })
    };
    let (script, pcm) = speech(8_000, 21);
    let speaker = Speaker::new(&pcm, "mic");
    let socket = stack.connect(meeting, &alice.access).await;
    let _socket = speaker.speak(socket, 0, speaker.chunks.len()).await;
    stop(&stack, &alice, meeting).await;
    let heard = listener.await.expect("listener");
    let segments = stored(&stack, &alice, meeting).await;
    assert_eq!(
        transcript_words(&segments),
        said(&script),
        "every word once"
    );
    assert_monotonic(&segments);
    assert!(
        stack.fake.connections().len() >= 2,
        "the bridge reconnected"
    );
    let statuses: Vec<&str> = of_type(&heard, "session_status")
        .iter()
        .filter_map(|m| m["status"].as_str())
        .collect();
    assert!(
        statuses.contains(&"reconnecting"),
        "listeners were told: {statuses:?}"
    );
    let finals: Vec<&Value> = of_type(&heard, "transcript_segment")
        .iter()
        .map(|m| &m["data"]["id"])
        .collect();
    let ids: Vec<&Value> = segments.iter().map(|s| &s["id"]).collect();
    assert_eq!(finals, ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_seconds_without_audio_do_not_end_the_session() {
    let stack = LiveStack::start().await;
    let (alice, meeting) = started(&stack).await;
    let (script, pcm) = speech(6_000, 5);
    let speaker = Speaker::new(&pcm, "mic");
    let socket = stack.connect(meeting, &alice.access).await;
    let half = speaker.chunks.len() / 2;
    let socket = speaker.speak(socket, 0, half).await;
    // Deepgram closes a stream after 10 s without audio or KeepAlive.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let _socket = speaker.speak(socket, half, speaker.chunks.len()).await;
    stop(&stack, &alice, meeting).await;
    let segments = stored(&stack, &alice, meeting).await;
    assert_eq!(transcript_words(&segments), said(&script));
    let connections = stack.fake.connections();
    assert_eq!(connections.len(), 1, "one stream throughout");
    assert!(
        connections[0].controls.iter().any(|c| c == "KeepAlive"),
        "{:?}",
        connections[0].controls
    );
    let status = stack
        .app
        .get(&format!("/api/meetings/{meeting}/"), &alice.access)
        .await;
    assert_eq!(status.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_speaker_that_reconnects_resends_from_its_ack_and_nothing_is_lost_or_doubled() {
    let stack = LiveStack::start().await;
    let (alice, meeting) = started(&stack).await;
    let (script, pcm) = speech(9_000, 33);
    let speaker = Speaker::new(&pcm, "mic-7");
    let socket = stack.connect(meeting, &alice.access).await;
    let cut = speaker.chunks.len() * 2 / 3;
    let socket = speaker.speak_then(socket, 0, cut, true).await;
    drop(socket);
    let acked = *speaker.acked.lock().expect("lock");
    assert!(acked.is_some(), "chunks were acknowledged before the drop");
    let resume = acked.map_or(0, |a| a as usize + 1);
    assert!(
        resume < cut,
        "some chunks were still unacknowledged: {resume} of {cut}"
    );
    let socket = stack.connect(meeting, &alice.access).await;
    let _socket = speaker.speak(socket, resume, speaker.chunks.len()).await;
    stop(&stack, &alice, meeting).await;
    let segments = stored(&stack, &alice, meeting).await;
    assert_eq!(
        transcript_words(&segments),
        said(&script),
        "every word once"
    );
    assert_monotonic(&segments);
    assert_eq!(stack.fake.connections().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gone_listener_is_forgotten_on_the_first_push() {
    let stack = LiveStack::start().await;
    let (alice, meeting) = started(&stack).await;
    let connections = stack.bridge.live.connections.clone();
    // A connection API Gateway no longer has (its $disconnect never ran).
    connections
        .register(&meetin_aws::Connection {
            id: "Z2hvc3Q=".into(),
            meeting,
            user: alice.id,
            via: meetin_aws::Via::ApiGateway,
            connected_at_ms: chrono::Utc::now().timestamp_millis(),
            token_expires_at: None,
        })
        .await
        .expect("registered");
    let (_, pcm) = speech(3_000, 2);
    let speaker = Speaker::new(&pcm, "mic");
    let socket = stack.connect(meeting, &alice.access).await;
    let _socket = speaker.speak(socket, 0, speaker.chunks.len()).await;
    stop(&stack, &alice, meeting).await;
    assert_eq!(connections.get("Z2hvc3Q=").await.expect("read"), None);
    let left: Vec<String> = connections
        .of_meeting(meeting)
        .await
        .expect("read")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(left.len(), 1, "only the speaker is left: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_killed_and_restarted_resumes_the_session_and_keeps_every_stored_final() {
    let mut stack = LiveStack::start().await;
    let (alice, meeting) = started(&stack).await;
    let (script, pcm) = speech(12_000, 8);
    let speaker = Speaker::new(&pcm, "mic");
    let socket = stack.connect(meeting, &alice.access).await;
    let cut = speaker.chunks.len() / 2;
    let socket = speaker.speak(socket, 0, cut).await;
    let before = stored(&stack, &alice, meeting).await;
    assert!(!before.is_empty(), "finals were stored before the kill");
    stack.kill_bridge().await;
    stack.restart_bridge().await;
    let _socket = speaker.speak(socket, cut, speaker.chunks.len()).await;
    stop(&stack, &alice, meeting).await;
    let after = stored(&stack, &alice, meeting).await;
    let ids: Vec<&Value> = after.iter().map(|s| &s["id"]).collect();
    for kept in &before {
        assert!(
            ids.contains(&&kept["id"]),
            "a stored final survived: {kept}"
        );
    }
    assert_eq!(
        transcript_words(&after),
        said(&script),
        "the session resumed where it was"
    );
    assert_monotonic(&after);
    assert!(
        !speaker.resends.lock().expect("lock").is_empty(),
        "the new task asked for the missing chunks"
    );
}

/// A committed audio fixture as the frontend sends it: PCM16 little-endian, mono, 16 kHz.
fn fixture_pcm(name: &str) -> Vec<u8> {
    meetin_whisper::decode(&meetin_test_support::speech::audio_fixture_bytes(name))
        .expect("the fixture decodes")
        .iter()
        .flat_map(|s| ((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes())
        .collect()
}

/// What a fixture's script (`voice|text` lines) says, the voices dropped.
fn script_text(name: &str) -> String {
    std::fs::read_to_string(meetin_test_support::speech::audio_fixture(name))
        .expect("script")
        .lines()
        .filter_map(|l| l.split_once('|').map(|(_, text)| text))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_key_real_speech_becomes_finals_whose_words_match_it() {
    let stack = LiveStack::start_with(true).await;
    assert!(
        !stack.app.settings.contains_key("DEEPGRAM_API_KEY")
            && !stack.app.settings.contains_key("DEEPGRAM_SECRET_ID"),
        "no Deepgram key in this stack"
    );
    let (alice, meeting) = started(&stack).await;
    let listener = {
        let mut socket = stack.connect(meeting, &alice.access).await;
        tokio::spawn(async move {
            read_until(&mut socket, Duration::from_secs(120), |m| {
                m["type"] == "session_status" && m["status"] == "ended"
            })
            .await
        })
    };
    // The committed meeting recording (espeak-ng voices, tests/fixtures/audio/meeting.txt),
    // as the frontend sends it: binary PCM16 frames on its legacy socket.
    let pcm = fixture_pcm("meeting.webm");
    let mut speaker = stack.connect_legacy(meeting, &alice.access).await;
    stream_binary(&mut speaker, &pcm).await;
    stop(&stack, &alice, meeting).await;
    let heard = listener.await.expect("listener");
    let segments = stored(&stack, &alice, meeting).await;
    let hypothesis = segments
        .iter()
        .filter_map(|s| s["text"].as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let reference = script_text("meeting.txt");
    let wer = meetin_test_support::speech::word_error_rate(&reference, &hypothesis);
    assert!(wer < 0.3, "word error rate {wer:.3}: {hypothesis}");
    assert_monotonic(&segments);
    let finals: Vec<&Value> = of_type(&heard, "transcript_segment")
        .iter()
        .map(|m| &m["data"]["id"])
        .collect();
    let ids: Vec<&Value> = segments.iter().map(|s| &s["id"]).collect();
    assert_eq!(finals, ids, "the listener got every stored final");
    assert!(
        stack.fake.connections().is_empty(),
        "Deepgram was never called"
    );
    let providers: Vec<String> = sqlx::query_scalar(
        "SELECT t.provider FROM transcripts t WHERE t.meeting_id = $1 \
         UNION ALL SELECT s.provider FROM live_sessions s WHERE s.meeting_id = $1",
    )
    .bind(meeting)
    .fetch_all(&stack.app.pool)
    .await
    .expect("providers");
    assert_eq!(providers, ["whisper", "whisper"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_key_a_french_meeting_is_captioned_in_french() {
    let stack = LiveStack::start_with(true).await;
    let alice = stack.app.register().await;
    let meeting = create_meeting(&stack.app, &alice).await;
    crate::recordings::set_language(&stack.app, &alice, meeting, "fr").await;
    start(&stack, &alice, meeting).await;
    // The committed French meeting (tests/fixtures/audio/meeting-fr.txt), as the frontend
    // sends it.
    let pcm = fixture_pcm("meeting-fr.webm");
    let mut speaker = stack.connect_legacy(meeting, &alice.access).await;
    stream_binary(&mut speaker, &pcm).await;
    stop(&stack, &alice, meeting).await;
    let segments = stored(&stack, &alice, meeting).await;
    let hypothesis = segments
        .iter()
        .filter_map(|s| s["text"].as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let reference = script_text("meeting-fr.txt");
    let overlap = meetin_test_support::speech::word_overlap(&reference, &hypothesis);
    assert!(overlap >= 0.8, "word overlap {overlap:.2}: {hypothesis}");
    assert_monotonic(&segments);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_the_engine_refuses_answers_the_contracts_error_and_records_a_failed_session() {
    let stack = LiveStack::start().await;
    // Deepgram refuses the handshake (a wrong key, say).
    stack.fake.refuse_next(1, 401);
    let alice = stack.app.register().await;
    let meeting = create_meeting(&stack.app, &alice).await;
    let r = stack
        .app
        .post(
            &format!("/api/meetings/{meeting}/live/start/"),
            json!({}),
            Some(&alice.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{r:?}");
    assert_eq!(
        r.body,
        json!({"error": "Failed to start live session. Please try again."})
    );
    let (status, message): (String, Option<String>) =
        sqlx::query_as("SELECT status, error_message FROM live_sessions WHERE meeting_id = $1")
            .bind(meeting)
            .fetch_one(&stack.app.pool)
            .await
            .expect("the session row");
    assert_eq!(status, "failed");
    assert_eq!(
        message.as_deref(),
        Some("The transcription service could not be reached.")
    );
    let r = stack
        .app
        .get(
            &format!("/api/meetings/{meeting}/live/status/"),
            &alice.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The next start works, and answers the engine serving it.
    let r = stack
        .app
        .post(
            &format!("/api/meetings/{meeting}/live/start/"),
            json!({}),
            Some(&alice.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["provider"], "deepgram");
    stop(&stack, &alice, meeting).await;
}

/// The next JSON message on `socket` (within 10 s).
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message in time")
            .expect("the socket is open")
            .expect("a frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("JSON");
        }
    }
}

/// The close code the server ends `socket` with (within 10 s).
async fn close_code(socket: &mut Socket) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) | Err(_) => return None,
        }
    }
}

/// The status a refused handshake answered, or 101.
async fn handshake(url: String) -> u16 {
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("origin", ORIGIN.parse().expect("origin"));
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_the_contracts_errors_and_another_session_is_unaffected() {
    let stack = LiveStack::start().await;
    let (alice, meeting) = started(&stack).await;
    let (bob, other) = started(&stack).await;
    // Bob's meeting goes on meanwhile.
    let (bob_script, bob_pcm) = speech(5_000, 44);
    let bob_speaker = Speaker::new(&bob_pcm, "bob");
    let bob_socket = stack.connect(other, &bob.access).await;
    let bob_speaking = tokio::spawn(async move {
        bob_speaker
            .speak(bob_socket, 0, bob_speaker.chunks.len())
            .await
    });

    let mut socket = stack.connect(meeting, &alice.access).await;
    let mut expect_error = async |frame: String, message: &str| {
        socket
            .send(Message::text(frame.clone()))
            .await
            .expect("sent");
        let answer = next_json(&mut socket).await;
        assert_eq!(
            answer,
            json!({"type": "error", "message": message}),
            "{frame}"
        );
    };
    expect_error("not json".into(), "Invalid message format").await;
    expect_error("[1, 2]".into(), "An error occurred processing your message").await;
    expect_error(
        json!({"type": "audio_chunk", "seq": 0, "data": "@@@"}).to_string(),
        "Invalid data",
    )
    .await;
    // One byte: not a whole 16-bit sample.
    expect_error(
        json!({"type": "audio_chunk", "seq": 0, "data": "AA=="}).to_string(),
        "Invalid data",
    )
    .await;
    expect_error(
        json!({"type": "audio_chunk", "seq": -1, "data": ""}).to_string(),
        "Invalid seq",
    )
    .await;
    expect_error(
        json!({"type": "audio_chunk", "seq": 100000, "data": "AAA="}).to_string(),
        "Invalid seq",
    )
    .await;
    expect_error(
        json!({"type": "speaker_mapping", "speaker_label": "", "display_name": "x"}).to_string(),
        "Invalid speaker_label",
    )
    .await;
    expect_error(
        json!({"type": "control", "control": "pause"}).to_string(),
        "Invalid control",
    )
    .await;
    socket
        .send(Message::text(
            json!({"type": "control", "control": "start"}).to_string(),
        ))
        .await
        .expect("sent");
    assert_eq!(
        next_json(&mut socket).await,
        json!({"type": "control_response", "control": "start", "status": "use_api_to_start"})
    );
    // A repeated chunk is dropped without a word (a resend); the next frame's answer comes first.
    for _ in 0..2 {
        socket
            .send(Message::text(
                json!({"type": "audio_chunk", "seq": 0, "data": "AAAAAA==", "stream": "s"})
                    .to_string(),
            ))
            .await
            .expect("sent");
    }
    socket.send(Message::text("oops")).await.expect("sent");
    assert_eq!(
        next_json(&mut socket).await["message"],
        "Invalid message format"
    );

    // Audio faster than real time is refused past the burst allowance (a session of its own:
    // Alice's has a speaker already).
    let (carol, fast) = started(&stack).await;
    let second = stack.connect(fast, &carol.access).await;
    let (_, pcm) = speech(180_000, 3);
    let (mut sink, mut incoming) = second.split();
    use base64::Engine as _;
    for (seq, chunk) in pcm.chunks(8192).enumerate() {
        let frame = json!({"type": "audio_chunk", "seq": seq, "stream": "fast", "data": base64::engine::general_purpose::STANDARD.encode(chunk)});
        sink.send(Message::text(frame.to_string()))
            .await
            .expect("sent");
        // In order, so the reorder window is never what refuses them.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut too_fast = false;
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_secs(5), incoming.next()).await
    {
        if let Message::Text(text) = message
            && text.as_str().contains("faster than real time")
        {
            too_fast = true;
            break;
        }
    }
    assert!(
        too_fast,
        "180 s of audio sent as fast as it goes is refused"
    );

    // No session: audio is refused with the contract's message.
    let quiet = create_meeting(&stack.app, &alice).await;
    let mut idle = stack.connect(quiet, &alice.access).await;
    idle.send(Message::text(
        json!({"type": "audio_chunk", "seq": 0, "data": "AAA="}).to_string(),
    ))
    .await
    .expect("sent");
    assert_eq!(
        next_json(&mut idle).await,
        json!({"type": "error", "message": "No active transcription session"})
    );

    // API Gateway's own limits.
    let mut binary = stack.connect(meeting, &alice.access).await;
    binary
        .send(Message::binary(vec![0u8; 8192]))
        .await
        .expect("sent");
    assert_eq!(close_code(&mut binary).await, Some(1003));
    let mut huge = stack.connect(quiet, &alice.access).await;
    huge.send(Message::text("x".repeat(40 * 1024)))
        .await
        .expect("sent");
    assert_eq!(close_code(&mut huge).await, Some(1009));

    // Handshakes: another organization's meeting, an expired token, too many connections.
    let ws = |meeting: Uuid, token: &str| {
        format!("ws://{}/ws?meeting_id={meeting}&token={token}", stack.addr)
    };
    assert_eq!(handshake(ws(other, &alice.access)).await, 404);
    assert_eq!(handshake(ws(Uuid::new_v4(), &alice.access)).await, 404);
    let expired = stack
        .app
        .ctx
        .jwt
        .issue(
            meetin_core::jwt::TokenType::Access,
            alice.id,
            None,
            chrono::Utc::now() - chrono::Duration::minutes(61),
        )
        .expect("token");
    assert_eq!(handshake(ws(meeting, &expired.token)).await, 401);
    // Bob's own meeting: he already has his speaker's socket there.
    let mut held = Vec::new();
    for _ in 1..live_socket::MAX_CONNECTIONS_PER_USER {
        held.push(stack.connect(other, &bob.access).await);
    }
    assert_eq!(handshake(ws(other, &bob.access)).await, 429);

    // Bob's session was never disturbed.
    let _ = bob_speaking.await.expect("bob spoke");
    stop(&stack, &bob, other).await;
    let segments = stored(&stack, &bob, other).await;
    assert_eq!(transcript_words(&segments), said(&bob_script));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_removed_from_the_organization_or_whose_token_expires_stops_receiving() {
    let stack = LiveStack::start().await;
    let (alice, meeting) = started(&stack).await;
    let bob = stack.app.register().await;
    let membership = stack
        .app
        .add_member(&alice, alice.org_id, &bob, "viewer")
        .await;
    let mut bob_socket = stack.connect(meeting, &bob.access).await;
    // Carol's token expires in 3 s.
    let carol = stack.app.register().await;
    stack
        .app
        .add_member(&alice, alice.org_id, &carol, "viewer")
        .await;
    let short = stack
        .app
        .ctx
        .jwt
        .issue(
            meetin_core::jwt::TokenType::Access,
            carol.id,
            None,
            chrono::Utc::now() - chrono::Duration::minutes(60) + chrono::Duration::seconds(3),
        )
        .expect("token");
    let mut carol_socket = stack.connect(meeting, &short.token).await;
    let r = stack
        .app
        .delete(
            &format!(
                "/api/auth/organizations/{}/members/{membership}/",
                alice.org_id
            ),
            &alice.access,
        )
        .await;
    assert!(r.status.is_success(), "{r:?}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (_, pcm) = speech(4_000, 9);
    let speaker = Speaker::new(&pcm, "mic");
    let socket = stack.connect(meeting, &alice.access).await;
    let _socket = speaker.speak(socket, 0, speaker.chunks.len()).await;
    for socket in [&mut bob_socket, &mut carol_socket] {
        let heard = read_until(socket, Duration::from_secs(10), |_| false).await;
        assert!(
            of_type(&heard, "transcript_segment").is_empty(),
            "{heard:?}"
        );
        assert!(
            of_type(&heard, "transcript_interim").is_empty(),
            "{heard:?}"
        );
        assert_eq!(
            of_type(&heard, "session_status")
                .last()
                .map(|m| &m["status"]),
            Some(&json!("disconnected")),
            "{heard:?}"
        );
    }
    stop(&stack, &alice, meeting).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_listener_gets_the_finals_it_missed_before_new_ones() {
    let stack = LiveStack::start().await;
    let (alice, meeting) = started(&stack).await;
    let (script, pcm) = speech(10_000, 17);
    let speaker = Speaker::new(&pcm, "mic");
    let socket = stack.connect(meeting, &alice.access).await;
    let half = speaker.chunks.len() / 2;
    let socket = speaker.speak(socket, 0, half).await;
    let so_far = stored(&stack, &alice, meeting).await;
    assert!(
        !so_far.is_empty(),
        "finals before the listener came: {so_far:?}"
    );
    // A listener that had the first final comes back and asks for the rest.
    let mut late = stack.connect(meeting, &alice.access).await;
    late.send(Message::text(
        json!({"type": "resume", "after_segment_id": so_far[0]["id"]}).to_string(),
    ))
    .await
    .expect("sent");
    let mut fresh = stack.connect(meeting, &alice.access).await;
    fresh
        .send(Message::text(json!({"type": "resume"}).to_string()))
        .await
        .expect("sent");
    let listening = |mut socket: Socket| {
        tokio::spawn(async move {
            read_until(&mut socket, Duration::from_secs(60), |m| {
                m["type"] == "session_status" && m["status"] == "ended"
            })
            .await
        })
    };
    let late = listening(late);
    let fresh = listening(fresh);
    let _socket = speaker.speak(socket, half, speaker.chunks.len()).await;
    stop(&stack, &alice, meeting).await;
    let all = stored(&stack, &alice, meeting).await;
    assert_eq!(transcript_words(&all), said(&script));
    let ids: Vec<&Value> = all.iter().map(|s| &s["id"]).collect();
    let late = late.await.expect("listener");
    let fresh = fresh.await.expect("listener");
    let got = |heard: &[Value]| -> Vec<Value> {
        of_type(heard, "transcript_segment")
            .iter()
            .map(|m| m["data"]["id"].clone())
            .collect()
    };
    assert_eq!(
        got(&fresh).iter().collect::<Vec<_>>(),
        ids,
        "everything, in order, once"
    );
    assert_eq!(
        got(&late).iter().collect::<Vec<_>>(),
        ids[1..].to_vec(),
        "all but the one it had"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_queues_the_post_meeting_copilot_run() {
    let lookup_env = crate::helpers::settings();
    let lookup = |name: &str| lookup_env.get(name).cloned();
    let sdk = meetin_aws::sdk_config(
        &<meetin_core::AwsSettings as meetin_core::Setting>::from_lookup(&lookup).expect("AWS"),
    )
    .await;
    let sqs = meetin_aws::aws_sdk_sqs::Client::new(&sdk);
    let queue = sqs
        .create_queue()
        .queue_name(crate::helpers::unique("meetin-test-copilot-"))
        .send()
        .await
        .expect("a queue")
        .queue_url
        .expect("its URL");
    let stack =
        LiveStack::start_with_settings(false, &[("COPILOT_QUEUE_URL", queue.as_str())]).await;
    let (alice, meeting) = started(&stack).await;
    let (_, pcm) = speech(3_000, 4);
    let speaker = Speaker::new(&pcm, "mic");
    let socket = stack.connect(meeting, &alice.access).await;
    let _socket = speaker.speak(socket, 0, speaker.chunks.len()).await;
    stop(&stack, &alice, meeting).await;
    let received = sqs
        .receive_message()
        .queue_url(&queue)
        .wait_time_seconds(5)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("received");
    let bodies: Vec<Value> = received
        .messages()
        .iter()
        .filter_map(|m| serde_json::from_str(m.body()?).ok())
        .collect();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let text = bodies[0].to_string();
    assert!(
        text.contains("run_copilot")
            && text.contains("post_meeting")
            && text.contains(&meeting.to_string()),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_taken_over_before_any_checkpoint_joins_the_speakers_stream_where_it_is() {
    let mut stack = LiveStack::start().await;
    let (alice, meeting) = started(&stack).await;
    // 70 chunks of silence (18 s, sent at once within the burst allowance): no final, so no
    // checkpoint, and the stream's numbering is past the reorder window.
    let mut socket = stack.connect(meeting, &alice.access).await;
    use base64::Engine as _;
    let silence = base64::engine::general_purpose::STANDARD.encode(vec![0u8; 8192]);
    for seq in 0..70 {
        let frame = json!({"type": "audio_chunk", "seq": seq, "stream": "mic", "data": silence});
        socket
            .send(Message::text(frame.to_string()))
            .await
            .expect("sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stack.kill_bridge().await;
    stack.restart_bridge().await;
    let (script, pcm) = speech(4_000, 12);
    let mut tick = tokio::time::interval(Duration::from_millis(256));
    for (i, chunk) in pcm.chunks(8192).enumerate() {
        tick.tick().await;
        let frame = json!({"type": "audio_chunk", "seq": 70 + i, "stream": "mic", "data": base64::engine::general_purpose::STANDARD.encode(chunk)});
        socket
            .send(Message::text(frame.to_string()))
            .await
            .expect("sent");
    }
    let heard = read_until(&mut socket, Duration::from_secs(2), |_| false).await;
    assert!(
        of_type(&heard, "error")
            .iter()
            .all(|m| m["message"] != "Invalid seq"),
        "{heard:?}"
    );
    stop(&stack, &alice, meeting).await;
    assert_eq!(
        transcript_words(&stored(&stack, &alice, meeting).await),
        said(&script)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_arriving_out_of_order_are_put_back_in_order() {
    let stack = LiveStack::start().await;
    let (alice, meeting) = started(&stack).await;
    let (script, pcm) = speech(6_000, 29);
    let speaker = Speaker::new(&pcm, "mic");
    let mut socket = stack.connect(meeting, &alice.access).await;
    // Pairs swapped: 1, 0, 3, 2, … at real-time pace.
    let mut order: Vec<usize> = (0..speaker.chunks.len()).collect();
    for pair in order.chunks_mut(2) {
        pair.reverse();
    }
    let mut tick = tokio::time::interval(Duration::from_millis(256));
    for seq in order {
        tick.tick().await;
        socket.send(speaker.frame(seq)).await.expect("sent");
    }
    let heard = read_until(&mut socket, Duration::from_secs(1), |_| false).await;
    assert!(of_type(&heard, "error").is_empty(), "{heard:?}");
    stop(&stack, &alice, meeting).await;
    let segments = stored(&stack, &alice, meeting).await;
    assert_eq!(transcript_words(&segments), said(&script));
    assert_monotonic(&segments);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_socket_numbers_only_the_frames_a_session_took() {
    let stack = LiveStack::start().await;
    let alice = stack.app.register().await;
    let meeting = create_meeting(&stack.app, &alice).await;
    let mut speaker = stack.connect_legacy(meeting, &alice.access).await;
    // 80 frames before any session: dropped silently, and they use no numbers.
    for _ in 0..80 {
        speaker
            .send(Message::binary(vec![0u8; 8192]))
            .await
            .expect("sent");
    }
    let r = stack
        .app
        .post(
            &format!("/api/meetings/{meeting}/live/start/"),
            json!({}),
            Some(&alice.access),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let (script, pcm) = speech(5_000, 31);
    stream_binary(&mut speaker, &pcm).await;
    let heard = read_until(&mut speaker, Duration::from_secs(1), |_| false).await;
    assert!(of_type(&heard, "error").is_empty(), "{heard:?}");
    stop(&stack, &alice, meeting).await;
    assert_eq!(
        transcript_words(&stored(&stack, &alice, meeting).await),
        said(&script)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_owner_is_unreachable_another_task_of_the_fleet_takes_the_session_over() {
    let mut stack = LiveStack::start_full(false, &[], true).await;
    let (alice, meeting) = started(&stack).await;
    let (script, pcm) = speech(10_000, 41);
    let speaker = Speaker::new(&pcm, "mic");
    let socket = stack.connect(meeting, &alice.access).await;
    let cut = speaker.chunks.len() / 2;
    let socket = speaker.speak(socket, 0, cut).await;
    let first_owner = stack.bridge.live.task.id.clone();
    // The owner dies and is not replaced: its address refuses connections.
    stack.kill_bridge().await;
    let _socket = speaker.speak(socket, cut, speaker.chunks.len()).await;
    let routes = meetin_aws::LiveRoutes::new(
        stack.app.ctx.service.ephemeral.client().clone(),
        stack.app.ctx.service.ephemeral.table(),
    );
    let route = routes.get(meeting).await.expect("read").expect("a route");
    let second = &stack.second.as_ref().expect("a second task").0;
    assert_ne!(route.owner.id, first_owner);
    assert_eq!(
        route.owner.id, second.live.task.id,
        "the fleet's task owns it now"
    );
    stop(&stack, &alice, meeting).await;
    assert_eq!(
        transcript_words(&stored(&stack, &alice, meeting).await),
        said(&script)
    );
    assert!(
        !speaker.resends.lock().expect("lock").is_empty(),
        "the new owner asked for the chunks it lacked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridges_own_server_upgrades_the_legacy_socket_as_on_fargate() {
    let stack = LiveStack::start().await;
    // The Fargate service's public listener (not the local stack's): its own server loop.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("addr");
    let service = live_bridge::service(stack.bridge.clone());
    let server = tokio::spawn(async move {
        let _ = live_bridge::server::serve(
            listener,
            live_bridge::server::http1(),
            service,
            std::future::pending(),
            Duration::from_secs(1),
        )
        .await;
    });
    let (alice, meeting) = started(&stack).await;
    let url = format!(
        "ws://{addr}/ws/meetings/{meeting}/live/?token={}",
        alice.access
    );
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("origin", ORIGIN.parse().expect("origin"));
    let (mut speaker, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("upgraded");
    let (script, pcm) = speech(4_000, 6);
    stream_binary(&mut speaker, &pcm).await;
    stop(&stack, &alice, meeting).await;
    let heard = read_until(&mut speaker, Duration::from_secs(5), |m| {
        m["type"] == "session_status" && m["status"] == "ended"
    })
    .await;
    let stored = stored(&stack, &alice, meeting).await;
    assert_eq!(transcript_words(&stored), said(&script));
    assert_eq!(
        final_ids(&heard),
        ids_of(&stored),
        "the socket served by the bridge's own loop got every final"
    );
    server.abort();
}
