//! The two models a process holds, and which one a recording is transcribed with.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use meetin_messages::jobs::LanguagePreference;

use crate::{Spoken, WhisperEngine, WhisperError};

/// The English model (`tiny.en`, loaded at once) and the multilingual one (`base`, about
/// 150 MB more, loaded at the first `fr` or `auto` recording: `auto` is a new meeting's
/// default, so most processes load it soon), with the same threads and longest duration.
pub struct WhisperModels {
    english: Arc<WhisperEngine>,
    multilingual_path: PathBuf,
    multilingual: Mutex<Option<Arc<WhisperEngine>>>,
    threads: Option<usize>,
    max_duration_ms: u64,
}

impl std::fmt::Debug for WhisperModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperModels")
            .field("english", &self.english)
            .field("multilingual_path", &self.multilingual_path)
            .finish_non_exhaustive()
    }
}

impl WhisperModels {
    /// Loads the English model now and checks that the multilingual one's file is there;
    /// both transcribe on `threads` threads (every core up to 8 when `None`,
    /// [`WhisperEngine::with_threads`]) and stop past `max_duration_ms`
    /// ([`WhisperEngine::with_max_duration_ms`]). Errors: [`WhisperError::ModelMissing`]
    /// (naming the provisioning script) for either file, [`WhisperError::ModelInvalid`] when
    /// whisper.cpp refuses the English one.
    pub fn load(
        english: &Path,
        multilingual: &Path,
        threads: Option<usize>,
        max_duration_ms: u64,
    ) -> Result<Self, WhisperError> {
        if !multilingual.is_file() {
            return Err(WhisperError::ModelMissing {
                path: multilingual.to_path_buf(),
            });
        }
        let engine = Self::configure(WhisperEngine::load(english)?, threads, max_duration_ms);
        Ok(Self {
            english: Arc::new(engine),
            multilingual_path: multilingual.to_path_buf(),
            multilingual: Mutex::new(None),
            threads,
            max_duration_ms,
        })
    }

    fn configure(engine: WhisperEngine, threads: Option<usize>, max_ms: u64) -> WhisperEngine {
        let engine = engine.with_max_duration_ms(max_ms);
        match threads {
            Some(threads) => engine.with_threads(threads),
            None => engine,
        }
    }

    /// The English model.
    pub fn english(&self) -> &Arc<WhisperEngine> {
        &self.english
    }

    /// The multilingual model's file.
    pub fn multilingual_path(&self) -> &Path {
        &self.multilingual_path
    }

    /// The multilingual model, loaded at the first call (a second or two; call it from a
    /// blocking thread). A failed load is tried again at the next call.
    pub fn multilingual(&self) -> Result<Arc<WhisperEngine>, WhisperError> {
        // A poisoned lock only means a load panicked; the slot holds a whole engine or none.
        let mut slot = self.multilingual.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(engine) = &*slot {
            return Ok(Arc::clone(engine));
        }
        let engine = Arc::new(Self::configure(
            WhisperEngine::load(&self.multilingual_path)?,
            self.threads,
            self.max_duration_ms,
        ));
        *slot = Some(Arc::clone(&engine));
        Ok(engine)
    }

    /// The engine and language for a meeting's `language_preference`: `en` the English
    /// model; `fr` the multilingual one in French; `auto` the multilingual one detecting
    /// English or French. Errors: those of [`WhisperModels::multilingual`].
    pub fn for_preference(
        &self,
        preference: LanguagePreference,
    ) -> Result<(Arc<WhisperEngine>, Spoken), WhisperError> {
        let spoken = Spoken::for_preference(preference);
        match preference {
            LanguagePreference::En => Ok((Arc::clone(&self.english), spoken)),
            LanguagePreference::Fr | LanguagePreference::Auto => Ok((self.multilingual()?, spoken)),
        }
    }

    /// `transcripts.provider` of what [`WhisperModels::for_preference`] gives for
    /// `preference`: `whisper-tiny.en`, `whisper-base`.
    pub fn provider_for(&self, preference: LanguagePreference) -> String {
        match preference {
            LanguagePreference::En => self.english.provider(),
            LanguagePreference::Fr | LanguagePreference::Auto => {
                format!("whisper-{}", multilingual_name(&self.multilingual_path))
            }
        }
    }

    /// What each preference uses, for start-up banners: `en: whisper tiny.en (…); fr, auto: …`.
    pub fn describe(&self) -> String {
        format!(
            "en: Whisper {} ({}); fr and auto: Whisper {} (multilingual, detects en/fr; {}, loaded at first use)",
            self.english.name(),
            self.english.model_path().display(),
            multilingual_name(&self.multilingual_path),
            self.multilingual_path.display(),
        )
    }
}

/// `base` for `…/ggml-base.bin`: the model's name from its file's, before it is loaded.
fn multilingual_name(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .map(|s| s.trim_start_matches("ggml-").to_owned())
        .unwrap_or_else(|| "multilingual".to_owned())
}
