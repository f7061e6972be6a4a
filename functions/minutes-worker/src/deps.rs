//! What the minutes worker needs, built once per cold start ([`Deps`]): the pool, the retry
//! back-off and the engine (an LLM when a key is configured, else the offline one).

use meetin_core::settings::Lookup;
use meetin_core::{DatabaseTarget, LlmSecretId, MinutesQueueUrl, Setting};
use meetin_data::PgPool;
use meetin_minutes::{
    EngineError, Generated, Line, LlmEngine, MeetingInfo, OfflineEngine, StructuredChat, Usage,
};
use meetin_openai::{ChatClient, Provider, StructuredRequest};
use meetin_worker::{Deps, Retries};

/// [`StructuredChat`] over the OpenAI / Azure OpenAI client.
pub struct OpenAiChat(pub ChatClient);

impl StructuredChat for OpenAiChat {
    fn model(&self) -> String {
        self.0.model_label()
    }

    async fn complete(
        &self,
        system: &str,
        user: &str,
        schema_name: &str,
        schema: &serde_json::Value,
        max_completion_tokens: u32,
    ) -> Result<(serde_json::Value, Usage), EngineError> {
        let request = StructuredRequest {
            system,
            user,
            schema_name,
            schema,
            max_completion_tokens,
            temperature: Some(0.2),
        };
        match self.0.structured(&request).await {
            Ok(response) => Ok((
                response.content,
                Usage {
                    prompt_tokens: response.usage.prompt_tokens,
                    completion_tokens: response.usage.completion_tokens,
                },
            )),
            Err(err) => Err(EngineError {
                retryable: err.is_retryable(),
                reason: err.to_string(),
            }),
        }
    }
}

/// The engine minutes are written with.
pub enum Engine {
    /// OpenAI or Azure OpenAI.
    Llm(Box<LlmEngine<OpenAiChat>>),
    /// No key configured: deterministic, labelled with its name.
    Offline(OfflineEngine),
}

impl Engine {
    /// The LLM engine when a provider is configured, else the offline one.
    pub fn from_provider(provider: Option<Provider>) -> Self {
        match provider {
            Some(provider) => Self::Llm(Box::new(LlmEngine::new(OpenAiChat(ChatClient::new(
                provider,
                reqwest::Client::new(),
            ))))),
            None => Self::Offline(OfflineEngine::default()),
        }
    }

    /// What `generated_by_model` will say.
    pub fn model(&self) -> String {
        use meetin_minutes::Engine as _;
        match self {
            Self::Llm(e) => e.model(),
            Self::Offline(e) => e.model(),
        }
    }

    pub(crate) async fn generate(
        &self,
        meeting: &MeetingInfo,
        lines: &[Line],
    ) -> Result<Generated, EngineError> {
        match self {
            Self::Llm(e) => meetin_minutes::generate(e.as_ref(), meeting, lines).await,
            Self::Offline(e) => meetin_minutes::generate(e, meeting, lines).await,
        }
    }
}

/// What the worker needs, built once per cold start.
pub struct Worker {
    pub pool: PgPool,
    /// The back-off of a retried record on `MINUTES_QUEUE_URL` (first delay
    /// `RETRY_BACKOFF_SECONDS`).
    pub retries: Retries,
    pub engine: Engine,
}

impl Deps for Worker {
    /// The worker for settings read through `lookup`: the AWS endpoint, the database (URL or
    /// RDS secret), `MINUTES_QUEUE_URL` (optional), and the LLM (`OPENAI_API_KEY` /
    /// `AZURE_OPENAI_*`, or `LLM_SECRET_ID` naming a secret with those keys as JSON; none: the
    /// offline engine).
    async fn load_with(
        lookup: Lookup<'_>,
        sdk: &meetin_aws::aws_config::SdkConfig,
        pool_settings: meetin_data::PoolSettings,
    ) -> anyhow::Result<Self> {
        let database = DatabaseTarget::from_lookup(lookup)?;
        let queue_url = MinutesQueueUrl::optional(lookup).map(|u| u.0);
        let secrets = meetin_aws::aws_sdk_secretsmanager::Client::new(sdk);
        let llm_secret = async {
            match LlmSecretId::optional(lookup) {
                Some(id) => meetin_aws::secrets::json_fields(&secrets, &id.0)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let (url, secret) = tokio::try_join!(
            meetin_aws::secrets::database_url(&secrets, &database),
            llm_secret
        )?;
        // The secret's keys (e.g. OPENAI_API_KEY) fill what the environment leaves unset.
        let with_secret = |name: &str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .or_else(|| secret.as_ref().and_then(|s| s.get(name).cloned()))
        };
        let provider = meetin_openai::provider_from_lookup(&with_secret)
            .map_err(|e| anyhow::anyhow!("LLM settings: {e}"))?;
        Ok(Self {
            pool: meetin_data::connect_lazy(&url, pool_settings)?,
            retries: Retries::load(lookup, sdk, queue_url)?,
            engine: Engine::from_provider(provider),
        })
    }
}
