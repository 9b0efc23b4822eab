//! The sink engine: everything the connector does except talking to the JVM.
//! `Sink` is the entry point; `record` holds what it takes in.

pub mod allowed_paths;
pub mod attributes;
pub mod concurrency;
pub mod config;
mod connections;
pub mod decoding;
pub mod error;
pub mod joda;
mod ledger;
pub mod logging;
mod memory;
pub mod metrics;
pub mod naming;
pub mod objects;
pub mod record;
mod runtime;
pub mod sink;
pub mod store;
pub mod sts;
pub mod upload;
pub mod verify;

pub use config::SinkConfig;
pub use error::{ErrorClass, SinkError};
pub use sink::{Probe, PutOutcome, Sink};

/// Checks a connector configuration as a task would start it, store probe included.
/// Returns the problems as (connector key, message).
pub fn validate(config: SinkConfig) -> Vec<(String, String)> {
    match Sink::start(config, "validate", Probe::Strict) {
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
