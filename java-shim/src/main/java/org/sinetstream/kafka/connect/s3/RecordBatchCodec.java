package org.sinetstream.kafka.connect.s3;

import java.nio.ByteBuffer;
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
 * The byte layouts shared with the engine, documented in rust-core/jni/src/wire.rs; golden
 * files in rust-core/jni/tests/fixtures/ are read by both test suites. Big-endian.
 * A batch crosses as one direct buffer, so a put() is one JNI call whatever its size.
 */
final class RecordBatchCodec {
  private static final byte VERSION = 1;
  private static final byte[] BATCH = magic("SS3B");
  private static final byte[] PARTITIONS = magic("SS3P");
  private static final byte[] OFFSETS = magic("SS3O");
  private static final byte[] PUT_RESULT = magic("SS3R");
  private static final long NO_TIMESTAMP = Long.MIN_VALUE;
  private static final byte HAS_SOURCE = 1;
  private static final int HEADER = 5;

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

  /** What the engine did with a batch: took its first {@code taken} records. */
  static final class PutResult {
    final int taken;
    final List<Failure> failures;

    PutResult(int taken, List<Failure> failures) {
      this.taken = taken;
      this.failures = failures;
    }
  }

  private RecordBatchCodec() {}

  /**
   * Writes the batch into {@code reuse} when it fits (else into a new, larger direct buffer)
   * and returns the buffer, positioned at the end of the batch.
   */
  static ByteBuffer encodeBatch(List<SinkRecord> records, ByteBuffer reuse) {
    List<byte[]> values = new ArrayList<>(records.size());
    List<byte[]> topics = new ArrayList<>(records.size() * 2);
    long size = HEADER + 4;
    for (SinkRecord record : records) {
      byte[] value = valueOf(record);
      values.add(value);
      SourcePosition source = SourcePosition.of(record);
      byte[] topic = utf8(record.topic());
      topics.add(topic);
      size += 2 + topic.length + 4 + 8 + 8 + 1 + 4 + (value == null ? 0 : value.length);
      if (!source.sameAs(record)) {
        byte[] sourceTopic = utf8(source.tp.topic());
        topics.add(sourceTopic);
        size += 2 + sourceTopic.length + 4 + 8;
      }
    }
    if (size > Integer.MAX_VALUE - 8) {
      throw new DataException("A batch of " + records.size() + " records holds " + size
          + " bytes, more than one buffer can take; lower the consumer's max.poll.records or fetch.max.bytes");
    }
    ByteBuffer out = reuse != null && reuse.capacity() >= size ? reuse : ByteBuffer.allocateDirect(grow((int) size));
    out.clear();
    out.put(BATCH).put(VERSION).putInt(records.size());
    int topic = 0;
    for (int i = 0; i < records.size(); i++) {
      SinkRecord record = records.get(i);
      putText(out, topics.get(topic++));
      out.putInt(record.kafkaPartition());
      out.putLong(record.kafkaOffset());
      out.putLong(record.timestamp() == null ? NO_TIMESTAMP : record.timestamp());
      SourcePosition source = SourcePosition.of(record);
      if (source.sameAs(record)) {
        out.put((byte) 0);
      } else {
        out.put(HAS_SOURCE);
        putText(out, topics.get(topic++));
        out.putInt(source.tp.partition());
        out.putLong(source.offset);
      }
      byte[] value = values.get(i);
      if (value == null) {
        out.putInt(-1);
      } else {
        out.putInt(value.length).put(value);
      }
    }
    return out;
  }

  /** Room for a little more than this batch, so that similar batches reuse the buffer. */
  private static int grow(int size) {
    return (int) Math.min(Integer.MAX_VALUE - 8, size + (long) size / 4 + 4096);
  }

  private static byte[] valueOf(SinkRecord record) {
    Object value = record.value();
    if (value == null) {
      return null;
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
    List<byte[]> topics = new ArrayList<>(partitions.size());
    int size = HEADER + 4;
    for (TopicPartition tp : partitions) {
      byte[] topic = utf8(tp.topic());
      topics.add(topic);
      size += 2 + topic.length + 4;
    }
    ByteBuffer out = ByteBuffer.allocate(size).put(PARTITIONS).put(VERSION).putInt(partitions.size());
    int i = 0;
    for (TopicPartition tp : partitions) {
      putText(out, topics.get(i++));
      out.putInt(tp.partition());
    }
    return out.array();
  }

  /** A list, not a map: several records of one partition may be listed. */
  static byte[] encodeOffsets(List<Map.Entry<TopicPartition, Long>> offsets) {
    List<byte[]> topics = new ArrayList<>(offsets.size());
    int size = HEADER + 4;
    for (Map.Entry<TopicPartition, Long> entry : offsets) {
      byte[] topic = utf8(entry.getKey().topic());
      topics.add(topic);
      size += 2 + topic.length + 4 + 8;
    }
    ByteBuffer out = ByteBuffer.allocate(size).put(OFFSETS).put(VERSION).putInt(offsets.size());
    for (int i = 0; i < offsets.size(); i++) {
      putText(out, topics.get(i));
      out.putInt(offsets.get(i).getKey().partition());
      out.putLong(offsets.get(i).getValue());
    }
    return out.array();
  }

  static Map<TopicPartition, Long> decodeOffsets(byte[] bytes) {
    ByteBuffer in = open(bytes, OFFSETS, "partition offsets");
    int count = in.getInt();
    Map<TopicPartition, Long> offsets = new HashMap<>();
    for (int i = 0; i < count; i++) {
      String topic = readText(in, in.getShort() & 0xFFFF);
      int partition = in.getInt();
      offsets.put(new TopicPartition(topic, partition), in.getLong());
    }
    return offsets;
  }

  static PutResult decodePutResult(byte[] bytes) {
    ByteBuffer in = open(bytes, PUT_RESULT, "put result");
    int taken = in.getInt();
    int count = in.getInt();
    List<Failure> failures = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int index = in.getInt();
      String kind = readText(in, in.getShort() & 0xFFFF);
      String reason = readText(in, in.getInt());
      failures.add(new Failure(index, kind, reason));
    }
    return new PutResult(taken, failures);
  }

  private static ByteBuffer open(byte[] bytes, byte[] magic, String what) {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    byte[] seen = new byte[4];
    in.get(seen);
    byte version = in.get();
    if (!java.util.Arrays.equals(seen, magic) || version != VERSION) {
      throw new IllegalStateException("The native library answered with a " + what + " this plugin cannot read "
          + "(layout " + new String(seen, StandardCharsets.ISO_8859_1) + " version " + version + ")");
    }
    return in;
  }

  private static byte[] magic(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static void putText(ByteBuffer out, byte[] text) {
    out.putShort((short) text.length);
    out.put(text);
  }

  private static String readText(ByteBuffer in, int length) {
    byte[] bytes = new byte[length];
    in.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
