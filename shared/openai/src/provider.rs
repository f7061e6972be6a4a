//! Which service answers: OpenAI (or an OpenAI-compatible base URL) or an Azure OpenAI
//! deployment, and how the settings choose between them (protocols.md §4.1, §4.4).

use std::fmt;

use url::Url;

/// OpenAI's API root; `/chat/completions` is appended.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// The model asked for when `OPENAI_MODEL` is unset: 128k context, 16,384 output tokens
/// (protocols.md §4.5), and Structured Outputs support.
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o-mini";

/// The Azure `api-version` used when `AZURE_OPENAI_API_VERSION` is unset: the GA version of
/// 2024-10-21, which supports `json_schema`.
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";

/// The oldest Azure `api-version` accepting `response_format: {type: "json_schema"}`; older
/// ones answer 400 "response_format value as json_schema is enabled only for api versions
/// 2024-08-01-preview and later" (protocols.md §4.4).
pub const MIN_AZURE_API_VERSION: &str = "2024-08-01-preview";

/// Where chat completions are sent and how the request authenticates.
#[derive(Clone, PartialEq, Eq)]
pub enum Provider {
    /// OpenAI, or any service speaking its API at another root.
    /// `POST {base_url}/chat/completions`, `Authorization: Bearer <key>`, body `model`.
    OpenAi {
        /// The API root, [`DEFAULT_OPENAI_BASE_URL`] by default; must be http(s).
        base_url: Url,
        /// The secret key (`sk-…`). Never logged, and hidden from `{:?}`.
        api_key: String,
        /// The model name sent as `model`, e.g. `gpt-4o-mini`.
        model: String,
    },
    /// An Azure OpenAI deployment (classic, deployment-routed URL).
    /// `POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…`, header
    /// `api-key`; no `model` in the body (Azure ignores it: the deployment fixes the model).
    Azure {
        /// The resource endpoint, e.g. `https://my-resource.openai.azure.com`; must be http(s).
        endpoint: Url,
        /// The deployment name (a path segment, percent-encoded when sent).
        deployment: String,
        /// `api-version`, `YYYY-MM-DD` or `YYYY-MM-DD-preview`, at least
        /// [`MIN_AZURE_API_VERSION`] for `json_schema`.
        api_version: String,
        /// The resource key. Never logged, and hidden from `{:?}`.
        api_key: String,
    },
}

impl fmt::Debug for Provider {
    // The key never reaches a log line, even through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OpenAi {
                base_url, model, ..
            } => f
                .debug_struct("OpenAi")
                .field("base_url", &base_url.as_str())
                .field("api_key", &"<redacted>")
                .field("model", model)
                .finish(),
            Self::Azure {
                endpoint,
                deployment,
                api_version,
                ..
            } => f
                .debug_struct("Azure")
                .field("endpoint", &endpoint.as_str())
                .field("deployment", deployment)
                .field("api_version", api_version)
                .field("api_key", &"<redacted>")
                .finish(),
        }
    }
}

impl Provider {
    /// `gpt-4o-mini` (the OpenAI model), or `azure:<deployment>`.
    pub fn model_label(&self) -> String {
        match self {
            Self::OpenAi { model, .. } => model.clone(),
            Self::Azure { deployment, .. } => format!("azure:{deployment}"),
        }
    }

    /// The full chat-completions URL, `api-version` included for Azure.
    pub(crate) fn chat_url(&self) -> Url {
        match self {
            Self::OpenAi { base_url, .. } => with_segments(base_url, &["chat", "completions"]),
            Self::Azure {
                endpoint,
                deployment,
                api_version,
                ..
            } => {
                let mut url = with_segments(
                    endpoint,
                    &["openai", "deployments", deployment, "chat", "completions"],
                );
                url.query_pairs_mut()
                    .append_pair("api-version", api_version);
                url
            }
        }
    }
}

/// `base` with `segments` appended to its path (each percent-encoded as one segment), keeping a
/// base path such as `/v1` and dropping a trailing slash. A URL that cannot have a path
/// (`mailto:`) is returned as it is; sending to it then fails as a bad request.
fn with_segments(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// The provider the settings describe, read through `lookup` (the environment, a settings map):
///
/// - **Azure** when `AZURE_OPENAI_ENDPOINT` is set: then `AZURE_OPENAI_API_KEY` and
///   `AZURE_OPENAI_DEPLOYMENT` are required, and `AZURE_OPENAI_API_VERSION` defaults to
///   [`DEFAULT_AZURE_API_VERSION`] and must be at least [`MIN_AZURE_API_VERSION`];
/// - else **OpenAI** when `OPENAI_API_KEY` is set, with `OPENAI_MODEL` (default
///   [`DEFAULT_OPENAI_MODEL`]) and `OPENAI_BASE_URL` (default [`DEFAULT_OPENAI_BASE_URL`]);
/// - else `Ok(None)`: no LLM configured, and the caller uses its offline engine.
///
/// Values are trimmed; empty or blank ones count as unset. `Err` names the invalid setting and
/// why, without its value (it could be a key).
pub fn provider_from_lookup(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Provider>, String> {
    let get = |name: &str| {
        lookup(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if let Some(endpoint) = get("AZURE_OPENAI_ENDPOINT") {
        let endpoint = http_url("AZURE_OPENAI_ENDPOINT", &endpoint)?;
        let required = |name: &str| {
            get(name).ok_or_else(|| format!("{name} is required when AZURE_OPENAI_ENDPOINT is set"))
        };
        let api_key = required("AZURE_OPENAI_API_KEY")?;
        let deployment = required("AZURE_OPENAI_DEPLOYMENT")?;
        let api_version =
            get("AZURE_OPENAI_API_VERSION").unwrap_or_else(|| DEFAULT_AZURE_API_VERSION.to_owned());
        check_azure_api_version(&api_version)
            .map_err(|why| format!("AZURE_OPENAI_API_VERSION: {why}"))?;
        return Ok(Some(Provider::Azure {
            endpoint,
            deployment,
            api_version,
            api_key,
        }));
    }
    if let Some(api_key) = get("OPENAI_API_KEY") {
        let base_url = match get("OPENAI_BASE_URL") {
            Some(url) => http_url("OPENAI_BASE_URL", &url)?,
            None => Url::parse(DEFAULT_OPENAI_BASE_URL).map_err(|e| e.to_string())?,
        };
        let model = get("OPENAI_MODEL").unwrap_or_else(|| DEFAULT_OPENAI_MODEL.to_owned());
        return Ok(Some(Provider::OpenAi {
            base_url,
            api_key,
            model,
        }));
    }
    Ok(None)
}

fn http_url(name: &str, value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("{name} is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(format!("{name} must be an http(s) URL"));
    }
    Ok(url)
}

/// An Azure `api-version` ordered by date, a preview before the GA version of the same date:
/// `(YYYY-MM-DD, is_ga)`. `None` unless the value is `YYYY-MM-DD` or `YYYY-MM-DD-preview`.
fn azure_version_key(version: &str) -> Option<(&str, bool)> {
    let (date, ga) = match version.strip_suffix("-preview") {
        Some(date) => (date, false),
        None => (version, true),
    };
    let b = date.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    shaped.then_some((date, ga))
}

/// `Ok` when `version` is a dated Azure `api-version` no older than [`MIN_AZURE_API_VERSION`];
/// the error says why not.
pub(crate) fn check_azure_api_version(version: &str) -> Result<(), String> {
    let key = azure_version_key(version).ok_or_else(|| {
        format!("`{version}` is not an api-version of the form YYYY-MM-DD or YYYY-MM-DD-preview")
    })?;
    let min = azure_version_key(MIN_AZURE_API_VERSION).unwrap_or(("2024-08-01", false));
    if key < min {
        return Err(format!(
            "`{version}` is too old: response_format json_schema (Structured Outputs) needs \
             {MIN_AZURE_API_VERSION} or later; use {DEFAULT_AZURE_API_VERSION}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Option<Provider>, String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        provider_from_lookup(&|name| map.get(name).cloned())
    }

    #[test]
    fn nothing_configured_is_none() {
        assert_eq!(from(&[]), Ok(None));
        assert_eq!(
            from(&[("OPENAI_API_KEY", "  "), ("AZURE_OPENAI_ENDPOINT", "")]),
            Ok(None)
        );
    }

    #[test]
    fn openai_defaults() {
        let provider = from(&[("OPENAI_API_KEY", "sk-test\n")])
            .expect("valid")
            .expect("configured");
        assert_eq!(
            provider,
            Provider::OpenAi {
                base_url: Url::parse("https://api.openai.com/v1").expect("url"),
                api_key: "sk-test".into(),
                model: "gpt-4o-mini".into(),
            }
        );
        assert_eq!(
            provider.chat_url().as_str(),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(provider.model_label(), "gpt-4o-mini");
    }

    #[test]
    fn openai_settings_override() {
        let provider = from(&[
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_MODEL", "gpt-4.1"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/proxy/v1/"),
        ])
        .expect("valid")
        .expect("configured");
        assert_eq!(
            provider.chat_url().as_str(),
            "http://127.0.0.1:9/proxy/v1/chat/completions"
        );
        assert_eq!(provider.model_label(), "gpt-4.1");
        assert!(
            from(&[("OPENAI_API_KEY", "k"), ("OPENAI_BASE_URL", "ftp://x/")])
                .expect_err("not http")
                .starts_with("OPENAI_BASE_URL")
        );
    }

    #[test]
    fn azure_wins_and_needs_key_and_deployment() {
        let provider = from(&[
            ("OPENAI_API_KEY", "sk-ignored"),
            ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com/"),
            ("AZURE_OPENAI_API_KEY", "azkey"),
            ("AZURE_OPENAI_DEPLOYMENT", "minutes 4o"),
        ])
        .expect("valid")
        .expect("configured");
        assert_eq!(
            provider.chat_url().as_str(),
            "https://res.openai.azure.com/openai/deployments/minutes%204o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(provider.model_label(), "azure:minutes 4o");
        let missing_key = from(&[
            ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com"),
            ("AZURE_OPENAI_DEPLOYMENT", "d"),
        ]);
        assert_eq!(
            missing_key,
            Err("AZURE_OPENAI_API_KEY is required when AZURE_OPENAI_ENDPOINT is set".into())
        );
        let missing_deployment = from(&[
            ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com"),
            ("AZURE_OPENAI_API_KEY", "k"),
        ]);
        assert!(
            missing_deployment
                .expect_err("deployment required")
                .starts_with("AZURE_OPENAI_DEPLOYMENT is required")
        );
    }

    #[test]
    fn azure_api_version_must_support_json_schema() {
        let with_version = |v: &str| {
            from(&[
                ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com"),
                ("AZURE_OPENAI_API_KEY", "k"),
                ("AZURE_OPENAI_DEPLOYMENT", "d"),
                ("AZURE_OPENAI_API_VERSION", v),
            ])
        };
        // The original backend's default.
        let old = with_version("2023-12-01-preview").expect_err("too old");
        assert!(old.starts_with("AZURE_OPENAI_API_VERSION: `2023-12-01-preview` is too old"));
        assert!(old.contains("2024-08-01-preview"));
        assert!(with_version("2024-06-01").is_err());
        assert!(with_version("2024-07-01-preview").is_err());
        assert!(with_version("2024-08-01-preview").is_ok());
        assert!(with_version("2024-10-21").is_ok());
        assert!(with_version("2025-04-01-preview").is_ok());
        assert!(
            with_version("latest")
                .expect_err("not dated")
                .contains("YYYY-MM-DD")
        );
    }

    #[test]
    fn debug_hides_keys() {
        let provider = Provider::Azure {
            endpoint: Url::parse("https://res.openai.azure.com").expect("url"),
            deployment: "d".into(),
            api_version: DEFAULT_AZURE_API_VERSION.into(),
            api_key: "sekrit".into(),
        };
        assert!(!format!("{provider:?}").contains("sekrit"));
        let provider = Provider::OpenAi {
            base_url: Url::parse(DEFAULT_OPENAI_BASE_URL).expect("url"),
            api_key: "sk-sekrit".into(),
            model: "m".into(),
        };
        assert!(!format!("{provider:?}").contains("sekrit"));
    }
}
