//! Groups consecutive records of one partition into objects: a new object starts when
//! `flush.size` records are in, when a record falls into another time bucket or goes to
//! another target partition (a transform may route records), or when the record times span
//! `rotate.interval.ms`. Boundaries depend only on the records, so a replay after a crash
//! rebuilds the same objects under the same names; `rotate.schedule.interval.ms` is the one
//! setting that closes objects by the clock, and says so in its documentation.

use crate::attributes::FileKind;
use crate::config::SinkConfig;
use crate::decoding::DecodedRecord;
use crate::memory::Reservation;
use crate::record::{Position, TopicPartition};
use bytes::{Bytes, BytesMut};
use chrono::{TimeZone, Utc};
use std::time::Instant;

/// S3 refuses longer keys; the local store keeps the same rule so both name alike.
pub const MAX_KEY_BYTES: usize = 1024;

/// An object still taking records.
pub struct OpenObject {
    target: TopicPartition,
    first_offset: i64,
    /// Where the first record sits in the partition Connect commits.
    pub first_source_offset: i64,
    /// The partition's epoch in the ledger when the object started.
    pub epoch: u64,
    bucket_start_ms: i64,
    first_time_ms: i64,
    first_send_time_ms: i64,
    directory: String,
    pub opened_at: Instant,
    payloads: Vec<Bytes>,
    timestamp_lines: BytesMut,
    records: usize,
    memory: Reservation,
}

/// A finished object pair, ready to upload; it holds its memory until dropped.
pub struct ClosedObject {
    pub first_source_offset: i64,
    pub epoch: u64,
    /// The payload and/or timestamp object.
    pub files: Vec<ObjectFile>,
    pub records: usize,
    pub payload_bytes: usize,
    pub memory: Reservation,
}

/// One object to store.
pub struct ObjectFile {
    pub key: String,
    pub data: Bytes,
    pub kind: FileKind,
    /// The first record's send time as `timestamp.object.format` gives it, for the payload
    /// object's metadata (`s3.object.metadata=send-time`).
    pub send_time: Option<String>,
}

impl OpenObject {
    pub fn start(
        config: &SinkConfig,
        first: &Position,
        source_offset: i64,
        epoch: u64,
        record: &DecodedRecord,
        memory: Reservation,
    ) -> Self {
        let naming = &config.naming;
        OpenObject {
            target: first.tp.clone(),
            first_offset: first.offset,
            first_source_offset: source_offset,
            epoch,
            bucket_start_ms: naming.bucket_start_ms(record.bucket_time_ms),
            first_time_ms: record.bucket_time_ms,
            first_send_time_ms: record.send_time_ms,
            directory: naming.directory(&first.tp.topic, record.bucket_time_ms),
            opened_at: Instant::now(),
            payloads: Vec::new(),
            timestamp_lines: BytesMut::new(),
            records: 0,
            memory,
        }
    }

    /// The length of the longer key of an object starting at `first`, to refuse it before
    /// S3 does.
    pub fn key_length(config: &SinkConfig, first: &Position, record: &DecodedRecord) -> usize {
        let naming = &config.naming;
        let directory = naming.directory(&first.tp.topic, record.bucket_time_ms);
        let stem = naming.file_stem(&first.tp.topic, first.tp.partition, first.offset);
        let ending = naming.payload_extension.len().max(naming.timestamp_suffix.len());
        directory.len() + 1 + stem.len() + ending
    }

    /// Whether `record` must go into a new object instead of this one.
    pub fn must_rotate_before(&self, config: &SinkConfig, target: &TopicPartition, record: &DecodedRecord) -> bool {
        let other_bucket = config.naming.bucket_start_ms(record.bucket_time_ms) != self.bucket_start_ms;
        let too_long =
            config.rotate_interval_ms.is_some_and(|interval| record.bucket_time_ms - self.first_time_ms >= interval);
        other_bucket || too_long || *target != self.target
    }

    /// The record's line of the timestamp object, if the sink writes one: made once per record,
    /// for `bytes_of` and `push`.
    pub fn timestamp_line_of(config: &SinkConfig, record: &DecodedRecord) -> Option<String> {
        config.write_timestamp.then(|| timestamp_line(config, record.send_time_ms))
    }

    /// The bytes `record` (with its timestamp line) adds to an object, to reserve before it is added.
    pub fn bytes_of(config: &SinkConfig, record: &DecodedRecord, line: Option<&str>) -> usize {
        let payload = if config.write_payload { record.payload.len() + config.payload_separator.len() } else { 0 };
        payload + line.map_or(0, str::len)
    }

    pub fn push(&mut self, config: &SinkConfig, record: DecodedRecord, line: Option<String>, memory: Reservation) {
        self.records += 1;
        self.memory.merge(memory);
        if let Some(line) = line {
            self.timestamp_lines.extend_from_slice(line.as_bytes());
        }
        if config.write_payload {
            self.payloads.push(record.payload);
        }
    }

    pub fn is_full(&self, config: &SinkConfig) -> bool {
        self.records >= config.flush_size
    }

    /// Offsets the object holds, for log lines.
    pub fn describe(&self) -> String {
        format!("{} offsets {}..{}", self.target, self.first_offset, self.first_offset + self.records as i64 - 1)
    }

    pub fn close(self, config: &SinkConfig) -> ClosedObject {
        let naming = &config.naming;
        let stem = naming.file_stem(&self.target.topic, self.target.partition, self.first_offset);
        let payload_bytes = self.payloads.iter().map(Bytes::len).sum();
        let mut files = Vec::with_capacity(2);
        if config.write_payload {
            let send_time =
                config.attributes.send_time_metadata.then(|| send_time_text(config, self.first_send_time_ms));
            files.push(ObjectFile {
                key: naming.payload_key(&self.directory, &stem),
                data: join_payloads(self.payloads, &config.payload_separator),
                kind: FileKind::Payload,
                send_time,
            });
        }
        if config.write_timestamp {
            files.push(ObjectFile {
                key: naming.timestamp_key(&self.directory, &stem),
                data: self.timestamp_lines.freeze(),
                kind: FileKind::Timestamp,
                send_time: None,
            });
        }
        ClosedObject {
            first_source_offset: self.first_source_offset,
            epoch: self.epoch,
            files,
            records: self.records,
            payload_bytes,
            memory: self.memory,
        }
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
    let mut line = send_time_text(config, send_time_ms);
    line.push('\n');
    line
}

/// The send time as `timestamp.object.format` gives it (UTC).
fn send_time_text(config: &SinkConfig, send_time_ms: i64) -> String {
    let time = Utc.timestamp_millis_opt(send_time_ms).single().unwrap_or_default();
    config.timestamp_format.format(&time)
}
