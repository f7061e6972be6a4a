use argon2::{PasswordHasher, PasswordVerifier};

use super::*;

#[test]
fn rules_match_djangos_validators() {
    assert_eq!(check_rules("x7#qL"), vec![TOO_SHORT]);
    // Not in Django's list: too short only, as the original answers.
    assert_eq!(check_rules("short"), vec![TOO_SHORT]);
    assert_eq!(check_rules("  Password123 "), vec![TOO_COMMON]);
    assert_eq!(
        check_rules("1234567890"),
        vec![TOO_COMMON, ENTIRELY_NUMERIC]
    );
    assert_eq!(check_rules("9384710562"), vec![ENTIRELY_NUMERIC]);
    assert_eq!(check_rules("basketball"), vec![TOO_COMMON]);
    assert_eq!(check_rules("QwertyUIOP"), vec![TOO_COMMON]);
    assert!(check_rules("plum-harbor-71-lantern").is_empty());
    assert!(check_rules("basketball-orbit-lamp").is_empty());
}

#[test]
fn numeric_means_pythons_isdigit() {
    // Full-width, Arabic-Indic, superscript and circled digits are digits to Python.
    for digits in [
        "９３８４７１０５６２",
        "٩٣٨٤٧١٠٥٦٢",
        "²³¹²³¹²³¹²",
        "①②③④⑤⑥⑦⑧⑨⑨",
    ] {
        assert_eq!(check_rules(digits), vec![ENTIRELY_NUMERIC], "{digits}");
    }
    // Fractions and Roman numerals are numeric but not digits; one letter is enough.
    for not_digits in ["½½½½½½½½½½", "ⅫⅫⅫⅫⅫⅫⅫⅫⅫⅫ", "938471056x", ""] {
        assert!(!is_python_digits(not_digits), "{not_digits}");
    }
}

#[tokio::test]
async fn buffers_are_reused_in_a_burst_and_freed_when_idle() {
    let hasher: &'static Hasher = Box::leak(Box::new(
        Hasher::new(2, Duration::from_secs(30)).with_idle_release(Duration::from_millis(200)),
    ));
    let (a, b) = tokio::join!(
        hasher.hash("plum-harbor-71-lantern".into()),
        hasher.hash("plum-harbor-71-lantern".into())
    );
    a.expect("hash");
    b.expect("hash");
    assert_eq!(
        hasher.pooled_buffers(),
        2,
        "kept for the next hashes of the burst"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(hasher.pooled_buffers(), 0, "freed once idle");
}

/// A hasher of its own, so tests do not share slots; leaked, as the global one is static.
fn hasher(slots: usize, timeout: Duration) -> &'static Hasher {
    Box::leak(Box::new(Hasher::new(slots, timeout)))
}

#[tokio::test]
async fn hashes_interoperate_with_the_argon2_crate() {
    let h = hasher(1, DEFAULT_QUEUE_TIMEOUT);
    let ours = h.hash("correct horse battery".into()).await.expect("hash");
    assert!(
        ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{ours}"
    );
    let parsed = PasswordHash::new(&ours).expect("PHC");
    assert!(
        Argon2::default()
            .verify_password(b"correct horse battery", &parsed)
            .is_ok()
    );
    assert!(
        Argon2::default()
            .verify_password(b"wrong horse battery", &parsed)
            .is_err()
    );

    // The crate's own hash verifies with ours, twice (the second in a reused buffer).
    let theirs = Argon2::default()
        .hash_password(b"tidal-quartz-88")
        .expect("hash")
        .to_string();
    for _ in 0..2 {
        let ok = h.verify("tidal-quartz-88".into(), Some(theirs.clone()));
        assert!(ok.await.expect("verify"));
    }
    let wrong = h.verify("tidal-quartz-89".into(), Some(theirs));
    assert!(!wrong.await.expect("verify"));

    // Other algorithms and costs (not the pooled size) verify too.
    let argon2i = Argon2::new(
        Algorithm::Argon2i,
        Version::V0x13,
        Params::new(4096, 3, 1, None).expect("params"),
    )
    .hash_password(b"older-params-42")
    .expect("hash")
    .to_string();
    let ok = h.verify("older-params-42".into(), Some(argon2i));
    assert!(ok.await.expect("verify"));

    // No account: the decoy never matches.
    assert!(!h.verify(ours.clone(), None).await.expect("verify"));
    assert!(
        h.verify("x".into(), Some("not a hash".into()))
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_verifies_never_exceed_the_slots() {
    const SLOTS: usize = 2;
    let h = hasher(SLOTS, Duration::from_secs(600));
    let stored = h.hash("plum-harbor-71".into()).await.expect("hash");
    let tasks: Vec<_> = (0..SLOTS + 5)
        .map(|i| {
            let stored = stored.clone();
            let password = if i % 2 == 0 { "plum-harbor-71" } else { "nope" };
            tokio::spawn(h.verify(password.into(), Some(stored)))
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let verified = task.await.expect("join").expect("verify");
        assert_eq!(verified, i % 2 == 0);
    }
    assert_eq!(h.peak_in_flight(), SLOTS);
    let pooled = h.pool.lock().expect("pool").len();
    assert!((1..=SLOTS).contains(&pooled), "{pooled} buffers kept");
}

#[tokio::test]
async fn saturated_hashing_answers_busy_after_the_timeout() {
    let h = hasher(1, Duration::from_millis(50));
    let taken = h.slots.clone().acquire_owned().await.expect("slot");
    let started = std::time::Instant::now();
    let err = h.verify("anything".into(), None).await.expect_err("busy");
    assert!(matches!(err, PasswordError::Busy), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(50));
    drop(taken);
    assert!(!h.verify("anything".into(), None).await.expect("free"));
}
