//! The dashboard's explain view gives the same answer as `klar explain` for the same instant:
//! doors, zones, outputs and persons of the running demo site.

mod dashboard_common;

use std::process::Command;

use dashboard_common::{DemoSite, Klar, client, wait_for};

/// The text of `<pre id="explain">` with HTML's escapes undone.
fn explain_text(html: &str) -> String {
    let start = html
        .find("<pre class=\"explain\" id=\"explain\">")
        .unwrap_or_else(|| panic!("no explanation in:\n{html}"));
    let rest = &html[start..];
    let body = &rest[rest.find('>').unwrap() + 1..rest.find("</pre>").unwrap()];
    body.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[test]
fn the_explain_view_says_what_klar_explain_says() {
    let site = DemoSite::start();
    // Persons by their keys, as `klar explain` takes them (the dashboard shows a name and a
    // reference instead by default: tests/dashboard_privacy.rs).
    site.edit_config(|s| format!("{s}\n[web]\nshow_email = true\n"));
    let mut klar = Klar::start(&site.config, "127.0.0.1:0", &[]);
    let url = klar.url();
    let http = client();
    wait_for("ready", || {
        let r = http.get(format!("{url}readyz")).send().ok()?;
        (r.status() == 200).then_some(())
    });
    // A person klar grants access, from the plan.
    let plan: serde_json::Value = http
        .get(format!("{url}api/plan"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let person = plan["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| {
            (e["target"]["kind"] == "membership")
                .then(|| e["target"]["person"].as_str().unwrap().to_owned())
        })
        .expect("the demo grants someone access");
    // An instant inside the plan with a door window open: the start of the first one.
    let (door, at) = plan["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["target"]["kind"] == "door" && !e["windows"].as_array().unwrap().is_empty())
        .map(|e| {
            (
                e["target"]["door"].as_str().unwrap().to_owned(),
                e["windows"][0]["from"].as_str().unwrap().to_owned(),
            )
        })
        .expect("a door window");

    let mut explained = Vec::new();
    for (kind, id) in [
        ("door", door.as_str()),
        ("door", "D-HAL-N"),
        ("zone", "Z-HAL"),
        ("output", "K-HAL-LYS"),
        ("person", person.as_str()),
    ] {
        let r = http
            .get(format!("{url}explain"))
            .query(&[("target", format!("{kind}:{id}")), ("at", at.clone())])
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{kind} {id}");
        let page = explain_text(&r.text().unwrap());
        let cli = Command::new(env!("CARGO_BIN_EXE_klar"))
            .args(["explain", kind, id, "--config"])
            .arg(&site.config)
            .args(["--at", &at])
            .output()
            .unwrap();
        assert!(
            cli.status.success(),
            "{}",
            String::from_utf8_lossy(&cli.stderr)
        );
        let cli = String::from_utf8(cli.stdout).unwrap();
        assert_eq!(page.trim_end(), cli.trim_end(), "{kind} {id} at {at}");
        if page.contains("  effect ") {
            explained.push(format!("{kind} {id}"));
        }
    }
    // The door whose window opens then is explained by a klar effect, with its booking.
    assert!(
        explained.contains(&format!("door {door}")),
        "{door} not explained by a klar effect at {at}: {explained:?}"
    );

    // The doors page names the grants that cannot work: the demo's WinKAS persons have no PIN
    // and no card.
    let doors = http
        .get(format!("{url}doors"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        doors.contains("Grants that cannot work as asked")
            && doors.contains("has no PIN and no card on record"),
        "{doors}"
    );

    // /doors/{id} finds the kind by itself.
    let r = http.get(format!("{url}doors/Z-HAL")).send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(explain_text(&r.text().unwrap()).contains("\nzone Z-HAL: "));
    // An unknown door is a 404 with the simulator's words.
    let r = http
        .get(format!("{url}explain?target=door:NO-SUCH-DOOR"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().unwrap().contains("NO-SUCH-DOOR"));
}
