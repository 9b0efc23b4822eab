//! The sink engine behind one Connect task: takes record batches, groups them into
//! objects, uploads them concurrently and tells which offsets are durable.

use crate::concurrency::UploadSlots;
use crate::config::SinkConfig;
use crate::decoding::{decode_record, DecodedRecord, RecordFailure};
use crate::error::SinkError;
use crate::objects::{ClosedObject, OpenObject};
use crate::progress::Progress;
use crate::record::{decode_batch, RecordRef, TopicPartition};
use crate::{runtime, store};
use bytes::Bytes;
use object_store::path::Path;
use object_store::ObjectStore;
use sinetstream_codec::Decoder;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::runtime::Runtime;

/// How long `put` waits for upload room before asking Connect to retry the batch.
const PUT_WAIT: Duration = Duration::from_secs(10);
/// How long closing a sink waits for its uploads to finish.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Records of a batch that could not be decoded, by their index in the batch.
#[derive(Debug, Default)]
pub struct PutOutcome {
    pub failures: Vec<(usize, RecordFailure)>,
}

pub struct Sink {
    config: Arc<SinkConfig>,
    decoder: Decoder,
    store: Arc<dyn ObjectStore>,
    runtime: Option<Arc<Runtime>>,
    progress: Arc<Progress>,
    open: Mutex<HashMap<TopicPartition, OpenObject>>,
    upload_slots: Arc<UploadSlots>,
}

impl Sink {
    /// Builds the sink and checks that the store answers and accepts our credentials.
    pub fn start(config: SinkConfig) -> Result<Sink, SinkError> {
        let decoder = Decoder::new(config.decoder.clone()).map_err(|e| SinkError::config("sinetstream.*", e.reason))?;
        let store = store::open_store(&config.store)?;
        let runtime =
            runtime::acquire().map_err(|e| SinkError::StoreUnavailable(format!("cannot start I/O threads: {e}")))?;
        let probed = runtime.block_on(store::probe(&*store, &config.store, &config.naming.topics_dir));
        if let Err(e) = probed {
            runtime::release(runtime);
            return Err(e);
        }
        Ok(Sink {
            upload_slots: UploadSlots::new(config.upload_concurrency_floor, config.upload_concurrency),
            progress: Arc::new(Progress::new(config.max_inflight_bytes)),
            config: Arc::new(config),
            decoder,
            store,
            runtime: Some(runtime),
            open: Mutex::new(HashMap::new()),
        })
    }

    pub fn config(&self) -> &SinkConfig {
        &self.config
    }

    /// Accepts a batch (the layout of `record.rs`). Either the whole batch is taken or,
    /// when memory is full for too long, none of it (`Backpressure`) so Connect can retry.
    pub fn put(&self, batch: Bytes) -> Result<PutOutcome, SinkError> {
        self.progress.check_healthy()?;
        self.forget_parked();
        self.close_idle_objects();
        let records = decode_batch(batch)?;
        let fresh: Vec<(usize, &RecordRef)> =
            records.iter().enumerate().filter(|(_, r)| self.progress.is_new(&r.tp, r.offset)).collect();
        let now_ms = wallclock_ms();
        let decoded: Vec<_> = fresh
            .iter()
            .map(|(_, r)| decode_record(&self.decoder, self.config.timestamp_extractor, r, now_ms))
            .collect();
        let needed = decoded.iter().flatten().map(|d| d.payload.len()).sum();
        self.wait_for_room(needed)?;
        let mut outcome = PutOutcome::default();
        let mut closed = Vec::new();
        {
            let mut open = self.lock_open();
            for ((index, record), result) in fresh.into_iter().zip(decoded) {
                if !self.progress.accept(&record.tp, record.offset) {
                    continue; // already taken: Connect redelivered it
                }
                match result {
                    Ok(d) => closed.extend(self.add(&mut open, record, d)),
                    Err(failure) => {
                        self.progress.hold(&record.tp, record.offset);
                        outcome.failures.push((index, failure));
                    }
                }
            }
        }
        for (tp, object) in closed {
            self.spawn_upload(tp, object);
        }
        Ok(outcome)
    }

    /// Adds one decoded record to its partition's open object; returns objects it closed.
    fn add(
        &self,
        open: &mut HashMap<TopicPartition, OpenObject>,
        record: &RecordRef,
        decoded: DecodedRecord,
    ) -> Vec<(TopicPartition, ClosedObject)> {
        let config = &self.config;
        let tp = &record.tp;
        let mut closed = Vec::new();
        if open.get(tp).is_some_and(|o| o.must_rotate_before(config, &decoded)) {
            closed.extend(self.close_object(open, tp));
        }
        let object = open.entry(tp.clone()).or_insert_with(|| {
            self.progress.hold(tp, record.offset);
            OpenObject::start(config, &tp.topic, record.offset, &decoded)
        });
        let added = object.push(config, record.offset, decoded);
        self.progress.add_buffered(added);
        if object.is_full(config) {
            closed.extend(self.close_object(open, tp));
        }
        closed
    }

    fn close_object(
        &self,
        open: &mut HashMap<TopicPartition, OpenObject>,
        tp: &TopicPartition,
    ) -> Option<(TopicPartition, ClosedObject)> {
        let object = open.remove(tp)?.close(&self.config, &tp.topic, tp.partition);
        self.progress.start_upload(object.bytes);
        Some((tp.clone(), object))
    }

    fn spawn_upload(&self, tp: TopicPartition, object: ClosedObject) {
        let Some(runtime) = &self.runtime else { return };
        let epoch = self.progress.epoch_of(&tp);
        let store = self.store.clone();
        let slots = self.upload_slots.clone();
        let progress = self.progress.clone();
        let part_size = self.config.part_size;
        let deadline = Instant::now() + self.config.retry_timeout;
        runtime.spawn(async move {
            let uploads = object.files.into_iter().map(|(key, data)| {
                let (store, slots, progress, tp) = (store.clone(), slots.clone(), progress.clone(), tp.clone());
                async move {
                    let slot = slots.acquire().await?;
                    let single_put = data.len() <= part_size;
                    let still_ours = || progress.is_current(&tp, epoch);
                    let attempts = upload_with_retry(&*store, key, data, part_size, deadline, still_ours).await?;
                    if attempts == 1 && single_put {
                        slot.completed();
                    }
                    Ok::<(), SinkError>(())
                }
            });
            let result = futures::future::try_join_all(uploads).await.map(|_| ());
            progress.finish_upload(&tp, epoch, object.first_offset, object.bytes, result);
        });
    }

    /// Waits until `needed` more bytes fit under `upload.max.inflight.bytes`.
    fn wait_for_room(&self, needed: usize) -> Result<(), SinkError> {
        let deadline = Instant::now() + PUT_WAIT;
        loop {
            match self.progress.wait_for_room(needed, deadline)? {
                crate::progress::Room::Available => return Ok(()),
                // Only open objects hold the memory and no upload will free it: close them.
                crate::progress::Room::OnlyBuffered => self.close_all_objects(),
            }
        }
    }

    fn close_all_objects(&self) {
        self.close_objects_where(|_| true);
    }

    /// `rotate.schedule.interval.ms`: objects open longer than this (wall clock) close.
    fn close_idle_objects(&self) {
        if let Some(limit) = self.config.rotate_schedule_interval {
            self.close_objects_where(|object| object.opened_at.elapsed() >= limit);
        }
    }

    fn close_objects_where(&self, should_close: impl Fn(&OpenObject) -> bool) {
        let closed: Vec<_> = {
            let mut open = self.lock_open();
            let chosen: Vec<_> = open.iter().filter(|(_, o)| should_close(o)).map(|(tp, _)| tp.clone()).collect();
            chosen.iter().filter_map(|tp| self.close_object(&mut open, tp)).collect()
        };
        for (tp, object) in closed {
            self.spawn_upload(tp, object);
        }
    }

    /// Offsets errant records were reported at: they no longer hold back commits.
    pub fn resolve_failures(&self, records: &[(TopicPartition, i64)]) {
        for (tp, offset) in records {
            self.progress.release_hold(tp, *offset);
        }
    }

    /// For each partition with accepted records: the offset up to which (exclusive)
    /// every record is durably stored or reported. Fails when an upload failed for good.
    pub fn committable(&self) -> Result<Vec<(TopicPartition, i64)>, SinkError> {
        self.close_idle_objects();
        self.progress.committable()
    }

    /// Partitions revoked by a rebalance. Connect's default (eager) protocol revokes every
    /// partition before each assignment and often hands most of them back, so they are
    /// kept, uploads and open objects included, until the rebalance ends.
    pub fn close_partitions(&self, partitions: &[TopicPartition]) {
        for tp in partitions {
            self.progress.park(tp);
        }
    }

    /// Partitions assigned by a rebalance. Those this task held before keep what it took:
    /// Connect delivers them again from the committed offset, and records already taken are
    /// skipped instead of stored twice. Revoked partitions not handed back are forgotten.
    pub fn open_partitions(&self, partitions: &[TopicPartition]) {
        for tp in partitions {
            self.progress.revive(tp);
        }
        self.forget_parked();
    }

    /// Drops what is left of partitions another task owns now: open objects (their offsets
    /// were not committed, so the next owner reads them again) and uploads not yet started.
    fn forget_parked(&self) {
        let gone = self.progress.forget_parked();
        if gone.is_empty() {
            return;
        }
        let mut open = self.lock_open();
        for tp in &gone {
            if let Some(object) = open.remove(tp) {
                self.progress.drop_buffered(object.bytes);
            }
        }
    }

    /// Waits briefly for running uploads, then releases the I/O threads.
    pub fn close(mut self) {
        self.progress.wait_for_uploads(CLOSE_WAIT);
        if let Some(runtime) = self.runtime.take() {
            runtime::release(runtime);
        }
    }

    fn lock_open(&self) -> MutexGuard<'_, HashMap<TopicPartition, OpenObject>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime::release(runtime);
        }
    }
}

/// Uploads one object, retrying with backoff and jitter until it succeeds, fails for a
/// reason no retry can fix, or `deadline` passes. Gives up quietly once the partition
/// belongs to another task, which stores the object itself. Returns the attempts made.
async fn upload_with_retry(
    store: &dyn ObjectStore,
    key: String,
    data: Bytes,
    part_size: usize,
    deadline: Instant,
    still_ours: impl Fn() -> bool,
) -> Result<u32, SinkError> {
    let path = Path::from(key.as_str());
    let mut backoff = Duration::from_millis(100);
    let mut attempts = 0;
    loop {
        if !still_ours() {
            return Ok(attempts);
        }
        attempts += 1;
        match store::upload(store, &path, data.clone(), part_size).await {
            Ok(()) => return Ok(attempts),
            Err(e) if store::is_permanent(&e) || Instant::now() >= deadline => {
                return Err(SinkError::UploadFailed { key, message: e.to_string() });
            }
            Err(_) => {
                let jitter = Duration::from_millis(fastrand::u64(0..=backoff.as_millis() as u64 / 2));
                tokio::time::sleep(backoff + jitter).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn wallclock_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
