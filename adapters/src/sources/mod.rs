//! Booking sources: the `Source` trait and the Pronestor, WinKAS, iCalendar and local-file sources.
