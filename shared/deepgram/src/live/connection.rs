//! One open stream, split in two halves the bridge drives from two tasks: [`LiveSender`]
//! (audio and control frames) and [`LiveReceiver`] (typed events, then the close).

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderMap, HeaderValue, header};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Bytes, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use url::Url;

use super::wire::{
    ClientMessage, MetadataMessage, ResultsMessage, ServerMessage, SpeechStarted, UtteranceEnd,
};
use crate::client::{DeepgramError, status_error};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The close code reported when the connection ended without a close frame (RFC 6455 §7.1.5:
/// 1006, "abnormal closure", is never sent on the wire).
pub const ABNORMAL_CLOSE: u16 = 1006;

/// The longest `dg-error` text kept in an error, in characters.
const MAX_DG_ERROR_CHARS: usize = 300;

/// An open stream: its two halves and Deepgram's id for it.
#[derive(Debug)]
pub struct LiveConnection {
    /// Audio and control frames.
    pub sender: LiveSender,
    /// Deepgram's messages.
    pub receiver: LiveReceiver,
    /// `dg-request-id` of the handshake answer (quote it to Deepgram's support; also each
    /// `Results.metadata.request_id`).
    pub request_id: Option<String>,
}

/// The sending half. Every method fails only when the socket is gone (a retryable
/// [`DeepgramError`] with no status); the receiver then reports why. Not cancel-safe: a send
/// dropped half-way (a losing `select!` branch) may lose its frame.
#[derive(Debug)]
pub struct LiveSender {
    sink: SplitSink<Socket, Message>,
    audio_bytes: u64,
}

impl LiveSender {
    /// Sends `pcm` (raw audio in the stream's `encoding`; for linear16 whole 16-bit
    /// little-endian samples, so an even byte count) as one binary frame. An empty buffer sends
    /// nothing: Deepgram closes a stream on an empty binary frame (protocols.md §3.2).
    /// Deepgram suggests 20–250 ms of audio a frame, 100 ms (3 200 bytes at 16 kHz mono) being
    /// "a good balance" (§3.4).
    pub async fn send_audio(&mut self, pcm: impl Into<Bytes>) -> Result<(), DeepgramError> {
        let pcm = pcm.into();
        if pcm.is_empty() {
            return Ok(());
        }
        let len = pcm.len() as u64;
        self.send(Message::Binary(pcm)).await?;
        self.audio_bytes += len;
        Ok(())
    }

    /// `{"type":"KeepAlive"}`: keeps the stream open through a pause in the audio (send one
    /// every 3–5 s without audio; Deepgram closes after 10 s without any frame, §3.3).
    pub async fn keep_alive(&mut self) -> Result<(), DeepgramError> {
        self.control(&ClientMessage::KeepAlive).await
    }

    /// `{"type":"Finalize"}`: Deepgram transcribes what it has buffered at once, answering a
    /// final `Results` (usually with `from_finalize: true`). The stream stays open.
    pub async fn finalize(&mut self) -> Result<(), DeepgramError> {
        self.control(&ClientMessage::Finalize { channel: None })
            .await
    }

    /// `{"type":"CloseStream"}`: Deepgram sends the last `Results`, a `Metadata`, then closes
    /// with 1000; keep reading the receiver until [`LiveEvent::Closed`].
    pub async fn close_stream(&mut self) -> Result<(), DeepgramError> {
        self.control(&ClientMessage::CloseStream).await
    }

    /// Audio bytes sent so far on this connection (empty buffers not counted): divided by the
    /// stream's bytes per second, where Deepgram's clock for this connection stands.
    pub fn audio_bytes_sent(&self) -> u64 {
        self.audio_bytes
    }

    /// Closes the WebSocket from our side (close frame 1000) without waiting for Deepgram's
    /// last results: for abandoning a stream; [`Self::close_stream`] is the graceful end.
    pub async fn close(&mut self) -> Result<(), DeepgramError> {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        self.send(Message::Close(Some(frame))).await?;
        self.sink.close().await.map_err(send_error)
    }

    async fn control(&mut self, message: &ClientMessage) -> Result<(), DeepgramError> {
        // A unit-like enum with a string tag always serializes.
        let text =
            serde_json::to_string(message).map_err(|e| DeepgramError::Malformed(e.to_string()))?;
        self.send(Message::text(text)).await
    }

    async fn send(&mut self, message: Message) -> Result<(), DeepgramError> {
        self.sink.send(message).await.map_err(send_error)
    }
}

fn send_error(error: tungstenite::Error) -> DeepgramError {
    DeepgramError::Retryable {
        status: None,
        message: format!("sending to Deepgram failed: {error}"),
    }
}

/// What the receiver yields.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// A transcript window, interim (`is_final: false`) or final.
    Results(Box<ResultsMessage>),
    /// `utterance_end_ms` of silence after the last word.
    UtteranceEnd(UtteranceEnd),
    /// Speech began (`vad_events=true`).
    SpeechStarted(SpeechStarted),
    /// The summary after `CloseStream`.
    Metadata(MetadataMessage),
    /// The stream ended; the receiver yields nothing after this.
    Closed(CloseInfo),
}

/// How a stream ended (protocols.md §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The close frame's code: 1000 after `CloseStream`; 1011 with `NET-0001` (no frame from
    /// us for 10 s) or `NET-0000` (Deepgram's side); 1008 (or 1002 on older deployments) with
    /// `DATA-0000` (audio not decodable); [`ABNORMAL_CLOSE`] (1006) when the connection
    /// dropped without a close frame; 1005 for a close frame without a code.
    pub code: u16,
    /// The close frame's reason (`NET-0001`, …), or what broke the connection.
    pub reason: String,
}

impl CloseInfo {
    /// A clean end (1000), as after `CloseStream`.
    pub fn is_normal(&self) -> bool {
        self.code == 1000
    }

    /// The stream ended without a close frame (network loss, server crash).
    pub fn is_abnormal(&self) -> bool {
        self.code == ABNORMAL_CLOSE
    }
}

/// The receiving half. [`LiveReceiver::next_event`] is cancel-safe (nothing is lost when it
/// loses a `select!`), so the bridge may wait on it beside its own timers.
#[derive(Debug)]
pub struct LiveReceiver {
    stream: SplitStream<Socket>,
    closed: bool,
}

impl LiveReceiver {
    /// The next event; `None` once [`LiveEvent::Closed`] was yielded. An `Err` is a text frame
    /// that is not a documented message ([`DeepgramError::Malformed`]); the stream goes on.
    /// Messages of a type this crate does not know, binary frames and pings are skipped.
    pub async fn next_event(&mut self) -> Option<Result<LiveEvent, DeepgramError>> {
        while !self.closed {
            let event = match self.stream.next().await {
                Some(Ok(Message::Text(text))) => match serde_json::from_str(text.as_str()) {
                    Ok(ServerMessage::Results(r)) => LiveEvent::Results(r),
                    Ok(ServerMessage::UtteranceEnd(u)) => LiveEvent::UtteranceEnd(u),
                    Ok(ServerMessage::SpeechStarted(s)) => LiveEvent::SpeechStarted(s),
                    Ok(ServerMessage::Metadata(m)) => LiveEvent::Metadata(m),
                    Ok(ServerMessage::Unknown) => continue,
                    Err(e) => return Some(Err(DeepgramError::Malformed(e.to_string()))),
                },
                Some(Ok(Message::Close(frame))) => LiveEvent::Closed(match frame {
                    Some(frame) => CloseInfo {
                        code: frame.code.into(),
                        reason: frame.reason.as_str().to_owned(),
                    },
                    None => CloseInfo {
                        code: 1005,
                        reason: String::new(),
                    },
                }),
                Some(Ok(_)) => continue,
                Some(Err(error)) => LiveEvent::Closed(CloseInfo {
                    code: ABNORMAL_CLOSE,
                    reason: error.to_string(),
                }),
                None => LiveEvent::Closed(CloseInfo {
                    code: ABNORMAL_CLOSE,
                    reason: "connection closed without a close frame".to_owned(),
                }),
            };
            self.closed = matches!(event, LiveEvent::Closed(_));
            return Some(Ok(event));
        }
        None
    }
}

/// The handshake: `GET <url>` upgraded, `Authorization: Token <key>`, TLS from `tls` for
/// `wss`, Nagle off (small audio frames go out at once), within `timeout`.
pub(super) async fn connect(
    url: Url,
    api_key: &str,
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<LiveConnection, DeepgramError> {
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| DeepgramError::Malformed(format!("bad live URL: {e}")))?;
    let auth = HeaderValue::from_str(&format!("Token {api_key}"))
        .map_err(|_| DeepgramError::Malformed("the API key is not a header value".to_owned()))?;
    request.headers_mut().insert(header::AUTHORIZATION, auth);
    let handshake = tokio_tungstenite::connect_async_tls_with_config(
        request,
        None,
        true,
        Some(Connector::Rustls(tls)),
    );
    let (socket, response) = match tokio::time::timeout(timeout, handshake).await {
        Err(_) => {
            return Err(DeepgramError::Retryable {
                status: None,
                message: format!("handshake timed out after {} ms", timeout.as_millis()),
            });
        }
        Ok(Err(error)) => return Err(handshake_error(error)),
        Ok(Ok(pair)) => pair,
    };
    let request_id = header_text(response.headers(), "dg-request-id");
    let (sink, stream) = socket.split();
    Ok(LiveConnection {
        sender: LiveSender {
            sink,
            audio_bytes: 0,
        },
        receiver: LiveReceiver {
            stream,
            closed: false,
        },
        request_id,
    })
}

/// A refused upgrade is classified like a REST answer (`status_error`: 408, 429 and 5xx
/// retryable), with `dg-error` as the message and `dg-request-id` as the request id when
/// Deepgram sent them (protocols.md §3.2); anything else (DNS, TCP, TLS, a broken answer) is
/// retryable.
fn handshake_error(error: tungstenite::Error) -> DeepgramError {
    let response = match error {
        tungstenite::Error::Http(response) => response,
        tungstenite::Error::Url(e) => {
            return DeepgramError::Malformed(format!("bad live URL: {e}"));
        }
        other => {
            return DeepgramError::Retryable {
                status: None,
                message: format!("connection failed: {other}"),
            };
        }
    };
    let status = response.status().as_u16();
    let body = response.body().as_deref().unwrap_or_default();
    let mut error = status_error(status, body);
    let dg_error = header_text(response.headers(), "dg-error").map(|mut text| {
        if let Some((cut, _)) = text.char_indices().nth(MAX_DG_ERROR_CHARS) {
            text.truncate(cut);
        }
        text
    });
    let dg_request_id = header_text(response.headers(), "dg-request-id");
    match &mut error {
        DeepgramError::Rejected {
            message,
            request_id,
            ..
        } => {
            if let Some(text) = dg_error {
                *message = text;
            }
            if request_id.is_none() {
                *request_id = dg_request_id;
            }
        }
        DeepgramError::Retryable { message, .. } => {
            if let Some(text) = dg_error {
                *message = text;
            }
        }
        DeepgramError::Malformed(_) => {}
    }
    error
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
        .filter(|v| !v.is_empty())
}
