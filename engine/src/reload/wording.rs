//! Config errors in klar's words: what serde and the TOML parser say (`invalid type: string
//! "45", expected u32`, `failed to parse timezone: 'Europe/Kopenhagen'`, ``unknown field
//! `password` ``) said for the integrator editing `site.toml`, with the fix where it is plain.

use crate::rules::settings::closest;

/// Keys that would hold a secret: never written in a config.
const SECRET_KEYS: &[&str] = &["password", "token", "secret", "api_key", "apikey", "pin"];

/// `message` (one line from serde or the TOML parser) in klar's words. Messages it does not
/// know are returned as they are.
pub fn in_klar_words(message: &str) -> String {
    let message = message.trim();
    if let Some(rest) = message.strip_prefix("failed to parse timezone: ") {
        let zone = rest.trim_matches('\'');
        let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
        return match closest(zone, names) {
            Some(s) => format!("unknown time zone '{zone}' (did you mean {s}?)"),
            None => {
                format!("unknown time zone '{zone}': use an IANA name such as Europe/Copenhagen")
            }
        };
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let known: Vec<&str> = tail
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|k| !k.is_empty())
            .collect();
        if SECRET_KEYS.contains(&field.to_lowercase().as_str()) {
            return format!(
                "{field}: secrets are never written in the config: give the name of an environment variable that holds it ({field}_env = \"KLAR_...\") or a file ({field}_file = \"secrets/....\")"
            );
        }
        return match closest(field, known.iter().copied()) {
            Some(s) => format!("unknown key {field} (did you mean {s}?)"),
            None if known.is_empty() => format!("unknown key {field}: this table takes no keys"),
            None => format!(
                "unknown key {field}; the keys here are {}",
                known.join(", ")
            ),
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return format!("{field} is missing (it is required)");
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (value, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let known: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
        return match closest(value, known.iter().copied()) {
            Some(s) => format!("unknown value {value:?} (did you mean {s:?}?)"),
            None => format!(
                "unknown value {value:?}; it is one of {}",
                known
                    .iter()
                    .map(|k| format!("{k:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.split_once(", expected ")
        {
            let wanted = expected_words(expected);
            let fix = match (found.split_once(' '), wanted.as_str()) {
                (Some(("string", text)), w) if w.contains("number") => {
                    let inner = text.trim_matches('"');
                    if inner.trim().parse::<f64>().is_ok() {
                        format!(": write {} without quotes", inner.trim())
                    } else {
                        String::new()
                    }
                }
                _ => String::new(),
            };
            return format!("expected {wanted}, found {}{fix}", found_words(found));
        }
    }
    message.to_owned()
}

/// serde's `expected` in words.
fn expected_words(expected: &str) -> String {
    let e = expected.trim();
    match e {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" | "bool" => "true or false".into(),
        "a string" => "a text in quotes".into(),
        "a sequence" => "a list, [...]".into(),
        "a map" => "a table".into(),
        other => other.trim_matches('`').into(),
    }
}

/// serde's `found` (`string "45"`, ``integer `-1` ``, `sequence`) in words.
fn found_words(found: &str) -> String {
    let f = found.trim();
    let unquote = |s: &str| s.trim_matches('`').to_owned();
    if let Some(text) = f.strip_prefix("string ") {
        return format!("the text {text}");
    }
    for kind in ["integer ", "floating point ", "boolean "] {
        if let Some(v) = f.strip_prefix(kind) {
            return unquote(v);
        }
    }
    match f {
        "sequence" => "a list".into(),
        "map" => "a table".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_wording_becomes_klars() {
        assert_eq!(
            in_klar_words("failed to parse timezone: 'Europe/Kopenhagen'"),
            "unknown time zone 'Europe/Kopenhagen' (did you mean Europe/Copenhagen?)"
        );
        assert_eq!(
            in_klar_words("invalid type: string \"48\", expected u32"),
            "expected a whole number, 0 or more, found the text \"48\": write 48 without quotes"
        );
        assert_eq!(
            in_klar_words("invalid value: integer `-1`, expected u32"),
            "expected a whole number, 0 or more, found -1"
        );
        let secret = in_klar_words(
            "unknown field `password`, expected one of `url`, `username`, `password_env`, `password_file`",
        );
        assert!(
            secret.contains("password_env") && secret.contains("password_file"),
            "{secret}"
        );
        assert_eq!(
            in_klar_words("unknown field `nmae`, expected one of `name`, `time_zone`"),
            "unknown key nmae (did you mean name?)"
        );
        assert_eq!(
            in_klar_words("unknown variant `lua`, expected `rhai` or `wasm`"),
            "unknown value \"lua\"; it is one of \"rhai\", \"wasm\""
        );
        assert_eq!(
            in_klar_words("missing field `name`"),
            "name is missing (it is required)"
        );
        assert_eq!(in_klar_words("something else"), "something else");
    }
}
