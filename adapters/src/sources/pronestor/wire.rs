//! Pronestor's JSON, read tolerantly: PascalCase or camelCase names, .NET booleans (`"False"`),
//! ids as numbers or strings, three date forms, Windows zone names.

use serde_json::Value;

/// A field by name, ignoring case.
pub fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

/// The first present of several names.
pub fn any_field<'a>(v: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| field(v, n))
}

pub fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `true`, `"True"`, `"true"`, `1`; absent is false.
pub fn flag(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true") || s.trim() == "1",
        Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
        _ => false,
    }
}

pub fn minutes(v: Option<&Value>) -> u32 {
    // At most a day: preparation or follow-up longer than that is a typo, not a plan.
    match v {
        Some(Value::Number(n)) => n.as_u64().map(|n| n.min(24 * 60) as u32).unwrap_or(0),
        Some(Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map(|n| n.min(24 * 60) as u32)
            .unwrap_or(0),
        _ => 0,
    }
}

/// A JSON array, or the array inside a `{ "Data": [...] }`-style wrapper.
pub fn list(v: &Value) -> Option<&Vec<Value>> {
    v.as_array()
        .or_else(|| any_field(v, &["Data", "Items", "Result", "Value"]).and_then(Value::as_array))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::minutes;

    #[test]
    fn minutes_are_read_as_numbers_or_text_and_capped_at_a_day() {
        assert_eq!(minutes(Some(&json!(15))), 15);
        assert_eq!(minutes(Some(&json!(" 30 "))), 30);
        assert_eq!(minutes(Some(&json!(4_294_967_295u64))), 1440);
        assert_eq!(minutes(Some(&json!("4294967295"))), 1440);
        assert_eq!(minutes(Some(&json!("99999999999999999999"))), 0);
        assert_eq!(minutes(Some(&json!("soon"))), 0);
        assert_eq!(minutes(None), 0);
    }
}
