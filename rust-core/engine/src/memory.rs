//! The bound on the bytes a task holds that are not yet stored (`upload.max.inflight.bytes`).
//! Every byte held is part of a `Reservation`, given back when the reservation is dropped,
//! so objects that are stored, fail, or are cancelled return their memory without any
//! bookkeeping of their own.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

pub struct MemoryBudget {
    used: Mutex<usize>,
    freed: Condvar,
    limit: usize,
}

/// Bytes held against the budget until dropped.
pub struct Reservation {
    budget: Arc<MemoryBudget>,
    bytes: usize,
}

impl MemoryBudget {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(MemoryBudget { used: Mutex::new(0), freed: Condvar::new(), limit })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn used(&self) -> usize {
        *self.lock()
    }

    /// Reserves `bytes` if they fit under the limit now, without reading the clock (once per
    /// record on the task thread).
    pub fn try_reserve(self: &Arc<Self>, bytes: usize) -> Option<Reservation> {
        let mut used = self.lock();
        (*used + bytes <= self.limit).then(|| self.take(&mut used, bytes))
    }

    /// Reserves `bytes` once they fit under the limit, waiting for other reservations to be
    /// dropped until `deadline`; `None` if they still do not fit then.
    pub fn reserve(self: &Arc<Self>, bytes: usize, deadline: Instant) -> Option<Reservation> {
        let mut used = self.lock();
        while *used + bytes > self.limit {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            used = self.freed.wait_timeout(used, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        Some(self.take(&mut used, bytes))
    }

    fn take(self: &Arc<Self>, used: &mut usize, bytes: usize) -> Reservation {
        *used += bytes;
        Reservation { budget: self.clone(), bytes }
    }

    /// A reservation of nothing, to merge others into.
    pub fn nothing(self: &Arc<Self>) -> Reservation {
        Reservation { budget: self.clone(), bytes: 0 }
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        self.used.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Reservation {
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Takes over what `other` holds.
    pub fn merge(&mut self, mut other: Reservation) {
        self.bytes += std::mem::take(&mut other.bytes);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.bytes > 0 {
            *self.budget.lock() -= self.bytes;
            self.budget.freed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn soon() -> Instant {
        Instant::now() + Duration::from_millis(20)
    }

    #[test]
    fn reservations_count_until_dropped() {
        let budget = MemoryBudget::new(100);
        let mut object = budget.nothing();
        object.merge(budget.reserve(60, soon()).unwrap());
        object.merge(budget.reserve(30, soon()).unwrap());
        assert_eq!((object.bytes(), budget.used()), (90, 90));
        assert!(budget.reserve(20, soon()).is_none(), "over the limit");
        assert!(budget.try_reserve(20).is_none(), "over the limit, not waiting");
        assert_eq!(budget.try_reserve(10).map(|r| r.bytes()), Some(10), "fits exactly");
        drop(object);
        assert_eq!(budget.used(), 0);
        assert!(budget.reserve(100, soon()).is_some());
    }

    #[test]
    fn a_waiting_reservation_gets_the_room_another_gives_back() {
        let budget = MemoryBudget::new(100);
        let held = budget.reserve(80, soon()).unwrap();
        let waiter = {
            let budget = budget.clone();
            std::thread::spawn(move || budget.reserve(50, Instant::now() + Duration::from_secs(10)).map(|r| r.bytes()))
        };
        std::thread::sleep(Duration::from_millis(50));
        drop(held);
        assert_eq!(waiter.join().unwrap(), Some(50));
    }
}
