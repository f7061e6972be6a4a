//! One TCP connection: the upgrade, then frames in, messages out, until a close, the idle
//! timeout, a scripted drop, or the client leaving.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::Shared;
use super::handshake::{self, Features};
use super::transcriber::Transcriber;

/// How long the fake waits for the client's reply to its close frame.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What the upgrade decided.
struct Accepted {
    index: usize,
    features: Features,
    request_id: String,
}

pub(super) async fn serve(shared: Arc<Shared>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut accepted = None;
    // The signature is tungstenite's (`Callback`); its error is the whole HTTP answer.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, mut response: Response| -> Result<Response, ErrorResponse> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (index, outcome) = handshake::check(&shared, request);
        match outcome {
            Ok(features) => {
                if let Ok(value) = HeaderValue::from_str(&request_id) {
                    response.headers_mut().insert("dg-request-id", value);
                }
                accepted = Some(Accepted {
                    index,
                    features,
                    request_id,
                });
                Ok(response)
            }
            Err(refusal) => Err(handshake::refusal_response(refusal, &request_id)),
        }
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    if let Some(accepted) = accepted {
        run(&shared, accepted, ws).await;
    }
}

/// How a session ends on the fake's side.
enum End {
    /// Close frame with this code and reason, after sending nothing more.
    Close(CloseCode, &'static str),
    /// Scripted: end the TCP connection without a close frame.
    Drop,
    /// The client closed or vanished.
    ClientGone,
}

async fn run(shared: &Shared, accepted: Accepted, mut ws: WebSocketStream<TcpStream>) {
    let Accepted {
        index,
        features,
        request_id,
    } = accepted;
    let (idle_timeout, speech_rms, tone_speech, every_frame, drop_after) = {
        let mut recorded = shared.recorded();
        (
            recorded.idle_timeout,
            recorded.speech_rms,
            recorded.tone_speech,
            recorded.every_frame,
            recorded.drop_after.pop_front(),
        )
    };
    let mut transcriber = Transcriber::new(features, request_id, speech_rms, tone_speech)
        .answering_every_frame(every_frame);
    let mut last_frame = Instant::now();
    let mut received: u64 = 0;
    let end = loop {
        let message = tokio::select! {
            message = ws.next() => message,
            () = tokio::time::sleep_until(last_frame + idle_timeout) => {
                break End::Close(CloseCode::Error, "NET-0001");
            }
        };
        let (outgoing, then) = match message {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break End::ClientGone,
            Some(Ok(Message::Binary(bytes))) if bytes.is_empty() => {
                last_frame = Instant::now();
                shared.update(index, |r| r.empty_frames += 1);
                (transcriber.close(), Some(End::Close(CloseCode::Normal, "")))
            }
            Some(Ok(Message::Binary(bytes))) => {
                last_frame = Instant::now();
                received += bytes.len() as u64;
                shared.update(index, |r| {
                    r.audio_bytes += bytes.len() as u64;
                    r.audio_frames += 1;
                });
                if drop_after.is_some_and(|limit| received >= limit) {
                    break End::Drop;
                }
                (transcriber.push_audio(&bytes, shared), None)
            }
            Some(Ok(Message::Text(text))) => {
                last_frame = Instant::now();
                let kind = serde_json::from_str::<Value>(text.as_str())
                    .ok()
                    .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned));
                shared.update(index, |r| {
                    r.controls
                        .push(kind.clone().unwrap_or_else(|| text.as_str().to_owned()));
                });
                match kind.as_deref() {
                    Some("Finalize") => (transcriber.finalize(), None),
                    Some("CloseStream") => {
                        (transcriber.close(), Some(End::Close(CloseCode::Normal, "")))
                    }
                    // KeepAlive (no reply), and anything else.
                    _ => (Vec::new(), None),
                }
            }
            Some(Ok(_)) => continue,
        };
        let finals = outgoing
            .iter()
            .filter(|m| m.contains(r#""is_final":true"#))
            .count() as u32;
        for text in outgoing {
            if ws.send(Message::text(text)).await.is_err() {
                break;
            }
        }
        shared.update(index, |r| r.finals_sent += finals);
        if let Some(end) = then {
            break end;
        }
    };
    match end {
        End::Close(code, reason) => {
            shared.update(index, |r| r.closed_with = Some(code.into()));
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            if ws.close(Some(frame)).await.is_ok() {
                // Wait a little for the client's close reply (or its leaving), as a server does.
                let drain = async { while let Some(Ok(_)) = ws.next().await {} };
                let _ = tokio::time::timeout(CLOSE_WAIT, drain).await;
            }
        }
        End::Drop => {
            shared.update(index, |r| r.closed_with = Some(1006));
            // FIN, not RST: closing with unread audio would reset the connection, and a reset
            // can discard the results the client has not read yet. The client sees the end
            // of the stream without a close frame; what it still sends is read and ignored.
            let mut tcp = ws.into_inner();
            let _ = tcp.shutdown().await;
            let drain = async {
                let mut buffer = vec![0; 16 * 1024];
                while matches!(tcp.read(&mut buffer).await, Ok(n) if n > 0) {}
            };
            let _ = tokio::time::timeout(CLOSE_WAIT, drain).await;
        }
        End::ClientGone => {
            shared.update(index, |r| r.client_gone = true);
            // Reading on sends tungstenite's reply to a close frame, then ends.
            let drain = async { while let Some(Ok(_)) = ws.next().await {} };
            let _ = tokio::time::timeout(CLOSE_WAIT, drain).await;
        }
    }
}
