//! Which offsets are durable, and how much memory uploads hold. Shared between the task
//! thread (put, commit) and the upload tasks that finish in the background.

use crate::error::SinkError;
use crate::record::TopicPartition;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub enum Room {
    Available,
    /// Memory is full, but only of open objects: no upload will free any.
    OnlyBuffered,
}

pub struct Progress {
    state: Mutex<State>,
    changed: Condvar,
    limit: usize,
}

#[derive(Default)]
struct State {
    buffered_bytes: usize,
    uploading_bytes: usize,
    uploads_running: usize,
    partitions: HashMap<TopicPartition, Partition>,
    next_epoch: u64,
    failure: Option<(String, String)>,
}

struct Partition {
    /// Changes when the partition is closed and opened again, so that uploads from
    /// before do not touch the new state.
    epoch: u64,
    /// One past the last offset taken.
    next_offset: i64,
    /// Offsets that hold back commits: first offsets of objects not yet stored, and
    /// records not yet reported to the errant-record reporter.
    holds: BTreeSet<i64>,
    /// Revoked by a rebalance that may give it back to this task: its uploads go on
    /// until the rebalance tells whether it stays ours.
    parked: bool,
}

impl Progress {
    pub fn new(limit: usize) -> Self {
        Progress { state: Mutex::new(State::default()), changed: Condvar::new(), limit }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn check_healthy(&self) -> Result<(), SinkError> {
        self.lock().check_healthy()
    }

    /// False for a record taken before: Connect delivers again, from the committed offset,
    /// what this task took of a partition that a rebalance handed back to it.
    pub fn is_new(&self, tp: &TopicPartition, offset: i64) -> bool {
        self.lock().partitions.get(tp).is_none_or(|p| offset >= p.next_offset)
    }

    /// Registers `offset` as taken; false when it was taken before (a redelivery).
    pub fn accept(&self, tp: &TopicPartition, offset: i64) -> bool {
        let mut state = self.lock();
        let partition = state.partition(tp);
        if offset < partition.next_offset {
            return false;
        }
        partition.next_offset = offset + 1;
        true
    }

    pub fn hold(&self, tp: &TopicPartition, offset: i64) {
        self.lock().partition(tp).holds.insert(offset);
    }

    pub fn release_hold(&self, tp: &TopicPartition, offset: i64) {
        if let Some(partition) = self.lock().partitions.get_mut(tp) {
            partition.holds.remove(&offset);
        }
    }

    pub fn epoch_of(&self, tp: &TopicPartition) -> u64 {
        self.lock().partition(tp).epoch
    }

    pub fn add_buffered(&self, bytes: usize) {
        self.lock().buffered_bytes += bytes;
    }

    pub fn drop_buffered(&self, bytes: usize) {
        let mut state = self.lock();
        state.buffered_bytes -= bytes;
        self.changed.notify_all();
    }

    pub fn start_upload(&self, bytes: usize) {
        let mut state = self.lock();
        state.buffered_bytes -= bytes;
        state.uploading_bytes += bytes;
        state.uploads_running += 1;
    }

    pub fn finish_upload(
        &self,
        tp: &TopicPartition,
        epoch: u64,
        first_offset: i64,
        bytes: usize,
        result: Result<(), SinkError>,
    ) {
        let mut state = self.lock();
        state.uploading_bytes -= bytes;
        state.uploads_running -= 1;
        let current = state.partitions.get_mut(tp).filter(|p| p.epoch == epoch);
        match (current, result) {
            (Some(partition), Ok(())) => {
                partition.holds.remove(&first_offset);
            }
            (Some(_), Err(e)) => {
                let key = match &e {
                    SinkError::UploadFailed { key, .. } => key.clone(),
                    _ => String::new(),
                };
                state.failure.get_or_insert((key, e.to_string()));
            }
            (None, _) => {} // the partition moved to another task meanwhile
        }
        self.changed.notify_all();
    }

    pub fn wait_for_room(&self, needed: usize, deadline: Instant) -> Result<Room, SinkError> {
        let mut state = self.lock();
        loop {
            state.check_healthy()?;
            let used = state.buffered_bytes + state.uploading_bytes;
            if used == 0 || used + needed <= self.limit {
                return Ok(Room::Available);
            }
            if state.uploads_running == 0 {
                return Ok(Room::OnlyBuffered);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(SinkError::Backpressure { inflight: used, limit: self.limit });
            }
            state = self.changed.wait_timeout(state, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    pub fn committable(&self) -> Result<Vec<(TopicPartition, i64)>, SinkError> {
        let state = self.lock();
        state.check_healthy()?;
        Ok(state
            .partitions
            .iter()
            .filter(|(_, p)| !p.parked)
            .map(|(tp, p)| (tp.clone(), p.holds.first().copied().unwrap_or(p.next_offset)))
            .filter(|(_, offset)| *offset >= 0)
            .collect())
    }

    /// False once the partition was forgotten (another task owns it now): its uploads
    /// that have not started are no longer needed.
    pub fn is_current(&self, tp: &TopicPartition, epoch: u64) -> bool {
        self.lock().partitions.get(tp).is_some_and(|p| p.epoch == epoch)
    }

    pub fn park(&self, tp: &TopicPartition) {
        if let Some(partition) = self.lock().partitions.get_mut(tp) {
            partition.parked = true;
        }
    }

    /// Takes a parked partition back, with what it had taken and its uploads.
    pub fn revive(&self, tp: &TopicPartition) {
        if let Some(partition) = self.lock().partitions.get_mut(tp) {
            partition.parked = false;
        }
    }

    /// Forgets every parked partition and returns them.
    pub fn forget_parked(&self) -> Vec<TopicPartition> {
        let mut state = self.lock();
        let parked: Vec<_> = state.partitions.iter().filter(|(_, p)| p.parked).map(|(tp, _)| tp.clone()).collect();
        for tp in &parked {
            state.partitions.remove(tp);
        }
        parked
    }

    pub fn wait_for_uploads(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while state.uploads_running > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            state = self.changed.wait_timeout(state, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    #[cfg(test)]
    pub fn bytes_in_use(&self) -> usize {
        let state = self.lock();
        state.buffered_bytes + state.uploading_bytes
    }
}

impl State {
    fn check_healthy(&self) -> Result<(), SinkError> {
        match &self.failure {
            Some((key, message)) => Err(SinkError::UploadFailed { key: key.clone(), message: message.clone() }),
            None => Ok(()),
        }
    }

    fn partition(&mut self, tp: &TopicPartition) -> &mut Partition {
        if !self.partitions.contains_key(tp) {
            self.next_epoch += 1;
            let partition =
                Partition { epoch: self.next_epoch, next_offset: -1, holds: BTreeSet::new(), parked: false };
            self.partitions.insert(tp.clone(), partition);
        }
        self.partitions.get_mut(tp).expect("inserted above")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> TopicPartition {
        TopicPartition { topic: "t".into(), partition: p }
    }

    #[test]
    fn commits_stop_at_the_first_hold() {
        let progress = Progress::new(1 << 20);
        for offset in 10..15 {
            assert!(progress.accept(&tp(0), offset));
        }
        progress.hold(&tp(0), 11);
        progress.hold(&tp(0), 13);
        assert_eq!(progress.committable().unwrap(), vec![(tp(0), 11)]);
        progress.release_hold(&tp(0), 11);
        assert_eq!(progress.committable().unwrap(), vec![(tp(0), 13)]);
        progress.release_hold(&tp(0), 13);
        assert_eq!(progress.committable().unwrap(), vec![(tp(0), 15)]);
    }

    #[test]
    fn redeliveries_are_refused() {
        let progress = Progress::new(1 << 20);
        assert!(progress.accept(&tp(0), 5));
        assert!(!progress.accept(&tp(0), 5));
        assert!(!progress.accept(&tp(0), 4));
        assert!(progress.accept(&tp(0), 6));
    }

    #[test]
    fn uploads_of_a_closed_partition_do_not_touch_its_next_owner() {
        let progress = Progress::new(1 << 20);
        progress.accept(&tp(1), 0);
        progress.hold(&tp(1), 0);
        let old_epoch = progress.epoch_of(&tp(1));
        progress.add_buffered(10);
        progress.start_upload(10);
        progress.park(&tp(1));
        assert_eq!(progress.forget_parked(), vec![tp(1)]);
        assert!(!progress.is_current(&tp(1), old_epoch));
        progress.accept(&tp(1), 0);
        progress.hold(&tp(1), 0);
        progress.finish_upload(&tp(1), old_epoch, 0, 10, Ok(()));
        assert_eq!(progress.committable().unwrap(), vec![(tp(1), 0)]);
        assert_eq!(progress.bytes_in_use(), 0);
    }

    #[test]
    fn a_parked_partition_handed_back_keeps_what_it_took_and_its_holds() {
        let progress = Progress::new(1 << 20);
        for offset in 0..4 {
            progress.accept(&tp(0), offset);
        }
        progress.hold(&tp(0), 2);
        progress.park(&tp(0));
        assert!(progress.committable().unwrap().is_empty(), "a parked partition is not committed");
        progress.revive(&tp(0));
        assert!(progress.forget_parked().is_empty());
        assert!(!progress.is_new(&tp(0), 3) && progress.is_new(&tp(0), 4));
        assert_eq!(progress.committable().unwrap(), vec![(tp(0), 2)]);
    }

    #[test]
    fn a_failed_upload_fails_later_calls() {
        let progress = Progress::new(1 << 20);
        progress.accept(&tp(0), 0);
        progress.hold(&tp(0), 0);
        progress.add_buffered(1);
        progress.start_upload(1);
        let failure = SinkError::UploadFailed { key: "k".into(), message: "403".into() };
        progress.finish_upload(&tp(0), progress.epoch_of(&tp(0)), 0, 1, Err(failure));
        assert!(matches!(progress.committable(), Err(SinkError::UploadFailed { .. })));
    }

    #[test]
    fn full_memory_without_uploads_asks_to_close_objects() {
        let progress = Progress::new(100);
        progress.add_buffered(90);
        let room = progress.wait_for_room(20, Instant::now() + Duration::from_millis(10)).unwrap();
        assert!(matches!(room, Room::OnlyBuffered));
        progress.start_upload(90);
        let waited = progress.wait_for_room(20, Instant::now() + Duration::from_millis(10));
        assert!(matches!(waited, Err(SinkError::Backpressure { .. })));
    }
}
