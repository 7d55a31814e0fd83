//! Vendor date and time-zone parsing, tolerant by design: `/Date(ms)/`, ISO with offset, naive
//! ISO in a given zone, Danish `dd-MM-yyyy HH:mm:ss`, and Windows time-zone names.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

/// Parses a vendor timestamp. Naive forms are local time in `tz`, by klar's one DST policy
/// ([`local_to_utc`]).
pub fn parse_datetime(text: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        // "/Date(1715583600000)/" or "/Date(1715583600000+0100)/": the ms are UTC either way.
        let digits_end = inner
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '+' || *c == '-')
            .map(|(i, _)| i)
            .unwrap_or(inner.len());
        let ms: i64 = inner[..digits_end]
            .parse()
            .map_err(|_| format!("not a /Date(ms)/ value: {t:?}"))?;
        return DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| format!("date out of range: {t:?}"));
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(t, f) {
            return Ok(dt.with_timezone(&Utc));
        }
    }
    const NAIVE: &[&str] = &[
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%d-%m-%Y %H:%M:%S",
        "%d-%m-%Y %H:%M",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
        "%d/%m/%Y %H:%M:%S",
    ];
    for f in NAIVE {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, f) {
            return Ok(local_to_utc(naive, tz));
        }
    }
    Err(format!("unrecognised date {t:?}"))
}

/// A local wall-clock time in `tz` as UTC, by klar's one DST policy
/// ([`klar_engine::site::local_time`]): the first instant at or after it. In the repeated hour
/// that is the first of the two; in a DST gap, the first instant after the gap (02:30 on the
/// spring-forward night is 03:00). At the very edge of the calendar (no usable booking), the
/// wall-clock time read as UTC.
pub fn local_to_utc(naive: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    klar_engine::site::local_time::instant_at_local(tz, naive).unwrap_or_else(|| naive.and_utc())
}

/// A time zone by IANA name (`Europe/Copenhagen`) or Windows name (`Romance Standard Time`).
pub fn parse_time_zone(name: &str) -> Option<Tz> {
    let n = name.trim().trim_matches('"');
    if let Ok(tz) = n.parse::<Tz>() {
        return Some(tz);
    }
    windows_time_zone(n)
}

/// The IANA zone for a Windows time-zone name (the CLDR mapping, for the zones a Danish
/// or European site meets, plus a few more). Outlook also writes them with a prefix such as
/// `(UTC+01:00) Brussels, Copenhagen, Madrid, Paris`; those are recognised too.
pub fn windows_time_zone(name: &str) -> Option<Tz> {
    use chrono_tz::{America, Asia, Atlantic, Australia, Europe};
    let n = name.trim();
    let by_name = match n {
        // CLDR's "001" zone is Paris; the rules are Copenhagen's, and a Danish site reads better.
        "Romance Standard Time" => Some(Europe::Copenhagen),
        "W. Europe Standard Time" => Some(Europe::Berlin),
        "Central Europe Standard Time" => Some(Europe::Budapest),
        "Central European Standard Time" => Some(Europe::Warsaw),
        "GMT Standard Time" => Some(Europe::London),
        "Greenwich Standard Time" => Some(Atlantic::Reykjavik),
        "FLE Standard Time" => Some(Europe::Kiev),
        "GTB Standard Time" => Some(Europe::Bucharest),
        "E. Europe Standard Time" => Some(Europe::Chisinau),
        "Russian Standard Time" => Some(Europe::Moscow),
        "UTC" | "Coordinated Universal Time" => Some(chrono_tz::UTC),
        "Eastern Standard Time" => Some(America::New_York),
        "Central Standard Time" => Some(America::Chicago),
        "Mountain Standard Time" => Some(America::Denver),
        "Pacific Standard Time" => Some(America::Los_Angeles),
        "Greenland Standard Time" => Some(America::Godthab),
        "China Standard Time" => Some(Asia::Shanghai),
        "Tokyo Standard Time" => Some(Asia::Tokyo),
        "India Standard Time" => Some(Asia::Kolkata),
        "AUS Eastern Standard Time" => Some(Australia::Sydney),
        _ => None,
    };
    if by_name.is_some() {
        return by_name;
    }
    // Outlook display names.
    let lower = n.to_ascii_lowercase();
    if lower.contains("copenhagen") {
        return Some(Europe::Copenhagen);
    }
    if lower.contains("amsterdam") || lower.contains("berlin") || lower.contains("stockholm") {
        return Some(Europe::Berlin);
    }
    if lower.contains("london") || lower.contains("dublin") {
        return Some(Europe::London);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Copenhagen;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_format() {
        let want = utc("2026-11-23T16:00:00Z");
        for text in [
            "/Date(1795449600000)/",
            "/Date(1795449600000+0100)/",
            "2026-11-23T17:00:00+01:00",
            "2026-11-23T16:00:00Z",
            "2026-11-23T16:00:00.000Z",
            "2026-11-23T17:00:00",
            "2026-11-23T17:00:00.000",
            "2026-11-23 17:00:00",
            "23-11-2026 17:00:00",
            "23-11-2026 17:00",
        ] {
            assert_eq!(parse_datetime(text, Copenhagen).unwrap(), want, "{text}");
        }
        assert!(parse_datetime("next tuesday", Copenhagen).is_err());
        assert!(parse_datetime("/Date(abc)/", Copenhagen).is_err());
    }

    #[test]
    fn dst_days() {
        // 2026-03-29: 02:00 -> 03:00 in Copenhagen. 02:30 does not exist; it is read as the
        // first instant after the gap, 03:00 (klar's one DST policy).
        assert_eq!(
            parse_datetime("29-03-2026 02:30:00", Copenhagen).unwrap(),
            utc("2026-03-29T01:00:00Z")
        );
        assert_eq!(
            parse_datetime("29-03-2026 03:30:00", Copenhagen).unwrap(),
            utc("2026-03-29T01:30:00Z")
        );
        assert_eq!(
            parse_datetime("29-03-2026 01:30:00", Copenhagen).unwrap(),
            utc("2026-03-29T00:30:00Z")
        );
        // 2026-10-25: 03:00 -> 02:00. 02:30 happens twice; the first (CEST) is taken.
        assert_eq!(
            parse_datetime("25-10-2026 02:30:00", Copenhagen).unwrap(),
            utc("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            parse_datetime("25-10-2026 17:00:00", Copenhagen).unwrap(),
            utc("2026-10-25T16:00:00Z")
        );
        assert_eq!(
            parse_datetime("24-10-2026 17:00:00", Copenhagen).unwrap(),
            utc("2026-10-24T15:00:00Z")
        );
    }

    #[test]
    fn windows_names() {
        assert_eq!(parse_time_zone("Romance Standard Time"), Some(Copenhagen));
        assert_eq!(
            parse_time_zone("W. Europe Standard Time"),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(parse_time_zone("Europe/Copenhagen"), Some(Copenhagen));
        assert_eq!(
            parse_time_zone("(UTC+01:00) Brussels, Copenhagen, Madrid, Paris"),
            Some(Copenhagen)
        );
        assert_eq!(parse_time_zone("Mars Standard Time"), None);
    }
}
