//! Login sessions: each login gets its own random id (32 bytes from the operating system's
//! CSPRNG), kept here with its expiry and forgotten at logout, at expiry, or when klar
//! restarts. Only a digest of each id is kept, and ids are looked up by it, so neither the
//! table nor the time a lookup takes tells anything about a live id.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use klar_engine::model::Secret;
use rand::TryRngCore;
use sha2::{Digest, Sha256};

/// At most this many sessions at once; a login beyond it ends the oldest.
const MAX_SESSIONS: usize = 1000;

type IdDigest = [u8; 32];

fn digest(id: &str) -> IdDigest {
    Sha256::digest(id.as_bytes()).into()
}

/// The live sessions.
#[derive(Debug)]
pub struct Sessions {
    length: Duration,
    /// digest of the id -> when it expires.
    live: HashMap<IdDigest, Instant>,
}

impl Sessions {
    /// Sessions that last `length` from login.
    pub fn new(length: Duration) -> Sessions {
        Sessions {
            length,
            live: HashMap::new(),
        }
    }

    /// How long a session lasts.
    pub fn length(&self) -> Duration {
        self.length
    }

    /// A new session from `now`: its id, for the cookie. Fails only if the operating system
    /// gives no random bytes.
    pub fn start(&mut self, now: Instant) -> Result<Secret, String> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| format!("no random bytes for a session id: {e}"))?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.live.retain(|_, expires| *expires > now);
        if self.live.len() >= MAX_SESSIONS
            && let Some(oldest) = self
                .live
                .iter()
                .min_by_key(|(_, expires)| **expires)
                .map(|(d, _)| *d)
        {
            self.live.remove(&oldest);
        }
        self.live.insert(digest(&id), now + self.length);
        Ok(Secret::new(id))
    }

    /// Whether `id` is a live session at `now` (an expired one is forgotten).
    pub fn valid(&mut self, id: &str, now: Instant) -> bool {
        let d = digest(id);
        match self.live.get(&d) {
            Some(expires) if *expires > now => true,
            Some(_) => {
                self.live.remove(&d);
                false
            }
            None => false,
        }
    }

    /// Ends the session `id` (logout).
    pub fn end(&mut self, id: &str) {
        self.live.remove(&digest(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_login_gets_its_own_id_which_expires_and_ends_at_logout() {
        let t0 = Instant::now();
        let mut s = Sessions::new(Duration::from_secs(3600));
        let a = s.start(t0).unwrap();
        let b = s.start(t0).unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 64);
        assert!(s.valid(a.expose(), t0 + Duration::from_secs(3599)));
        assert!(!s.valid(a.expose(), t0 + Duration::from_secs(3600)));
        // Expired is forgotten: not valid again even if the clock were wrong.
        assert!(!s.valid(a.expose(), t0));
        s.end(b.expose());
        assert!(!s.valid(b.expose(), t0));
        assert!(!s.valid("", t0));
        assert!(!s.valid("0123", t0));
    }

    #[test]
    fn the_table_is_bounded() {
        let t0 = Instant::now();
        let mut s = Sessions::new(Duration::from_secs(60));
        let first = s.start(t0).unwrap();
        for i in 1..=MAX_SESSIONS {
            s.start(t0 + Duration::from_millis(i as u64)).unwrap();
        }
        assert_eq!(s.live.len(), MAX_SESSIONS);
        assert!(!s.valid(first.expose(), t0), "the oldest made room");
    }
}
