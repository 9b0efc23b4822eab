package org.sinetstream.kafka.connect.s3;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
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

/**
 * The layouts of rust-core/jni/src/wire.rs, held to the golden files both test suites read:
 * this test writes what Rust reads (batch) and reads what Rust writes (put result, offsets).
 * {@code -Dsinets3.writeFixtures=true} writes the batch fixture anew.
 */
public class RecordBatchCodecTest {
  private static final Path FIXTURES = Paths.get(System.getProperty("project.dir", "."), "rust-core/jni/tests/fixtures");

  private static SinkRecord record(String topic, long offset, Object value, Long timestamp) {
    return new SinkRecord(topic, 2, null, null, null, value, offset, timestamp, TimestampType.CREATE_TIME);
  }

  /** The records rust-core/jni/src/wire.rs's reads_the_batch_java_writes expects. */
  static List<SinkRecord> fixtureRecords() {
    SinkRecord consumed = record("sensor", 10, bytes("routed"), 1_650_245_025_202L);
    // A RegexRouter keeps the consumed position as the original one.
    SinkRecord routed = consumed.newRecord("archive.sensor", 2, null, null, null, bytes("routed"),
        1_650_245_025_202L);
    return Arrays.asList(record("sensor", 7, bytes("xyz"), 1_650_245_025_200L), record("sensor", 8, null, null),
        record("sensor", 9, new byte[0], 1_650_245_025_201L), routed);
  }

  @Test
  public void writesTheBatchTheEngineReads() throws IOException {
    ByteBuffer batch = RecordBatchCodec.encodeBatch(fixtureRecords(), null);
    byte[] written = new byte[batch.position()];
    batch.flip();
    batch.get(written);
    Path fixture = FIXTURES.resolve("batch-v1.bin");
    if (Boolean.getBoolean("sinets3.writeFixtures")) {
      Files.write(fixture, written);
    }
    assertArrayEquals(Files.readAllBytes(fixture), written);
  }

  @Test
  public void aBufferThatFitsIsReused() {
    ByteBuffer first = RecordBatchCodec.encodeBatch(fixtureRecords(), null);
    assertTrue(first.isDirect());
    assertSame(first, RecordBatchCodec.encodeBatch(fixtureRecords().subList(0, 2), first));
    SinkRecord big = record("sensor", 11, new byte[first.capacity()], 1L);
    ByteBuffer grown = RecordBatchCodec.encodeBatch(Collections.singletonList(big), first);
    assertTrue(grown.capacity() > first.capacity());
  }

  @Test
  public void readsThePutResultTheEngineWrites() throws IOException {
    RecordBatchCodec.PutResult result =
        RecordBatchCodec.decodePutResult(Files.readAllBytes(FIXTURES.resolve("put-result-v1.bin")));
    assertEquals(3, result.taken);
    assertEquals(1, result.failures.size());
    assertEquals(1, result.failures.get(0).index);
    assertEquals("malformed", result.failures.get(0).kind);
    assertEquals("not a SINETStream message: \u2205", result.failures.get(0).reason);
  }

  @Test
  public void readsTheOffsetsTheEngineWrites() throws IOException {
    Map<TopicPartition, Long> offsets =
        RecordBatchCodec.decodeOffsets(Files.readAllBytes(FIXTURES.resolve("offsets-v1.bin")));
    assertEquals(2, offsets.size());
    assertEquals(Long.valueOf(Long.MAX_VALUE), offsets.get(new TopicPartition("sensor", 2)));
    assertEquals(Long.valueOf(0L), offsets.get(new TopicPartition("other", 0)));
  }

  @Test
  public void offsetsRoundTrip() {
    List<Map.Entry<TopicPartition, Long>> offsets = Arrays.asList(
        new AbstractMap.SimpleImmutableEntry<>(new TopicPartition("a", 1), 10L),
        new AbstractMap.SimpleImmutableEntry<>(new TopicPartition("b", 0), 20L));
    Map<TopicPartition, Long> decoded = RecordBatchCodec.decodeOffsets(RecordBatchCodec.encodeOffsets(offsets));
    assertEquals(Long.valueOf(10L), decoded.get(new TopicPartition("a", 1)));
    assertEquals(Long.valueOf(20L), decoded.get(new TopicPartition("b", 0)));
  }

  @Test(expected = DataException.class)
  public void nonByteValuesNameTheConverter() {
    RecordBatchCodec.encodeBatch(Collections.singletonList(record("t", 1, "text", 1L)), null);
  }

  @Test(expected = IllegalStateException.class)
  public void anAnswerOfAnotherLayoutIsRefused() throws IOException {
    RecordBatchCodec.decodePutResult(Files.readAllBytes(FIXTURES.resolve("offsets-v1.bin")));
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
