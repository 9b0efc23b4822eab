//! From a Kafka record to the payload and times the sink writes.

use crate::config::TimestampExtractor;
use crate::record::Record;
use bytes::Bytes;
use sinetstream_codec::{Decoder, DecoderConfig};

/// A record ready to be written.
#[derive(Debug, Clone)]
pub struct DecodedRecord {
    pub payload: Bytes,
    /// Time that chooses the directory (per `timestamp.extractor`), milliseconds.
    pub bucket_time_ms: i64,
    /// The send time written into the timestamp object, milliseconds.
    pub send_time_ms: i64,
}

/// Why one record could not be decoded; reported per record, never fatal by itself.
#[derive(Debug, Clone)]
pub struct RecordFailure {
    pub kind: &'static str,
    pub reason: String,
}

impl RecordFailure {
    pub fn new(kind: &'static str, reason: impl Into<String>) -> Self {
        RecordFailure { kind, reason: reason.into() }
    }
}

/// How messages are read, for the start-up log line (no keys or passwords).
pub fn describe(config: &DecoderConfig) -> String {
    let mut parts = vec![if config.user_data_only {
        "user_data_only".to_string()
    } else {
        format!("SINETStream v{}", config.message_format)
    }];
    if let Some(compression) = config.compression.as_ref().filter(|_| config.data_compression) {
        parts.push(compression.algorithm.clone());
    }
    if let Some(crypto) = config.crypto.as_ref().filter(|_| config.data_encryption) {
        parts.push(format!("AES-{}-{}", crypto.mode, crypto.key_length));
    }
    parts.join(", ")
}

pub fn decode_record(
    decoder: &Decoder,
    extractor: TimestampExtractor,
    record: &Record,
    now_ms: i64,
) -> Result<DecodedRecord, RecordFailure> {
    let value = record.value.as_ref().ok_or_else(|| RecordFailure {
        kind: "malformed",
        reason: "record value is null (a tombstone), not a SINETStream message".into(),
    })?;
    let message = decoder.decode(value).map_err(|e| RecordFailure { kind: e.kind.as_str(), reason: e.to_string() })?;
    let message_time_ms = message.timestamp_us.map(|us| us.div_euclid(1000));
    let send_time_ms = message_time_ms.or(record.timestamp_ms).ok_or_else(|| missing_timestamp("send time"))?;
    let bucket_time_ms = match extractor {
        TimestampExtractor::Record => {
            record.timestamp_ms.ok_or_else(|| missing_timestamp("timestamp.extractor=Record"))?
        }
        TimestampExtractor::Message => send_time_ms,
        TimestampExtractor::Wallclock => now_ms,
    };
    Ok(DecodedRecord { payload: message.payload, bucket_time_ms, send_time_ms })
}

fn missing_timestamp(need: &str) -> RecordFailure {
    RecordFailure { kind: "malformed", reason: format!("record has no Kafka timestamp, needed for {need}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::TopicPartition;

    fn record(value: Option<&'static [u8]>, timestamp_ms: Option<i64>) -> Record {
        Record::untransformed(TopicPartition::new("t", 0), 3, timestamp_ms, value.map(Bytes::from_static))
    }

    #[test]
    fn tombstones_and_missing_timestamps_are_malformed_records() {
        let decoder = Decoder::new(DecoderConfig { user_data_only: true, ..Default::default() }).unwrap();
        let tombstone = decode_record(&decoder, TimestampExtractor::Record, &record(None, Some(1)), 0).unwrap_err();
        assert_eq!(tombstone.kind, "malformed");
        assert!(tombstone.reason.contains("tombstone"));
        let untimed = decode_record(&decoder, TimestampExtractor::Record, &record(Some(b"x"), None), 0).unwrap_err();
        assert!(untimed.reason.contains("no Kafka timestamp"), "{}", untimed.reason);
        let wallclock =
            decode_record(&decoder, TimestampExtractor::Wallclock, &record(Some(b"x"), Some(5)), 99).unwrap();
        assert_eq!((wallclock.bucket_time_ms, wallclock.send_time_ms), (99, 5));
    }
}
