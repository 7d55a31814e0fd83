//! A request to send and an answer with its body read; neither shows bodies or headers in
//! `Debug` (they carry passwords, tokens and cookies).

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{HttpError, redact_url};

/// A request to send: method, URL, headers, optional body. Its `Debug` shows the method and the
/// redacted URL only (bodies carry passwords and tokens).
#[derive(Clone)]
pub struct HttpRequest {
    pub(super) method: reqwest::Method,
    pub(super) url: url::Url,
    pub(super) headers: HeaderMap,
    pub(super) body: Option<Vec<u8>>,
    pub(super) retry: bool,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HttpRequest({} {})", self.method, self.redacted_url())
    }
}

impl HttpRequest {
    pub fn get(url: &str) -> Result<Self, HttpError> {
        Self::new(reqwest::Method::GET, url)
    }

    pub fn post(url: &str) -> Result<Self, HttpError> {
        Self::new(reqwest::Method::POST, url)
    }

    fn new(method: reqwest::Method, url: &str) -> Result<Self, HttpError> {
        let url = url::Url::parse(url).map_err(|_| HttpError::InvalidUrl(redact_url(url)))?;
        Ok(HttpRequest {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            retry: true,
        })
    }

    /// Adds query parameters (values are encoded; names like `token` are redacted in logs).
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        {
            let mut q = self.url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
        }
        self
    }

    /// Adds a header. Values of `Cookie`, `Authorization` and friends are marked sensitive.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Ok(mut v) = HeaderValue::from_str(value) {
            let lower = name.to_ascii_lowercase();
            if matches!(
                lower.as_str(),
                "cookie" | "authorization" | "proxy-authorization"
            ) || lower.contains("token")
            {
                v.set_sensitive(true);
            }
            if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
                self.headers.insert(name, v);
            }
        }
        self
    }

    /// A JSON body, sent as `application/json; charset=utf-8`.
    pub fn json<T: Serialize>(mut self, body: &T) -> Self {
        // Serializing plain data structs into a Vec cannot fail.
        self.body = Some(serde_json::to_vec(body).unwrap_or_default());
        self.headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        self
    }

    /// A form body, sent as `application/x-www-form-urlencoded`.
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.body = Some(body.into_bytes());
        self.headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self
    }

    /// Never retried (for requests that must not be repeated).
    pub fn no_retry(mut self) -> Self {
        self.retry = false;
        self
    }

    pub fn redacted_url(&self) -> String {
        redact_url(self.url.as_str())
    }
}

/// An answer with its body read (within the size limit). Its `Debug` leaves out the headers
/// (`Set-Cookie`) and the body (tokens).
#[derive(Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The request's URL, redacted, for error texts.
    pub url: String,
}

impl std::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HttpResponse({} from {}, {} bytes)",
            self.status,
            self.url,
            self.body.len()
        )
    }
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// All `Set-Cookie` values.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// Whether the answer is an HTML page (by content type or by its first bytes).
    pub fn is_html(&self) -> bool {
        let ct = self
            .header("content-type")
            .unwrap_or("")
            .to_ascii_lowercase();
        if ct.contains("text/html") {
            return true;
        }
        let start: String = String::from_utf8_lossy(&self.body[..self.body.len().min(64)])
            .trim_start()
            .to_ascii_lowercase();
        start.starts_with("<!doctype html") || start.starts_with("<html")
    }

    /// Parses the body as JSON. The error names the place, never the body itself.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}
