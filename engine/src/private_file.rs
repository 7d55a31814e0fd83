//! Files that hold credentials or personal data (the store with its source snapshots, the
//! simulator's state file with the persons' PINs, the demo's vendor passwords): created readable
//! and writable by their owner only (0600), and tightened to that when found more open. Also the
//! check behind the warnings about secret files others can read.
//!
//! On systems without Unix permissions these are plain file operations.

use std::io::Write;
use std::path::Path;

/// Creates (or truncates) `path` readable by its owner only and writes `bytes`. A file that
/// existed keeps its inode but is tightened first, so the bytes are never readable by others.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    if path.exists() {
        tighten(path)?;
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes sure `path` exists and is readable by its owner only: creates it empty (0600) when
/// missing, tightens it when others may read or write it. Returns whether it was tightened.
pub fn ensure(path: &Path) -> std::io::Result<bool> {
    if path.exists() {
        return tighten(path);
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(false),
        // Another process made it first: tighten what it made.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => tighten(path),
        Err(e) => Err(e),
    }
}

/// Takes every permission for group and others off an existing file. Returns whether it had
/// any; a missing file is left missing.
pub fn tighten(path: &Path) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let mode = meta.permissions().mode();
        if mode & 0o077 == 0 {
            return Ok(false);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(false)
    }
}

/// Whether users other than the file's owner may read it (its group or everyone). `None` when
/// it cannot be told (no such file, no Unix permissions).
pub fn readable_by_others(path: &Path) -> Option<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o044 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The warning for a secret file others can read, or `None` when it is private (or cannot be
/// told). `what` names it for people: `[web] token_file`, `source "halls" password_file`.
pub fn warning(what: &str, path: &Path) -> Option<String> {
    readable_by_others(path).filter(|open| *open).map(|_| {
        format!(
            "{what}: {} can be read by other users of this machine; make it private: chmod 600 {}",
            path.display(),
            path.display()
        )
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_private_and_tightened_when_open() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new");
        write(&new, b"4711").unwrap();
        assert_eq!(mode(&new), 0o600);
        let open = dir.path().join("open");
        std::fs::write(&open, "x").unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(warning("token_file", &open).unwrap().contains("chmod 600"));
        write(&open, b"4711").unwrap();
        assert_eq!(mode(&open), 0o600);
        assert_eq!(warning("token_file", &open), None);
        let db = dir.path().join("klar.db");
        assert!(!ensure(&db).unwrap());
        assert_eq!(mode(&db), 0o600);
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert!(ensure(&db).unwrap());
        assert_eq!(mode(&db), 0o600);
    }
}
