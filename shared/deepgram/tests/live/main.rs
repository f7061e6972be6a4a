//! The live client against the fake Deepgram live server of `meetin-test-support`, over real
//! sockets: audio in (synthetic tones and silence, a real speech clip, tone speech), typed
//! events out, control messages, closes ([`stream`]); refused handshakes, a dropped connection
//! and the re-alignment of a reconnection ([`failures`]).

mod failures;
mod stream;

use std::time::Duration;

use meetin_deepgram::live::wire::ResultsMessage;
use meetin_deepgram::live::{LiveClient, LiveConnection, LiveEvent, LiveOptions, LiveReceiver};
use meetin_test_support::fake_deepgram_live::FakeDeepgramLive;

const RATE: u32 = 16_000;

/// 100 ms frames, as the bridge sends (3 200 bytes at 16 kHz mono).
const CHUNK: usize = 3_200;

async fn connect(fake: &FakeDeepgramLive, options: &LiveOptions) -> LiveConnection {
    LiveClient::new(fake.base_url.clone(), fake.api_key.clone())
        .connect(options)
        .await
        .expect("the fake accepts the handshake")
}

async fn send(connection: &mut LiveConnection, pcm: &[u8]) {
    for chunk in pcm.chunks(CHUNK) {
        connection
            .sender
            .send_audio(chunk.to_vec())
            .await
            .expect("audio sent");
    }
}

/// Events until `done` holds for one (included), within 10 s.
async fn events_until(
    receiver: &mut LiveReceiver,
    done: impl Fn(&LiveEvent) -> bool,
) -> Vec<LiveEvent> {
    let mut events = Vec::new();
    let read = async {
        while let Some(event) = receiver.next_event().await {
            let event = event.expect("a documented message");
            let stop = done(&event);
            events.push(event);
            if stop {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the awaited event came in time");
    events
}

/// Sends `pcm` in chunks while reading events until the close, as the bridge's two tasks do;
/// sending stops at its first failure (the stream is gone).
async fn stream_until_closed(connection: &mut LiveConnection, pcm: &[u8]) -> Vec<LiveEvent> {
    let LiveConnection {
        sender, receiver, ..
    } = connection;
    let sending = async {
        for chunk in pcm.chunks(CHUNK) {
            if sender.send_audio(chunk.to_vec()).await.is_err() {
                break;
            }
        }
    };
    let reading = events_until(receiver, |e| matches!(e, LiveEvent::Closed(_)));
    tokio::join!(sending, reading).1
}

fn is_final(event: &LiveEvent) -> bool {
    matches!(event, LiveEvent::Results(r) if r.is_final)
}

fn results(events: &[LiveEvent]) -> Vec<&ResultsMessage> {
    events
        .iter()
        .filter_map(|e| match e {
            LiveEvent::Results(r) => Some(&**r),
            _ => None,
        })
        .collect()
}

fn word_times(r: &ResultsMessage) -> Vec<(f64, f64)> {
    r.channel.alternatives[0]
        .words
        .iter()
        .map(|w| (w.start, w.end))
        .collect()
}
