//! Groups consecutive records of one partition into objects: a new object starts when
//! `flush.size` records are in, when a record falls into another time bucket, or when the
//! record times span `rotate.interval.ms`. Boundaries depend only on the records, so a
//! replay after a crash rebuilds the same objects under the same names.

use crate::config::SinkConfig;
use crate::decoding::DecodedRecord;
use bytes::{Bytes, BytesMut};
use chrono::{TimeZone, Utc};
use std::time::Instant;

/// An object still taking records.
#[derive(Debug)]
pub struct OpenObject {
    pub first_offset: i64,
    pub last_offset: i64,
    bucket_start_ms: i64,
    first_time_ms: i64,
    directory: String,
    pub opened_at: Instant,
    payloads: Vec<Bytes>,
    timestamp_lines: BytesMut,
    pub bytes: usize,
    records: usize,
}

/// A finished object pair, ready to upload.
#[derive(Debug)]
pub struct ClosedObject {
    pub first_offset: i64,
    pub last_offset: i64,
    /// (key, content) of the payload and/or timestamp object.
    pub files: Vec<(String, Bytes)>,
    pub bytes: usize,
}

impl OpenObject {
    pub fn start(config: &SinkConfig, topic: &str, offset: i64, record: &DecodedRecord) -> Self {
        let naming = &config.naming;
        OpenObject {
            first_offset: offset,
            last_offset: offset,
            bucket_start_ms: naming.bucket_start_ms(record.bucket_time_ms),
            first_time_ms: record.bucket_time_ms,
            directory: naming.directory(topic, record.bucket_time_ms),
            opened_at: Instant::now(),
            payloads: Vec::new(),
            timestamp_lines: BytesMut::new(),
            bytes: 0,
            records: 0,
        }
    }

    /// Whether `record` must go into a new object instead of this one.
    pub fn must_rotate_before(&self, config: &SinkConfig, record: &DecodedRecord) -> bool {
        let other_bucket = config.naming.bucket_start_ms(record.bucket_time_ms) != self.bucket_start_ms;
        let too_long =
            config.rotate_interval_ms.is_some_and(|interval| record.bucket_time_ms - self.first_time_ms >= interval);
        other_bucket || too_long
    }

    /// Adds a record and returns the bytes it adds to memory.
    pub fn push(&mut self, config: &SinkConfig, offset: i64, record: DecodedRecord) -> usize {
        let before = self.bytes;
        self.last_offset = offset;
        self.records += 1;
        if config.write_payload {
            self.bytes += record.payload.len() + config.payload_separator.len();
            self.payloads.push(record.payload);
        }
        if config.write_timestamp {
            let line = timestamp_line(config, record.send_time_ms);
            self.bytes += line.len();
            self.timestamp_lines.extend_from_slice(line.as_bytes());
        }
        self.bytes - before
    }

    pub fn is_full(&self, config: &SinkConfig) -> bool {
        self.records >= config.flush_size
    }

    pub fn close(self, config: &SinkConfig, topic: &str, partition: i32) -> ClosedObject {
        let naming = &config.naming;
        let stem = naming.file_stem(topic, partition, self.first_offset);
        let mut files = Vec::with_capacity(2);
        if config.write_payload {
            let key = naming.payload_key(&self.directory, &stem);
            files.push((key, join_payloads(self.payloads, &config.payload_separator)));
        }
        if config.write_timestamp {
            files.push((naming.timestamp_key(&self.directory, &stem), self.timestamp_lines.freeze()));
        }
        ClosedObject { first_offset: self.first_offset, last_offset: self.last_offset, files, bytes: self.bytes }
    }
}

/// One record with no separator keeps the record's own memory: no copy.
fn join_payloads(payloads: Vec<Bytes>, separator: &[u8]) -> Bytes {
    if payloads.len() == 1 && separator.is_empty() {
        return payloads.into_iter().next().unwrap_or_default();
    }
    let total = payloads.iter().map(|p| p.len() + separator.len()).sum();
    let mut out = BytesMut::with_capacity(total);
    for payload in payloads {
        out.extend_from_slice(&payload);
        out.extend_from_slice(separator);
    }
    out.freeze()
}

fn timestamp_line(config: &SinkConfig, send_time_ms: i64) -> String {
    let time = Utc.timestamp_millis_opt(send_time_ms).single().unwrap_or_default();
    let mut line = config.timestamp_format.format(&time);
    line.push('\n');
    line
}
