//! The byte layouts that cross between Java and Rust, big-endian as `java.nio.ByteBuffer`
//! writes them. Java's `RecordBatchCodec` is the other half of this file.
//!
//! Record batch: `u32 count`, then per record
//! `u16 topic length, topic UTF-8, i32 partition, i64 offset, i64 timestamp (i64::MIN = none),
//! i32 value length (-1 = null), value`.
//! Partition list: `u32 count`, then per partition `u16 topic length, topic, i32 partition,
//! i64 offset` (the offset is ignored where Java sends partitions to close).
//! Failures: `u32 count`, then per failure `u32 record index, u16 kind length, kind,
//! u32 reason length, reason`.

use crate::error::SinkError;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::sync::Arc;

const NO_TIMESTAMP: i64 = i64::MIN;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: Arc<str>,
    pub partition: i32,
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// One Kafka record; `value` shares memory with the batch it came in.
#[derive(Debug, Clone)]
pub struct RecordRef {
    pub tp: TopicPartition,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
    pub value: Option<Bytes>,
}

pub fn decode_batch(mut buf: Bytes) -> Result<Vec<RecordRef>, SinkError> {
    let count = read_u32(&mut buf)? as usize;
    let mut records = Vec::with_capacity(count.min(1 << 20));
    let mut last_topic: Option<Arc<str>> = None;
    for _ in 0..count {
        let topic = read_topic(&mut buf, &mut last_topic)?;
        let partition = read_i32(&mut buf)?;
        let offset = read_i64(&mut buf)?;
        let timestamp = read_i64(&mut buf)?;
        let length = read_i32(&mut buf)?;
        let value = match length {
            -1 => None,
            n if n >= 0 => Some(take(&mut buf, n as usize)?),
            n => return Err(SinkError::BadBatch(format!("negative value length {n}"))),
        };
        records.push(RecordRef {
            tp: TopicPartition { topic, partition },
            offset,
            timestamp_ms: (timestamp != NO_TIMESTAMP).then_some(timestamp),
            value,
        });
    }
    ensure_consumed(&buf)?;
    Ok(records)
}

pub fn decode_partitions(mut buf: Bytes) -> Result<Vec<(TopicPartition, i64)>, SinkError> {
    let count = read_u32(&mut buf)? as usize;
    let mut last_topic = None;
    let mut partitions = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let topic = read_topic(&mut buf, &mut last_topic)?;
        let partition = read_i32(&mut buf)?;
        let offset = read_i64(&mut buf)?;
        partitions.push((TopicPartition { topic, partition }, offset));
    }
    ensure_consumed(&buf)?;
    Ok(partitions)
}

pub fn encode_partitions(partitions: &[(TopicPartition, i64)]) -> Vec<u8> {
    let mut out = BytesMut::new();
    out.put_u32(partitions.len() as u32);
    for (tp, offset) in partitions {
        put_short_text(&mut out, &tp.topic);
        out.put_i32(tp.partition);
        out.put_i64(*offset);
    }
    out.to_vec()
}

pub fn encode_failures<'a>(failures: impl ExactSizeIterator<Item = (usize, &'a str, &'a str)>) -> Vec<u8> {
    let mut out = BytesMut::new();
    out.put_u32(failures.len() as u32);
    for (index, kind, reason) in failures {
        out.put_u32(index as u32);
        put_short_text(&mut out, kind);
        out.put_u32(reason.len() as u32);
        out.put_slice(reason.as_bytes());
    }
    out.to_vec()
}

fn put_short_text(out: &mut BytesMut, text: &str) {
    out.put_u16(text.len() as u16);
    out.put_slice(text.as_bytes());
}

/// Consecutive records almost always share a topic: reuse the last `Arc<str>`.
fn read_topic(buf: &mut Bytes, last: &mut Option<Arc<str>>) -> Result<Arc<str>, SinkError> {
    let length = read_u16(buf)? as usize;
    let raw = take(buf, length)?;
    if let Some(topic) = last.as_ref().filter(|t| t.as_bytes() == raw.as_ref()) {
        return Ok(topic.clone());
    }
    let text = std::str::from_utf8(&raw).map_err(|_| SinkError::BadBatch("topic is not UTF-8".into()))?;
    let topic: Arc<str> = Arc::from(text);
    *last = Some(topic.clone());
    Ok(topic)
}

fn take(buf: &mut Bytes, n: usize) -> Result<Bytes, SinkError> {
    if buf.remaining() < n {
        return Err(SinkError::BadBatch(format!("wanted {n} bytes, {} left", buf.remaining())));
    }
    Ok(buf.split_to(n))
}

fn read_u16(buf: &mut Bytes) -> Result<u16, SinkError> {
    Ok(take(buf, 2)?.get_u16())
}
fn read_u32(buf: &mut Bytes) -> Result<u32, SinkError> {
    Ok(take(buf, 4)?.get_u32())
}
fn read_i32(buf: &mut Bytes) -> Result<i32, SinkError> {
    Ok(take(buf, 4)?.get_i32())
}
fn read_i64(buf: &mut Bytes) -> Result<i64, SinkError> {
    Ok(take(buf, 8)?.get_i64())
}

fn ensure_consumed(buf: &Bytes) -> Result<(), SinkError> {
    if buf.has_remaining() {
        return Err(SinkError::BadBatch(format!("{} unread bytes at the end", buf.remaining())));
    }
    Ok(())
}

/// Builds a batch the way Java does; for tests and benchmarks.
pub fn encode_batch(records: &[RecordRef]) -> Vec<u8> {
    let mut out = BytesMut::new();
    out.put_u32(records.len() as u32);
    for r in records {
        put_short_text(&mut out, &r.tp.topic);
        out.put_i32(r.tp.partition);
        out.put_i64(r.offset);
        out.put_i64(r.timestamp_ms.unwrap_or(NO_TIMESTAMP));
        match &r.value {
            Some(v) => {
                out.put_i32(v.len() as i32);
                out.put_slice(v);
            }
            None => out.put_i32(-1),
        }
    }
    out.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(topic: &str, offset: i64, value: Option<&'static [u8]>, ts: Option<i64>) -> RecordRef {
        RecordRef {
            tp: TopicPartition { topic: topic.into(), partition: 2 },
            offset,
            timestamp_ms: ts,
            value: value.map(Bytes::from_static),
        }
    }

    #[test]
    fn batch_round_trip() {
        let records = vec![
            record("a", 7, Some(b"xyz"), Some(1)),
            record("a", 8, None, None),
            record("b.c", 9, Some(b""), Some(-5)),
        ];
        let decoded = decode_batch(Bytes::from(encode_batch(&records))).unwrap();
        assert_eq!(decoded.len(), 3);
        assert_eq!(decoded[0].value.as_deref(), Some(&b"xyz"[..]));
        assert_eq!(decoded[1].value, None);
        assert_eq!(decoded[1].timestamp_ms, None);
        assert_eq!(&*decoded[2].tp.topic, "b.c");
        assert_eq!(decoded[2].timestamp_ms, Some(-5));
        assert!(Arc::ptr_eq(&decoded[0].tp.topic, &decoded[1].tp.topic));
    }

    #[test]
    fn truncated_batch_is_an_error() {
        let mut bytes = encode_batch(&[record("a", 1, Some(b"xyz"), None)]);
        bytes.pop();
        assert!(matches!(decode_batch(Bytes::from(bytes)), Err(SinkError::BadBatch(_))));
    }

    #[test]
    fn partitions_round_trip() {
        let list = vec![(TopicPartition { topic: "t".into(), partition: 3 }, 42)];
        assert_eq!(decode_partitions(Bytes::from(encode_partitions(&list))).unwrap(), list);
    }
}
