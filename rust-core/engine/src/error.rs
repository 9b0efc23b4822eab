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

#[derive(Debug, Error)]
pub enum SinkError {
    #[error("{key}: {message}")]
    Config { key: String, message: String },

    #[error("upload buffer full: {inflight} bytes not yet stored (upload.max.inflight.bytes = {limit}); will retry")]
    Backpressure { inflight: usize, limit: usize },

    #[error("object store unavailable: {0}")]
    StoreUnavailable(String),

    #[error("upload of {key} failed: {message}")]
    UploadFailed { key: String, message: String },

    #[error("bad record batch from Java: {0}")]
    BadBatch(String),

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
            SinkError::Backpressure { .. } | SinkError::StoreUnavailable(_) => ErrorClass::Retriable,
            SinkError::UploadFailed { .. } | SinkError::BadBatch(_) | SinkError::Closed => ErrorClass::Fatal,
        }
    }
}
