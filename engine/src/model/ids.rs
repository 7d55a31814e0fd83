//! Identifier newtypes, so a door id cannot be passed where a zone id is meant.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }
    };
}

id_type!(
    /// A booking's id, stable and unique within its source.
    BookingId
);
id_type!(
    /// A configured source's name (`[[sources]] name = ...`).
    SourceName
);
id_type!(
    /// A resource (room) id as its source reports it.
    ResourceId
);
id_type!(
    /// A door (UniLock: k-point) as the site config names it.
    DoorId
);
id_type!(
    /// An intrusion alarm zone (UniLock: DAS area).
    ZoneId
);
id_type!(
    /// A switchable output: lights, ventilation, heating (UniLock: k-point output).
    OutputId
);
id_type!(
    /// A person group (UniLock: persongruppe).
    GroupId
);
id_type!(
    /// The key klar uses for a person. Rules see `member:<no>` (or `member:<org>/<no>`),
    /// `email:<address>` or `name:<name>`; plan targets and the controller use it scoped by
    /// the booking's source, `<source>:<key>` ([`PersonKey::in_source`]).
    PersonKey
);

impl PersonKey {
    /// A person key scoped by the source that names the person: `halls:member:1042`. Member
    /// numbers, e-mails and names are only unique within one source (and member numbers within
    /// one club), so the controller's person is keyed by both.
    pub fn in_source(source: &SourceName, key: &PersonKey) -> PersonKey {
        PersonKey(format!("{}:{}", source.0, key.0))
    }
}

/// The key of a room in the site configuration: `"<source>:<resource>"`.
pub fn room_key(source: &SourceName, resource: &ResourceId) -> String {
    format!("{}:{}", source.0, resource.0)
}
