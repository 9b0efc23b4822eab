//! One Tokio runtime for all sinks in the process (all tasks of a worker), created with
//! the first sink and shut down when the last one closes. A sink opens its store while it
//! holds the runtime, so that the store's shared HTTP client (`connections`) never outlives
//! the runtime its connections run on.

use once_cell::sync::Lazy;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::runtime::{Builder, Runtime};

static SHARED: Lazy<Mutex<Weak<Runtime>>> = Lazy::new(|| Mutex::new(Weak::new()));

pub fn acquire() -> std::io::Result<Arc<Runtime>> {
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(runtime) = shared.upgrade() {
        return Ok(runtime);
    }
    let runtime = Arc::new(
        Builder::new_multi_thread().worker_threads(worker_threads()).thread_name("sinets3-io").enable_all().build()?,
    );
    *shared = Arc::downgrade(&runtime);
    Ok(runtime)
}

/// Drops one reference; the last one stops the runtime without waiting long for
/// stragglers (uploads that outlive their sink are not needed: nothing was committed).
pub fn release(runtime: Arc<Runtime>) {
    let _guard = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Ok(last) = Arc::try_unwrap(runtime) {
        last.shutdown_timeout(Duration::from_secs(2));
        crate::connections::forget_all();
    }
}

fn worker_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8)
}
