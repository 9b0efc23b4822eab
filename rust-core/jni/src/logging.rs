//! The engine's log records on their way to SLF4J. The thread that logs (a task's, or an upload
//! thread the JVM does not know) only formats the line and offers it to a bounded queue; it
//! never waits and never calls into the JVM. A Java daemon thread (`NativeLogBridge.java`)
//! takes the lines out through `nativeDrainLogs` and logs them with SLF4J. A full queue drops
//! the line and counts it; the count is logged once the queue has been emptied.
//!
//! Which levels are wanted is Java's to say (log4j settings filter these loggers like any
//! other): it hands down, every few seconds, the most verbose level each of its loggers
//! enables, and lines no logger wants are never formatted.
//!
//! object_store reports through `tracing`; this crate turns on tracing's `log` feature, so
//! with no tracing subscriber installed (there is none) its events arrive here as records too.

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::Duration;

/// Lines waiting for the Java thread; about 2 MB of typical lines.
const CAPACITY: usize = 10_000;
/// Lines handed to Java in one call.
const BATCH: usize = 1_000;
/// The engine crate's module path prefix: its lines log under the module's own name.
const ENGINE_PREFIX: &str = "s3sink_engine::";
/// The logger of the bridge's own line about dropped lines.
const OWN_MODULE: &str = "logging";
/// The jni crate traces every JNI call, the bridge's own among them: below WARN its lines
/// would feed the queue they are drained from.
const JNI_CRATE: &str = "jni";

/// One log line as Java gets it: the logger is `org.sinetstream.kafka.connect.s3.native.<module>`,
/// and `context` (the task, `s3-sink|task-0`; empty when none) becomes the MDC `connector.context`.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub level: Level,
    pub module: String,
    pub context: String,
    pub message: String,
}

pub struct Bridge {
    capacity: usize,
    sender: SyncSender<Line>,
    receiver: Mutex<Receiver<Line>>,
    dropped: AtomicU64,
    /// (module, most verbose level its Java logger enables); "" is the parent logger.
    levels: RwLock<Vec<(String, LevelFilter)>>,
}

impl Bridge {
    pub fn new(capacity: usize) -> Self {
        let (sender, receiver) = sync_channel(capacity);
        Bridge {
            capacity,
            sender,
            receiver: Mutex::new(receiver),
            dropped: AtomicU64::new(0),
            levels: RwLock::new(vec![(String::new(), LevelFilter::Info)]),
        }
    }

    /// Sets the levels Java's loggers enable; returns the most verbose of them, the bound
    /// below which `log` does not even call the logger.
    pub fn set_levels(&self, levels: Vec<(String, LevelFilter)>) -> LevelFilter {
        let most_verbose = levels.iter().map(|(_, level)| *level).max().unwrap_or(LevelFilter::Off);
        *self.levels.write().unwrap_or_else(|e| e.into_inner()) = levels;
        most_verbose
    }

    /// The level of the most specific logger known for `module`, as log4j's hierarchy picks it.
    fn level_of(&self, module: &str) -> LevelFilter {
        let cap = if is_within(module, JNI_CRATE) { LevelFilter::Warn } else { LevelFilter::Trace };
        self.logger_level(module).min(cap)
    }

    fn logger_level(&self, module: &str) -> LevelFilter {
        // Java replaces the table every few seconds; a line logged at that moment is let
        // through rather than waited for, and Java's logger still filters it.
        let Ok(levels) = self.levels.try_read() else { return LevelFilter::Trace };
        levels
            .iter()
            .filter(|(name, _)| is_within(module, name))
            .max_by_key(|(name, _)| name.len())
            .map_or(LevelFilter::Off, |(_, level)| *level)
    }

    /// Queues a line without waiting; a full queue drops it and counts it.
    pub fn offer(&self, line: Line) {
        if let Err(TrySendError::Full(_)) = self.sender.try_send(line) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Up to `BATCH` lines, waiting up to `timeout` for the first. Once the queue is empty
    /// the count of lines dropped since the last report follows them.
    pub fn drain(&self, timeout: Duration) -> Vec<Line> {
        let receiver = self.receiver.lock().unwrap_or_else(|e| e.into_inner());
        let mut lines = Vec::new();
        let mut emptied = false;
        if self.dropped.load(Ordering::Relaxed) == 0 {
            match receiver.recv_timeout(timeout) {
                Ok(line) => lines.push(line),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return lines,
            }
        }
        while lines.len() < BATCH {
            match receiver.try_recv() {
                Ok(line) => lines.push(line),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => {
                    emptied = true;
                    break;
                }
            }
        }
        let dropped = if emptied { self.dropped.swap(0, Ordering::Relaxed) } else { 0 };
        if dropped > 0 {
            lines.push(Line {
                level: Level::Warn,
                module: OWN_MODULE.to_string(),
                context: String::new(),
                message: format!("dropped {dropped} native log lines: the queue of {} lines was full", self.capacity),
            });
        }
        lines
    }
}

impl Log for Bridge {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= self.level_of(&module_of(metadata.target()))
    }

    fn log(&self, record: &Record) {
        let module = module_of(record.target());
        if record.level() > self.level_of(&module) {
            return;
        }
        let context = record.key_values().get(log::kv::Key::from_str("context")).map(|v| v.to_string());
        self.offer(Line {
            level: record.level(),
            module: module.into_owned(),
            context: context.unwrap_or_default(),
            message: record.args().to_string(),
        });
    }

    fn flush(&self) {}
}

/// `s3sink_engine::upload` logs as `upload`; other crates under their path, `::` read as `.`
/// (`object_store::client::retry` as `object_store.client.retry`).
pub fn module_of(target: &str) -> Cow<'_, str> {
    let path = target.strip_prefix(ENGINE_PREFIX).unwrap_or(target);
    if path.contains("::") {
        Cow::Owned(path.replace("::", "."))
    } else {
        Cow::Borrowed(path)
    }
}

/// Whether `module` is `logger` or below it ("" is above every module).
fn is_within(module: &str, logger: &str) -> bool {
    logger.is_empty() || module.strip_prefix(logger).is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// The bridge of this library (one per class loader that loaded it), installed as the `log`
/// crate's logger the first time Java asks for it.
fn bridge() -> &'static Bridge {
    static BRIDGE: OnceLock<&'static Bridge> = OnceLock::new();
    BRIDGE.get_or_init(|| {
        let bridge: &'static Bridge = Box::leak(Box::new(Bridge::new(CAPACITY)));
        // Fails only if another logger was installed first, which nothing in this library does.
        let _ = log::set_logger(bridge);
        bridge
    })
}

/// `String[] {module, level, module, level, ...}` from Java, level names as `log` spells them
/// (`OFF`, `ERROR`, ... `TRACE`); the parent logger is the module "".
pub fn set_levels(pairs: &[String]) {
    let levels = pairs.chunks_exact(2).map(|kv| (kv[0].clone(), kv[1].parse().unwrap_or(LevelFilter::Off))).collect();
    log::set_max_level(bridge().set_levels(levels));
}

/// The lines for Java as `String[] {level, module, context, message, ...}`.
pub fn drain(timeout_ms: i64) -> Vec<String> {
    let timeout = Duration::from_millis(timeout_ms.max(0) as u64);
    bridge()
        .drain(timeout)
        .into_iter()
        .flat_map(|line| [line.level.as_str().to_string(), line.module, line.context, line.message])
        .collect()
}

/// The engine modules that log, so Java asks their loggers for a level before they said anything.
pub fn modules() -> Vec<String> {
    s3sink_engine::logging::MODULES.iter().map(|m| m.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(pairs: &[(&str, LevelFilter)]) -> Vec<(String, LevelFilter)> {
        pairs.iter().map(|(m, l)| (m.to_string(), *l)).collect()
    }

    fn log_to(bridge: &Bridge, target: &str, level: Level, context: Option<&str>, message: &str) {
        let pairs = context.map(|c| [("context", c)]);
        let source: &dyn log::kv::Source = &pairs;
        bridge.log(
            &Record::builder().target(target).level(level).key_values(source).args(format_args!("{message}")).build(),
        );
    }

    #[test]
    fn engine_modules_log_under_their_own_name_others_under_their_path() {
        assert_eq!(module_of("s3sink_engine::upload"), "upload");
        assert_eq!(module_of("object_store::client::retry"), "object_store.client.retry");
        assert_eq!(module_of("reqwest"), "reqwest");
    }

    #[test]
    fn lines_keep_level_module_context_and_message() {
        let bridge = Bridge::new(10);
        bridge.set_levels(levels(&[("", LevelFilter::Info)]));
        log_to(&bridge, "s3sink_engine::upload", Level::Warn, Some("s3-sink|task-0"), "upload of k failed");
        log_to(&bridge, "object_store::client::retry", Level::Info, None, "retrying");
        let lines = bridge.drain(Duration::ZERO);
        assert_eq!(
            lines,
            vec![
                Line {
                    level: Level::Warn,
                    module: "upload".into(),
                    context: "s3-sink|task-0".into(),
                    message: "upload of k failed".into()
                },
                Line {
                    level: Level::Info,
                    module: "object_store.client.retry".into(),
                    context: String::new(),
                    message: "retrying".into()
                },
            ]
        );
        assert!(bridge.drain(Duration::from_millis(10)).is_empty());
    }

    #[test]
    fn the_most_specific_logger_decides() {
        let bridge = Bridge::new(10);
        let max = bridge.set_levels(levels(&[
            ("", LevelFilter::Info),
            ("upload", LevelFilter::Debug),
            ("object_store", LevelFilter::Warn),
            ("object_store.client", LevelFilter::Trace),
        ]));
        assert_eq!(max, LevelFilter::Trace);
        assert_eq!(bridge.level_of("upload"), LevelFilter::Debug);
        assert_eq!(bridge.level_of("uploads"), LevelFilter::Info, "a name that only starts the same");
        assert_eq!(bridge.level_of("sink"), LevelFilter::Info);
        assert_eq!(bridge.level_of("object_store.aws.client"), LevelFilter::Warn);
        assert_eq!(bridge.level_of("object_store.client.retry"), LevelFilter::Trace);
        log_to(&bridge, "s3sink_engine::sink", Level::Debug, None, "not wanted");
        log_to(&bridge, "s3sink_engine::upload", Level::Debug, None, "wanted");
        let lines = bridge.drain(Duration::ZERO);
        assert_eq!(lines.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(), ["wanted"]);
    }

    #[test]
    fn the_jni_crates_own_tracing_never_reaches_the_queue() {
        let bridge = Bridge::new(10);
        bridge.set_levels(levels(&[("", LevelFilter::Trace)]));
        log_to(&bridge, "jni::wrapper::jnienv", Level::Trace, None, "calling checked jni method: NewStringUTF");
        log_to(&bridge, "jni::wrapper::objects::global_ref", Level::Warn, None, "Dropping a GlobalRef");
        log_to(&bridge, "s3sink_engine::upload", Level::Trace, None, "engine trace");
        let messages: Vec<_> = bridge.drain(Duration::ZERO).into_iter().map(|l| l.message).collect();
        assert_eq!(messages, ["Dropping a GlobalRef", "engine trace"]);
    }

    #[test]
    fn a_full_queue_drops_lines_and_says_how_many_once_emptied() {
        let bridge = Bridge::new(3);
        for i in 0..5 {
            log_to(&bridge, "s3sink_engine::sink", Level::Info, None, &format!("line {i}"));
        }
        let lines = bridge.drain(Duration::ZERO);
        let messages: Vec<_> = lines.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(messages[..3], ["line 0", "line 1", "line 2"]);
        assert_eq!(lines[3].level, Level::Warn);
        assert_eq!(lines[3].module, "logging");
        assert!(lines[3].message.starts_with("dropped 2 native log lines"), "{}", lines[3].message);
        assert_eq!(lines.len(), 4);
        log_to(&bridge, "s3sink_engine::sink", Level::Info, None, "after");
        assert_eq!(bridge.drain(Duration::ZERO).len(), 1, "the count was reported once");
    }

    #[test]
    fn drain_waits_for_a_line_up_to_its_timeout() {
        let bridge = std::sync::Arc::new(Bridge::new(10));
        let logger = bridge.clone();
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            log_to(&logger, "s3sink_engine::sink", Level::Error, None, "late");
        });
        let lines = bridge.drain(Duration::from_secs(10));
        late.join().unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].message, "late");
    }
}
