//! HTML for the dashboard's pages: escaping (every text from a booking, a source or a rule file
//! goes through [`esc`] or [`Html::text`]), query-string encoding, the page frame, local times.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// `text` with the five characters HTML gives meaning to replaced, safe in element content and
/// in quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` encoded for a query-string value or a path segment (RFC 3986 unreserved kept).
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// An HTML fragment being built. Markup is pushed as is ([`Html::raw`], for literals written
/// here); everything else through [`Html::text`], which escapes.
#[derive(Debug, Default)]
pub struct Html(String);

impl Html {
    pub fn new() -> Html {
        Html(String::new())
    }

    /// Markup written in this crate (never data).
    pub fn raw(&mut self, markup: &str) -> &mut Html {
        self.0.push_str(markup);
        self
    }

    /// Data, escaped.
    pub fn text(&mut self, text: &str) -> &mut Html {
        self.0.push_str(&esc(text));
        self
    }

    /// `<tag class="class">text</tag>` with the text escaped.
    pub fn el(&mut self, tag: &str, class: &str, text: &str) -> &mut Html {
        if class.is_empty() {
            let _ = write!(self.0, "<{tag}>{}</{tag}>", esc(text));
        } else {
            let _ = write!(self.0, "<{tag} class=\"{class}\">{}</{tag}>", esc(text));
        }
        self
    }

    /// `<a href="href">text</a>`; `href` is built by the caller from escaped or encoded parts.
    pub fn link(&mut self, href: &str, text: &str) -> &mut Html {
        let _ = write!(self.0, "<a href=\"{}\">{}</a>", esc(href), esc(text));
        self
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The pages, for the navigation bar: (path, label).
pub const PAGES: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/timeline", "Timeline"),
    ("/doors", "Doors"),
    ("/bookings", "Bookings"),
    ("/reloads", "Reloads"),
    ("/audit", "Audit log"),
];

/// A whole page: head, navigation, `body` in `<main>`. `current` is the page's path;
/// `site` the site's name.
pub fn page(site: &str, title: &str, current: &str, body: &str) -> String {
    page_with(site, title, current, body, None)
}

/// [`page`] with klar's health in the header: green when `problems` is empty, red with their
/// count (linking to the overview's list) otherwise. `None`: no badge (the login page).
pub fn page_with(
    site: &str,
    title: &str,
    current: &str,
    body: &str,
    problems: Option<&[String]>,
) -> String {
    let mut h = Html::new();
    h.raw("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .raw("<title>")
        .text(title)
        .raw(" · klar</title>")
        .raw("<link rel=\"stylesheet\" href=\"/assets/klar.css\">")
        .raw("<script src=\"/assets/klar.js\" defer></script></head><body>")
        .raw("<header><div class=\"site\"><strong>klar</strong> ")
        .text(site)
        .raw("</div>");
    match problems {
        None => {}
        Some([]) => {
            h.raw("<a id=\"health\" class=\"health ok\" href=\"/#problems\">all good</a>");
        }
        Some(list) => {
            h.raw("<a id=\"health\" class=\"health bad\" href=\"/#problems\" title=\"")
                .text(&list.join("\n"))
                .raw("\">")
                .text(&format!(
                    "{} {}",
                    list.len(),
                    if list.len() == 1 {
                        "problem"
                    } else {
                        "problems"
                    }
                ))
                .raw("</a>");
        }
    }
    h.raw("<nav>");
    for (path, label) in PAGES {
        let here = if *path == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(h.0, "<a href=\"{path}\"{here}>{label}</a>");
    }
    h.raw("</nav></header><main id=\"main\">")
        .raw(body)
        .raw("</main><footer><output id=\"action\" aria-live=\"polite\"></output><span id=\"live\"></span></footer></body></html>\n");
    h.into_string()
}

/// An instant in the site's zone: `2026-11-23 17:15`.
pub fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// An instant's time of day in the site's zone, with the date when it is not `day` (`17:15`,
/// `24 Nov 08:00`).
pub fn local_short(t: DateTime<Utc>, tz: Tz, day: chrono::NaiveDate) -> String {
    let l = t.with_timezone(&tz);
    if l.date_naive() == day {
        l.format("%H:%M").to_string()
    } else {
        l.format("%d %b %H:%M").to_string()
    }
}

/// "3 min ago", "in 2 h": for people reading a phone in a corridor.
pub fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    let (n, future) = if secs < 0 {
        (-secs, true)
    } else {
        (secs, false)
    };
    let span = if n < 60 {
        format!("{n} s")
    } else if n < 3600 {
        format!("{} min", n / 60)
    } else if n < 86_400 {
        format!("{} h", n / 3600)
    } else {
        format!("{} d", n / 86_400)
    };
    if future {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markup_in_booking_titles() {
        let title = "<script>alert('x')</script> & \"Håndbold\"";
        let out = esc(title);
        assert_eq!(
            out,
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Håndbold&quot;"
        );
        assert!(!out.contains('<') && !out.contains('>') && !out.contains('"'));
        // Attribute breakout is impossible too.
        assert_eq!(esc("\" onmouseover=\"x"), "&quot; onmouseover=&quot;x");
        // Plain text is left alone.
        assert_eq!(esc("Mødelokale 1"), "Mødelokale 1");
    }

    #[test]
    fn the_builder_escapes_data_and_keeps_markup() {
        let mut h = Html::new();
        h.raw("<td>")
            .text("<b>")
            .raw("</td>")
            .el("span", "tag", "a&b")
            .link("/bookings?q=a&b", "<i>");
        assert_eq!(
            h.into_string(),
            "<td>&lt;b&gt;</td><span class=\"tag\">a&amp;b</span><a href=\"/bookings?q=a&amp;b\">&lt;i&gt;</a>"
        );
    }

    #[test]
    fn page_titles_and_site_names_are_escaped() {
        let p = page("<Skole>", "<x>", "/", "<p>body</p>");
        assert!(p.contains("<title>&lt;x&gt; · klar</title>"));
        assert!(p.contains("&lt;Skole&gt;"));
        assert!(p.contains("<p>body</p>"));
        assert!(p.contains("<a href=\"/\" aria-current=\"page\">Overview</a>"));
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(url_encode("door:D-HAL N&x=<"), "door%3AD-HAL%20N%26x%3D%3C");
        assert_eq!(url_encode("ø"), "%C3%B8");
    }

    #[test]
    fn ages_read_naturally() {
        let now = Utc::now();
        assert_eq!(ago(now - chrono::Duration::seconds(5), now), "5 s ago");
        assert_eq!(ago(now + chrono::Duration::minutes(90), now), "in 1 h");
    }
}
