//! Secrets by reference: `password_env = "KLAR_WINKAS_PASSWORD"` or `password_file = "..."`,
//! never inline in the config (which ends up in backups, tickets and screenshots).

use std::path::{Path, PathBuf};

use klar_engine::model::Secret;
use serde::Deserialize;

/// Where a secret comes from. Exactly one of the two must be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SecretRef {
    pub env: Option<String>,
    pub file: Option<PathBuf>,
}

impl SecretRef {
    /// A pure check: exactly one of env and file, named `what` in the message.
    pub fn validate(&self, what: &str) -> Result<(), String> {
        match (&self.env, &self.file) {
            (Some(_), Some(_)) => Err(format!("set either {what}_env or {what}_file, not both")),
            (None, None) => Err(format!(
                "{what}_env or {what}_file is required (secrets are never inline)"
            )),
            (Some(e), None) if e.trim().is_empty() => Err(format!("{what}_env is empty")),
            _ => Ok(()),
        }
    }

    /// Reads the secret (trailing newline trimmed). The error names the variable or file only.
    pub fn resolve(&self, what: &str, base_dir: &Path) -> Result<Secret, String> {
        self.validate(what)?;
        if let Some(var) = &self.env {
            return match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
                _ => Err(format!("{what}_env: environment variable {var} is not set")),
            };
        }
        let file = self
            .file
            .as_ref()
            .expect("validate checked that one of env and file is set");
        let path = if file.is_absolute() {
            file.clone()
        } else {
            base_dir.join(file)
        };
        match std::fs::read_to_string(&path) {
            Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim_end_matches(['\r', '\n']))),
            Ok(_) => Err(format!("{what}_file: {} is empty", path.display())),
            Err(e) => Err(format!(
                "{what}_file: cannot read {}: {}",
                path.display(),
                e.kind()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_reference() {
        assert!(SecretRef::default().validate("password").is_err());
        let both = SecretRef {
            env: Some("A".into()),
            file: Some("f".into()),
        };
        assert!(both.validate("password").is_err());
    }

    #[test]
    fn reads_a_file_and_trims_the_newline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "hemmeligt\n").unwrap();
        let r = SecretRef {
            env: None,
            file: Some("pw".into()),
        };
        assert_eq!(
            r.resolve("password", dir.path()).unwrap().expose(),
            "hemmeligt"
        );
        let missing = SecretRef {
            env: Some("KLAR_TEST_SURELY_UNSET_VAR".into()),
            file: None,
        };
        let e = missing.resolve("password", dir.path()).unwrap_err();
        assert!(e.contains("KLAR_TEST_SURELY_UNSET_VAR"));
    }
}
