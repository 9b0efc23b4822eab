//! An object's whole life once it is closed: a slot among the concurrent uploads, a single
//! PUT or a multipart upload, retries with backoff and jitter until its deadline, the abort
//! of a multipart upload that failed or was cancelled, and what the store's answers tell the
//! concurrency controller. Nothing else in the engine talks to the store while uploading.

use crate::attributes::ObjectAttributes;
use crate::concurrency::UploadSlots;
use crate::error::{panic_text, SinkError};
use crate::logging::EveryInterval;
use crate::metrics::Metrics;
use crate::objects::ObjectFile;
use crate::store::{describe, http_status, summarize_answer, xml_field, Store};
use crate::task_log;
use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use log::Level;
use object_store::aws::AmazonS3;
use object_store::client::HttpError;
use object_store::local::LocalFileSystem;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{MultipartId, ObjectStore, ObjectStoreExt, PutPayload};
use once_cell::sync::Lazy;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// A dropped connection or a store that was briefly busy usually answers the next try.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// AWS SDKs cap their backoff for throttled requests at 20 s; waiting longer only delays
/// recovery once the store is back.
const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// Parts of one multipart upload sent at the same time.
const PARALLEL_PARTS: usize = 4;
/// An abort that takes longer than this is left to the retry of the next attempt (or to the
/// bucket's lifecycle rule for incomplete multipart uploads).
const ABORT_TIMEOUT: Duration = Duration::from_secs(10);
/// Retries after an object's first are summed up in one line per this interval.
const RETRY_SUMMARY_INTERVAL: Duration = Duration::from_secs(10);

/// S3 error codes that a retry can cure although their HTTP status is a 4xx, as the AWS
/// SDKs treat them: a slow client, clock skew, a token about to be refreshed, a conflicting
/// operation, an upload the store no longer knows (a new attempt starts a new one).
const TRANSIENT_CODES: [&str; 6] =
    ["RequestTimeout", "RequestTimeTooSkewed", "ExpiredToken", "OperationAborted", "NoSuchUpload", "InternalError"];
/// S3 error codes that ask for fewer requests.
const THROTTLING_CODES: [&str; 4] = ["SlowDown", "Throttling", "RequestLimitExceeded", "TooManyRequests"];

pub struct Uploader {
    store: Store,
    /// Shared with the other tasks of this worker that write to the same store.
    slots: Arc<UploadSlots>,
    part_size: usize,
    retry_timeout: Duration,
    attributes: ObjectAttributes,
    metrics: Arc<Metrics>,
    context: Arc<str>,
    retry_summary: EveryInterval,
    /// Some upload failed since one last succeeded: the next success says the store is back.
    failing: AtomicBool,
    /// The store, as the key of the multipart uploads left to abort (`UNABORTED`).
    location: String,
    /// Uploads waiting out a backoff after the store did not answer or failed; the first
    /// success wakes them, so a store that is back gets its backlog at once instead of after
    /// up to MAX_BACKOFF (throttled uploads keep their backoff).
    backing_off: AtomicUsize,
    store_answered: Notify,
}

pub struct UploadSettings {
    pub part_size: usize,
    pub retry_timeout: Duration,
    pub concurrency_floor: usize,
    pub concurrency: usize,
    pub attributes: ObjectAttributes,
}

#[derive(Debug)]
pub enum UploadError {
    /// The task stopped or lost the partition; nothing more is written.
    Cancelled,
    /// The object cannot be stored: a permanent error, or retries ran out of time.
    Failed(SinkError),
}

/// How an attempt failed, as the metrics and the retry policy tell failures apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    Throttled,
    ServerError,
    Network,
    Permanent,
}

#[derive(Debug)]
struct AttemptFailure {
    class: FailureClass,
    /// The store's answer in one line, e.g. `HTTP 503 SlowDown: Please reduce your request rate.`
    summary: String,
    /// The store refused our credentials or their permissions (401/403).
    credentials: bool,
}

enum AttemptError {
    Cancelled,
    Failed(AttemptFailure),
}

impl From<object_store::Error> for AttemptError {
    fn from(error: object_store::Error) -> Self {
        AttemptError::Failed(classify(&error))
    }
}

impl Uploader {
    /// `location` names the store; tasks of this worker writing there share one concurrency budget.
    pub fn new(
        store: Store,
        location: &str,
        settings: &UploadSettings,
        metrics: Arc<Metrics>,
        context: Arc<str>,
    ) -> Self {
        Uploader {
            store,
            slots: UploadSlots::shared(location, settings.concurrency_floor, settings.concurrency),
            part_size: settings.part_size,
            retry_timeout: settings.retry_timeout,
            attributes: settings.attributes.clone(),
            metrics,
            context,
            retry_summary: EveryInterval::new(RETRY_SUMMARY_INTERVAL),
            failing: AtomicBool::new(false),
            location: location.to_string(),
            backing_off: AtomicUsize::new(0),
            store_answered: Notify::new(),
        }
    }

    pub fn slots(&self) -> &UploadSlots {
        &self.slots
    }

    /// Stores the file, retrying until it is stored, fails for a reason no retry can fix, or
    /// `upload.retry.timeout.ms` has passed since its first attempt. A panic on the way (a bug)
    /// fails the upload, so the task fails and says why instead of holding its commits forever.
    pub async fn upload(&self, file: &ObjectFile, cancel: &CancellationToken) -> Result<(), UploadError> {
        catching_panics(self.store_file(file, cancel)).await.unwrap_or_else(|panic| {
            let why = format!("the engine panicked: {panic}; please report this");
            task_log!(self.context, Level::Error, "giving up the upload of {}: {why}", file.key);
            Err(UploadError::Failed(SinkError::UploadFailed { key: file.key.clone(), message: why }))
        })
    }

    async fn store_file(&self, file: &ObjectFile, cancel: &CancellationToken) -> Result<(), UploadError> {
        let (key, data) = (file.key.as_str(), &file.data);
        let slot = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(UploadError::Cancelled),
            slot = self.slots.acquire() => slot.map_err(UploadError::Failed)?,
        };
        let path = Path::from(key);
        let first_attempt = Instant::now();
        let deadline = first_attempt + self.retry_timeout;
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1u32;
        loop {
            self.abort_leftovers().await;
            let started = Instant::now();
            let failure = match self.attempt(&path, file, cancel).await {
                Ok(()) => {
                    self.metrics.upload_took(started.elapsed());
                    if self.backing_off.load(Ordering::Relaxed) > 0 {
                        self.store_answered.notify_waiters();
                    }
                    if attempt > 1 {
                        self.log_recovery(key, attempt, first_attempt);
                    }
                    if attempt == 1 && !self.is_multipart(data) {
                        slot.completed();
                    }
                    return Ok(());
                }
                Err(AttemptError::Cancelled) => return Err(UploadError::Cancelled),
                Err(AttemptError::Failed(failure)) => failure,
            };
            self.count_failure(failure.class);
            let left = deadline.saturating_duration_since(Instant::now());
            if failure.class == FailureClass::Permanent || left.is_zero() {
                return Err(UploadError::Failed(self.give_up(key, attempt, first_attempt, &failure)));
            }
            // The budget is time: the last wait ends at the deadline, for one last attempt.
            let delay = jittered(backoff).min(left);
            if failure.class == FailureClass::Throttled {
                if let Some(limit) = self.slots.throttled() {
                    task_log!(self.context, Level::Debug, "store throttles requests: upload concurrency now {limit}");
                }
            }
            self.log_retry(key, attempt, delay, &failure);
            // Only a store that did not answer is known to be back when another upload gets
            // through; a full disk or a throttling store is not.
            let wake_early = failure.class == FailureClass::Network;
            self.backing_off.fetch_add(1, Ordering::Relaxed);
            let waited = tokio::select! {
                biased;
                _ = cancel.cancelled() => None,
                _ = self.store_answered.notified(), if wake_early => Some(Wait::WokenEarly),
                _ = tokio::time::sleep(delay) => Some(Wait::Full),
            };
            self.backing_off.fetch_sub(1, Ordering::Relaxed);
            match waited {
                None => return Err(UploadError::Cancelled),
                Some(Wait::Full) => backoff = (backoff * 2).min(MAX_BACKOFF),
                Some(Wait::WokenEarly) => {}
            }
            Metrics::add(&self.metrics.retries, 1);
            attempt += 1;
        }
    }

    fn is_multipart(&self, data: &Bytes) -> bool {
        matches!(self.store, Store::S3(_)) && data.len() > self.part_size
    }

    /// One attempt. A cancellation stops it between requests; a request already sent is
    /// awaited (bounded by the client's timeout), never dropped halfway: a dropped request
    /// may still be carried out by the store after the task has stopped, or leave a part
    /// behind an abort.
    async fn attempt(&self, path: &Path, file: &ObjectFile, cancel: &CancellationToken) -> Result<(), AttemptError> {
        if cancel.is_cancelled() {
            return Err(AttemptError::Cancelled);
        }
        let data = &file.data;
        match &self.store {
            Store::S3(s3) if data.len() > self.part_size => self.put_multipart(s3, path, file, cancel).await,
            Store::S3(s3) => {
                Metrics::add(&self.metrics.put_requests, 1);
                let options = self.attributes.put_options(file.kind, file.send_time.as_deref());
                s3.put_opts(path, PutPayload::from(data.clone()), options).await?;
                Ok(())
            }
            Store::Directory(dir) => put_file(dir, path, data).await,
        }
    }

    /// One multipart upload with parallel parts. Whatever ends it early (a failed part, the
    /// task stopping) aborts it once the parts in flight are answered, so the store keeps no
    /// parts nobody will complete.
    async fn put_multipart(
        &self,
        s3: &AmazonS3,
        path: &Path,
        file: &ObjectFile,
        cancel: &CancellationToken,
    ) -> Result<(), AttemptError> {
        Metrics::add(&self.metrics.multipart_requests, 1);
        let options = self.attributes.multipart_options(file.kind, file.send_time.as_deref());
        let id = s3.create_multipart_opts(path, options).await?;
        let sent = self.send_parts(s3, path, &id, &file.data, cancel).await;
        if sent.is_err() {
            self.abort(s3, path, id).await;
        }
        sent
    }

    async fn send_parts(
        &self,
        s3: &AmazonS3,
        path: &Path,
        id: &MultipartId,
        data: &Bytes,
        cancel: &CancellationToken,
    ) -> Result<(), AttemptError> {
        let failed = AtomicBool::new(false);
        let failed = &failed;
        let parts = (0..data.len()).step_by(self.part_size).enumerate().map(|(index, start)| async move {
            if cancel.is_cancelled() || failed.load(Ordering::Relaxed) {
                return Err(AttemptError::Cancelled);
            }
            Metrics::add(&self.metrics.multipart_requests, 1);
            let part = PutPayload::from(data.slice(start..(start + self.part_size).min(data.len())));
            let answer = s3.put_part(path, id, index, part).await;
            failed.fetch_or(answer.is_err(), Ordering::Relaxed);
            Ok(answer?)
        });
        // Every part is awaited, also after one failed: parts not yet sent then end at once.
        let answers: Vec<Result<PartId, AttemptError>> =
            futures::stream::iter(parts).buffered(PARALLEL_PARTS).collect().await;
        // The first real failure, rather than the parts it kept from being sent. Parts start in
        // order, so a part skipped for a failure comes after that failure; one skipped otherwise
        // was skipped for the cancellation checked below.
        let mut parts = Vec::with_capacity(answers.len());
        for answer in answers {
            match answer {
                Ok(part) => parts.push(part),
                Err(AttemptError::Cancelled) => {}
                Err(failure) => return Err(failure),
            }
        }
        if cancel.is_cancelled() {
            return Err(AttemptError::Cancelled);
        }
        Metrics::add(&self.metrics.multipart_requests, 1);
        s3.complete_multipart(path, id, parts).await?;
        Ok(())
    }

    async fn abort(&self, s3: &AmazonS3, path: &Path, id: MultipartId) {
        Metrics::add(&self.metrics.multipart_requests, 1);
        let outcome = tokio::time::timeout(ABORT_TIMEOUT, s3.abort_multipart(path, &id)).await;
        let problem = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(e)) => classify(&e).summary,
            Err(_) => format!("no answer within {ABORT_TIMEOUT:?}"),
        };
        task_log!(
            self.context,
            Level::Warn,
            "could not abort the multipart upload {id} of {path}: {problem}; trying again later"
        );
        unaborted().entry(self.location.clone()).or_default().push((path.clone(), id));
    }

    /// Tries again the aborts that failed before, e.g. while the store was unreachable, also
    /// those of a task of this worker that has stopped since (a task that failed after an
    /// outage and was restarted).
    pub async fn abort_leftovers(&self) {
        let Store::S3(s3) = &self.store else { return };
        let Some(leftovers) = unaborted().remove(&self.location) else { return };
        for (path, id) in leftovers {
            self.abort(s3, &path, id).await;
        }
    }

    /// At close: one more try for aborts that failed.
    pub async fn finish(&self) {
        self.abort_leftovers().await;
    }

    fn count_failure(&self, class: FailureClass) {
        let counter = match class {
            FailureClass::Throttled => &self.metrics.failures_throttled,
            FailureClass::ServerError => &self.metrics.failures_server,
            FailureClass::Network => &self.metrics.failures_network,
            FailureClass::Permanent => &self.metrics.failures_permanent,
        };
        Metrics::add(counter, 1);
    }

    /// The first retry of an object is said with its key; the rest are summed up once per
    /// interval, so a long outage gives one line per interval.
    fn log_retry(&self, key: &str, attempt: u32, delay: Duration, failure: &AttemptFailure) {
        let summary = &failure.summary;
        self.failing.store(true, Ordering::Relaxed);
        task_log!(
            self.context,
            Level::Debug,
            "upload of {key} failed (attempt {attempt}): {summary}; next in {delay:?}"
        );
        if attempt == 1 {
            task_log!(self.context, Level::Warn, "upload of {key} failed: {summary}; retrying in {delay:?}");
        } else if let Some(retries) = self.retry_summary.tick() {
            task_log!(
                self.context,
                Level::Warn,
                "still retrying uploads: {retries} retries since the last summary; latest: {key} attempt {attempt}: \
                 {summary}"
            );
        }
    }

    /// The first upload that succeeds after failures says so, once until uploads fail again.
    fn log_recovery(&self, key: &str, attempt: u32, first_attempt: Instant) {
        let elapsed = first_attempt.elapsed().as_secs_f64();
        let level = if self.failing.swap(false, Ordering::Relaxed) { Level::Info } else { Level::Debug };
        task_log!(
            self.context,
            level,
            "upload of {key} succeeded at attempt {attempt}, {elapsed:.1} s after its first"
        );
    }

    fn give_up(&self, key: &str, attempt: u32, first_attempt: Instant, failure: &AttemptFailure) -> SinkError {
        let elapsed = first_attempt.elapsed().as_secs();
        let why = match (failure.class, failure.credentials) {
            (FailureClass::Permanent, true) => format!(
                "{}; the store refused the credentials or their permissions (check aws.access.key.id, \
                 aws.secret.access.key and the bucket policy)",
                failure.summary
            ),
            (FailureClass::Permanent, false) => format!("{}; no retry can fix this", failure.summary),
            _ => format!(
                "{} after {attempt} attempts over {elapsed} s (upload.retry.timeout.ms = {})",
                failure.summary,
                self.retry_timeout.as_millis()
            ),
        };
        task_log!(self.context, Level::Error, "giving up the upload of {key}: {why}");
        SinkError::UploadFailed { key: key.to_string(), message: why }
    }
}

/// The future's output, or what its panic said.
async fn catching_panics<T>(future: impl std::future::Future<Output = T>) -> Result<T, String> {
    AssertUnwindSafe(future).catch_unwind().await.map_err(|panic| panic_text(panic.as_ref()))
}

/// Multipart uploads whose abort failed, per store, for the whole worker: the task that
/// started them may be gone when the store answers again. (A worker that is killed leaves them
/// to the bucket's lifecycle rule for incomplete multipart uploads.)
static UNABORTED: Lazy<Mutex<UnabortedByStore>> = Lazy::new(Default::default);

/// The store's location (endpoint and bucket) → the uploads (key, upload id) still to abort there.
type UnabortedByStore = HashMap<String, Vec<(Path, MultipartId)>>;

fn unaborted() -> std::sync::MutexGuard<'static, UnabortedByStore> {
    UNABORTED.lock().unwrap_or_else(|e| e.into_inner())
}

enum Wait {
    Full,
    WokenEarly,
}

/// Full jitter over the upper half: many uploads failing together do not retry together.
fn jittered(backoff: Duration) -> Duration {
    let half = backoff.as_millis() as u64 / 2;
    Duration::from_millis(half + fastrand::u64(0..=half))
}

/// A plain file, written to a staging file and renamed (object_store does both, fsync
/// included). Staging files a killed worker left beside the final name (`name#1`, ...) are
/// removed first: they are never objects, and would otherwise stay forever.
async fn put_file(dir: &Arc<LocalFileSystem>, path: &Path, data: &Bytes) -> Result<(), AttemptError> {
    if let Ok(file) = dir.path_to_filesystem(path) {
        for n in 1.. {
            let mut staging = file.clone().into_os_string();
            staging.push(format!("#{n}"));
            if std::fs::remove_file(&staging).is_err() {
                break;
            }
        }
    }
    dir.put(path, PutPayload::from(data.clone())).await?;
    Ok(())
}

/// Tells retriable failures from permanent ones, and throttling from the rest, from what
/// object_store reports: its error kind, the HTTP status and S3 error code in the response,
/// a connection error, or the local file system's error.
fn classify(error: &object_store::Error) -> AttemptFailure {
    let text = describe(error);
    let status = http_status(&text);
    let code = xml_field(&text, "Code");
    let summary = summarize_answer(&text);
    let credentials = matches!(status, Some(401 | 403))
        || matches!(error, object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. });
    let class = if code.is_some_and(|c| THROTTLING_CODES.contains(&c)) || matches!(status, Some(429 | 503)) {
        FailureClass::Throttled
    } else if code.is_some_and(|c| TRANSIENT_CODES.contains(&c)) || matches!(status, Some(408 | 500..=599)) {
        FailureClass::ServerError
    } else if credentials || status.is_some_and(|s| (400..500).contains(&s)) || is_permanent_kind(error) {
        FailureClass::Permanent
    } else if cause::<HttpError>(error).is_some() {
        FailureClass::Network
    } else {
        // Anything else, e.g. a full local disk: it may pass, so retry until the deadline.
        FailureClass::ServerError
    };
    AttemptFailure { class, summary, credentials: credentials && class == FailureClass::Permanent }
}

fn is_permanent_kind(error: &object_store::Error) -> bool {
    matches!(
        error,
        object_store::Error::NotFound { .. }
            | object_store::Error::InvalidPath { .. }
            | object_store::Error::NotSupported { .. }
            | object_store::Error::NotImplemented { .. }
            | object_store::Error::UnknownConfigurationKey { .. }
    ) || cause::<std::io::Error>(error).is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
}

fn cause<'a, T: std::error::Error + 'static>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic(text: &str) -> object_store::Error {
        object_store::Error::Generic { store: "S3", source: text.to_string().into() }
    }

    fn class_of(error: object_store::Error) -> FailureClass {
        classify(&error).class
    }

    #[test]
    fn a_panic_in_an_upload_is_its_outcome_not_a_lost_task() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let panicking = async { panic!("index out of bounds") };
        let outcome: Result<(), String> = runtime.block_on(catching_panics(panicking));
        assert_eq!(outcome, Err("index out of bounds".to_string()));
        assert_eq!(runtime.block_on(catching_panics(async { 7 })), Ok(7));
    }

    #[test]
    fn throttling_server_errors_and_client_errors_are_told_apart() {
        let slow_down = generic(
            "Error performing PUT http://s3/b/k in 3ms - Server returned non-2xx status code: 503 Service \
             Unavailable: <Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
        );
        let failure = classify(&slow_down);
        assert_eq!(failure.class, FailureClass::Throttled);
        assert_eq!(failure.summary, "HTTP 503 SlowDown: Please reduce your request rate.");
        assert_eq!(
            class_of(generic("Server returned non-2xx status code: 429 Too Many Requests: ")),
            FailureClass::Throttled
        );
        assert_eq!(class_of(generic("status code: 500 Internal Server Error: ")), FailureClass::ServerError);
        assert_eq!(class_of(generic("status code: 408 Request Timeout: ")), FailureClass::ServerError);
        assert_eq!(
            class_of(generic("status code: 400 Bad Request: <Code>KeyTooLongError</Code>")),
            FailureClass::Permanent
        );
        assert_eq!(
            class_of(generic("status code: 400 Bad Request: <Code>RequestTimeout</Code>")),
            FailureClass::ServerError,
            "a 4xx the SDKs retry"
        );
    }

    #[test]
    fn refused_credentials_are_permanent_except_clock_skew() {
        let denied = object_store::Error::PermissionDenied {
            path: "k".into(),
            source: "status code: 403 Forbidden: <Code>AccessDenied</Code>".into(),
        };
        let failure = classify(&denied);
        assert_eq!((failure.class, failure.credentials), (FailureClass::Permanent, true));
        let skewed = object_store::Error::PermissionDenied {
            path: "k".into(),
            source: "status code: 403 Forbidden: <Code>RequestTimeTooSkewed</Code>".into(),
        };
        assert_eq!(class_of(skewed), FailureClass::ServerError);
    }

    #[test]
    fn a_missing_bucket_is_permanent_a_forgotten_upload_is_not() {
        let bucket = object_store::Error::NotFound {
            path: "k".into(),
            source: "status code: 404 Not Found: <Code>NoSuchBucket</Code>".into(),
        };
        assert_eq!(class_of(bucket), FailureClass::Permanent);
        let upload = object_store::Error::NotFound {
            path: "k".into(),
            source: "status code: 404 Not Found: <Code>NoSuchUpload</Code>".into(),
        };
        assert_eq!(class_of(upload), FailureClass::ServerError);
    }

    #[test]
    fn local_disk_errors_retry_unless_access_is_denied() {
        let full = object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::other("No space left on device (os error 28)")),
        };
        assert_eq!(class_of(full), FailureClass::ServerError);
        let denied = object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::from(std::io::ErrorKind::PermissionDenied)),
        };
        assert_eq!(class_of(denied), FailureClass::Permanent);
    }

    #[test]
    fn jitter_stays_within_the_upper_half() {
        for _ in 0..100 {
            let delay = jittered(Duration::from_millis(400));
            assert!(delay >= Duration::from_millis(200) && delay <= Duration::from_millis(400), "{delay:?}");
        }
    }
}
