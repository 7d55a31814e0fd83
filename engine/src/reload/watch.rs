//! The filesystem watcher: the rule pack folders (recursively) and the folder of the site
//! config. Folders, not files: editors save by writing a new file and renaming it over the
//! old one, which a watch on the file itself would lose.

use std::path::{Path, PathBuf};

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// A running watcher; dropping it stops watching.
pub struct RuleWatcher {
    _watcher: RecommendedWatcher,
}

impl std::fmt::Debug for RuleWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RuleWatcher")
    }
}

/// Why watching could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {path}: {message}")]
pub struct WatchError {
    pub path: PathBuf,
    pub message: String,
}

/// Watches `config`'s folder (not recursively) and each of `pack_dirs` (recursively) and calls
/// `on_change` with every path that was created, modified or removed. The callback runs on the
/// watcher's own thread: keep it short (send the path on a channel).
pub fn watch(
    config: &Path,
    pack_dirs: &[PathBuf],
    on_change: impl Fn(PathBuf) + Send + 'static,
) -> Result<RuleWatcher, WatchError> {
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
        let Ok(event) = event else {
            return;
        };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        for path in event.paths {
            on_change(path);
        }
    })
    .map_err(|e| WatchError {
        path: config.to_owned(),
        message: e.to_string(),
    })?;
    let config_dir = match config.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    watcher
        .watch(&config_dir, RecursiveMode::NonRecursive)
        .map_err(|e| WatchError {
            path: config_dir.clone(),
            message: e.to_string(),
        })?;
    for dir in pack_dirs {
        watcher
            .watch(dir, RecursiveMode::Recursive)
            .map_err(|e| WatchError {
                path: dir.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(RuleWatcher { _watcher: watcher })
}
