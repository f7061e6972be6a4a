//! Transcribes audio files with the offline engine and prints each segment: a tool for trying
//! the models on a recording by hand.
//!
//! ```sh
//! cargo run -p meetin-whisper --example transcribe -- [--language en|fr|auto] FILE...
//! ```
//!
//! `en` uses the English model (`WHISPER_MODEL_PATH` or the provisioning cache), `fr` and
//! `auto` (the default) the multilingual one (`WHISPER_MULTILINGUAL_MODEL_PATH` or the cache).

use meetin_messages::jobs::LanguagePreference;
use meetin_whisper::WhisperModels;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut language = LanguagePreference::Auto;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--language" => {
                language = args.next().ok_or("--language en|fr|auto")?.parse()?;
            }
            _ => files.push(arg),
        }
    }
    let env = |name: &str| std::env::var(name).ok();
    let english = meetin_whisper::model_path(&env).ok_or("set HOME")?;
    let multilingual = meetin_whisper::multilingual_model_path(&env).ok_or("set HOME")?;
    let models = WhisperModels::load(
        &english,
        &multilingual,
        None,
        meetin_whisper::DEFAULT_MAX_DURATION_MS,
    )?;
    for file in files {
        let (engine, spoken) = models.for_preference(language)?;
        let started = std::time::Instant::now();
        let t = engine.transcribe_file_in(std::path::Path::new(&file), spoken)?;
        println!(
            "{file}: {} ms of audio in {:.1} s, {}, language {:?}",
            t.duration_ms,
            started.elapsed().as_secs_f64(),
            engine.provider(),
            t.language_detected
        );
        for s in &t.segments {
            println!(
                "  [{} – {} ms] {}: {}",
                s.start_ms, s.end_ms, s.speaker_label, s.text
            );
        }
    }
    Ok(())
}
