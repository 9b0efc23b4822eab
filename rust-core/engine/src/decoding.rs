//! From connector keys to the codec's reader settings, and from a Kafka record to the
//! payload and times the sink writes.

use crate::config::TimestampExtractor;
use crate::error::SinkError;
use crate::record::RecordRef;
use bytes::Bytes;
use serde_json::{json, Map, Value};
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

pub fn read_decoder_config(map: &Map<String, Value>) -> Result<DecoderConfig, SinkError> {
    let text = |key: &str| map.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let mut reader = Map::new();
    if let Some(format) = text("sinetstream.message.format") {
        let format: u8 = format.parse().map_err(|_| {
            SinkError::config("sinetstream.message.format", format!("'{format}' is not 2 or 3"))
        })?;
        reader.insert("message_format".into(), json!(format));
    }
    if let Some(flag) = text("sinetstream.user.data.only") {
        reader.insert("user_data_only".into(), json!(flag.eq_ignore_ascii_case("true")));
    }
    if let Some(limit) = text("sinetstream.max.decompressed.bytes") {
        let limit: usize = limit.parse().map_err(|_| {
            SinkError::config("sinetstream.max.decompressed.bytes", format!("'{limit}' is not a number"))
        })?;
        reader.insert("max_decompressed_bytes".into(), json!(limit));
    }
    let config: DecoderConfig = serde_json::from_value(Value::Object(reader))
        .map_err(|e| SinkError::config("sinetstream.*", e.to_string()))?;
    Decoder::new(config.clone()).map_err(|e| SinkError::config("sinetstream.message.format", e.reason))?;
    Ok(config)
}

pub fn decode_record(
    decoder: &Decoder,
    extractor: TimestampExtractor,
    record: &RecordRef,
    now_ms: i64,
) -> Result<DecodedRecord, RecordFailure> {
    let value = record.value.as_ref().ok_or_else(|| RecordFailure {
        kind: "malformed",
        reason: "record value is null (a tombstone), not a SINETStream message".into(),
    })?;
    let message = decoder
        .decode(value)
        .map_err(|e| RecordFailure { kind: e.kind.as_str(), reason: e.to_string() })?;
    let message_time_ms = message.timestamp_us.map(|us| us.div_euclid(1000));
    let send_time_ms = message_time_ms.or(record.timestamp_ms).ok_or_else(|| missing_timestamp("send time"))?;
    let bucket_time_ms = match extractor {
        TimestampExtractor::Record => record.timestamp_ms.ok_or_else(|| missing_timestamp("timestamp.extractor=Record"))?,
        TimestampExtractor::Message => send_time_ms,
        TimestampExtractor::Wallclock => now_ms,
    };
    Ok(DecodedRecord { payload: message.payload, bucket_time_ms, send_time_ms })
}

fn missing_timestamp(need: &str) -> RecordFailure {
    RecordFailure {
        kind: "malformed",
        reason: format!("record has no Kafka timestamp, needed for {need}"),
    }
}
