//! Languages with no key: the multilingual model transcribes French in French, detects
//! English or French when the meeting says `auto`, and each meeting's preference picks its
//! model (tests/fixtures/audio/meeting-fr.webm, Kokoro voices, and meeting.webm, espeak-ng).

use std::sync::OnceLock;

use meetin_messages::jobs::LanguagePreference;
use meetin_test_support::speech::{
    audio_fixture_bytes, whisper_model, whisper_multilingual_model, word_error_rate, word_overlap,
};
use meetin_whisper::{Spoken, Transcription, WhisperError, WhisperModels};

/// tests/fixtures/audio/meeting-fr.txt, voices dropped.
const MEETING_FR: &str = "Bonjour à tous. Commençons la réunion de planification de la semaine. \
    Merci. Nous avons décidé de reporter le lancement au mois prochain. \
    Très bien. Marie va préparer le budget d'ici vendredi. \
    Je vais envoyer le compte rendu à toute l'équipe demain.";
/// tests/fixtures/audio/meeting.txt, voices dropped.
const MEETING_EN: &str = "Good morning everyone. Let's start the weekly planning meeting. \
    Thanks. The new release is ready for testing on Friday. \
    Great. Sarah will update the budget report by Monday. \
    I will send the meeting notes to the whole team today.";

fn models() -> &'static WhisperModels {
    static MODELS: OnceLock<WhisperModels> = OnceLock::new();
    MODELS.get_or_init(|| {
        WhisperModels::load(
            &whisper_model(),
            &whisper_multilingual_model(),
            None,
            meetin_whisper::DEFAULT_MAX_DURATION_MS,
        )
        .expect("the models load")
    })
}

fn text(t: &Transcription) -> String {
    t.segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn transcribe(preference: LanguagePreference, fixture: &str) -> (Transcription, String) {
    let (engine, spoken) = models().for_preference(preference).expect("a model");
    let t = engine
        .transcribe_in(&audio_fixture_bytes(fixture), spoken)
        .expect("transcribed");
    (t, engine.provider())
}

#[test]
fn a_french_meeting_is_transcribed_in_french_by_the_multilingual_model() {
    let (t, provider) = transcribe(LanguagePreference::Fr, "meeting-fr.webm");
    let said = text(&t);
    let overlap = word_overlap(MEETING_FR, &said);
    eprintln!("fr: overlap {overlap:.2}: {said}");
    assert!(overlap >= 0.8, "word overlap {overlap:.2}: {said}");
    assert_eq!(t.language_detected.as_deref(), Some("fr"));
    assert_eq!(provider, "whisper-base");
    assert!(
        said.contains("équipe") || said.contains("réunion"),
        "{said}"
    );
}

#[test]
fn auto_detects_french_and_english() {
    let (fr, _) = transcribe(LanguagePreference::Auto, "meeting-fr.webm");
    assert_eq!(fr.language_detected.as_deref(), Some("fr"), "{}", text(&fr));
    assert!(word_overlap(MEETING_FR, &text(&fr)) >= 0.8, "{}", text(&fr));

    let (en, provider) = transcribe(LanguagePreference::Auto, "meeting.webm");
    assert_eq!(en.language_detected.as_deref(), Some("en"), "{}", text(&en));
    let wer = word_error_rate(MEETING_EN, &text(&en));
    assert!(wer <= 0.25, "WER {wer:.2}: {}", text(&en));
    assert_eq!(provider, "whisper-base");
}

#[test]
fn an_english_meeting_keeps_the_english_model() {
    let (t, provider) = transcribe(LanguagePreference::En, "meeting.webm");
    assert_eq!(provider, "whisper-tiny.en");
    assert_eq!(t.language_detected.as_deref(), Some("en"));
    assert!(
        word_error_rate(MEETING_EN, &text(&t)) <= 0.25,
        "{}",
        text(&t)
    );
    assert_eq!(
        models().provider_for(LanguagePreference::Fr),
        "whisper-base"
    );
}

#[test]
fn the_english_model_refuses_another_language_and_a_missing_model_is_named() {
    let english = models().english();
    let err = english
        .transcribe_in(&audio_fixture_bytes("phrase.flac"), Spoken::Known("fr"))
        .expect_err("tiny.en knows no French");
    assert!(
        matches!(err, WhisperError::LanguageUnsupported { .. }),
        "{err:?}"
    );
    let err = WhisperModels::load(
        &whisper_model(),
        std::path::Path::new("/nonexistent/ggml-base.bin"),
        None,
        1_000,
    )
    .expect_err("no multilingual model");
    assert!(
        err.to_string().contains("infra/local/whisper-model.sh"),
        "{err}"
    );
}

#[test]
fn silence_detects_nothing_and_stores_no_language() {
    let (engine, spoken) = models()
        .for_preference(LanguagePreference::Auto)
        .expect("a model");
    let t = engine
        .transcribe_samples(&vec![0.0; 16_000 * 3], spoken)
        .expect("silence");
    assert!(t.segments.is_empty());
    assert_eq!(t.language_detected, None);
}
