use thiserror::Error;

/// How Java should surface an error, following Kafka Connect's contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later (RetriableException): the store is busy or unreachable.
    Retriable,
    /// The configuration is wrong (ConnectException naming the key).
    Config,
    /// The task cannot go on (ConnectException).
    Fatal,
}

#[derive(Debug, Clone, Error)]
pub enum SinkError {
    #[error("{key}: {message}")]
    Config { key: String, message: String },

    #[error("object store unavailable: {0}")]
    StoreUnavailable(String),

    #[error("upload of {key} failed: {message}")]
    UploadFailed { key: String, message: String },

    #[error(
        "open objects of {partitions} partition(s) fill upload.max.inflight.bytes ({limit} bytes) and none of \
         them is complete: raise upload.max.inflight.bytes above flush.size x record size x partitions, lower \
         flush.size, or set rotate.schedule.interval.ms to let the task close objects early (their boundaries then \
         depend on timing)"
    )]
    OpenObjectsFillMemory { partitions: usize, limit: usize },

    #[error("the sink is closed")]
    Closed,
}

impl SinkError {
    pub fn config(key: &str, message: impl Into<String>) -> Self {
        SinkError::Config { key: key.to_string(), message: message.into() }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            SinkError::Config { .. } => ErrorClass::Config,
            SinkError::StoreUnavailable(_) => ErrorClass::Retriable,
            SinkError::UploadFailed { .. } | SinkError::OpenObjectsFillMemory { .. } | SinkError::Closed => {
                ErrorClass::Fatal
            }
        }
    }
}

/// What a caught panic says: its message when it has one.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
