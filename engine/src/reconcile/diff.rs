//! The pure `diff(desired, observed) -> actions`: what to change so the controller holds
//! exactly the desired objects klar owns, and nothing else of klar's.

use std::collections::BTreeMap;

use super::{Action, Observed};

/// The actions that turn `observed` into `desired`, for klar's own objects only.
///
/// - a desired key klar does not hold is created, unless another writer holds it (then it is
///   left alone: see [`blocked`]);
/// - a desired key klar holds with another value is updated;
/// - a key klar holds that is no longer desired is deleted (a cancelled booking's windows go);
/// - keys other writers hold are never in the result.
///
/// Deletes come first, then updates, then creates, so capacity freed by one object is there for
/// the next. Within each kind the order is the keys' order. Pure and deterministic.
pub fn diff<K: Clone + Ord, O: Clone + PartialEq>(
    desired: &BTreeMap<K, O>,
    observed: &Observed<K, O>,
) -> Vec<Action<K, O>> {
    let mut deletes = Vec::new();
    let mut updates = Vec::new();
    let mut creates = Vec::new();
    for (key, before) in &observed.owned {
        if !desired.contains_key(key) {
            deletes.push(Action::Delete {
                key: key.clone(),
                before: before.clone(),
            });
        }
    }
    for (key, object) in desired {
        match observed.owned.get(key) {
            Some(before) if before == object => {}
            Some(before) => updates.push(Action::Update {
                key: key.clone(),
                before: before.clone(),
                after: object.clone(),
            }),
            None if observed.foreign.contains(key) => {}
            None => creates.push(Action::Create {
                key: key.clone(),
                object: object.clone(),
            }),
        }
    }
    deletes.extend(updates);
    deletes.extend(creates);
    deletes
}

/// Desired keys another writer holds: klar will not create them and reports them instead.
pub fn blocked<K: Clone + Ord, O>(desired: &BTreeMap<K, O>, observed: &Observed<K, O>) -> Vec<K> {
    desired
        .keys()
        .filter(|k| observed.foreign.contains(*k) && !observed.owned.contains_key(*k))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn map(items: &[(&'static str, u32)]) -> BTreeMap<&'static str, u32> {
        items.iter().copied().collect()
    }

    fn observed(
        owned: &[(&'static str, u32)],
        foreign: &[&'static str],
    ) -> Observed<&'static str, u32> {
        Observed {
            owned: map(owned),
            foreign: foreign.iter().copied().collect::<BTreeSet<_>>(),
            room: BTreeMap::new(),
        }
    }

    /// Applies actions to a model of the controller, as a correct controller would.
    fn apply(state: &mut Observed<&'static str, u32>, actions: &[Action<&'static str, u32>]) {
        for a in actions {
            match a {
                Action::Create { key, object }
                | Action::Update {
                    key, after: object, ..
                } => {
                    state.owned.insert(key, *object);
                }
                Action::Delete { key, .. } => {
                    state.owned.remove(key);
                }
            }
        }
    }

    #[test]
    fn creates_updates_and_deletes_only_what_differs() {
        let desired = map(&[("a", 1), ("b", 2), ("c", 3)]);
        let obs = observed(&[("a", 1), ("b", 9), ("d", 4)], &[]);
        let actions = diff(&desired, &obs);
        assert_eq!(
            actions,
            vec![
                Action::Delete {
                    key: "d",
                    before: 4
                },
                Action::Update {
                    key: "b",
                    before: 9,
                    after: 2
                },
                Action::Create {
                    key: "c",
                    object: 3
                },
            ]
        );
    }

    #[test]
    fn nothing_to_do_when_in_step() {
        let desired = map(&[("a", 1), ("b", 2)]);
        assert!(diff(&desired, &observed(&[("a", 1), ("b", 2)], &["x"])).is_empty());
    }

    #[test]
    fn foreign_objects_are_never_touched_and_block_creation() {
        let desired = map(&[("a", 1), ("x", 7)]);
        let obs = observed(&[], &["x", "y"]);
        let actions = diff(&desired, &obs);
        assert_eq!(
            actions,
            vec![Action::Create {
                key: "a",
                object: 1
            }]
        );
        assert_eq!(blocked(&desired, &obs), vec!["x"]);
        // An empty plan deletes klar's objects but never a foreign one.
        let actions = diff(&BTreeMap::new(), &observed(&[("a", 1)], &["x"]));
        assert_eq!(
            actions,
            vec![Action::Delete {
                key: "a",
                before: 1
            }]
        );
    }

    #[test]
    fn a_cancelled_booking_removes_its_object() {
        let before = map(&[("booking-1", 1), ("booking-2", 2)]);
        let mut state = observed(&[], &[]);
        let first = diff(&before, &state);
        apply(&mut state, &first);
        let after = map(&[("booking-2", 2)]);
        let actions = diff(&after, &state);
        assert_eq!(
            actions,
            vec![Action::Delete {
                key: "booking-1",
                before: 1
            }]
        );
        apply(&mut state, &actions);
        assert_eq!(state.owned, after);
    }

    #[test]
    fn applying_any_prefix_then_diffing_again_converges() {
        let desired = map(&[("a", 1), ("b", 2), ("c", 3), ("e", 5)]);
        let start = observed(&[("a", 0), ("d", 4), ("e", 5)], &["z"]);
        let all = diff(&desired, &start);
        for cut in 0..=all.len() {
            let mut state = start.clone();
            apply(&mut state, &all[..cut]);
            let rest = diff(&desired, &state);
            apply(&mut state, &rest);
            assert_eq!(state.owned, desired, "interrupted after {cut} actions");
            assert!(diff(&desired, &state).is_empty());
            assert_eq!(state.foreign, start.foreign);
        }
    }
}
