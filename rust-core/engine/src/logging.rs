//! Log lines of the engine carry the Connect task they belong to (`context`, such as
//! `s3-sink|task-0`) as a key-value pair, since upload threads are not the task's thread:
//! the JNI crate's logger hands it to SLF4J as the MDC `connector.context`.

/// The modules that log, each under its own logger on the Java side
/// (`org.sinetstream.kafka.connect.s3.native.<module>`).
pub const MODULES: [&str; 3] = ["sink", "sts", "upload"];

/// `task_log!(context, Level::Warn, "format", args...)`.
#[macro_export]
macro_rules! task_log {
    ($context:expr, $level:expr, $($arg:tt)+) => {
        log::log!($level, context = &*$context; $($arg)+)
    };
}

/// Counts events and says something at most once per interval, so that a store failing
/// every request for minutes gives one line per interval instead of one per request.
pub struct EveryInterval {
    interval: std::time::Duration,
    state: std::sync::Mutex<(Option<std::time::Instant>, u64)>,
}

impl EveryInterval {
    pub fn new(interval: std::time::Duration) -> Self {
        EveryInterval { interval, state: std::sync::Mutex::new((None, 0)) }
    }

    /// Counts one event; returns how many were counted since the last time it returned
    /// `Some`, once the interval has passed.
    pub fn tick(&self) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.1 += 1;
        let now = std::time::Instant::now();
        match state.0 {
            Some(last) if now.duration_since(last) < self.interval => None,
            _ => {
                let counted = state.1;
                *state = (Some(now), 0);
                Some(counted)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn modules_names_every_module_that_logs() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut logging: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file() && path.file_name().is_some_and(|n| n != "logging.rs"))
            .filter(|path| {
                let text = std::fs::read_to_string(path).unwrap();
                text.contains("task_log!(")
                    || ["log!(", "error!(", "warn!(", "info!(", "debug!(", "trace!("]
                        .iter()
                        .any(|call| text.contains(&format!("log::{call}")))
            })
            .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        logging.sort();
        assert_eq!(logging, MODULES);
    }

    #[test]
    fn says_once_per_interval_with_the_count() {
        let every = EveryInterval::new(Duration::from_millis(50));
        assert_eq!(every.tick(), Some(1));
        assert_eq!(every.tick(), None);
        assert_eq!(every.tick(), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(every.tick(), Some(3));
    }
}
