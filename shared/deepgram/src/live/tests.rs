use super::*;

/// The bridge's stream, spelled as sent.
#[test]
fn default_options_are_the_bridge_query() {
    let client = LiveClient::new(Url::parse(DEFAULT_LIVE_BASE_URL).expect("url"), "k".into());
    assert_eq!(
        client.url(&LiveOptions::default()).as_str(),
        "wss://api.deepgram.com/v1/listen?model=nova-3&language=en&encoding=linear16\
         &sample_rate=16000&channels=1&diarize_model=latest&punctuate=true&smart_format=true\
         &interim_results=true&endpointing=300&utterance_end_ms=1000"
    );
    assert_eq!(LiveOptions::default().bytes_per_second(), 32_000);
}

/// `auto` has no live detection: nova-3's `multi`. Optional knobs off and on.
#[test]
fn preferences_and_optional_knobs() {
    let value = |o: &LiveOptions, name: &str| {
        o.query_pairs()
            .into_iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    };
    let auto = LiveOptions::for_preference(LanguagePreference::Auto);
    assert_eq!(value(&auto, "language").as_deref(), Some("multi"));
    let fr = LiveOptions::for_preference(LanguagePreference::Fr);
    assert_eq!(value(&fr, "language").as_deref(), Some("fr"));
    let bare = LiveOptions {
        diarize_model: None,
        punctuate: false,
        endpointing_ms: None,
        utterance_end_ms: None,
        vad_events: true,
        ..LiveOptions::default()
    };
    assert_eq!(value(&bare, "diarize_model"), None);
    assert_eq!(value(&bare, "punctuate"), None);
    assert_eq!(value(&bare, "endpointing").as_deref(), Some("false"));
    assert_eq!(value(&bare, "utterance_end_ms"), None);
    assert_eq!(value(&bare, "vad_events").as_deref(), Some("true"));
}

/// An `http://` base (the fake's, the pre-recorded client's) becomes `ws://`, a path is kept,
/// and the key never shows in `{:?}`.
#[test]
fn base_urls_and_debug() {
    let client = LiveClient::new(
        Url::parse("http://127.0.0.1:9/proxy").expect("url"),
        "secret-key".into(),
    );
    assert_eq!(client.endpoint.as_str(), "ws://127.0.0.1:9/proxy/v1/listen");
    assert!(!format!("{client:?}").contains("secret-key"));
}
