//! What a task has done, counted where it happens; Java reads a snapshot for its JMX bean.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Upload latencies are kept for this long, for the average, maximum and p99.
const LATENCY_WINDOW: Duration = Duration::from_secs(60);
/// Enough samples for a minute of a fast store; older ones go first.
const MAX_LATENCY_SAMPLES: usize = 100_000;

/// Gauges the sink reads at the moment of a snapshot, beside the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Gauges {
    pub inflight_bytes: u64,
    pub inflight_limit: u64,
    pub upload_concurrency: u64,
    pub upload_concurrency_max: u64,
    pub open_objects: u64,
    /// Age of the oldest record taken but not yet durable: the sink's lag.
    pub oldest_waiting_ms: u64,
}

#[derive(Default)]
pub struct Metrics {
    pub records_received: AtomicU64,
    pub records_stored: AtomicU64,
    pub records_errant: AtomicU64,
    pub payload_bytes_stored: AtomicU64,
    pub objects_stored: AtomicU64,
    pub put_requests: AtomicU64,
    pub multipart_requests: AtomicU64,
    pub retries: AtomicU64,
    pub failures_throttled: AtomicU64,
    pub failures_server: AtomicU64,
    pub failures_network: AtomicU64,
    pub failures_permanent: AtomicU64,
    latencies: Mutex<VecDeque<(Instant, Duration)>>,
}

/// Average, maximum and 99th percentile of the upload latencies of the last minute.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencySummary {
    pub average: Duration,
    pub max: Duration,
    pub p99: Duration,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn upload_took(&self, latency: Duration) {
        let mut samples = self.latencies.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        samples.push_back((now, latency));
        while samples.len() > MAX_LATENCY_SAMPLES || samples.front().is_some_and(|(at, _)| now - *at > LATENCY_WINDOW) {
            samples.pop_front();
        }
    }

    pub fn latency(&self) -> LatencySummary {
        let samples = self.latencies.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let mut recent: Vec<Duration> =
            samples.iter().filter(|(at, _)| now - *at <= LATENCY_WINDOW).map(|(_, d)| *d).collect();
        if recent.is_empty() {
            return LatencySummary::default();
        }
        recent.sort_unstable();
        let total: Duration = recent.iter().sum();
        let p99_index = (recent.len() * 99).div_ceil(100).saturating_sub(1);
        LatencySummary {
            average: total / recent.len() as u32,
            max: *recent.last().expect("not empty"),
            p99: recent[p99_index],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_summary_of_the_last_minute() {
        let metrics = Metrics::default();
        assert_eq!(metrics.latency(), LatencySummary::default());
        for ms in 1..=100 {
            metrics.upload_took(Duration::from_millis(ms));
        }
        let summary = metrics.latency();
        assert_eq!(summary.max, Duration::from_millis(100));
        assert_eq!(summary.p99, Duration::from_millis(99));
        assert_eq!(summary.average, Duration::from_micros(50_500));
    }
}
