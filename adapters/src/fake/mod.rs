//! Fake Pronestor and WinKAS servers speaking the vendors' wire formats, quirks and failures.
