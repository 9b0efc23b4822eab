//! The sink engine behind one Connect task: takes records, groups them into objects, hands
//! closed objects to the uploader, and tells which offsets are durable.
//!
//! A partition's state lives from the first record after `open` until `close`: then its
//! open objects are dropped and its uploads cancelled, whether the rebalance hands it back
//! or not. Connect delivers it again from the committed offset, and the objects rebuilt
//! from there have the same boundaries and names, so nothing is lost or doubled.

use crate::config::{SinkConfig, TimestampExtractor};
use crate::decoding::{decode_record, DecodedRecord, RecordFailure};
use crate::error::SinkError;
use crate::ledger::Ledger;
use crate::memory::{MemoryBudget, Reservation};
use crate::metrics::{Gauges, Metrics};
use crate::objects::{ClosedObject, OpenObject, MAX_KEY_BYTES};
use crate::record::{Record, TopicPartition};
use crate::upload::{UploadError, UploadSettings, Uploader};
use crate::{runtime, store, task_log};
use log::Level;
use sinetstream_codec::Decoder;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

/// How long `put` waits for uploads to free memory before it hands the rest of the batch
/// back to Java, which offers it again after a pause (Connect's poll loop must go on).
const PUT_WAIT: Duration = Duration::from_secs(1);
/// How long closing a sink waits for its cancelled uploads to abort and end.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// What `put` did with a batch: it took the first `taken` records (the rest did not fit in
/// memory and must be offered again); `failures` are records among them it cannot store.
#[derive(Debug, Default)]
pub struct PutOutcome {
    pub taken: usize,
    pub failures: Vec<(usize, RecordFailure)>,
}

/// Whether the start-up check of the store may pass over a store that does not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `validate`: every problem is reported.
    Strict,
    /// A task starting: a store that is down only delays uploads, which retry.
    Lenient,
}

pub struct Sink {
    config: Arc<SinkConfig>,
    decoder: Arc<Decoder>,
    runtime: Option<Arc<Runtime>>,
    uploader: Arc<Uploader>,
    ledger: Arc<Ledger>,
    memory: Arc<MemoryBudget>,
    metrics: Arc<Metrics>,
    running: Arc<Running>,
    /// Per source partition (where Connect commits): its open object and the token that
    /// cancels its uploads.
    partitions: Mutex<HashMap<TopicPartition, PartitionState>>,
    stopping: CancellationToken,
    context: Arc<str>,
    backpressure_since: Mutex<Option<Instant>>,
    /// Per target topic, whether its every key fits S3's limit (see `every_key_fits`).
    fitting_topics: Mutex<HashMap<Arc<str>, bool>>,
}

struct PartitionState {
    open: Option<OpenObject>,
    cancel: CancellationToken,
}

impl Sink {
    /// Builds the sink and checks that the store answers and accepts our credentials.
    /// `context` names the task in log lines, as Connect's MDC does (`s3-sink|task-0`).
    pub fn start(config: SinkConfig, context: &str, probe: Probe) -> Result<Sink, SinkError> {
        let context: Arc<str> = Arc::from(context);
        let runtime =
            runtime::acquire().map_err(|e| SinkError::StoreUnavailable(format!("cannot start I/O threads: {e}")))?;
        let store = match store::open_store(&config.store) {
            Ok(store) => store,
            Err(e) => {
                runtime::release(runtime);
                return Err(e);
            }
        };
        if let Err(failure) =
            runtime.block_on(store::probe(&store, &config.store, &config.naming.topics_dir, &config.attributes))
        {
            if probe == Probe::Strict || !failure.unreachable {
                runtime::release(runtime);
                return Err(failure.error);
            }
            task_log!(context, Level::Warn, "{}; uploads will retry until it answers", failure.error);
        }
        let metrics = Arc::new(Metrics::default());
        let settings = UploadSettings {
            part_size: config.part_size,
            retry_timeout: config.retry_timeout,
            concurrency_floor: config.upload_concurrency_floor,
            concurrency: config.upload_concurrency,
            attributes: config.attributes.clone(),
        };
        let location = format!("{}/{}", config.store.location_text(), config.store.bucket);
        let uploader = Arc::new(Uploader::new(store, &location, &settings, metrics.clone(), context.clone()));
        let sink = Sink {
            memory: MemoryBudget::new(config.max_inflight_bytes),
            decoder: config.decoder.clone(),
            config: Arc::new(config),
            runtime: Some(runtime),
            uploader,
            ledger: Arc::new(Ledger::default()),
            metrics,
            running: Arc::new(Running::default()),
            partitions: Mutex::new(HashMap::new()),
            stopping: CancellationToken::new(),
            context,
            backpressure_since: Mutex::new(None),
            fitting_topics: Mutex::new(HashMap::new()),
        };
        // A validation (connector create, REST validate) starts nothing: no start-up line.
        if probe == Probe::Lenient {
            sink.log_start();
        }
        Ok(sink)
    }

    fn log_start(&self) {
        let c = &self.config;
        let s = &c.store;
        task_log!(
            self.context,
            Level::Info,
            "started: store {} (region {}, path-style {}, credentials: {:?}{}, {}), bucket {}, objects \
             {}/<topic>/{}, flush.size {}, part size {} bytes, upload concurrency {}..{}, in-flight limit {} bytes, \
             retry timeout {} s, messages: {}",
            s.location_text(),
            s.region,
            s.path_style,
            store::credential_source(s),
            s.role.as_ref().map(|role| format!(" assuming {}", role.arn)).unwrap_or_default(),
            store::describe_settings(s),
            s.bucket,
            c.naming.topics_dir,
            c.naming.path_format.source(),
            c.flush_size,
            c.part_size,
            c.upload_concurrency_floor,
            c.upload_concurrency,
            c.max_inflight_bytes,
            c.retry_timeout.as_secs(),
            crate::decoding::describe(c.decoder.config()),
        );
        let by_the_clock = [
            (c.rotate_schedule_interval.is_some(), "rotate.schedule.interval.ms closes objects by the clock"),
            (
                c.timestamp_extractor == TimestampExtractor::Wallclock,
                "timestamp.extractor=Wallclock picks directories by the clock",
            ),
        ];
        for (_, what) in by_the_clock.iter().filter(|(set, _)| *set) {
            task_log!(
                self.context,
                Level::Warn,
                "{what}: after a crash, records read again may be grouped or placed differently, so some may be \
                 stored in two objects"
            );
        }
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn gauges(&self) -> Gauges {
        let slots = self.uploader.slots();
        Gauges {
            inflight_bytes: self.memory.used() as u64,
            inflight_limit: self.memory.limit() as u64,
            upload_concurrency: slots.limit() as u64,
            upload_concurrency_max: slots.ceiling() as u64,
            open_objects: self.lock_partitions().values().filter(|p| p.open.is_some()).count() as u64,
            oldest_waiting_ms: self.ledger.oldest_waiting().map_or(0, |at| at.elapsed().as_millis() as u64),
        }
    }

    /// Takes records in order until one does not fit in memory; see `PutOutcome`.
    pub fn put(&self, records: Vec<Record>) -> Result<PutOutcome, SinkError> {
        self.ledger.check_healthy()?;
        self.close_scheduled_objects();
        let now_ms = wallclock_ms();
        let mut outcome = PutOutcome::default();
        let offered = records.len();
        for (index, record) in records.into_iter().enumerate() {
            if self.ledger.is_new(&record.source.tp, record.source.offset) {
                Metrics::add(&self.metrics.records_received, 1);
                match self.take(record, now_ms)? {
                    Taken::Stored => {}
                    Taken::Failed(failure) => outcome.failures.push((index, failure)),
                    Taken::NoRoom => break,
                }
            }
            outcome.taken = index + 1;
        }
        self.note_backpressure(outcome.taken < offered);
        Ok(outcome)
    }

    fn take(&self, record: Record, now_ms: i64) -> Result<Taken, SinkError> {
        let source = record.source.clone();
        let refuse = |failure: RecordFailure| {
            // An errant record ends the open object, so that every object holds consecutive
            // offsets: [first, first + records) is what verify and the tests read from it.
            self.close_open_object(&source.tp);
            self.ledger.accept(&source.tp, source.offset);
            self.ledger.hold(&source.tp, source.offset);
            Metrics::add(&self.metrics.records_errant, 1);
            Ok(Taken::Failed(failure))
        };
        let decoded = match decode_record(&self.decoder, self.config.timestamp_extractor, &record, now_ms) {
            Ok(decoded) => decoded,
            Err(failure) => return refuse(failure),
        };
        let line = OpenObject::timestamp_line_of(&self.config, &decoded);
        let bytes = OpenObject::bytes_of(&self.config, &decoded, line.as_deref());
        if bytes > self.memory.limit() {
            let limit = self.memory.limit();
            return refuse(RecordFailure::new(
                "too-large",
                format!("the record needs {bytes} bytes, more than upload.max.inflight.bytes ({limit})"),
            ));
        }
        if !self.every_key_fits(&record.target.tp.topic) {
            let key_bytes = OpenObject::key_length(&self.config, &record.target, &decoded);
            if key_bytes > MAX_KEY_BYTES {
                return refuse(RecordFailure::new(
                    "key-too-long",
                    format!("its object key would be {key_bytes} bytes, more than S3's {MAX_KEY_BYTES}"),
                ));
            }
        }
        let Some(memory) = self.reserve(bytes)? else { return Ok(Taken::NoRoom) };
        self.add(record, decoded, line, memory);
        Ok(Taken::Stored)
    }

    /// Whether every key the topic can give fits S3's limit (the configured topics are checked at
    /// start; others, from topics.regex or a transform, once when first seen), so that the
    /// records of a topic that fits need no check of their own.
    fn every_key_fits(&self, topic: &Arc<str>) -> bool {
        let mut fitting = self.fitting_topics.lock().unwrap_or_else(|e| e.into_inner());
        *fitting.entry(topic.clone()).or_insert_with(|| self.config.naming.longest_key(topic) <= MAX_KEY_BYTES)
    }

    /// Room for `bytes`, waiting up to `PUT_WAIT` for uploads to give memory back. Open
    /// objects alone never give any back: closing them early would make object boundaries
    /// depend on timing, so that is done only where `rotate.schedule.interval.ms` allows it.
    fn reserve(&self, bytes: usize) -> Result<Option<Reservation>, SinkError> {
        if let Some(reservation) = self.memory.try_reserve(bytes) {
            return Ok(Some(reservation));
        }
        let deadline = Instant::now() + PUT_WAIT;
        loop {
            let step = (Instant::now() + Duration::from_millis(50)).min(deadline);
            if let Some(reservation) = self.memory.reserve(bytes, step) {
                return Ok(Some(reservation));
            }
            if self.running.count() == 0 {
                // The last upload may have given its memory back just now.
                if let Some(reservation) = self.memory.reserve(bytes, Instant::now()) {
                    return Ok(Some(reservation));
                }
                if !self.close_oldest_object()? {
                    return Ok(None);
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    /// With nothing uploading, memory is full of open objects only.
    fn close_oldest_object(&self) -> Result<bool, SinkError> {
        let mut partitions = self.lock_partitions();
        if self.config.rotate_schedule_interval.is_none() {
            let open = partitions.values().filter(|p| p.open.is_some()).count();
            if open > 0 {
                return Err(SinkError::OpenObjectsFillMemory { partitions: open, limit: self.memory.limit() });
            }
            return Ok(false); // memory is held by nothing of ours yet: a moment's race
        }
        let oldest = partitions
            .iter()
            .filter_map(|(tp, p)| p.open.as_ref().map(|o| (o.opened_at, tp.clone())))
            .min()
            .map(|(_, tp)| tp);
        let Some(tp) = oldest else { return Ok(false) };
        let state = partitions.get_mut(&tp).expect("found above");
        if let Some(object) = &state.open {
            task_log!(self.context, Level::Info, "memory full of open objects: closing {} early", object.describe());
        }
        self.ship(&tp, state);
        Ok(true)
    }

    /// Adds one decoded record to its partition's open object, closing objects that end.
    fn add(&self, record: Record, decoded: DecodedRecord, line: Option<String>, memory: Reservation) {
        let config = &self.config;
        let source = record.source;
        let mut partitions = self.lock_partitions();
        let state = partitions
            .entry(source.tp.clone())
            .or_insert_with(|| PartitionState { open: None, cancel: self.stopping.child_token() });
        let epoch = self.ledger.accept(&source.tp, source.offset);
        if state.open.as_ref().is_some_and(|o| o.must_rotate_before(config, &record.target.tp, &decoded)) {
            self.ship(&source.tp, state);
        }
        let object = state.open.get_or_insert_with(|| {
            self.ledger.hold(&source.tp, source.offset);
            OpenObject::start(config, &record.target, source.offset, epoch, &decoded, self.memory.nothing())
        });
        object.push(config, decoded, line, memory);
        if object.is_full(config) {
            self.ship(&source.tp, state);
        }
    }

    fn close_open_object(&self, tp: &TopicPartition) {
        if let Some(state) = self.lock_partitions().get_mut(tp) {
            self.ship(tp, state);
        }
    }

    /// Closes the partition's open object, if it has one, and starts its upload.
    fn ship(&self, tp: &TopicPartition, state: &mut PartitionState) {
        if let Some(object) = state.open.take() {
            self.spawn_upload(tp.clone(), state.cancel.clone(), object.close(&self.config));
        }
    }

    /// Uploads an object's files side by side; the object is durable when all are stored.
    /// One that fails for good cancels the others (which abort what they started) and fails
    /// the task.
    fn spawn_upload(&self, tp: TopicPartition, cancel: CancellationToken, object: ClosedObject) {
        let Some(runtime) = &self.runtime else { return };
        let running = self.running.start();
        let (uploader, ledger, metrics) = (self.uploader.clone(), self.ledger.clone(), self.metrics.clone());
        let object_cancel = cancel.child_token();
        runtime.spawn(async move {
            let _running = running;
            let ClosedObject { first_source_offset, epoch, files, records, payload_bytes, memory } = object;
            let uploads = files.into_iter().map(|file| {
                let (uploader, cancel) = (uploader.clone(), object_cancel.clone());
                async move {
                    let outcome = uploader.upload(&file, &cancel).await;
                    if outcome.is_err() {
                        cancel.cancel();
                    }
                    outcome
                }
            });
            let outcomes = futures::future::join_all(uploads).await;
            let failure = outcomes.into_iter().find_map(|o| match o {
                Err(UploadError::Failed(e)) => Some(e),
                _ => None,
            });
            match failure {
                Some(error) if !cancel.is_cancelled() => ledger.fail(error),
                Some(_) => {} // the partition went elsewhere or the task stopped meanwhile
                None if object_cancel.is_cancelled() => {}
                None => {
                    ledger.stored(&tp, epoch, first_source_offset);
                    Metrics::add(&metrics.objects_stored, 1);
                    Metrics::add(&metrics.records_stored, records as u64);
                    Metrics::add(&metrics.payload_bytes_stored, payload_bytes as u64);
                }
            }
            drop(memory);
        });
    }

    /// Says when uploads start holding back new records, and when they stop.
    fn note_backpressure(&self, held_back: bool) {
        let mut since = self.backpressure_since.lock().unwrap_or_else(|e| e.into_inner());
        match (held_back, *since) {
            (true, None) => {
                *since = Some(Instant::now());
                task_log!(
                    self.context,
                    Level::Info,
                    "backpressure: {} bytes not yet stored (upload.max.inflight.bytes = {}), {} uploads running; \
                     new records wait",
                    self.memory.used(),
                    self.memory.limit(),
                    self.running.count()
                );
            }
            (false, Some(start)) => {
                *since = None;
                task_log!(self.context, Level::Info, "backpressure over after {:.1} s", start.elapsed().as_secs_f64());
            }
            _ => {}
        }
    }

    /// `rotate.schedule.interval.ms`: objects open longer than this (wall clock) close.
    fn close_scheduled_objects(&self) {
        let Some(limit) = self.config.rotate_schedule_interval else { return };
        let mut partitions = self.lock_partitions();
        for (tp, state) in partitions.iter_mut() {
            if state.open.as_ref().is_some_and(|o| o.opened_at.elapsed() >= limit) {
                self.ship(tp, state);
            }
        }
    }

    /// Offsets errant records were reported at: they no longer hold back commits.
    pub fn resolve_failures(&self, records: &[(TopicPartition, i64)]) {
        for (tp, offset) in records {
            self.ledger.release(tp, *offset);
        }
    }

    /// For each partition with records taken: the offset up to which (exclusive) every
    /// record is durably stored or reported. Fails once an upload failed for good.
    pub fn committable(&self) -> Result<Vec<(TopicPartition, i64)>, SinkError> {
        self.close_scheduled_objects();
        self.ledger.committable()
    }

    /// Partitions revoked or lost by a rebalance: their open objects are dropped and their
    /// uploads cancelled; the next owner, this task or another, reads them again from the
    /// committed offset.
    pub fn close_partitions(&self, partitions: &[TopicPartition]) {
        for tp in partitions {
            self.forget(tp, "closed by a rebalance");
        }
    }

    /// Partitions assigned by a rebalance start afresh. State left from before (which the
    /// close of a rebalance normally removes) is dropped: another task may have stored and
    /// committed them meanwhile.
    pub fn open_partitions(&self, partitions: &[TopicPartition]) {
        for tp in partitions {
            self.forget(tp, "assigned again");
        }
    }

    fn forget(&self, tp: &TopicPartition, why: &str) {
        let state = self.lock_partitions().remove(tp);
        let known = self.ledger.forget(tp);
        let Some(state) = state else {
            if known {
                task_log!(self.context, Level::Info, "partition {tp} {why}: forgot its errant records");
            }
            return;
        };
        state.cancel.cancel();
        match state.open {
            Some(object) => task_log!(
                self.context,
                Level::Info,
                "partition {tp} {why}: dropped its open object ({}) and cancelled its uploads",
                object.describe()
            ),
            None => task_log!(self.context, Level::Debug, "partition {tp} {why}: cancelled its uploads"),
        }
    }

    /// Cancels every upload, waits briefly for them to abort what they started, and
    /// releases the I/O threads. Nothing is written after this returns.
    pub fn close(mut self) {
        self.stopping.cancel();
        if !self.running.wait_idle(CLOSE_WAIT) {
            task_log!(
                self.context,
                Level::Warn,
                "{} uploads did not end within {CLOSE_WAIT:?} of the stop",
                self.running.count()
            );
        }
        if let Some(runtime) = self.runtime.take() {
            let uploader = self.uploader.clone();
            runtime.block_on(async move { tokio::time::timeout(CLOSE_WAIT, uploader.finish()).await.ok() });
            runtime::release(runtime);
        }
    }

    fn lock_partitions(&self) -> MutexGuard<'_, HashMap<TopicPartition, PartitionState>> {
        self.partitions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stopping.cancel();
        if let Some(runtime) = self.runtime.take() {
            runtime::release(runtime);
        }
    }
}

enum Taken {
    Stored,
    Failed(RecordFailure),
    NoRoom,
}

/// How many uploads are running, and a way to wait until none is.
#[derive(Default)]
struct Running {
    count: Mutex<usize>,
    idle: Condvar,
}

struct RunningGuard(Arc<Running>);

impl Running {
    fn start(self: &Arc<Self>) -> RunningGuard {
        *self.lock() += 1;
        RunningGuard(self.clone())
    }

    fn count(&self) -> usize {
        *self.lock()
    }

    fn wait_idle(&self, timeout: Duration) -> bool {
        let count = self.lock();
        let (count, _) = self.idle.wait_timeout_while(count, timeout, |n| *n > 0).unwrap_or_else(|e| e.into_inner());
        *count == 0
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        self.count.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        let mut count = self.0.lock();
        *count -= 1;
        if *count == 0 {
            self.0.idle.notify_all();
        }
    }
}

fn wallclock_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
