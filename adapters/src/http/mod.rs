//! The one HTTP client every source uses: timeouts (a long first one per host, for a cold IIS
//! site), retries with exponential backoff and jitter for transient failures, `Retry-After`, a
//! body-size limit, and redaction of credentials, tokens and cookies in logs and errors.
//!
//! No adapter builds its own `reqwest::Client`; they share an [`HttpClient`] (cheap to clone).
//! reqwest types never leave this module: callers get an [`HttpResponse`] with the body read.

mod redact;
mod request;
mod retry;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{debug, warn};

pub use redact::{Redactor, redact_url};
pub use request::{HttpRequest, HttpResponse};
pub use retry::{RetryPolicy, backoff_delay, parse_retry_after};

/// Timeouts, retries and limits of the shared client.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Time to establish a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Time for a whole request, answer body included.
    pub request_timeout: Duration,
    /// The same, for the first request to a host that has not answered yet: a cold Pronestor
    /// site (IIS starting) can take minutes.
    pub first_request_timeout: Duration,
    /// Answers larger than this are refused.
    pub max_body_bytes: usize,
    pub retry: RetryPolicy,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            first_request_timeout: Duration::from_secs(180),
            max_body_bytes: 16 * 1024 * 1024,
            retry: RetryPolicy::default(),
        }
    }
}

impl HttpConfig {
    /// Short timeouts and near-zero backoff, for tests against loopback fakes.
    pub fn for_tests() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_millis(500),
            request_timeout: Duration::from_millis(800),
            first_request_timeout: Duration::from_millis(800),
            max_body_bytes: 1024 * 1024,
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
                max_retry_after: Duration::from_millis(20),
            },
        }
    }
}

/// Why an HTTP exchange failed. Texts carry redacted URLs only, never bodies or headers.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    #[error("{method} {url}: no answer within {after_ms} ms (after {attempts} attempt(s))")]
    Timeout {
        method: String,
        url: String,
        after_ms: u128,
        attempts: u32,
    },
    #[error("{method} {url}: cannot connect: {message} (after {attempts} attempt(s))")]
    Connect {
        method: String,
        url: String,
        message: String,
        attempts: u32,
    },
    #[error("{method} {url}: HTTP {status} (after {attempts} attempt(s))")]
    Status {
        method: String,
        url: String,
        status: u16,
        attempts: u32,
    },
    #[error("{method} {url}: the answer is larger than the {limit}-byte limit")]
    TooLarge {
        method: String,
        url: String,
        limit: usize,
    },
    #[error("{method} {url}: {message}")]
    Transport {
        method: String,
        url: String,
        message: String,
    },
    #[error("invalid URL {0:?}")]
    InvalidUrl(String),
}

impl HttpError {
    /// Whether trying again later may succeed (network trouble, 5xx, 429), as opposed to a
    /// request that will fail the same way every time.
    pub fn is_transient(&self) -> bool {
        match self {
            HttpError::Timeout { .. } | HttpError::Connect { .. } | HttpError::Transport { .. } => {
                true
            }
            HttpError::Status { status, .. } => retry::is_transient_status(*status),
            HttpError::TooLarge { .. } | HttpError::InvalidUrl(_) => false,
        }
    }
}

/// The shared client. Cheap to clone; clones share connections, the redactor and what is known
/// about which hosts have answered.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    config: Arc<HttpConfig>,
    redactor: Redactor,
    warm_hosts: Arc<Mutex<HashSet<String>>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    pub fn new(config: HttpConfig) -> Result<Self, HttpError> {
        let inner = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            // Redirects are answers: a 302 to a login page means an expired session.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("klar/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::Transport {
                method: "-".into(),
                url: "-".into(),
                message: format!("cannot build the HTTP client: {}", error_chain(&e)),
            })?;
        Ok(HttpClient {
            inner,
            config: Arc::new(config),
            redactor: Redactor::default(),
            warm_hosts: Arc::default(),
        })
    }

    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// The redactor every error and log line of this client passes through. Sources register
    /// their passwords and tokens with it.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Sends with retries. Transient failures (connect, timeout, 408, 429, 5xx) are retried with
    /// backoff (or `Retry-After`); an answer that is still transient after the last attempt is an
    /// error. Other statuses (2xx, 3xx, 4xx) are returned for the caller to judge.
    pub async fn send(&self, req: &HttpRequest) -> Result<HttpResponse, HttpError> {
        let policy = &self.config.retry;
        let attempts = if req.retry {
            policy.max_attempts.max(1)
        } else {
            1
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.send_once(req, attempt).await;
            let (retry_after, error) = match outcome {
                Ok(resp) if !retry::is_transient_status(resp.status) => return Ok(resp),
                Ok(resp) => {
                    let retry_after = resp.header("retry-after").and_then(parse_retry_after);
                    let error = HttpError::Status {
                        method: req.method.to_string(),
                        url: resp.url.clone(),
                        status: resp.status,
                        attempts: attempt,
                    };
                    (retry_after, error)
                }
                Err(e) if e.is_transient() => (None, e),
                Err(e) => return Err(e),
            };
            if attempt >= attempts {
                return Err(error);
            }
            let delay = match retry_after {
                Some(after) => after.min(policy.max_retry_after),
                None => backoff_delay(policy, attempt, rand::random::<f64>()),
            };
            warn!(
                url = %self.redactor.redact(&req.redacted_url()),
                attempt,
                delay_ms = delay.as_millis() as u64,
                retry_after = retry_after.is_some(),
                error = %self.redactor.redact(&error.to_string()),
                "Transient HTTP failure; retrying."
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn send_once(&self, req: &HttpRequest, attempt: u32) -> Result<HttpResponse, HttpError> {
        // Known secrets too: a published calendar's URL path is its password.
        let url = self.redactor.redact(&req.redacted_url());
        let method = req.method.to_string();
        let host = format!(
            "{}:{}",
            req.url.host_str().unwrap_or(""),
            req.url.port_or_known_default().unwrap_or(0)
        );
        let warm = self
            .warm_hosts
            .lock()
            .map(|h| h.contains(&host))
            .unwrap_or(true);
        let timeout = if warm {
            self.config.request_timeout
        } else {
            self.config.first_request_timeout
        };
        let mut builder = self
            .inner
            .request(req.method.clone(), req.url.clone())
            .headers(req.headers.clone());
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let started = Instant::now();
        let limit = self.config.max_body_bytes;
        let exchange = async {
            let mut resp = builder
                .send()
                .await
                .map_err(|e| self.map_error(&e, &method, &url, attempt))?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            if resp.content_length().is_some_and(|n| n as usize > limit) {
                return Err(HttpError::TooLarge {
                    method: method.clone(),
                    url: url.clone(),
                    limit,
                });
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| self.map_error(&e, &method, &url, attempt))?
            {
                if body.len() + chunk.len() > limit {
                    return Err(HttpError::TooLarge {
                        method: method.clone(),
                        url: url.clone(),
                        limit,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(HttpResponse {
                status,
                headers,
                body,
                url: url.clone(),
            })
        };
        let result = match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(HttpError::Timeout {
                method: method.clone(),
                url: url.clone(),
                after_ms: timeout.as_millis(),
                attempts: attempt,
            }),
        };
        match &result {
            Ok(resp) => {
                if let Ok(mut hosts) = self.warm_hosts.lock() {
                    hosts.insert(host);
                }
                debug!(
                    method = %method,
                    url = %url,
                    status = resp.status,
                    bytes = resp.body.len(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "HTTP answer."
                );
            }
            Err(e) => {
                debug!(method = %method, url = %url, error = %self.redactor.redact(&e.to_string()), "HTTP exchange failed.")
            }
        }
        result
    }

    fn map_error(&self, e: &reqwest::Error, method: &str, url: &str, attempts: u32) -> HttpError {
        let message = self.redactor.redact(&error_chain(e));
        if e.is_timeout() {
            HttpError::Timeout {
                method: method.into(),
                url: url.into(),
                after_ms: self.config.request_timeout.as_millis(),
                attempts,
            }
        } else if e.is_connect() {
            HttpError::Connect {
                method: method.into(),
                url: url.into(),
                message,
                attempts,
            }
        } else {
            HttpError::Transport {
                method: method.into(),
                url: url.into(),
                message,
            }
        }
    }
}

/// A reqwest error and its causes as one line, without the URL (which may hold a token).
fn error_chain(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = String::new();
    let mut cause: Option<&dyn std::error::Error> = e.source();
    while let Some(c) = cause {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&c.to_string());
        cause = c.source();
    }
    if text.is_empty() {
        text = if e.is_body() {
            "error reading the answer".into()
        } else {
            "request failed".into()
        };
    }
    text
}
