//! WinKAS's JSON, read tolerantly: the envelope (status as number or numeric string, payload in
//! `WinKasData` or a named top-level field), resources and calendar entries.

use serde_json::Value;

/// The fields of the envelope klar looks at.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub status: i64,
    pub error_code: i64,
    /// `WinKasMessage`, `AuthenticationMessage` and `WinKasStatusString`, whichever are present.
    pub message: String,
    pub body: Value,
}

impl Envelope {
    pub fn parse(body: Value) -> Result<Envelope, String> {
        if !body.is_object() {
            return Err("expected a JSON object (the WinKAS envelope)".into());
        }
        let status = number(field(&body, "WinKasStatus")).unwrap_or(0);
        let error_code = number(field(&body, "WinkasErrorCode")).unwrap_or(0);
        let message = [
            "WinKasMessage",
            "AuthenticationMessage",
            "WinKasStatusString",
        ]
        .iter()
        .filter_map(|k| field(&body, k).and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join("; ");
        Ok(Envelope {
            status,
            error_code,
            message,
            body,
        })
    }

    pub fn is_error(&self) -> bool {
        self.status != 0 || self.error_code != 0
    }

    /// A payload: the named top-level field, else the same name inside `WinKasData`.
    pub fn payload(&self, name: &str) -> Option<&Value> {
        field(&self.body, name)
            .filter(|v| !v.is_null())
            .or_else(|| {
                field(&self.body, "WinKasData")
                    .and_then(|d| field(d, name))
                    .filter(|v| !v.is_null())
            })
    }
}

/// A field by name, ignoring case (WinKAS spells `WinkasErrorCode` with a lower-case k).
pub fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// A number, or a numeric string.
pub fn number(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// A string, or a number written as one; `None` for null and empty.
pub fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_as_number_or_string_and_payload_places() {
        let e = Envelope::parse(
            json!({"WinKasStatus": "1", "WinkasErrorCode": 0, "AuthenticationMessage": "nope"}),
        )
        .unwrap();
        assert!(e.is_error());
        assert_eq!(e.message, "nope");
        let ok = Envelope::parse(
            json!({"WinKasStatus": 0, "WinKasData": {"CurrentToken": "a|b"}, "Resources": null}),
        )
        .unwrap();
        assert!(!ok.is_error());
        assert_eq!(
            ok.payload("CurrentToken").and_then(Value::as_str),
            Some("a|b")
        );
        assert!(ok.payload("Resources").is_none());
        assert!(Envelope::parse(json!([1])).is_err());
    }
}
