//! The retry policy: which statuses are transient, exponential backoff with jitter, and
//! `Retry-After`.

use std::time::Duration;

/// How often and how patiently a transient failure is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles with each further one.
    pub base_delay: Duration,
    /// No backoff delay is longer than this.
    pub max_delay: Duration,
    /// A server's `Retry-After` is obeyed up to this long.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// 408, 425, 429 and 5xx but 501 are worth retrying.
pub fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 425 | 429) || (500..600).contains(&status) && status != 501
}

/// The delay before retry number `attempt` (1 = first retry): `base * 2^(attempt-1)`, capped,
/// with "equal jitter": a uniform pick in `[d/2, d]`, from `jitter` in `[0, 1)`.
pub fn backoff_delay(policy: &RetryPolicy, attempt: u32, jitter: f64) -> Duration {
    let exp = policy
        .base_delay
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let capped = exp.min(policy.max_delay);
    let half = capped / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// `Retry-After` as delta seconds, or an HTTP date (taken relative to its own `Date`-less now is
/// not possible without a clock, so dates are read as "the maximum we accept").
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // An HTTP date: honour it as a long wait; the caller caps it at `max_retry_after`.
    chrono::DateTime::parse_from_rfc2822(value)
        .ok()
        .map(|_| Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped_with_jitter_in_upper_half() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            max_retry_after: Duration::from_secs(1),
        };
        assert_eq!(backoff_delay(&p, 1, 0.999_999).as_millis(), 99);
        assert_eq!(backoff_delay(&p, 1, 0.0), Duration::from_millis(50));
        assert_eq!(backoff_delay(&p, 2, 0.0), Duration::from_millis(100));
        assert_eq!(backoff_delay(&p, 3, 0.0), Duration::from_millis(175));
        assert_eq!(backoff_delay(&p, 30, 1.0), Duration::from_millis(350));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"),
            Some(Duration::MAX)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn transient_statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_transient_status(s), "{s}");
        }
        for s in [200, 302, 400, 401, 404, 501] {
            assert!(!is_transient_status(s), "{s}");
        }
    }
}
