//! The directories of the worker's file system that connector configurations may name (the
//! `file://` store and `sinetstream.config.file`). Whoever may call Connect's REST API may
//! register a connector; without this list they could write or read any file the worker
//! can. The worker's operator sets it, as `FileConfigProvider`'s `allowed.paths`.

use crate::error::SinkError;
use std::path::{Component, Path, PathBuf};

/// A comma-separated list of absolute directories, in the worker's environment.
pub const VARIABLE: &str = "SINETS3_ALLOWED_PATHS";

pub fn check(key: &str, path: &Path) -> Result<(), SinkError> {
    let allowed = allowed();
    if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
        return Err(SinkError::config(key, format!("{} must be an absolute path without '..'", path.display())));
    }
    if allowed.iter().any(|dir| path.starts_with(dir)) {
        return Ok(());
    }
    let listed = if allowed.is_empty() {
        "none: the variable is not set".to_string()
    } else {
        allowed.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
    };
    Err(SinkError::config(
        key,
        format!(
            "{} is outside the directories this worker allows ({VARIABLE} in the worker's environment lists them; \
             now {listed})",
            path.display()
        ),
    ))
}

fn allowed() -> Vec<PathBuf> {
    std::env::var(VARIABLE)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .filter(|d| d.is_absolute() && !d.components().any(|c| c == Component::ParentDir))
        .collect()
}

/// What the engine's unit tests allow: every one sets the same list, so their order does not matter.
#[cfg(test)]
pub fn allow_for_tests() {
    std::env::set_var(VARIABLE, "/srv/data, relative/ignored,/tmp");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(result: Result<(), SinkError>) -> Option<String> {
        match result {
            Err(SinkError::Config { key, message }) => Some(format!("{key}: {message}")),
            _ => None,
        }
    }

    #[test]
    fn only_listed_directories_and_nothing_above_them() {
        allow_for_tests();
        assert!(check("store.url", Path::new("/srv/data/bucket")).is_ok());
        assert!(check("store.url", Path::new("/tmp")).is_ok());
        let outside = key_of(check("store.url", Path::new("/etc/cron.d"))).unwrap();
        assert!(outside.contains("SINETS3_ALLOWED_PATHS") && outside.contains("/srv/data, /tmp"), "{outside}");
        assert!(key_of(check("store.url", Path::new("/srv/data/../../etc"))).unwrap().contains("'..'"));
        assert!(key_of(check("store.url", Path::new("/srv/database"))).is_some(), "a prefix of a name is not a parent");
    }
}
