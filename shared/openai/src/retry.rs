//! When and how long to wait before sending a failed request again, after openai-python's
//! `_base_client.py` (`_should_retry`, `_parse_retry_after_header`, `_calculate_retry_timeout`;
//! protocols.md §4.3).

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// How many times, and how long between, a request is sent again after a retryable failure
/// (408, 409, 429 other than `insufficient_quota`, 5xx, a transport error or timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so at most `max_retries + 1` requests); default 2, as
    /// openai-python's `DEFAULT_MAX_RETRIES`.
    pub max_retries: u32,
    /// The longest server-requested wait (`retry-after-ms` / `retry-after`) honoured; default
    /// 120 s. A longer one ends the call at once with `LlmError::Unavailable`: sleeping that
    /// long inside a worker invocation is worse than letting the queue redeliver. (openai-python
    /// instead ignores a value over 60 s and backs off.)
    pub max_retry_after: Duration,
    /// The first backoff when the server names no wait; default 0.5 s
    /// (`INITIAL_RETRY_DELAY`).
    pub base: Duration,
    /// The longest backoff; default 8 s (`MAX_RETRY_DELAY`).
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            max_retry_after: Duration::from_secs(120),
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// No retries: every failure is returned as it happens.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The backoff before retry number `retries_done + 1` when the server named no wait:
    /// `min(base × 2^retries_done, cap) × jitter`, jitter uniform in 0.75..=1.0.
    pub(crate) fn backoff(&self, retries_done: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(retries_done.min(31)));
        exp.min(self.cap)
            .mul_f64(rand::random_range(0.75..=1.0_f64))
    }
}

/// What the server asked for in `x-should-retry` (`true` / `false`), if anything: it overrides
/// the status-based decision.
pub(crate) fn should_retry_header(headers: &HeaderMap) -> Option<bool> {
    match headers.get("x-should-retry")?.to_str().ok()? {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Whether a status is worth another try: 408 (request timeout), 409 (lock timeout), 429,
/// 5xx.
pub(crate) fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || status >= 500
}

/// The wait the server asked for, in seconds (may be ≤ 0 or huge; the caller judges it):
/// `retry-after-ms` (milliseconds, Azure and OpenAI), else `retry-after` as seconds, else
/// `retry-after` as an HTTP-date measured from `now`. `None` when absent or unreadable.
pub(crate) fn retry_after_secs(headers: &HeaderMap, now: SystemTime) -> Option<f64> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
    {
        return Some(ms / 1000.0);
    }
    let value = header("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return secs.is_finite().then_some(secs);
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(match date.duration_since(now) {
        Ok(ahead) => ahead.as_secs_f64(),
        Err(behind) => -behind.duration().as_secs_f64(),
    })
}

/// What to do after a retryable failure.
#[derive(Debug, PartialEq)]
pub(crate) enum Wait {
    /// Sleep this long, then send again.
    For(Duration),
    /// Give up now: the server asked for a wait longer than `max_retry_after`.
    TooLong,
}

/// The wait before retry number `retries_done + 1`: the server's value when
/// 0 < value ≤ `max_retry_after`, [`Wait::TooLong`] when greater, the backoff otherwise.
pub(crate) fn wait(policy: &RetryPolicy, retry_after: Option<f64>, retries_done: u32) -> Wait {
    match retry_after {
        Some(secs) if secs > policy.max_retry_after.as_secs_f64() => Wait::TooLong,
        Some(secs) if secs > 0.0 => Wait::For(Duration::from_secs_f64(secs)),
        _ => Wait::For(policy.backoff(retries_done)),
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    #[test]
    fn retry_after_ms_comes_first() {
        let now = SystemTime::now();
        let h = headers(&[("retry-after-ms", "1500"), ("retry-after", "7")]);
        assert_eq!(retry_after_secs(&h, now), Some(1.5));
        let h = headers(&[("retry-after-ms", "soon"), ("retry-after", "7")]);
        assert_eq!(retry_after_secs(&h, now), Some(7.0));
        assert_eq!(retry_after_secs(&headers(&[]), now), None);
        assert_eq!(
            retry_after_secs(&headers(&[("retry-after", "later")]), now),
            None
        );
    }

    #[test]
    fn retry_after_http_date_is_measured_from_now() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").expect("date");
        let h = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT")]);
        assert_eq!(retry_after_secs(&h, now), Some(30.0));
        let h = headers(&[("retry-after", "Wed, 21 Oct 2015 07:27:00 GMT")]);
        assert_eq!(retry_after_secs(&h, now), Some(-60.0));
    }

    #[test]
    fn wait_honours_a_reasonable_server_value_only() {
        let policy = RetryPolicy::default();
        assert_eq!(
            wait(&policy, Some(2.5), 0),
            Wait::For(Duration::from_millis(2500))
        );
        assert_eq!(
            wait(&policy, Some(120.0), 0),
            Wait::For(Duration::from_secs(120))
        );
        assert_eq!(wait(&policy, Some(120.5), 0), Wait::TooLong);
        // Zero or a date in the past: back off instead.
        for value in [Some(0.0), Some(-3.0), None] {
            let Wait::For(d) = wait(&policy, value, 0) else {
                panic!("expected a backoff for {value:?}");
            };
            assert!(d >= Duration::from_millis(375) && d <= Duration::from_millis(500));
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let policy = RetryPolicy::default();
        for (n, full_ms) in [
            (0, 500),
            (1, 1000),
            (2, 2000),
            (3, 4000),
            (4, 8000),
            (40, 8000),
        ] {
            for _ in 0..50 {
                let d = policy.backoff(n);
                let full = Duration::from_millis(full_ms);
                assert!(d <= full && d >= full.mul_f64(0.75), "retry {n}: {d:?}");
            }
        }
    }

    #[test]
    fn statuses_and_override() {
        for status in [408, 409, 429, 500, 502, 503, 504] {
            assert!(retryable_status(status), "{status}");
        }
        for status in [400, 401, 403, 404, 413, 422] {
            assert!(!retryable_status(status), "{status}");
        }
        assert_eq!(
            should_retry_header(&headers(&[("x-should-retry", "true")])),
            Some(true)
        );
        assert_eq!(
            should_retry_header(&headers(&[("x-should-retry", "false")])),
            Some(false)
        );
        assert_eq!(
            should_retry_header(&headers(&[("x-should-retry", "maybe")])),
            None
        );
    }
}
