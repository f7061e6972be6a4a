//! OpenAI Chat Completions with Structured Outputs, against OpenAI or an Azure OpenAI
//! deployment: one call that returns a JSON object matching a strict `json_schema`, as the
//! minutes generator uses it.
//!
//! ```text
//! provider_from_lookup(&|name| std::env::var(name).ok())?   -> Option<Provider>
//! ChatClient::new(provider, http).structured(&StructuredRequest { system, user, schema, … })
//!     -> StructuredResponse { content: serde_json::Value (an object), model, usage, … }
//!     |  LlmError (Unavailable = try again later; everything else = fail now)
//! ```
//!
//! Sources for the wire shapes and rules: `openai/openai-openapi:openapi.yaml`
//! (`CreateChatCompletionRequest`/`Response`, `ResponseFormatJsonSchema`, `ErrorResponse`),
//! openai-python's `_base_client.py` and `lib/azure.py` (retries, Azure URLs), Microsoft's
//! Azure OpenAI structured-outputs and quota pages, all summarised in
//! `shared/design/protocols.md` §4.
//!
//! Nothing here logs, and no `{:?}` prints an API key, a prompt or a transcript.

mod client;
mod provider;
mod retry;

pub use client::{
    ChatClient, DEFAULT_TIMEOUT, LlmError, StructuredRequest, StructuredResponse, Usage,
};
pub use provider::{
    DEFAULT_AZURE_API_VERSION, DEFAULT_OPENAI_BASE_URL, DEFAULT_OPENAI_MODEL,
    MIN_AZURE_API_VERSION, Provider, provider_from_lookup,
};
pub use retry::RetryPolicy;
