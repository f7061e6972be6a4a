//! What the recording worker needs, built once per cold start ([`Deps`]): the pool, the
//! bucket's client, the retry back-off and the engine the settings chose.

use std::path::PathBuf;
use std::sync::Arc;

use meetin_aws::JobQueue;
use meetin_aws::aws_sdk_s3;
use meetin_core::settings::Lookup;
use meetin_core::{
    DatabaseTarget, DeepgramSettings, MaxRecordingDuration, RecordingsBucket, Setting,
    TranscriptionProvider, TranscriptionQueueUrl, TranscriptionWindow, WhisperThreads,
};
use meetin_data::PgPool;
use meetin_deepgram::DeepgramClient;
use meetin_messages::jobs::TranscribeRecording;
use meetin_vocab::LanguagePreference;
use meetin_whisper::WhisperModels;
use meetin_worker::{Deps, Retries};

use crate::PROVIDER;

/// What turns a recording into text, chosen once per cold start.
#[derive(Clone)]
pub enum Engine {
    /// Deepgram's pre-recorded API, fetching a presigned URL.
    Deepgram(DeepgramClient),
    /// The embedded Whisper models, English and multilingual (one of each per process;
    /// transcriptions run one at a time on each).
    Whisper(Arc<WhisperModels>),
}

impl Engine {
    /// `transcripts.provider` of what this engine stores for a meeting of `language`:
    /// `deepgram`, `whisper-tiny.en` or `whisper-base`.
    pub fn provider(&self, language: LanguagePreference) -> String {
        match self {
            Self::Deepgram(_) => PROVIDER.to_owned(),
            Self::Whisper(models) => models.provider_for(language),
        }
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Deepgram(_) => f.write_str("Engine::Deepgram"),
            Self::Whisper(models) => f.debug_tuple("Engine::Whisper").field(models).finish(),
        }
    }
}

/// What the worker needs, built once per cold start.
#[derive(Clone)]
pub struct Worker {
    pub pool: PgPool,
    /// Presigns the GET Deepgram fetches; downloads the object for Whisper.
    pub s3: aws_sdk_s3::Client,
    /// `RECORDINGS_BUCKET`: the only bucket the worker reads, whatever a job names.
    pub bucket: String,
    /// The back-off of a retried record on `TRANSCRIPTION_QUEUE_URL` (first delay
    /// `RETRY_BACKOFF_SECONDS`); without the URL, SQS's visibility timeout alone spaces the
    /// attempts.
    pub retries: Retries,
    pub engine: Engine,
    /// The longest recording transcribed, in ms ([`MaxRecordingDuration`]); a longer one
    /// fails before transcription.
    pub max_duration_ms: u64,
    /// About how long each window of a long recording is, in ms ([`TranscriptionWindow`]).
    pub window_ms: i64,
    /// Its own queue (`TRANSCRIPTION_QUEUE_URL`), where a long recording's window jobs go;
    /// without it a recording is transcribed in one piece.
    pub queue: Option<JobQueue<TranscribeRecording>>,
}

impl Deps for Worker {
    /// The worker for settings read through `lookup`: the AWS endpoint, the database (URL or
    /// RDS secret), `RECORDINGS_BUCKET`, `TRANSCRIPTION_QUEUE_URL` (optional) and the engine
    /// ([`TranscriptionProvider`]): Deepgram ([`DeepgramSettings`]; its key secret is read
    /// beside the database's) or Whisper, whose English model (`WHISPER_MODEL_PATH`, default
    /// the provisioning cache) is loaded here and multilingual one
    /// (`WHISPER_MULTILINGUAL_MODEL_PATH`, same default) checked, to load at its first
    /// French or `auto` meeting, both to run on [`WhisperThreads`] threads; a missing model
    /// fails the start with a message naming `infra/local/whisper-model.sh`, never a
    /// fallback.
    async fn load_with(
        lookup: Lookup<'_>,
        sdk: &meetin_aws::aws_config::SdkConfig,
        pool_settings: meetin_data::PoolSettings,
    ) -> anyhow::Result<Self> {
        let database = DatabaseTarget::from_lookup(lookup)?;
        let provider = TranscriptionProvider::from_lookup(lookup)?;
        let bucket = RecordingsBucket::from_lookup(lookup)?.0;
        let queue_url = TranscriptionQueueUrl::optional(lookup).map(|u| u.0);
        let max_duration_ms = MaxRecordingDuration::from_lookup(lookup)?.as_ms();
        let window_ms = TranscriptionWindow::from_lookup(lookup)?.as_ms();
        let secrets = meetin_aws::aws_sdk_secretsmanager::Client::new(sdk);
        let (url, engine) = match provider {
            TranscriptionProvider::Deepgram => {
                let deepgram = DeepgramSettings::from_lookup(lookup)?;
                let (url, key) = tokio::try_join!(
                    meetin_aws::secrets::database_url(&secrets, &database),
                    meetin_aws::secrets::deepgram_api_key(&secrets, &deepgram.key),
                )?;
                let base_url = deepgram
                    .base_url
                    .as_deref()
                    .unwrap_or(meetin_deepgram::DEFAULT_BASE_URL);
                let base_url = url::Url::parse(base_url)
                    .map_err(|e| anyhow::anyhow!("DEEPGRAM_BASE_URL is not a URL: {e}"))?;
                let client = DeepgramClient::new(base_url, key, reqwest::Client::new());
                (url, Engine::Deepgram(client))
            }
            TranscriptionProvider::Whisper => {
                let threads = WhisperThreads::from_lookup(lookup)?.0;
                let unset = |setting: &str| {
                    anyhow::anyhow!(
                        "TRANSCRIPTION_PROVIDER is whisper but neither {setting} nor HOME is set"
                    )
                };
                let english = meetin_whisper::model_path(lookup)
                    .ok_or_else(|| unset("WHISPER_MODEL_PATH"))?;
                let multilingual = meetin_whisper::multilingual_model_path(lookup)
                    .ok_or_else(|| unset("WHISPER_MULTILINGUAL_MODEL_PATH"))?;
                let (url, models) = tokio::join!(
                    meetin_aws::secrets::database_url(&secrets, &database),
                    load_whisper(
                        english,
                        multilingual,
                        threads.map(usize::from),
                        max_duration_ms
                    ),
                );
                let url = url?;
                (url, Engine::Whisper(Arc::new(models?)))
            }
        };
        let retries = Retries::load(lookup, sdk, queue_url)?;
        let queue = retries
            .queue_url
            .as_ref()
            .map(|url| JobQueue::new(retries.sqs.clone(), url.clone()));
        Ok(Self {
            pool: meetin_data::connect_lazy(&url, pool_settings)?,
            s3: meetin_aws::s3_client(sdk),
            bucket,
            retries,
            engine,
            max_duration_ms,
            window_ms,
            queue,
        })
    }
}

/// Loads the Whisper models on a blocking thread (about a second of file reading).
async fn load_whisper(
    english: PathBuf,
    multilingual: PathBuf,
    threads: Option<usize>,
    max_duration_ms: u64,
) -> anyhow::Result<WhisperModels> {
    tokio::task::spawn_blocking(move || {
        WhisperModels::load(&english, &multilingual, threads, max_duration_ms)
    })
    .await
    .map_err(|e| anyhow::anyhow!("loading the Whisper model: {e}"))?
    .map_err(anyhow::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_longest_recording_is_the_whisper_engines() {
        assert_eq!(
            MaxRecordingDuration::default().as_ms(),
            meetin_whisper::DEFAULT_MAX_DURATION_MS
        );
    }
}
