package org.sinetstream.kafka.connect.s3;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.AbstractMap;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTaskContext;
import org.junit.Test;

/** Through the packaged jar: the engine is extracted from it and stores into a directory. */
public class NativeRoundTripTest {
  // 2022-04-18T01:23:45.123456Z, 10:23 in Tokyo
  private static final long SEND_MICROS = 1_650_245_025_123_456L;
  private static final long RECORD_MILLIS = 1_650_245_025_200L;
  private static final String DIR = "topics/sinetstream.sensor/year=2022/month=04/day=18/hour=10/";

  static Map<String, String> fileStore(Path dir) {
    Map<String, String> props = new HashMap<>();
    props.put("s3.bucket.name", "mybucket");
    props.put("store.url", dir.toUri().toString());
    props.put("timezone", "Asia/Tokyo");
    props.put("format.bytearray.extension", ".json");
    return props;
  }

  static SinkRecord record(long offset, byte[] value) {
    return new SinkRecord("sinetstream.sensor", 0, null, null, null, value, offset, RECORD_MILLIS,
        TimestampType.CREATE_TIME);
  }

  @Test
  public void theLibraryComesFromTheJar() {
    String jarOfClass = NativeSink.class.getProtectionDomain().getCodeSource().getLocation().getPath();
    assertTrue(jarOfClass, jarOfClass.endsWith(".jar"));
    assertTrue(NativeSink.class.getResource(NativeLibrary.resourcePath()) != null);
  }

  /** Under qemu (scripts/test-aarch64.sh) the build asks for linux-aarch64: that engine is loaded. */
  @Test
  public void loadsTheEngineBuiltForThisPlatformFromTheJar() throws IOException {
    String expected = System.getProperty("sinets3.expect.platform");
    if (expected != null) {
      assertEquals(expected, NativeLibrary.platform());
    }
    NativeLibrary.load();
    Path loaded = NativeLibrary.loadedFrom();
    assertTrue("loaded from java.library.path, not from the jar", loaded != null);
    try (InputStream in = NativeSink.class.getResourceAsStream(NativeLibrary.resourcePath())) {
      assertArrayEquals(NativeLibrary.readAll(in), Files.readAllBytes(loaded));
    }
  }

  @Test
  public void storesPayloadAndTimestampObjectsAndCommitsOnlyDurableOffsets() throws Exception {
    Path dir = Files.createTempDirectory("sinets3-roundtrip");
    byte[] payload = "{\"temperature\": 22.5}".getBytes(StandardCharsets.UTF_8);
    try (NativeSink sink = NativeSink.open(new S3SinkConfig(fileStore(dir)).toNativeConfig(), "test|task-0")) {
      RecordBatchCodec.PutResult result = sink.put(Arrays.asList(
          record(0, SinetStreamMessages.v3(SEND_MICROS, payload)),
          record(1, "not sinetstream".getBytes(StandardCharsets.UTF_8)),
          record(2, SinetStreamMessages.v3(SEND_MICROS + 1000, new byte[0]))));

      assertEquals(3, result.taken);
      List<RecordBatchCodec.Failure> undecodable = result.failures;
      assertEquals(1, undecodable.size());
      assertEquals(1, undecodable.get(0).index);
      assertEquals("malformed", undecodable.get(0).kind);

      TopicPartition tp = new TopicPartition("sinetstream.sensor", 0);
      assertEquals(Long.valueOf(1L), waitForCommittable(sink, tp, 1L));
      sink.resolveFailures(RecordBatchCodec.encodeOffsets(
          Collections.singletonList(new AbstractMap.SimpleImmutableEntry<>(tp, 1L))));
      assertEquals(Long.valueOf(3L), waitForCommittable(sink, tp, 3L));
    }
    Path bucket = dir.resolve("mybucket");
    assertArrayEquals(payload, Files.readAllBytes(bucket.resolve(DIR + "sinetstream.sensor+0+0000000000.json")));
    assertEquals("2022-04-18T01:23:45.123\n", read(bucket.resolve(DIR + "sinetstream.sensor+0+0000000000-timestamp.txt")));
    assertEquals(0, Files.size(bucket.resolve(DIR + "sinetstream.sensor+0+0000000002.json")));
    assertEquals("2022-04-18T01:23:45.124\n", read(bucket.resolve(DIR + "sinetstream.sensor+0+0000000002-timestamp.txt")));
    assertFalse(Files.exists(bucket.resolve(DIR + "sinetstream.sensor+0+0000000001.json")));
  }

  /** Handed back, a partition starts afresh from what Connect delivers again; no rewind is needed. */
  @Test
  public void aPartitionHandedBackByARebalanceIsDeliveredAgainWithoutRewind() throws Exception {
    RecordingContext context = new RecordingContext();
    SinetStreamS3SinkTask task = new SinetStreamS3SinkTask();
    task.initialize(context);
    task.start(fileStore(Files.createTempDirectory("sinets3-rebalance")));
    TopicPartition kept = new TopicPartition("sinetstream.sensor", 0);
    byte[] payload = "{}".getBytes(StandardCharsets.UTF_8);
    List<SinkRecord> records = Arrays.asList(record(7, SinetStreamMessages.v3(SEND_MICROS, payload)),
        record(8, SinetStreamMessages.v3(SEND_MICROS, payload)));
    task.open(Collections.singletonList(kept));
    task.put(records);
    task.close(Collections.singletonList(kept));
    task.open(Collections.singletonList(kept));
    task.put(records.subList(0, 1));
    // Connect has delivered up to 8 again: the commit must not run ahead of it.
    Map<TopicPartition, OffsetAndMetadata> delivered = Collections.singletonMap(kept, new OffsetAndMetadata(8));
    Map<TopicPartition, OffsetAndMetadata> committed = Collections.emptyMap();
    for (int i = 0; i < 200 && !committed.equals(delivered); i++) {
      committed = task.preCommit(delivered);
      Thread.sleep(25);
    }
    assertEquals(delivered, committed);
    assertTrue("no rewind: Connect's own bookkeeping stays right", context.offsets.isEmpty());
    task.stop();
  }

  @Test
  public void engineChecksAreReportedOnTheirKeys() throws IOException {
    Map<String, String> props = fileStore(Files.createTempDirectory("sinets3-validate"));
    props.put("path.format", "'year=YYYY");
    Config result = new SinetStreamS3SinkConnector().validate(props);
    List<String> errors = S3SinkConfigTest.errorsOf(result, "path.format");
    assertEquals(1, errors.size());
    assertTrue(errors.get(0), errors.get(0).contains("unterminated quote"));
  }

  @Test
  public void unreachableStoreIsReportedOnStoreUrl() {
    Map<String, String> props = new HashMap<>();
    props.put("s3.bucket.name", "mybucket");
    props.put("store.url", "http://127.0.0.1:9");
    props.put("aws.access.key.id", "AKIAEXAMPLE");
    props.put("aws.secret.access.key", "never-shown-secret-123");
    Config result = new SinetStreamS3SinkConnector().validate(props);
    List<String> errors = S3SinkConfigTest.errorsOf(result, "store.url");
    assertEquals(errors.toString(), 1, errors.size());
    assertFalse(result.toString().contains("never-shown-secret-123"));
  }

  @Test
  public void offsetsOfRenamedRecordsAreCommittedUnderTheConsumedTopic() throws Exception {
    SinetStreamS3SinkTask task = new SinetStreamS3SinkTask();
    task.initialize(new RecordingContext());
    Path dir = Files.createTempDirectory("sinets3-routed");
    task.start(fileStore(dir));
    byte[] payload = "{}".getBytes(StandardCharsets.UTF_8);
    SinkRecord consumed = record(4, SinetStreamMessages.v3(SEND_MICROS, payload));
    SinkRecord routed = consumed.newRecord("archive", 0, null, null, null, consumed.value(), RECORD_MILLIS);
    task.put(Collections.singletonList(routed));
    TopicPartition source = new TopicPartition("sinetstream.sensor", 0);
    Map<TopicPartition, OffsetAndMetadata> delivered = Collections.singletonMap(source, new OffsetAndMetadata(5));
    Map<TopicPartition, OffsetAndMetadata> committed = Collections.emptyMap();
    for (int i = 0; i < 200 && !committed.equals(delivered); i++) {
      committed = task.preCommit(delivered);
      Thread.sleep(25);
    }
    task.stop();
    assertEquals(delivered, committed);
    String renamed = "topics/archive/year=2022/month=04/day=18/hour=10/archive+0+0000000004.json";
    assertArrayEquals(payload, Files.readAllBytes(dir.resolve("mybucket").resolve(renamed)));
  }

  /**
   * A store that does not answer holds records in memory until the bound: the task then keeps
   * the rest of the batch, pauses its partitions and asks to be called again soon, instead of
   * throwing a RetriableException that Connect would log with a stack trace every time.
   */
  @Test
  public void aFullMemoryBoundPausesThePartitionsInsteadOfThrowing() {
    RecordingContext context = new RecordingContext();
    TopicPartition tp = new TopicPartition("sinetstream.sensor", 0);
    context.assigned.add(tp);
    SinetStreamS3SinkTask task = new SinetStreamS3SinkTask();
    task.initialize(context);
    task.start(unansweringStore());
    task.put(recordsOverMemory());
    assertEquals(Collections.singleton(tp), context.paused);
    assertEquals(Long.valueOf(250L), context.timeout);
    task.stop();
  }

  /** An S3 store that does not answer (nothing listens on the discard port), 1 MiB of memory. */
  static Map<String, String> unansweringStore() {
    Map<String, String> props = new HashMap<>();
    props.put("s3.bucket.name", "mybucket");
    props.put("store.url", "http://127.0.0.1:9");
    props.put("aws.access.key.id", "AKIAEXAMPLE");
    props.put("aws.secret.access.key", "never-shown-secret-123");
    props.put("upload.max.inflight.bytes", String.valueOf(1024 * 1024));
    props.put("sinetstream.max.decompressed.bytes", String.valueOf(1024 * 1024));
    return props;
  }

  /** 30 records of 100 KiB: about three times the memory of {@link #unansweringStore()}. */
  static List<SinkRecord> recordsOverMemory() {
    List<SinkRecord> records = new java.util.ArrayList<>();
    for (int i = 0; i < 30; i++) {
      records.add(record(i, SinetStreamMessages.v3(SEND_MICROS, new byte[100 * 1024])));
    }
    return records;
  }

  /** The parts of Connect's task context the task uses; records rewinds and pauses. */
  static final class RecordingContext implements SinkTaskContext {
    final Map<TopicPartition, Long> offsets = new HashMap<>();
    final Set<TopicPartition> assigned = new java.util.HashSet<>();
    final Set<TopicPartition> paused = new java.util.HashSet<>();
    Long timeout;

    @Override
    public Map<String, String> configs() {
      return Collections.emptyMap();
    }

    @Override
    public void offset(Map<TopicPartition, Long> offsets) {
      this.offsets.putAll(offsets);
    }

    @Override
    public void offset(TopicPartition tp, long offset) {
      offsets.put(tp, offset);
    }

    @Override
    public void timeout(long timeoutMs) {
      timeout = timeoutMs;
    }

    @Override
    public Set<TopicPartition> assignment() {
      return assigned;
    }

    @Override
    public void pause(TopicPartition... partitions) {
      paused.addAll(Arrays.asList(partitions));
    }

    @Override
    public void resume(TopicPartition... partitions) {
      paused.removeAll(Arrays.asList(partitions));
    }

    @Override
    public void requestCommit() {}
  }

  static Long waitForCommittable(NativeSink sink, TopicPartition tp, long wanted) throws InterruptedException {
    Long offset = null;
    for (int i = 0; i < 200; i++) {
      offset = RecordBatchCodec.decodeOffsets(sink.committable()).get(tp);
      if (offset != null && offset >= wanted) {
        return offset;
      }
      Thread.sleep(25);
    }
    return offset;
  }

  private static String read(Path path) throws IOException {
    return new String(Files.readAllBytes(path), StandardCharsets.UTF_8);
  }
}
