use super::*;
use std::collections::HashMap;
use std::time::Duration;

fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn the_transcription_provider_is_deepgram_with_a_key_whisper_without_or_as_chosen() {
    let provider = |pairs: &[(&str, &str)]| TranscriptionProvider::from_lookup(&lookup(pairs));
    assert_eq!(provider(&[]).ok(), Some(TranscriptionProvider::Whisper));
    assert_eq!(
        provider(&[("DEEPGRAM_API_KEY", "k")]).ok(),
        Some(TranscriptionProvider::Deepgram)
    );
    assert_eq!(
        provider(&[("DEEPGRAM_SECRET_ID", "s"), ("TRANSCRIPTION_PROVIDER", " ")]).ok(),
        Some(TranscriptionProvider::Deepgram)
    );
    assert_eq!(
        provider(&[
            ("DEEPGRAM_API_KEY", "k"),
            ("TRANSCRIPTION_PROVIDER", "Whisper")
        ])
        .ok(),
        Some(TranscriptionProvider::Whisper)
    );
    assert_eq!(
        provider(&[("TRANSCRIPTION_PROVIDER", "deepgram")]).ok(),
        Some(TranscriptionProvider::Deepgram)
    );
    let err = provider(&[("TRANSCRIPTION_PROVIDER", "vosk")]).expect_err("unknown engine");
    assert_eq!(
        err.to_string(),
        "TRANSCRIPTION_PROVIDER is not valid: \"vosk\" is neither \"deepgram\" nor \"whisper\""
    );
}

#[test]
fn defaults_are_the_contracts_rate_limits() {
    let limits = RateLimits::from_lookup(&lookup(&[])).expect("defaults");
    assert_eq!(
        limits,
        RateLimits {
            auth_per_minute: 10,
            refresh_per_minute: 30,
            anon_per_minute: 30,
            user_per_minute: 120
        }
    );
    assert!(
        CorsOrigins::from_lookup(&lookup(&[]))
            .expect("cors")
            .0
            .is_empty()
    );
}

#[test]
fn grace_and_backoff_read_seconds_and_double_up_to_the_cap() {
    let none = lookup(&[]);
    assert_eq!(
        RefreshReuseGrace::from_lookup(&none).expect("grace").0,
        Duration::from_secs(30)
    );
    let off = lookup(&[("REFRESH_REUSE_GRACE_SECONDS", "0")]);
    assert_eq!(
        RefreshReuseGrace::from_lookup(&off).expect("grace").0,
        Duration::ZERO
    );
    let bad = lookup(&[("REFRESH_REUSE_GRACE_SECONDS", "-1")]);
    assert!(RefreshReuseGrace::from_lookup(&bad).is_err());

    let backoff = LoginBackoff::from_lookup(&none).expect("backoff");
    assert_eq!(backoff, LoginBackoff::default());
    let secs = |failures| backoff.delay_after(failures).as_secs();
    assert_eq!(
        [0, 4, 5, 6, 7, 8, 9, 10, 40, u32::MAX].map(secs),
        [0, 0, 60, 120, 240, 480, 900, 900, 900, 900]
    );
    let inverted = lookup(&[
        ("LOGIN_BACKOFF_FIRST_SECONDS", "60"),
        ("LOGIN_BACKOFF_MAX_SECONDS", "10"),
    ]);
    assert!(LoginBackoff::from_lookup(&inverted).is_err());
}

#[test]
fn missing_and_invalid_settings_are_named() {
    let err = DatabaseTarget::from_lookup(&lookup(&[])).expect_err("no database");
    assert_eq!(err.to_string(), "DATABASE_URL or DB_SECRET_ID must be set");
    let err = JwtSettings::from_lookup(&lookup(&[])).expect_err("no key id");
    assert_eq!(err.to_string(), "JWT_SECRET_ID must be set");
    let err = RateLimits::from_lookup(&lookup(&[("RATE_LIMIT_AUTH_PER_MINUTE", "ten")]))
        .expect_err("bad rate");
    assert!(
        err.to_string()
            .starts_with("RATE_LIMIT_AUTH_PER_MINUTE is not valid")
    );
}

#[test]
fn database_target_prefers_the_url_and_keeps_it_out_of_debug() {
    let target = DatabaseTarget::from_lookup(&lookup(&[
        ("DATABASE_URL", "postgres://u:secret@h/db"),
        ("DB_SECRET_ID", "s"),
    ]))
    .expect("target");
    assert!(!format!("{target:?}").contains("secret"));
    let target =
        DatabaseTarget::from_lookup(&lookup(&[("DB_SECRET_ID", "s"), ("DB_HOST", "proxy")]))
            .expect("target");
    assert_eq!(
        target,
        DatabaseTarget::Secret {
            secret_id: "s".into(),
            host_override: Some("proxy".into())
        }
    );
}

#[test]
fn cors_origins_are_trimmed_and_split() {
    let cors = CorsOrigins::from_lookup(&lookup(&[(
        "CORS_ALLOWED_ORIGINS",
        " http://localhost:3000/ , https://app.example.com,,",
    )]))
    .expect("cors");
    assert_eq!(cors.0, ["http://localhost:3000", "https://app.example.com"]);
}

#[test]
fn rds_secret_becomes_a_tls_url_with_escaped_password() {
    let url = DatabaseTarget::url_from_rds_secret(
        r#"{"username":"meetin","password":"p@ss/w:rd","host":"db.internal","port":5432,"dbname":"meetin"}"#,
        Some("proxy.internal"),
    )
    .expect("url");
    assert_eq!(
        url,
        "postgres://meetin:p%40ss%2Fw%3Ard@proxy.internal:5432/meetin?sslmode=require"
    );
}

#[test]
fn string_settings_are_required_or_optional_and_blank_is_unset() {
    let table = |pairs: &[(&str, &str)]| EphemeralTable::from_lookup(&lookup(pairs));
    assert_eq!(
        table(&[("EPHEMERAL_TABLE", "t")]).ok(),
        Some(EphemeralTable("t".into()))
    );
    let err = table(&[("EPHEMERAL_TABLE", "  ")]).expect_err("blank");
    assert_eq!(err.to_string(), "EPHEMERAL_TABLE must be set");
    assert_eq!(LlmSecretId::optional(&lookup(&[])), None);
    assert_eq!(
        LlmSecretId::optional(&lookup(&[("LLM_SECRET_ID", "llm")])),
        Some(LlmSecretId("llm".into()))
    );
}

#[test]
fn the_transcribe_wait_and_the_longest_recording_are_bounded() {
    let wait = |v: &str| TranscribeWait::from_lookup(&lookup(&[("TRANSCRIBE_WAIT_SECONDS", v)]));
    assert_eq!(wait("").ok(), Some(TranscribeWait(Duration::from_secs(25))));
    assert_eq!(wait("0").ok(), Some(TranscribeWait(Duration::ZERO)));
    let err = wait("26").expect_err("over API Gateway's timeout");
    assert!(err.to_string().contains("TRANSCRIBE_WAIT_SECONDS"), "{err}");
    let longest = |v: &str| {
        MaxRecordingDuration::from_lookup(&lookup(&[("MAX_RECORDING_DURATION_SECONDS", v)]))
    };
    assert_eq!(longest("").map(|d| d.as_ms()).ok(), Some(4 * 3600 * 1000));
    assert_eq!(longest("3").map(|d| d.as_ms()).ok(), Some(3000));
    for bad in ["0", "86401", "1.5", "-1"] {
        let err = longest(bad).expect_err(bad);
        assert!(
            err.to_string().contains("MAX_RECORDING_DURATION_SECONDS"),
            "{err}"
        );
    }
}

#[test]
fn whisper_threads_are_the_engines_default_or_1_to_8() {
    let threads = |pairs: &[(&str, &str)]| WhisperThreads::from_lookup(&lookup(pairs));
    assert_eq!(threads(&[]).ok(), Some(WhisperThreads(None)));
    assert_eq!(
        threads(&[("WHISPER_THREADS", " ")]).ok(),
        Some(WhisperThreads(None))
    );
    assert_eq!(
        threads(&[("WHISPER_THREADS", "1")]).ok(),
        Some(WhisperThreads(Some(1)))
    );
    assert_eq!(
        threads(&[("WHISPER_THREADS", " 8 ")]).ok(),
        Some(WhisperThreads(Some(8)))
    );
    for bad in ["0", "9", "-1", "two", "1.5"] {
        let err = threads(&[("WHISPER_THREADS", bad)]).expect_err(bad);
        assert!(
            err.to_string().starts_with("WHISPER_THREADS is not valid"),
            "{err}"
        );
    }
}

#[test]
fn the_websocket_callback_url_is_required_and_http_or_https() {
    let url = |pairs: &[(&str, &str)]| WebSocketCallbackUrl::from_lookup(&lookup(pairs));
    let err = url(&[]).expect_err("required");
    assert_eq!(err.to_string(), "WEBSOCKET_CALLBACK_URL must be set");
    assert_eq!(
        url(&[(
            "WEBSOCKET_CALLBACK_URL",
            " https://abc123.execute-api.eu-west-1.amazonaws.com/prod/ "
        )])
        .ok(),
        Some(WebSocketCallbackUrl(
            "https://abc123.execute-api.eu-west-1.amazonaws.com/prod".into()
        ))
    );
    assert_eq!(
        url(&[("WEBSOCKET_CALLBACK_URL", "HTTP://127.0.0.1:8000")]).ok(),
        Some(WebSocketCallbackUrl("HTTP://127.0.0.1:8000".into()))
    );
    for bad in [
        "wss://abc/prod",
        "abc.execute-api.amazonaws.com",
        "https://",
        "http://a b",
    ] {
        let err = url(&[("WEBSOCKET_CALLBACK_URL", bad)]).expect_err(bad);
        assert!(
            err.to_string()
                .starts_with("WEBSOCKET_CALLBACK_URL is not valid"),
            "{err}"
        );
    }
}
