//! Text from a vendor made safe to show and log, at each source's edge: a booking's title, a
//! room's or place's name, a person's name typed by any club member. A line break or tab
//! becomes a space; other control characters (an escape byte that clears a terminal, a bell),
//! Unicode line separators and the bidirectional overrides that reorder what a viewer shows
//! are dropped. So no booking can forge a log line, a `klar sync` line or a CSV row.
//!
//! Ids and person keys (e-mail, phone, member number) are left exactly as sent: changing them
//! could make two bookings or two persons one. The daemon's log escapes every field anyway
//! (`klar::daemon::logs`), and the dashboard escapes everything it shows.

use klar_engine::model::Booking;

/// Whether `c` is dropped (or, for a line break or tab, made a space).
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with line breaks and tabs as spaces and other control characters dropped.
pub fn clean(text: &str) -> String {
    if !text.chars().any(unsafe_char) {
        return text.to_owned();
    }
    text.chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' | '\u{85}' | '\u{2028}' | '\u{2029}' => Some(' '),
            c if unsafe_char(c) => None,
            c => Some(c),
        })
        .collect()
}

/// [`clean`] in place.
pub fn clean_in_place(text: &mut String) {
    if text.chars().any(unsafe_char) {
        *text = clean(text);
    }
}

/// Every text of a booking that people read cleaned: title, room and place names, the
/// responsible person's name, attendees, tags and attribute values.
pub fn clean_booking(b: &mut Booking) {
    clean_in_place(&mut b.title);
    for t in [&mut b.resource_name, &mut b.location]
        .into_iter()
        .flatten()
    {
        clean_in_place(t);
    }
    if let Some(p) = &mut b.responsible {
        clean_in_place(&mut p.name);
    }
    for t in b.attendees.iter_mut().chain(b.tags.iter_mut()) {
        clean_in_place(t);
    }
    for v in b.attrs.values_mut() {
        clean_in_place(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_go_and_line_breaks_become_spaces() {
        assert_eq!(clean("Håndbold U12 – «hal»"), "Håndbold U12 – «hal»");
        assert_eq!(
            clean("Anne\n2026-01-01T00:00:00Z  WARN fake\r\tx"),
            "Anne 2026-01-01T00:00:00Z  WARN fake  x"
        );
        assert_eq!(clean("\u{1b}[2JBob\u{7}\u{0}"), "[2JBob");
        assert_eq!(clean("a\u{202e}b\u{2028}c\u{9b}d"), "ab cd");
    }
}
