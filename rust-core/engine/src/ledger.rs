//! The ledger of which offsets are durable: per source partition (where Connect commits),
//! what the task took and which offsets still hold back the commit. Shared between the task
//! thread (put, commit, rebalance) and the uploads that finish in the background.

use crate::error::SinkError;
use crate::record::TopicPartition;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

#[derive(Default)]
pub struct Ledger {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    partitions: HashMap<TopicPartition, Partition>,
    next_epoch: u64,
    /// The first upload that failed for good; every later call reports it.
    failure: Option<SinkError>,
}

struct Partition {
    /// Names this stay of the partition with the task: uploads started before the partition
    /// was forgotten carry an older epoch and no longer count.
    epoch: u64,
    /// One past the last offset taken.
    next_offset: i64,
    /// Offsets that hold back the commit, with when they were taken: first offsets of
    /// objects not yet stored, and records not yet reported as errant. Keyed by offset, so
    /// that storing one object and finding the first hold do not walk all of them (with
    /// flush.size=1 thousands are held at once); offsets are taken in order, so the first
    /// is also the oldest.
    holds: BTreeMap<i64, Instant>,
}

impl Ledger {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn check_healthy(&self) -> Result<(), SinkError> {
        self.lock().check_healthy()
    }

    /// False for a record taken before: after Connect rewinds its consumer (a failed commit)
    /// it delivers again what the task already holds.
    pub fn is_new(&self, tp: &TopicPartition, offset: i64) -> bool {
        self.lock().partitions.get(tp).is_none_or(|p| offset >= p.next_offset)
    }

    /// Registers `offset` as taken and returns the partition's epoch.
    pub fn accept(&self, tp: &TopicPartition, offset: i64) -> u64 {
        let mut state = self.lock();
        let partition = state.partition(tp);
        partition.next_offset = partition.next_offset.max(offset + 1);
        partition.epoch
    }

    pub fn hold(&self, tp: &TopicPartition, offset: i64) {
        self.lock().partition(tp).holds.entry(offset).or_insert_with(Instant::now);
    }

    pub fn release(&self, tp: &TopicPartition, offset: i64) {
        if let Some(partition) = self.lock().partitions.get_mut(tp) {
            partition.holds.remove(&offset);
        }
    }

    /// An object of `epoch` starting at `first_offset` is stored.
    pub fn stored(&self, tp: &TopicPartition, epoch: u64, first_offset: i64) {
        let mut state = self.lock();
        if let Some(partition) = state.partitions.get_mut(tp).filter(|p| p.epoch == epoch) {
            partition.holds.remove(&first_offset);
        }
    }

    /// An upload failed for good: the task must stop before anything else is committed.
    pub fn fail(&self, error: SinkError) {
        self.lock().failure.get_or_insert(error);
    }

    /// Per partition, the offset up to which (exclusive) every record is stored or reported.
    pub fn committable(&self) -> Result<Vec<(TopicPartition, i64)>, SinkError> {
        let state = self.lock();
        state.check_healthy()?;
        Ok(state
            .partitions
            .iter()
            .map(|(tp, p)| (tp.clone(), p.first_hold().unwrap_or(p.next_offset)))
            .filter(|(_, offset)| *offset >= 0)
            .collect())
    }

    /// When the oldest record that is taken but not yet durable was taken, over all partitions.
    pub fn oldest_waiting(&self) -> Option<Instant> {
        self.lock().partitions.values().filter_map(|p| p.holds.first_key_value().map(|(_, at)| *at)).min()
    }

    /// Forgets a partition: it went to another task, or this task stopped. Uploads of the
    /// old epoch no longer move its commit, whoever owns it next.
    pub fn forget(&self, tp: &TopicPartition) -> bool {
        self.lock().partitions.remove(tp).is_some()
    }
}

impl Partition {
    fn first_hold(&self) -> Option<i64> {
        self.holds.first_key_value().map(|(offset, _)| *offset)
    }
}

impl State {
    fn check_healthy(&self) -> Result<(), SinkError> {
        self.failure.as_ref().map_or(Ok(()), |e| Err(e.clone()))
    }

    fn partition(&mut self, tp: &TopicPartition) -> &mut Partition {
        let next_epoch = &mut self.next_epoch;
        self.partitions.entry(tp.clone()).or_insert_with(|| {
            *next_epoch += 1;
            Partition { epoch: *next_epoch, next_offset: -1, holds: BTreeMap::new() }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    fn offsets(ledger: &Ledger) -> Vec<(TopicPartition, i64)> {
        let mut all = ledger.committable().unwrap();
        all.sort();
        all
    }

    #[test]
    fn commits_stop_at_the_first_hold() {
        let ledger = Ledger::default();
        for offset in 10..15 {
            ledger.accept(&tp(0), offset);
        }
        ledger.hold(&tp(0), 13);
        ledger.hold(&tp(0), 11);
        assert_eq!(offsets(&ledger), vec![(tp(0), 11)]);
        ledger.release(&tp(0), 11);
        assert_eq!(offsets(&ledger), vec![(tp(0), 13)]);
        ledger.release(&tp(0), 13);
        assert_eq!(offsets(&ledger), vec![(tp(0), 15)]);
    }

    #[test]
    fn taken_records_are_not_new() {
        let ledger = Ledger::default();
        ledger.accept(&tp(0), 5);
        assert!(!ledger.is_new(&tp(0), 5) && !ledger.is_new(&tp(0), 4));
        assert!(ledger.is_new(&tp(0), 6) && ledger.is_new(&tp(1), 0));
    }

    #[test]
    fn a_forgotten_partition_starts_afresh_and_old_uploads_do_not_touch_it() {
        let ledger = Ledger::default();
        let old_epoch = ledger.accept(&tp(1), 0);
        ledger.hold(&tp(1), 0);
        assert!(ledger.forget(&tp(1)));
        assert!(ledger.is_new(&tp(1), 0), "nothing of the old stay is kept");
        let new_epoch = ledger.accept(&tp(1), 0);
        ledger.hold(&tp(1), 0);
        assert_ne!(old_epoch, new_epoch);
        ledger.stored(&tp(1), old_epoch, 0);
        assert_eq!(offsets(&ledger), vec![(tp(1), 0)], "the old upload does not release the new hold");
        ledger.stored(&tp(1), new_epoch, 0);
        assert_eq!(offsets(&ledger), vec![(tp(1), 1)]);
    }

    #[test]
    fn a_failure_fails_every_later_call() {
        let ledger = Ledger::default();
        ledger.accept(&tp(0), 0);
        ledger.fail(SinkError::UploadFailed { key: "k".into(), message: "HTTP 403".into() });
        assert!(matches!(ledger.committable(), Err(SinkError::UploadFailed { .. })));
        assert!(ledger.check_healthy().is_err());
    }

    #[test]
    fn the_oldest_waiting_record_is_the_oldest_hold() {
        let ledger = Ledger::default();
        assert_eq!(ledger.oldest_waiting(), None);
        ledger.hold(&tp(0), 3);
        let first = ledger.oldest_waiting().unwrap();
        ledger.hold(&tp(1), 9);
        assert_eq!(ledger.oldest_waiting(), Some(first));
    }
}
