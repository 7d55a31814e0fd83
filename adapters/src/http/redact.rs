//! Redaction: known secret values and secret-looking URL parts become `***` before any text
//! reaches a log line or an error.

use std::sync::{Arc, RwLock};

/// The secret values a client has seen (passwords, tokens, cookies). Shared by clones.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor(***)")
    }
}

impl Redactor {
    /// Remembers a secret value; from now on it is replaced in every text this redactor sees.
    /// Values shorter than 4 characters are not worth hunting for (they would mangle text).
    pub fn add(&self, secret: &str) {
        let secret = secret.trim();
        if secret.len() < 4 {
            return;
        }
        if let Ok(mut secrets) = self.secrets.write()
            && !secrets.iter().any(|s| s == secret)
        {
            secrets.push(secret.to_owned());
            // Longest first, so a secret that contains another is replaced whole.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
        // Tokens travel URL-encoded too.
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        if encoded != secret
            && let Ok(mut secrets) = self.secrets.write()
            && !secrets.contains(&encoded)
        {
            secrets.push(encoded);
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// The text with every known secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        if let Ok(secrets) = self.secrets.read() {
            for s in secrets.iter() {
                if out.contains(s.as_str()) {
                    out = out.replace(s.as_str(), "***");
                }
            }
        }
        out
    }
}

/// A URL fit for a log line: no user info, and the values of query parameters whose names
/// suggest a secret (`token`, `password`, `key`, `session`, ...) replaced by `***`.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        // Not a URL: keep only what precedes a query string.
        return raw.split('?').next().unwrap_or("").to_owned();
    };
    let _ = url.set_password(None);
    let _ = url.set_username("");
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_name(&k) {
                    "***".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string().replace("%2A%2A%2A", "***")
}

fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "token", "password", "passwd", "pwd", "secret", "key", "session", "auth", "cookie", "sig",
    ]
    .iter()
    .any(|s| n.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_secrets_and_their_url_encoding_are_replaced() {
        let r = Redactor::default();
        r.add("abc|def+ghi");
        r.add("x");
        assert_eq!(r.redact("token abc|def+ghi in body"), "token *** in body");
        assert_eq!(r.redact("q=abc%7Cdef%2Bghi"), "q=***");
        assert_eq!(r.redact("x marks"), "x marks");
    }

    #[test]
    fn urls_lose_user_info_and_secret_query_values() {
        assert_eq!(
            redact_url("https://u:pw@h.example/api/Validate?token=T0K&locationId=3"),
            "https://h.example/api/Validate?token=***&locationId=3"
        );
        assert_eq!(redact_url("not a url?token=1"), "not a url");
    }
}
