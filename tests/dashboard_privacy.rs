//! Persons on the dashboard: by name and a short stable reference, never by e-mail address
//! (the key klar gives a person without a member number), on every page and in every JSON, in
//! links too; a link by reference explains that person. `[web] show_email = true` shows the
//! addresses.

mod dashboard_common;

use dashboard_common::{DemoSite, Klar, client, wait_for};

const PAGES: &[&str] = &[
    "",
    "timeline",
    "doors",
    "explain?target=door:D-AULA",
    "explain?target=door:D-ADM",
    "bookings",
    "audit",
    "api/status",
    "api/plan",
    "api/bookings",
    "api/doors",
    "api/audit",
];

/// Every page and JSON, once the demo's persons are on the controller.
fn pages(url: &str) -> Vec<(String, String)> {
    let http = client();
    PAGES
        .iter()
        .map(|p| {
            let r = http.get(format!("{url}{p}")).send().unwrap();
            assert_eq!(r.status(), 200, "/{p}");
            (p.to_string(), r.text().unwrap())
        })
        .collect()
}

fn start(site: &DemoSite) -> (Klar, String) {
    let mut klar = Klar::start(&site.config, "127.0.0.1:0", &[]);
    let url = klar.url();
    wait_for("ready", || {
        (client().get(format!("{url}readyz")).send().ok()?.status() == 200).then_some(())
    });
    wait_for("persons on the controller", || {
        let doors = client()
            .get(format!("{url}api/doors"))
            .send()
            .ok()?
            .text()
            .ok()?;
        (doors.contains("Anne Rasmussen") && doors.contains("grants")).then_some(())
    });
    (klar, url)
}

#[test]
fn persons_are_shown_by_name_and_reference_never_by_address() {
    let site = DemoSite::start();
    let (klar, url) = start(&site);
    let pages = pages(&url);
    for (page, body) in &pages {
        assert!(
            !body.contains("@example.dk") && !body.contains("%40example.dk"),
            "/{page} shows an e-mail address:\n{}",
            body.lines()
                .filter(|l| l.contains("example.dk"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let doors = &pages.iter().find(|(p, _)| p == "doors").unwrap().1;
    let label = "Anne Rasmussen (ref:";
    assert!(doors.contains(label), "{doors}");
    for page in ["timeline", "bookings", "api/plan", "api/doors"] {
        let body = &pages.iter().find(|(p, _)| p == page).unwrap().1;
        assert!(body.contains(label), "/{page} names the person");
    }
    // The doors page links to each person's explanation by reference; the link works.
    let link = doors
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.starts_with("/explain?target=person%3A") && h.contains("%3Aref%3A"))
        .expect("a person's link")
        .to_owned();
    let r = client().get(format!("{url}{}", &link[1..])).send().unwrap();
    assert_eq!(r.status(), 200, "{link}");
    let body = r.text().unwrap();
    assert!(
        body.contains("Why is person") && body.contains(" (ref:"),
        "{body}"
    );
    assert!(!body.contains("@example.dk"), "{body}");
    // Its "at another time" form sends the label back, which still finds the person.
    let reference = link.rsplit("%3A").next().unwrap();
    let r = client()
        .get(format!("{url}explain"))
        .query(&[
            ("target", format!("person:Someone (ref:{reference})")),
            ("at", "2026-12-01 10:00".to_owned()),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(klar);

    // With show_email, the addresses are shown.
    site.edit_config(|s| format!("{s}\n[web]\nshow_email = true\n"));
    let (_klar, url) = start(&site);
    let doors = client()
        .get(format!("{url}doors"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(doors.contains("email:anne.rasmussen@example.dk"), "{doors}");
}
