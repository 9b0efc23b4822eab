package org.sinetstream.kafka.connect.s3;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.Test;

public class RecordBatchCodecTest {
  private static SinkRecord record(long offset, Object value, Long timestamp) {
    return new SinkRecord("t.x", 3, null, null, null, value, offset, timestamp, TimestampType.CREATE_TIME);
  }

  @Test
  public void batchLayoutMatchesTheEngine() {
    byte[] batch = RecordBatchCodec.encodeBatch(Arrays.asList(
        record(7, new byte[] {1, 2}, 99L), record(8, null, null)));
    ByteBuffer in = ByteBuffer.wrap(batch);
    assertEquals(2, in.getInt());
    assertEquals(3, in.getShort());
    byte[] topic = new byte[3];
    in.get(topic);
    assertEquals("t.x", new String(topic, StandardCharsets.UTF_8));
    assertEquals(3, in.getInt());
    assertEquals(7L, in.getLong());
    assertEquals(99L, in.getLong());
    assertEquals(2, in.getInt());
    assertEquals(1, in.get());
    assertEquals(2, in.get());
    in.position(in.position() + 2 + 3 + 4 + 8);
    assertEquals(Long.MIN_VALUE, in.getLong());
    assertEquals(-1, in.getInt());
    assertEquals(0, in.remaining());
  }

  @Test(expected = DataException.class)
  public void nonByteValuesNameTheConverter() {
    RecordBatchCodec.encodeBatch(Collections.singletonList(record(1, "text", 1L)));
  }

  @Test
  public void partitionOffsetsRoundTrip() {
    List<Map.Entry<TopicPartition, Long>> offsets = Arrays.asList(
        new AbstractMap.SimpleImmutableEntry<>(new TopicPartition("a", 1), 10L),
        new AbstractMap.SimpleImmutableEntry<>(new TopicPartition("b", 0), 20L));
    Map<TopicPartition, Long> decoded =
        RecordBatchCodec.decodePartitionOffsets(RecordBatchCodec.encodePartitionOffsets(offsets));
    assertEquals(Long.valueOf(10L), decoded.get(new TopicPartition("a", 1)));
    assertEquals(Long.valueOf(20L), decoded.get(new TopicPartition("b", 0)));
  }

  @Test
  public void failuresDecode() {
    ByteBuffer out = ByteBuffer.allocate(4 + 4 + 2 + 9 + 4 + 3);
    out.putInt(1).putInt(5).putShort((short) 9).put("malformed".getBytes(StandardCharsets.UTF_8));
    out.putInt(3).put("bad".getBytes(StandardCharsets.UTF_8));
    List<RecordBatchCodec.Failure> failures = RecordBatchCodec.decodeFailures(out.array());
    assertEquals(1, failures.size());
    assertEquals(5, failures.get(0).index);
    assertEquals("malformed", failures.get(0).kind);
    assertArrayEquals("bad".getBytes(StandardCharsets.UTF_8),
        failures.get(0).reason.getBytes(StandardCharsets.UTF_8));
  }
}
