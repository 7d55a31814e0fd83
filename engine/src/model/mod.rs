//! The common model: bookings in, effects out, windows in between.

mod booking;
mod effect;
mod ids;
#[cfg(test)]
mod props;
mod secret;
mod window;

pub use booking::{Booking, BookingError, BookingStatus, Person};
pub use effect::{DayKind, DoorLevel, Effect};
pub use ids::{
    BookingId, DoorId, GroupId, OutputId, PersonKey, ResourceId, SourceName, ZoneId, room_key,
};
pub use secret::Secret;
pub use window::{Window, WindowError, difference, intersection, union};
