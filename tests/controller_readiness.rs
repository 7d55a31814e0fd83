//! The seed's readiness check: every booking period equals the From/To of its shared
//! exceptions, and every responsible person is a member of the right groups with validity equal
//! to the booking period.

mod common;
#[path = "common/controller.rs"]
mod controller;

use controller::{PERSON, Site, booking, local};
use klar_adapters::controllers::unilock::driver_for;
use klar_adapters::controllers::unilock::protocol::MembershipValidity;
use klar_engine::model::Window;

#[test]
fn in_step_after_a_sync_and_each_divergence_is_named() {
    let site = Site::new();
    let bookings = [
        booking("B-1", (10, 0), (11, 0)),
        booking("B-2", (13, 0), (14, 0)),
    ];
    let (_, driver) = driver_for(&site.config).unwrap();
    let plan = site.plan(&bookings, local(8, 0));
    let mut c = site.embedded();
    assert!(
        !driver.readiness(&plan, c.simulator().database()).is_empty(),
        "nothing applied yet"
    );
    site.sync(&mut c, &bookings, local(8, 0)).unwrap();
    let db = c.simulator().database().clone();
    assert_eq!(driver.readiness(&plan, &db), Vec::<String>::new());

    // The booking period equals the From/To of shared exception 12 (with the margins).
    let periods: Vec<Window> = db.shared_exceptions[&12].iter().map(|p| p.window).collect();
    assert_eq!(
        periods,
        vec![
            Window::new(local(9, 45), local(11, 15)).unwrap(),
            Window::new(local(12, 45), local(14, 15)).unwrap()
        ]
    );
    // The person's validity and membership equal the booking periods.
    let person = &db.persons[PERSON];
    let booked = vec![
        Window::new(local(10, 0), local(11, 0)).unwrap(),
        Window::new(local(13, 0), local(14, 0)).unwrap(),
    ];
    assert_eq!(person.validity, booked);
    assert_eq!(person.memberships[0].group, "Mødegæster");
    assert_eq!(
        person.memberships[0].valid,
        MembershipValidity::Periods { periods: booked }
    );

    // Someone edits the controller by hand: readiness says what is off.
    let mut edited = db.clone();
    edited.shared_exceptions.get_mut(&12).unwrap()[1].window =
        Window::new(local(12, 45), local(14, 0)).unwrap();
    edited.persons.get_mut(PERSON).unwrap().validity.pop();
    let issues = driver.readiness(&plan, &edited);
    assert_eq!(issues.len(), 3, "{issues:?}");
    assert!(
        issues
            .iter()
            .any(|i| i.contains("shared exception 12 has no period"))
    );
    assert!(issues.iter().any(|i| i.contains("validity")));
}
