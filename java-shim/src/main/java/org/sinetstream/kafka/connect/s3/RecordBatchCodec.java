package org.sinetstream.kafka.connect.s3;

import java.nio.ByteBuffer;
import java.util.AbstractMap;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.sink.SinkRecord;

/**
 * The byte layouts shared with the engine (rust-core/engine/src/record.rs), big-endian.
 * A batch crosses as one array, so a put() is one JNI call whatever its size.
 */
final class RecordBatchCodec {
  private static final long NO_TIMESTAMP = Long.MIN_VALUE;

  /** An undecodable record, by its index in the batch. */
  static final class Failure {
    final int index;
    final String kind;
    final String reason;

    Failure(int index, String kind, String reason) {
      this.index = index;
      this.kind = kind;
      this.reason = reason;
    }
  }

  private RecordBatchCodec() {}

  static byte[] encodeBatch(List<SinkRecord> records) {
    List<byte[]> topics = new ArrayList<>(records.size());
    int size = 4;
    for (SinkRecord record : records) {
      byte[] topic = record.topic().getBytes(StandardCharsets.UTF_8);
      topics.add(topic);
      size += 2 + topic.length + 4 + 8 + 8 + 4 + valueOf(record).length;
    }
    ByteBuffer out = ByteBuffer.allocate(size);
    out.putInt(records.size());
    for (int i = 0; i < records.size(); i++) {
      SinkRecord record = records.get(i);
      putTopic(out, topics.get(i));
      out.putInt(record.kafkaPartition());
      out.putLong(record.kafkaOffset());
      out.putLong(record.timestamp() == null ? NO_TIMESTAMP : record.timestamp());
      if (record.value() == null) {
        out.putInt(-1);
      } else {
        byte[] value = valueOf(record);
        out.putInt(value.length);
        out.put(value);
      }
    }
    return out.array();
  }

  private static final byte[] NO_BYTES = new byte[0];

  private static byte[] valueOf(SinkRecord record) {
    Object value = record.value();
    if (value == null) {
      return NO_BYTES;
    }
    if (value instanceof byte[]) {
      return (byte[]) value;
    }
    if (value instanceof ByteBuffer) {
      ByteBuffer buffer = ((ByteBuffer) value).duplicate();
      byte[] copy = new byte[buffer.remaining()];
      buffer.get(copy);
      return copy;
    }
    throw new DataException(String.format(
        "Record %s-%d at offset %d has a %s value, not bytes: set value.converter="
            + "org.apache.kafka.connect.converters.ByteArrayConverter",
        record.topic(), record.kafkaPartition(), record.kafkaOffset(), value.getClass().getName()));
  }

  static byte[] encodePartitions(Collection<TopicPartition> partitions) {
    List<Map.Entry<TopicPartition, Long>> withoutOffsets = new ArrayList<>();
    for (TopicPartition tp : partitions) {
      withoutOffsets.add(new AbstractMap.SimpleImmutableEntry<>(tp, 0L));
    }
    return encodePartitionOffsets(withoutOffsets);
  }

  /** A list, not a map: several records of one partition may be listed. */
  static byte[] encodePartitionOffsets(List<Map.Entry<TopicPartition, Long>> offsets) {
    List<byte[]> topics = new ArrayList<>();
    int size = 4;
    for (Map.Entry<TopicPartition, Long> entry : offsets) {
      byte[] topic = entry.getKey().topic().getBytes(StandardCharsets.UTF_8);
      topics.add(topic);
      size += 2 + topic.length + 4 + 8;
    }
    ByteBuffer out = ByteBuffer.allocate(size);
    out.putInt(offsets.size());
    for (int i = 0; i < offsets.size(); i++) {
      putTopic(out, topics.get(i));
      out.putInt(offsets.get(i).getKey().partition());
      out.putLong(offsets.get(i).getValue());
    }
    return out.array();
  }

  static Map<TopicPartition, Long> decodePartitionOffsets(byte[] bytes) {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    int count = in.getInt();
    Map<TopicPartition, Long> offsets = new HashMap<>();
    for (int i = 0; i < count; i++) {
      String topic = readText(in, in.getShort() & 0xFFFF);
      int partition = in.getInt();
      offsets.put(new TopicPartition(topic, partition), in.getLong());
    }
    return offsets;
  }

  static List<Failure> decodeFailures(byte[] bytes) {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    int count = in.getInt();
    List<Failure> failures = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int index = in.getInt();
      String kind = readText(in, in.getShort() & 0xFFFF);
      String reason = readText(in, in.getInt());
      failures.add(new Failure(index, kind, reason));
    }
    return failures;
  }

  private static void putTopic(ByteBuffer out, byte[] topic) {
    out.putShort((short) topic.length);
    out.put(topic);
  }

  private static String readText(ByteBuffer in, int length) {
    byte[] bytes = new byte[length];
    in.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
