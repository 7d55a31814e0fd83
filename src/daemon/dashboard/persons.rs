//! How the dashboard shows a person: by name and a short stable reference, never by e-mail
//! address, unless `[web] show_email = true`.
//!
//! klar keys a person without a member number by e-mail address, scoped by the booking's source
//! (`planner:email:anne@example.dk`,
//! [`klar_engine::model::Person::key`]), and keys travel everywhere: plan targets, audit rows,
//! explain lines, pending actions, links. Rather than trust every page (and every page still to
//! come) to remember, [`hide_addresses`] sits in front of them all: each `email:` key in an
//! answer (HTML, JSON or text, and URL-encoded in links) becomes `Name (ref:1a2b3c4d5e6f)`; a link
//! to `person:ref:1a2b3c4d5e6f` is turned back into the key on its way in. The reference is the
//! first 8 hex digits of the key's SHA-256: stable across restarts and machines, short enough
//! to read out, and not the address (a digest, not encryption: someone who guesses the
//! address can check the guess). Member numbers (`member:1042`) are not contact data and are
//! shown as they are.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::html::esc;
use crate::daemon::web::Web;

/// The prefix of a key made from an e-mail address.
const EMAIL: &str = "email:";
/// The same, URL-encoded as the pages' links write it.
const EMAIL_ENCODED: &str = "email%3A";
/// The prefix of a reference.
const REF: &str = "ref:";
/// Answers larger than this pass as they are (no page is near it).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// The short stable reference of a person key: `ref:` and 12 hex digits of its SHA-256 (48
/// bits: two of a municipality's persons sharing one is a chance in tens of millions, and
/// a reference two known persons share is refused rather than guessed).
pub fn reference(key: &str) -> String {
    let d = Sha256::digest(format!("klar person\n{key}").as_bytes());
    let hex: String = d[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("{REF}{hex}")
}

/// The persons the dashboard can name: key -> name.
#[derive(Debug, Default)]
pub struct Persons {
    names: BTreeMap<String, String>,
}

/// Where a key was found, and so how its label is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Text,
    Html,
}

impl Persons {
    /// The persons of the last plan (every person klar grants access to).
    pub fn of(web: &Web) -> Persons {
        let names = web
            .daemon
            .core
            .last_plan()
            .map(|plan| {
                plan.persons
                    .iter()
                    .map(|(k, p)| (k.to_string(), p.name.trim().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Persons { names }
    }

    #[cfg(test)]
    fn with(names: &[(&str, &str)]) -> Persons {
        Persons {
            names: names
                .iter()
                .map(|(k, n)| ((*k).to_owned(), (*n).to_owned()))
                .collect(),
        }
    }

    /// How a person key is shown: `Name (ref:1a2b3c4d5e6f)` for an e-mail key (just the reference
    /// when the name is not known), the key itself otherwise.
    pub fn label(&self, key: &str) -> String {
        if !key.starts_with(EMAIL) {
            return key.to_owned();
        }
        let name = self
            .names
            .iter()
            .find(|(k, n)| email_part(k) == Some(key) && !n.is_empty())
            .map(|(_, n)| n);
        match name {
            Some(name) => format!("{name} ({})", reference(key)),
            None => reference(key),
        }
    }

    /// The key a reference (`ref:1a2b3c4d`, or a label `Name (ref:1a2b3c4d5e6f)` as a page's
    /// form sends it back) stands for, among the persons known.
    ///
    /// A key is scoped by its source (`planner:email:anne@...`, shown `planner:Anne (ref:...)`):
    /// the reference names the address, and the source written before it, where there is one,
    /// says which source's person is meant; without it the reference must name one person.
    pub fn resolve(&self, id: &str) -> Option<&str> {
        let id = id.trim();
        let lower = id.to_ascii_lowercase();
        let at = lower.rfind(REF)?;
        let before = &id[..at];
        let wanted = lower[at..].trim_end_matches(')').to_owned();
        let source = before
            .split_once(':')
            .map(|(s, _)| format!("{s}:"))
            .filter(|s| self.names.keys().any(|k| k.starts_with(s.as_str())));
        let mut found = self.names.keys().filter(|k| {
            email_part(k).is_some_and(|e| reference(e) == wanted)
                && source.as_deref().is_none_or(|s| k.starts_with(s))
        });
        match (found.next(), found.next()) {
            (Some(key), None) => Some(key.as_str()),
            _ => None,
        }
    }

    /// The known e-mail key written (as `form` writes it) at the start of `text`, longest
    /// first: an address with a space or a bracket in it is still found whole.
    fn known_at<'a>(
        &'a self,
        text: &str,
        form: impl Fn(&str) -> String,
    ) -> Option<(usize, &'a str)> {
        self.names
            .keys()
            .filter_map(|k| email_part(k))
            .map(|k| (form(k), k))
            .filter(|(written, _)| text.starts_with(written.as_str()))
            .max_by_key(|(written, _)| written.len())
            .map(|(written, key)| (written.len(), key))
    }

    /// `text` with every e-mail key replaced by its label.
    pub fn redact(&self, text: &str) -> String {
        self.replace(text, Context::Text)
    }

    /// An HTML page with every e-mail key replaced by its label (escaped), and every
    /// URL-encoded one in a link by its URL-encoded reference.
    pub fn redact_html(&self, html: &str) -> String {
        let text = self.replace(html, Context::Html);
        self.replace_encoded(&text)
    }

    /// Every string in a JSON value redacted.
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) if s.contains(EMAIL) => *s = self.redact(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.redact_json(v)),
            _ => {}
        }
    }

    fn replace(&self, text: &str, context: Context) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(EMAIL) {
            // Only a key that starts a word: not "xemail:" nor the encoded form's tail.
            let starts_word = rest[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric() && c != '%');
            out.push_str(&rest[..at]);
            let known = if starts_word {
                match context {
                    Context::Text => self.known_at(&rest[at..], str::to_owned),
                    Context::Html => self.known_at(&rest[at..], esc),
                }
            } else {
                None
            };
            if let Some((len, key)) = known {
                let label = self.label(key);
                match context {
                    Context::Text => out.push_str(&label),
                    Context::Html => out.push_str(&esc(&label)),
                }
                rest = &rest[at + len..];
                continue;
            }
            let tail = &rest[at + EMAIL.len()..];
            let len = address_len(tail, context);
            let raw = tail[..len].trim_end_matches(['.', ':']);
            if !starts_word || raw.is_empty() {
                out.push_str(EMAIL);
                rest = tail;
                continue;
            }
            let address = match context {
                Context::Text => raw.to_owned(),
                Context::Html => raw.replace("&#39;", "'").replace("&amp;", "&"),
            };
            let label = self.label(&format!("{EMAIL}{address}"));
            match context {
                Context::Text => out.push_str(&label),
                Context::Html => out.push_str(&esc(&label)),
            }
            rest = &tail[raw.len()..];
        }
        out.push_str(rest);
        out
    }
}

/// The e-mail part of a person key (`email:anne@...` of `planner:email:anne@...`), if it has one.
fn email_part(key: &str) -> Option<&str> {
    key.find(EMAIL).map(|at| &key[at..])
}

/// How long the address after `email:` is: up to a space, a bracket or a quote; in HTML an
/// escaped apostrophe or ampersand (`&#39;`, `&amp;`) is part of it.
fn address_len(tail: &str, context: Context) -> usize {
    let mut i = 0;
    while let Some(c) = tail[i..].chars().next() {
        if context == Context::Html && c == '&' {
            match ["&#39;", "&amp;"]
                .iter()
                .find(|e| tail[i..].starts_with(**e))
            {
                Some(e) => {
                    i += e.len();
                    continue;
                }
                None => break,
            }
        }
        let stop = c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '<' | '>' | '"' | '(' | ')' | '[' | ']' | '{' | '}' | ',' | ';' | '|' | '\\'
            )
            || (context == Context::Html && c == '\'');
        if stop {
            break;
        }
        i += c.len_utf8();
    }
    i
}

impl Persons {
    /// URL-encoded e-mail keys (`email%3Aanne%40example.dk`) replaced by their encoded
    /// reference.
    fn replace_encoded(&self, text: &str) -> String {
        replace_encoded(text, |rest| self.known_at(rest, super::html::url_encode))
    }
}

fn replace_encoded<'a>(text: &str, known_at: impl Fn(&str) -> Option<(usize, &'a str)>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(EMAIL_ENCODED) {
        out.push_str(&rest[..at]);
        if let Some((len, key)) = known_at(&rest[at..]) {
            out.push_str(&reference(key).replace(':', "%3A"));
            rest = &rest[at + len..];
            continue;
        }
        let tail = &rest[at + EMAIL_ENCODED.len()..];
        let len = tail
            .find(|c: char| {
                !(c.is_ascii_alphanumeric() || matches!(c, '%' | '.' | '-' | '_' | '~'))
            })
            .unwrap_or(tail.len());
        let address: String = url::form_urlencoded::parse(format!("a={}", &tail[..len]).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if address.is_empty() {
            out.push_str(EMAIL_ENCODED);
            rest = tail;
            continue;
        }
        out.push_str(&reference(&format!("{EMAIL}{address}")).replace(':', "%3A"));
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// `person:ref:...` in an explain link, or `/doors/ref:...`, turned back into the key.
fn resolve_request(persons: &Persons, req: &mut Request) {
    let uri = req.uri();
    let path = uri.path();
    let mut new_path = None;
    if let Some(id) = path.strip_prefix("/doors/") {
        let id = percent_decode(id);
        if id.contains(REF)
            && let Some(key) = persons.resolve(&id)
        {
            new_path = Some(format!("/doors/{}", super::html::url_encode(key)));
        }
    }
    let mut new_query = None;
    if let Some(query) = uri.query() {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let mut changed = false;
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| {
                if k == "target"
                    && let Some(id) = v.trim().strip_prefix("person:")
                    && id.contains(REF)
                    && let Some(key) = persons.resolve(id)
                {
                    changed = true;
                    return (k, format!("person:{key}"));
                }
                (k, v)
            })
            .collect();
        if changed {
            new_query = Some(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs)
                    .finish(),
            );
        }
    }
    if new_path.is_none() && new_query.is_none() {
        return;
    }
    let path = new_path.unwrap_or_else(|| path.to_owned());
    let target = match new_query.or_else(|| uri.query().map(str::to_owned)) {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    if let Ok(uri) = target.parse() {
        *req.uri_mut() = uri;
    }
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("a={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The middleware: references in requests become keys, keys in answers become labels.
pub async fn hide_addresses(State(web): State<Web>, mut req: Request, next: Next) -> Response {
    if web.settings.show_email {
        return next.run(req).await;
    }
    let has_ref = req.uri().to_string().to_ascii_lowercase().contains("ref");
    let mut persons: Option<Persons> = None;
    if has_ref {
        let p = persons.insert(Persons::of(&web));
        resolve_request(p, &mut req);
    }
    let response = next.run(req).await;
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let html = kind.starts_with("text/html");
    let json = kind.starts_with("application/json");
    if !(html || json || kind.starts_with("text/plain")) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "the answer could not be read\n",
        )
            .into_response();
    };
    let has_key = |b: &[u8]| {
        b.windows(EMAIL.len()).any(|w| w == EMAIL.as_bytes())
            || b.windows(EMAIL_ENCODED.len())
                .any(|w| w == EMAIL_ENCODED.as_bytes())
    };
    if !has_key(&bytes) {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let persons = persons.unwrap_or_else(|| Persons::of(&web));
    let text = String::from_utf8_lossy(&bytes);
    let redacted = if json {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(mut v) => {
                persons.redact_json(&mut v);
                serde_json::to_string(&v).unwrap_or_default()
            }
            Err(_) => persons.redact(&text),
        }
    } else if html {
        persons.redact_html(&text)
    } else {
        persons.redact(&text)
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Ok(len) = HeaderValue::from_str(&redacted.len().to_string()) {
        parts.headers.insert(header::CONTENT_LENGTH, len);
    }
    Response::from_parts(parts, Body::from(redacted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn persons() -> Persons {
        Persons::with(&[
            ("email:anne.rasmussen@example.dk", "Anne Rasmussen"),
            ("email:o'brien@example.dk", "Pat <O'Brien>"),
            ("member:2402", "Signe Møller"),
            ("email:odd (x) name@example.dk", "Odd Name"),
        ])
    }

    #[test]
    fn the_reference_is_short_stable_and_not_the_address() {
        let r = reference("email:anne.rasmussen@example.dk");
        assert_eq!(r, reference("email:anne.rasmussen@example.dk"));
        assert_eq!(r.len(), 16);
        assert!(r.starts_with("ref:") && !r.contains("anne"));
        assert_ne!(r, reference("email:anne.rasmussen@example.com"));
        let p = persons();
        assert_eq!(
            p.label("email:anne.rasmussen@example.dk"),
            format!("Anne Rasmussen ({r})")
        );
        assert_eq!(p.label("member:2402"), "member:2402");
        assert_eq!(p.resolve(&r), Some("email:anne.rasmussen@example.dk"));
        assert_eq!(
            p.resolve(&r.to_uppercase()),
            Some("email:anne.rasmussen@example.dk")
        );
        assert_eq!(p.resolve("ref:00000000"), None);
        let label = p.label("email:anne.rasmussen@example.dk");
        assert_eq!(p.resolve(&label), Some("email:anne.rasmussen@example.dk"));
    }

    #[test]
    fn a_key_scoped_by_its_source_is_shown_and_found_by_reference() {
        let p = Persons::with(&[
            ("planner:email:anne@example.dk", "Anne"),
            ("halls:email:anne@example.dk", "Anne"),
            ("planner:email:bo@example.dk", "Bo"),
        ]);
        let r = reference("email:anne@example.dk");
        assert_eq!(
            p.redact("person planner:email:anne@example.dk in group G"),
            format!("person planner:Anne ({r}) in group G")
        );
        // The source written before the reference says whose; without it, two are one too many.
        assert_eq!(
            p.resolve(&format!("planner:{r}")),
            Some("planner:email:anne@example.dk")
        );
        assert_eq!(
            p.resolve(&format!("halls:Anne ({r})")),
            Some("halls:email:anne@example.dk")
        );
        assert_eq!(p.resolve(&r), None);
        let bo = reference("email:bo@example.dk");
        assert_eq!(p.resolve(&bo), Some("planner:email:bo@example.dk"));
    }

    #[test]
    fn keys_in_text_html_links_and_json_become_labels() {
        let p = persons();
        let r = reference("email:anne.rasmussen@example.dk");
        assert_eq!(
            p.redact("person email:anne.rasmussen@example.dk in group Aula 16:45 .. 19:15"),
            format!("person Anne Rasmussen ({r}) in group Aula 16:45 .. 19:15")
        );
        assert_eq!(
            p.redact("+ person email:anne.rasmussen@example.dk: Anne, valid"),
            format!("+ person Anne Rasmussen ({r}): Anne, valid")
        );
        // Unknown: just the reference.
        let unknown = p.redact("(email:someone@example.org)");
        assert_eq!(
            unknown,
            format!("({})", reference("email:someone@example.org"))
        );
        let html = "<a href=\"/explain?target=person%3Aemail%3Aanne.rasmussen%40example.dk\">email:anne.rasmussen@example.dk</a><td title=\"email:o&#39;brien@example.dk\">";
        let out = p.redact_html(html);
        assert!(!out.contains("example.dk"), "{out}");
        assert!(
            out.contains(&format!("target=person%3A{}", r.replace(':', "%3A"))),
            "{out}"
        );
        assert!(out.contains(&format!(">Anne Rasmussen ({r})</a>")), "{out}");
        let mut json = serde_json::json!({"target": {"kind": "membership", "person": "email:anne.rasmussen@example.dk"}, "n": 3, "list": ["x email:o'brien@example.dk y"]});
        p.redact_json(&mut json);
        let text = json.to_string();
        assert!(!text.contains("example.dk"), "{text}");
        assert!(text.contains("Pat <O'Brien> (ref:"), "{text}");
        // A known address with a space and brackets in it is found whole, in every form.
        let odd = "email:odd (x) name@example.dk";
        for out in [
            p.redact(&format!("person {odd} in group A")),
            p.redact_html(&format!(
                "<a href=\"/explain?target=person%3A{}\">{}</a>",
                crate::daemon::dashboard::html::url_encode(odd),
                esc(odd)
            )),
        ] {
            assert!(
                !out.contains("example.dk") && !out.contains("name@"),
                "{out}"
            );
        }
        // Not a key: left alone.
        assert_eq!(p.redact("xemail:a@b.dk email: x"), "xemail:a@b.dk email: x");
    }
}
