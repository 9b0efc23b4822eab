//! The sink engine: everything the connector does except talking to the JVM.
//! `Sink` is the entry point; `record` holds the byte layouts shared with Java.

pub mod concurrency;
pub mod config;
pub mod decoding;
pub mod error;
pub mod joda;
pub mod naming;
pub mod objects;
mod progress;
pub mod record;
mod runtime;
pub mod sink;
pub mod store;
pub mod verify;

pub use config::SinkConfig;
pub use error::{ErrorClass, SinkError};
pub use sink::{PutOutcome, Sink};

/// Checks a connector configuration as a task would start it, store probe included.
/// Returns the problems as (connector key, message).
pub fn validate(config_json: &str) -> Vec<(String, String)> {
    let config = match SinkConfig::from_json(config_json) {
        Ok(config) => config,
        Err(e) => return vec![error_entry(e)],
    };
    match Sink::start(config) {
        Ok(sink) => {
            sink.close();
            Vec::new()
        }
        Err(e) => vec![error_entry(e)],
    }
}

fn error_entry(error: SinkError) -> (String, String) {
    match error {
        SinkError::Config { key, message } => (key, message),
        other => ("store.url".to_string(), other.to_string()),
    }
}
