//! How log lines are written: every field, the message included, with its control characters
//! escaped, so text from a vendor (a booking title, a person's name typed by any club member)
//! cannot start a new, forged log line with a newline, nor reach the operator's terminal with
//! an escape sequence. One event is one line. Sources also clean their text at their edge
//! (`klar_adapters::sources::text`); this is the second wall, for every field of every line.

use std::fmt::{self, Write as _};

use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};

/// [`DefaultFields`] (`message field=value ...`) with control characters escaped.
#[derive(Debug, Default)]
pub struct EscapedFields(DefaultFields);

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut plain = String::new();
        self.0.format_fields(Writer::new(&mut plain), fields)?;
        writer.write_str(&escape(&plain))
    }
}

/// Whether `c` can break a line, move the cursor, or reorder what a terminal or viewer shows.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with each unsafe character written as an escape (`\n`, `\r`, `\t`, `\u{1b}`), and a
/// backslash before such an escape's look-alike left as it is: the line stays one line and
/// what a vendor sent can still be read.
pub fn escape(text: &str) -> String {
    if !text.chars().any(unsafe_char) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("Mette Hansen"), "Mette Hansen");
        assert_eq!(escape("Håndbold U12 – «hal»"), "Håndbold U12 – «hal»");
        assert_eq!(
            escape("Anne\n2026-01-01T00:00:00Z  WARN fake"),
            "Anne\\n2026-01-01T00:00:00Z  WARN fake"
        );
        assert_eq!(escape("\u{1b}[2J\r\t\u{7}"), "\\u{1b}[2J\\r\\t\\u{7}");
        assert_eq!(
            escape("a\u{85}b\u{2028}c\u{202e}d"),
            "a\\u{85}b\\u{2028}c\\u{202e}d"
        );
    }

    /// A writer the subscriber writes each line into, for the test to read.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_vendor_name_with_a_newline_and_an_escape_stays_on_its_own_line() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .fmt_fields(EscapedFields::default())
            .with_writer(move || writer.clone())
            .finish();
        let name = "Anne\n2026-12-04T17:00:00Z  WARN klar: Door forced open.\u{1b}[2J";
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(action = %format!("+ person member:7: {name}"), "Applied.");
            tracing::info!(title = ?name, "Debug field.");
            tracing::warn!("In the message: {name}");
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(
            text.lines().all(|l| !l.starts_with("2026-12-04T17:00:00Z")),
            "{text}"
        );
        assert!(text.contains("Anne\\n2026-12-04T17:00:00Z"), "{text}");
    }
}
