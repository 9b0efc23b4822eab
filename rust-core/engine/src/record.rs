//! What the engine takes in: Kafka records as Connect hands them to the task. How they cross
//! from Java is the JNI crate's business (rust-core/jni/src/wire.rs).

use bytes::Bytes;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: Arc<str>,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: &str, partition: i32) -> Self {
        TopicPartition { topic: Arc::from(topic), partition }
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// A position in a topic partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub tp: TopicPartition,
    pub offset: i64,
}

/// One Kafka record. `target` names the objects (the topic, partition and offset after
/// Single Message Transforms); `source` is where Connect consumed it and commits it
/// (KIP-793: a RegexRouter renames `target` but never `source`).
#[derive(Debug, Clone)]
pub struct Record {
    pub target: Position,
    pub source: Position,
    pub timestamp_ms: Option<i64>,
    pub value: Option<Bytes>,
}

impl Record {
    /// A record no transform touched: named and committed at the same position.
    pub fn untransformed(tp: TopicPartition, offset: i64, timestamp_ms: Option<i64>, value: Option<Bytes>) -> Self {
        let position = Position { tp, offset };
        Record { target: position.clone(), source: position, timestamp_ms, value }
    }
}
