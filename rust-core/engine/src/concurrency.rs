//! How many uploads of one task run at once. The limit moves between a floor and
//! `upload.concurrency` with the store's latency, the way TCP Vegas sizes its window: a far
//! store (tens of milliseconds per request) needs many requests in flight and answers them
//! as fast with more, so the limit grows; a busy nearby store only queues extra requests,
//! which then take several times longer than the fastest seen, so the limit shrinks.

use crate::error::SinkError;
use once_cell::sync::Lazy;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Typical latency at most this many times the fastest: the store has room for more.
const GROW_BELOW: f64 = 1.6;
/// Typical latency at least this many times the fastest: requests wait in the store.
const SHRINK_ABOVE: f64 = 3.0;
/// Windows after which the fastest latency is measured anew (paths and loads change).
const WINDOWS_PER_BASE: u32 = 50;
/// A store that answers 503 SlowDown or 429 asks for fewer requests: halve the limit, as
/// TCP does on loss, but once per this interval, since every request in flight may see the
/// same signal at once.
const THROTTLE_COOLDOWN: Duration = Duration::from_secs(1);

pub struct UploadSlots {
    permits: Arc<Semaphore>,
    state: Mutex<State>,
    floor: usize,
    ceiling: usize,
}

struct State {
    limit: usize,
    /// Permits to take out of circulation as uploads end, after the limit went down.
    to_retire: usize,
    /// The fastest latency seen lately.
    base: Option<Duration>,
    windows_since_base: u32,
    /// Until the store first shows queueing the limit doubles per window, as TCP's slow
    /// start does, so a distant store gets its many requests in flight within a few trips.
    slow_start: bool,
    /// Latencies of the current window: as many requests as the limit allows at once.
    window: Vec<Duration>,
    last_throttled: Option<Instant>,
}

/// Room for one upload; gives the room back (or retires it) when dropped.
pub struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    slots: Arc<UploadSlots>,
    started: Instant,
}

/// One budget per store and setting in the process: the tasks of a worker that write to one
/// store share it, so three tasks do not send three times the requests the store can take.
static SHARED: Lazy<Mutex<HashMap<BudgetKey, Weak<UploadSlots>>>> = Lazy::new(Default::default);

/// The store (endpoint and bucket), the floor and the ceiling.
type BudgetKey = (String, usize, usize);

impl UploadSlots {
    /// The budget of every task of this worker writing to `store` with these limits.
    pub fn shared(store: &str, floor: usize, ceiling: usize) -> Arc<UploadSlots> {
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        shared.retain(|_, slots| slots.strong_count() > 0);
        let key = (store.to_string(), floor, ceiling);
        if let Some(slots) = shared.get(&key).and_then(Weak::upgrade) {
            return slots;
        }
        let slots = UploadSlots::new(floor, ceiling);
        shared.insert(key, Arc::downgrade(&slots));
        slots
    }

    pub fn new(floor: usize, ceiling: usize) -> Arc<UploadSlots> {
        let ceiling = ceiling.max(1);
        let floor = floor.clamp(1, ceiling);
        let limit = 16.clamp(floor, ceiling);
        let state = State {
            limit,
            to_retire: 0,
            base: None,
            windows_since_base: 0,
            slow_start: true,
            window: Vec::new(),
            last_throttled: None,
        };
        Arc::new(UploadSlots { permits: Arc::new(Semaphore::new(limit)), state: Mutex::new(state), floor, ceiling })
    }

    pub async fn acquire(self: &Arc<Self>) -> Result<Slot, SinkError> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| SinkError::Closed)?;
        Ok(Slot { permit: Some(permit), slots: self.clone(), started: Instant::now() })
    }

    pub fn limit(&self) -> usize {
        self.lock().limit
    }

    pub fn ceiling(&self) -> usize {
        self.ceiling
    }

    /// The store throttled a request: halve the limit (not below the floor). Returns the
    /// new limit when it changed.
    pub fn throttled(&self) -> Option<usize> {
        let mut state = self.lock();
        let now = Instant::now();
        if state.last_throttled.is_some_and(|at| now.duration_since(at) < THROTTLE_COOLDOWN) {
            return None;
        }
        state.last_throttled = Some(now);
        state.slow_start = false;
        state.window.clear();
        let halved = (state.limit / 2).max(self.floor);
        if halved == state.limit {
            return None;
        }
        self.resize(&mut state, halved);
        Some(halved)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, latency: Duration) {
        let mut state = self.lock();
        state.window.push(latency);
        if state.window.len() < state.limit {
            return;
        }
        let typical = median(&mut state.window);
        let fastest = state.window.iter().copied().min().unwrap_or(typical);
        state.window.clear();
        state.windows_since_base += 1;
        let base = match state.base {
            Some(base) if state.windows_since_base < WINDOWS_PER_BASE => base.min(fastest),
            _ => {
                state.windows_since_base = 0;
                fastest
            }
        };
        state.base = Some(base);
        let slowdown = typical.as_secs_f64() / base.as_secs_f64().max(1e-6);
        let limit = state.limit;
        if slowdown <= GROW_BELOW {
            let step = if state.slow_start { limit } else { (limit / 4).max(1) };
            self.resize(&mut state, (limit + step).min(self.ceiling));
        } else if slowdown >= SHRINK_ABOVE {
            state.slow_start = false;
            self.resize(&mut state, limit.saturating_sub((limit / 8).max(1)).max(self.floor));
        }
    }

    fn resize(&self, state: &mut State, limit: usize) {
        if limit > state.limit {
            let added = limit - state.limit;
            let unretired = added.min(state.to_retire);
            state.to_retire -= unretired;
            self.permits.add_permits(added - unretired);
        } else {
            state.to_retire += state.limit - limit;
            while state.to_retire > 0 {
                match self.permits.try_acquire() {
                    Ok(idle) => {
                        idle.forget();
                        state.to_retire -= 1;
                    }
                    Err(_) => break,
                }
            }
        }
        state.limit = limit;
    }

    /// True when a permit coming back must be retired instead.
    fn retire_one(&self) -> bool {
        let mut state = self.lock();
        let retire = state.to_retire > 0;
        if retire {
            state.to_retire -= 1;
        }
        retire
    }
}

impl Slot {
    /// The upload went through in one attempt: its time tells the store's latency.
    pub fn completed(self) {
        self.slots.record(self.started.elapsed());
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            if self.slots.retire_one() {
                permit.forget();
            }
        }
    }
}

fn median(latencies: &mut [Duration]) -> Duration {
    let middle = latencies.len() / 2;
    *latencies.select_nth_unstable(middle).1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(slots: &UploadSlots, latency_ms: u64, windows: usize) {
        for _ in 0..windows {
            for _ in 0..slots.limit() {
                slots.record(Duration::from_millis(latency_ms));
            }
        }
    }

    #[test]
    fn a_far_store_with_steady_latency_gets_up_to_the_ceiling() {
        let slots = UploadSlots::new(8, 64);
        assert_eq!(slots.limit(), 16);
        feed(&slots, 20, 1);
        assert_eq!(slots.limit(), 32, "doubles until the store queues");
        feed(&slots, 20, 5);
        assert_eq!(slots.limit(), 64);
        assert_eq!(slots.permits.available_permits(), 64);
    }

    #[test]
    fn a_store_that_queues_requests_gets_down_to_the_floor() {
        let slots = UploadSlots::new(8, 64);
        feed(&slots, 1, 1);
        feed(&slots, 5, 20);
        assert_eq!(slots.limit(), 8);
        assert_eq!(slots.permits.available_permits(), 8);
        feed(&slots, 1, 1);
        assert_eq!(slots.limit(), 10, "after queueing was seen, grows by a quarter");
    }

    #[test]
    fn permits_in_use_are_retired_when_they_come_back() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let slots = UploadSlots::new(1, 64);
        let held: Vec<_> = (0..16).map(|_| runtime.block_on(slots.acquire()).unwrap()).collect();
        let mut state = slots.lock();
        slots.resize(&mut state, 10);
        drop(state);
        drop(held);
        assert_eq!(slots.permits.available_permits(), 10);
    }

    #[test]
    fn throttling_halves_the_limit_once_per_cooldown_down_to_the_floor() {
        let slots = UploadSlots::new(4, 64);
        feed(&slots, 20, 2);
        assert_eq!(slots.limit(), 64);
        assert_eq!(slots.throttled(), Some(32));
        assert_eq!(slots.throttled(), None, "the same burst of 503s counts once");
        assert_eq!(slots.limit(), 32);
        slots.lock().last_throttled = Some(Instant::now() - THROTTLE_COOLDOWN);
        assert_eq!(slots.throttled(), Some(16));
        for _ in 0..4 {
            slots.lock().last_throttled = None;
            slots.throttled();
        }
        assert_eq!(slots.limit(), 4);
        assert_eq!(slots.permits.available_permits(), 4);
        feed(&slots, 20, 1);
        assert_eq!(slots.limit(), 5, "after throttling, growth is additive");
    }

    #[test]
    fn tasks_writing_to_one_store_share_one_budget() {
        let a = UploadSlots::shared("http://store-a", 8, 64);
        let b = UploadSlots::shared("http://store-a", 8, 64);
        let other = UploadSlots::shared("http://store-b", 8, 64);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other));
        drop((a, b));
        let again = UploadSlots::shared("http://store-a", 8, 64);
        assert_eq!(again.limit(), 16, "a budget nobody holds any more starts afresh");
    }

    #[test]
    fn floor_equal_to_the_ceiling_fixes_the_limit() {
        let slots = UploadSlots::new(32, 32);
        feed(&slots, 1, 1);
        feed(&slots, 50, 10);
        assert_eq!(slots.limit(), 32);
    }
}
