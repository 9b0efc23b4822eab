//! The byte layouts that cross between Java and the engine, big-endian as `java.nio.ByteBuffer`
//! writes them. `RecordBatchCodec.java` is the other half of this file, and
//! `rust-core/jni/tests/fixtures/` holds golden files that both test suites read.
//!
//! Every message starts with a 4-byte magic naming its kind and a version byte:
//!
//! - record batch `SS3B` 1: `u32 count`, then per record: `text topic, i32 partition,
//!   i64 offset, i64 timestamp (i64::MIN = none), u8 flags`, when flags bit 0 is set the
//!   record's source position as Connect tracks it (`text topic, i32 partition, i64 offset`;
//!   otherwise the same as the first), then `i32 value length (-1 = null), value`.
//! - partition list `SS3P` 1: `u32 count`, then per partition `text topic, i32 partition`.
//! - partition offsets `SS3O` 1: `u32 count`, then per entry `text topic, i32 partition,
//!   i64 offset` (a list: a partition may appear more than once).
//! - put result `SS3R` 1: `u32 records taken` (a prefix of the batch; the rest did not fit
//!   in memory and is offered again), `u32 count`, then per undecodable record
//!   `u32 index in the batch, text kind, long text reason`.
//!
//! `text` is `u16 length, UTF-8`; `long text` is `u32 length, UTF-8`.

use bytes::{BufMut, Bytes, BytesMut};
use s3sink_engine::record::{Position, Record, TopicPartition};
use s3sink_engine::sink::PutOutcome;
use std::sync::Arc;

const VERSION: u8 = 1;
const BATCH: &[u8; 4] = b"SS3B";
const PARTITIONS: &[u8; 4] = b"SS3P";
const OFFSETS: &[u8; 4] = b"SS3O";
const PUT_RESULT: &[u8; 4] = b"SS3R";
const NO_TIMESTAMP: i64 = i64::MIN;
const HAS_SOURCE: u8 = 1;

#[derive(Debug, thiserror::Error)]
#[error("bad {what} from Java: {reason}")]
pub struct WireError {
    what: &'static str,
    reason: String,
}

/// Reads the batch; every value is copied out of `bytes`, which Java reuses after the call.
pub fn decode_batch(bytes: &[u8]) -> Result<Vec<Record>, WireError> {
    let mut input = Reader::new(bytes, BATCH, "record batch")?;
    let count = input.u32()? as usize;
    let mut records = Vec::with_capacity(count.min(1 << 20));
    for _ in 0..count {
        let target = input.position()?;
        let timestamp = input.i64()?;
        let flags = input.u8()?;
        let source = if flags & HAS_SOURCE != 0 { input.position()? } else { target.clone() };
        let value = match input.i32()? {
            -1 => None,
            n if n >= 0 => Some(Bytes::copy_from_slice(input.take(n as usize)?)),
            n => return Err(input.error(format!("negative value length {n}"))),
        };
        let timestamp_ms = (timestamp != NO_TIMESTAMP).then_some(timestamp);
        records.push(Record { target, source, timestamp_ms, value });
    }
    input.finish()?;
    Ok(records)
}

pub fn decode_partitions(bytes: &[u8]) -> Result<Vec<TopicPartition>, WireError> {
    let mut input = Reader::new(bytes, PARTITIONS, "partition list")?;
    let count = input.u32()? as usize;
    let partitions = (0..count).map(|_| input.topic_partition()).collect::<Result<_, _>>()?;
    input.finish()?;
    Ok(partitions)
}

pub fn decode_offsets(bytes: &[u8]) -> Result<Vec<(TopicPartition, i64)>, WireError> {
    let mut input = Reader::new(bytes, OFFSETS, "partition offsets")?;
    let count = input.u32()? as usize;
    let offsets = (0..count).map(|_| Ok((input.topic_partition()?, input.i64()?))).collect::<Result<_, _>>()?;
    input.finish()?;
    Ok(offsets)
}

pub fn encode_offsets(offsets: &[(TopicPartition, i64)]) -> Vec<u8> {
    let mut out = header(OFFSETS);
    out.put_u32(offsets.len() as u32);
    for (tp, offset) in offsets {
        put_topic_partition(&mut out, tp);
        out.put_i64(*offset);
    }
    out.to_vec()
}

pub fn encode_put_result(outcome: &PutOutcome) -> Vec<u8> {
    let mut out = header(PUT_RESULT);
    out.put_u32(outcome.taken as u32);
    out.put_u32(outcome.failures.len() as u32);
    for (index, failure) in &outcome.failures {
        out.put_u32(*index as u32);
        put_text(&mut out, failure.kind);
        out.put_u32(failure.reason.len() as u32);
        out.put_slice(failure.reason.as_bytes());
    }
    out.to_vec()
}

fn header(magic: &[u8; 4]) -> BytesMut {
    let mut out = BytesMut::new();
    out.put_slice(magic);
    out.put_u8(VERSION);
    out
}

fn put_text(out: &mut BytesMut, text: &str) {
    // Topic names are at most 249 characters and kinds are short; longer text is cut at a
    // character boundary rather than corrupting the layout.
    let mut end = text.len().min(u16::MAX as usize);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    out.put_u16(end as u16);
    out.put_slice(&text.as_bytes()[..end]);
}

fn put_topic_partition(out: &mut BytesMut, tp: &TopicPartition) {
    put_text(out, &tp.topic);
    out.put_i32(tp.partition);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    what: &'static str,
    /// Consecutive records almost always share a topic: reuse the last one.
    last_topic: Option<Arc<str>>,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], magic: &[u8; 4], what: &'static str) -> Result<Self, WireError> {
        let mut reader = Reader { bytes, at: 0, what, last_topic: None };
        let seen = reader.take(4)?;
        if seen != magic {
            return Err(reader.error(format!("starts with {seen:02x?}, not {:?}", std::str::from_utf8(magic))));
        }
        let version = reader.u8()?;
        if version != VERSION {
            return Err(reader.error(format!("layout version {version}; this library reads version {VERSION}")));
        }
        Ok(reader)
    }

    fn error(&self, reason: String) -> WireError {
        WireError { what: self.what, reason: format!("{reason} (at byte {})", self.at) }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let left = self.bytes.len() - self.at;
        if left < n {
            return Err(self.error(format!("wanted {n} bytes, {left} left")));
        }
        let slice = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        Ok(self.take(N)?.try_into().expect("take returns N bytes"))
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn i32(&mut self) -> Result<i32, WireError> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, WireError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn topic(&mut self) -> Result<Arc<str>, WireError> {
        let length = self.u16()? as usize;
        let raw = self.take(length)?;
        if let Some(topic) = self.last_topic.as_ref().filter(|t| t.as_bytes() == raw) {
            return Ok(topic.clone());
        }
        let text = std::str::from_utf8(raw).map_err(|_| self.error("topic is not UTF-8".into()))?;
        let topic: Arc<str> = Arc::from(text);
        self.last_topic = Some(topic.clone());
        Ok(topic)
    }

    fn topic_partition(&mut self) -> Result<TopicPartition, WireError> {
        Ok(TopicPartition { topic: self.topic()?, partition: self.i32()? })
    }

    fn position(&mut self) -> Result<Position, WireError> {
        Ok(Position { tp: self.topic_partition()?, offset: self.i64()? })
    }

    fn finish(&self) -> Result<(), WireError> {
        match self.bytes.len() - self.at {
            0 => Ok(()),
            left => Err(self.error(format!("{left} unread bytes at the end"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3sink_engine::decoding::RecordFailure;

    /// Written by Java's RecordBatchCodecTest from the records it lists; read here.
    const BATCH_FIXTURE: &[u8] = include_bytes!("../tests/fixtures/batch-v1.bin");
    const PUT_RESULT_FIXTURE: &str = "tests/fixtures/put-result-v1.bin";
    const OFFSETS_FIXTURE: &str = "tests/fixtures/offsets-v1.bin";

    #[test]
    fn reads_the_batch_java_writes() {
        let records = decode_batch(BATCH_FIXTURE).unwrap();
        assert_eq!(records.len(), 4);
        let first = &records[0];
        assert_eq!((&*first.target.tp.topic, first.target.tp.partition, first.target.offset), ("sensor", 2, 7));
        assert_eq!(first.source, first.target);
        assert_eq!(first.timestamp_ms, Some(1_650_245_025_200));
        assert_eq!(first.value.as_deref(), Some(&b"xyz"[..]));
        assert_eq!(records[1].value, None, "a null value");
        assert_eq!(records[1].timestamp_ms, None);
        assert_eq!(records[2].value.as_deref(), Some(&b""[..]), "an empty value is not null");
        let routed = &records[3];
        assert_eq!((&*routed.target.tp.topic, routed.target.offset), ("archive.sensor", 10));
        assert_eq!((&*routed.source.tp.topic, routed.source.tp.partition, routed.source.offset), ("sensor", 2, 10));
        assert!(Arc::ptr_eq(&records[0].target.tp.topic, &records[1].target.tp.topic), "topics are shared");
    }

    /// The layouts Java reads, compared with the golden files its tests read too.
    /// `SINETS3_WRITE_FIXTURES=1 cargo test -p s3sink-jni` writes them anew.
    #[test]
    fn writes_what_java_reads() {
        let tp = TopicPartition::new("sensor", 2);
        let failure = RecordFailure { kind: "malformed", reason: "not a SINETStream message: ∅".into() };
        let outcome = PutOutcome { taken: 3, failures: vec![(1, failure)] };
        check_fixture(PUT_RESULT_FIXTURE, &encode_put_result(&outcome));
        let offsets = vec![(tp.clone(), 42), (TopicPartition::new("other", 0), 0), (tp, i64::MAX)];
        check_fixture(OFFSETS_FIXTURE, &encode_offsets(&offsets));
        assert_eq!(decode_offsets(&encode_offsets(&offsets)).unwrap(), offsets);
    }

    fn check_fixture(name: &str, bytes: &[u8]) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
        if std::env::var_os("SINETS3_WRITE_FIXTURES").is_some() {
            std::fs::write(&path, bytes).unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} differs from what this code writes");
    }

    #[test]
    fn refuses_other_kinds_versions_and_truncation() {
        let mut batch = BATCH_FIXTURE.to_vec();
        assert!(decode_partitions(&batch).unwrap_err().to_string().contains("not"));
        batch[4] = 2;
        assert!(decode_batch(&batch).unwrap_err().to_string().contains("version 2"));
        batch[4] = 1;
        batch.pop();
        assert!(decode_batch(&batch).unwrap_err().to_string().contains("wanted"));
        batch.extend_from_slice(&[0, 0]);
        assert!(decode_batch(&batch).unwrap_err().to_string().contains("unread"));
    }

    #[test]
    fn partition_lists_carry_no_offsets() {
        let mut bytes = header(PARTITIONS);
        bytes.put_u32(2);
        put_topic_partition(&mut bytes, &TopicPartition::new("a", 0));
        put_topic_partition(&mut bytes, &TopicPartition::new("b", 7));
        let partitions = decode_partitions(&bytes).unwrap();
        assert_eq!(partitions, vec![TopicPartition::new("a", 0), TopicPartition::new("b", 7)]);
    }
}
