package org.sinetstream.kafka.connect.s3;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.sink.SinkRecord;

/**
 * Where Connect consumed a record and commits it. Single Message Transforms such as RegexRouter
 * change {@code topic()}, which names the objects, but Connect keys its offsets by the original
 * topic, partition and offset (KIP-793, Connect 3.6+). Older workers have no originals: there
 * the record's own position is the one Connect commits.
 */
final class SourcePosition {
  private static volatile boolean workerHasOriginals = true;

  final TopicPartition tp;
  final long offset;

  private SourcePosition(TopicPartition tp, long offset) {
    this.tp = tp;
    this.offset = offset;
  }

  static SourcePosition of(SinkRecord record) {
    if (workerHasOriginals) {
      try {
        return new SourcePosition(new TopicPartition(record.originalTopic(), record.originalKafkaPartition()),
            record.originalKafkaOffset());
      } catch (NoSuchMethodError olderWorker) {
        workerHasOriginals = false;
      }
    }
    return new SourcePosition(new TopicPartition(record.topic(), record.kafkaPartition()), record.kafkaOffset());
  }

  boolean sameAs(SinkRecord record) {
    return offset == record.kafkaOffset() && tp.partition() == record.kafkaPartition()
        && tp.topic().equals(record.topic());
  }
}
