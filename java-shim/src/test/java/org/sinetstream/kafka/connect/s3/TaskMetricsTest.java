package org.sinetstream.kafka.connect.s3;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.Test;
import org.slf4j.MDC;

/** The task's JMX bean, read through the platform MBean server as a JMX client would. */
public class TaskMetricsTest {
  private static final MBeanServer SERVER = ManagementFactory.getPlatformMBeanServer();
  private static final long SEND_MICROS = 1_650_245_025_123_456L;
  private static final TopicPartition TP = new TopicPartition("sinetstream.sensor", 0);

  private static ObjectName name(String connector, String task) throws Exception {
    return new ObjectName("kafka.connect:type=sinetstream-s3-sink-task-metrics,connector=" + connector
        + ",task=" + task);
  }

  private static String[] allAttributes() {
    List<String> names = new ArrayList<>(NativeSink.METRIC_NAMES);
    names.add(TaskMetrics.COMMITTED_OFFSETS);
    return names.toArray(new String[0]);
  }

  @Test
  public void plainNamesStayPlainOthersAreQuoted() {
    assertEquals("s3-sink.v2", TaskMetrics.jmxValue("s3-sink.v2"));
    assertEquals("\"a,b=c\"", TaskMetrics.jmxValue("a,b=c"));
  }

  @Test
  public void attributesAreTheEnginesCountsAndTheCommittedOffsets() throws Exception {
    Map<String, String> props = NativeRoundTripTest.fileStore(Files.createTempDirectory("sinets3-jmx"));
    ObjectName name = name("jmx-test", "2");
    TaskMetrics metrics;
    try (NativeSink sink = NativeSink.open(new S3SinkConfig(props).toNativeConfig(), "jmx-test|task-2")) {
      metrics = TaskMetrics.register(sink, "jmx-test|task-2", props);
      assertEquals(name, metrics.name());
      assertTrue(SERVER.isRegistered(name));
      List<SinkRecord> records = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        records.add(NativeRoundTripTest.record(i, SinetStreamMessages.v3(SEND_MICROS, new byte[10 * (i + 1)])));
      }
      records.add(NativeRoundTripTest.record(3, "not sinetstream".getBytes(StandardCharsets.UTF_8)));
      sink.put(records);
      sink.resolveFailures(RecordBatchCodec.encodeOffsets(
          Collections.singletonList(new AbstractMap.SimpleImmutableEntry<>(TP, 3L))));
      assertEquals(Long.valueOf(4), NativeRoundTripTest.waitForCommittable(sink, TP, 4));

      assertEquals(4L, SERVER.getAttribute(name, "records-received"));
      assertEquals(3L, SERVER.getAttribute(name, "records-stored"));
      assertEquals(1L, SERVER.getAttribute(name, "records-errant"));
      assertEquals(60L, SERVER.getAttribute(name, "payload-bytes-stored"));
      assertEquals(3L, SERVER.getAttribute(name, "objects-stored"));
      assertEquals(0L, SERVER.getAttribute(name, "open-objects"));
      assertEquals(0L, SERVER.getAttribute(name, "oldest-unstored-record-age-ms"));
      assertEquals(S3SinkConfig.INFLIGHT_DEFAULT, SERVER.getAttribute(name, "inflight-bytes-limit"));
      long[] direct = sink.metrics();
      AttributeList all = SERVER.getAttributes(name, allAttributes());
      assertEquals(NativeSink.METRIC_NAMES.size() + 1, all.size());
      for (Attribute attribute : all.asList()) {
        int index = NativeSink.METRIC_NAMES.indexOf(attribute.getName());
        if (index >= 0) {
          assertEquals(attribute.getName(), direct[index], attribute.getValue());
        }
      }

      assertTrue(offsets(name).isEmpty());
      metrics.committed(Collections.singletonMap(TP, new OffsetAndMetadata(4)));
      assertEquals(Collections.singletonMap(TP, 4L), offsets(name));
      metrics.forget(Collections.singletonList(TP));
      assertTrue(offsets(name).isEmpty());
    }
    assertEquals("the last values once the sink closed", 3L, metrics.getAttribute("records-stored"));
    metrics.unregister();
    assertFalse(SERVER.isRegistered(name));
  }

  @Test
  public void everyAttributeIsDescribed() throws Exception {
    Map<String, String> props = NativeRoundTripTest.fileStore(Files.createTempDirectory("sinets3-jmx"));
    try (NativeSink sink = NativeSink.open(new S3SinkConfig(props).toNativeConfig(), "jmx-info|task-0")) {
      TaskMetrics metrics = TaskMetrics.register(sink, "jmx-info|task-0", props);
      Set<String> described = new HashSet<>();
      for (MBeanAttributeInfo attribute : SERVER.getMBeanInfo(metrics.name()).getAttributes()) {
        assertNotNull(attribute.getName(), attribute.getDescription());
        assertTrue(attribute.isReadable() && !attribute.isWritable());
        described.add(attribute.getName());
      }
      metrics.unregister();
      assertEquals(new HashSet<>(java.util.Arrays.asList(allAttributes())), described);
      assertEquals(new HashSet<>(NativeSink.METRIC_NAMES), TaskMetrics.DESCRIPTIONS.keySet());
    }
  }

  /** start registers, stop unregisters; a failed start leaves nothing behind; a restart registers again. */
  @Test
  public void aTaskRegistersAtStartAndUnregistersAtStop() throws Exception {
    Map<String, String> props = NativeRoundTripTest.fileStore(Files.createTempDirectory("sinets3-jmx"));
    Map<String, String> refused = new HashMap<>(props);
    refused.put("store.url", "file:///proc/sinets3-not-allowed");
    ObjectName name = name("lifecycle", "0");
    MDC.put("connector.context", "[lifecycle|task-0] ");
    try {
      SinetStreamS3SinkTask failing = task();
      try {
        failing.start(refused);
        fail("a store outside SINETS3_ALLOWED_PATHS starts");
      } catch (ConnectException expected) {
        failing.stop();
      }
      assertFalse(SERVER.isRegistered(name));

      SinetStreamS3SinkTask first = task();
      first.start(props);
      assertTrue(SERVER.isRegistered(name));
      first.stop();
      assertFalse(SERVER.isRegistered(name));

      SinetStreamS3SinkTask restarted = task();
      restarted.start(props);
      assertTrue("a restarted task registers again", SERVER.isRegistered(name));
      SinetStreamS3SinkTask replacing = task();
      replacing.start(props); // the same task id while the last one has not stopped yet
      restarted.stop();
      assertTrue("a late stop leaves the newer task's bean", SERVER.isRegistered(name));
      replacing.stop();
      assertFalse(SERVER.isRegistered(name));
    } finally {
      MDC.remove("connector.context");
    }
  }

  /** put() waiting for memory (a store that does not answer) holds the sink's read lock; JMX reads go on. */
  @Test
  public void readingDoesNotWaitForAPutWaitingForMemory() throws Exception {
    Map<String, String> props = NativeRoundTripTest.unansweringStore();
    List<SinkRecord> records = NativeRoundTripTest.recordsOverMemory();
    try (NativeSink sink = NativeSink.open(new S3SinkConfig(props).toNativeConfig(), "memory|task-0")) {
      TaskMetrics metrics = TaskMetrics.register(sink, "memory|task-0", props);
      Thread putter = new Thread(() -> sink.put(records), "put-waiting-for-memory");
      putter.start();
      ObjectName name = metrics.name();
      for (int i = 0; i < 1000 && (long) SERVER.getAttribute(name, "records-received") == 0; i++) {
        Thread.sleep(10);
      }
      AttributeList all = SERVER.getAttributes(name, allAttributes());
      assertTrue("put() returned before the read: it did not wait for memory", putter.isAlive());
      long inflight = (long) value(all, "inflight-bytes");
      assertTrue("in flight " + inflight, inflight > 0 && inflight <= 1024 * 1024);
      putter.join(10_000);
      metrics.unregister();
    }
  }

  private static Object value(AttributeList list, String name) {
    for (Attribute attribute : list.asList()) {
      if (attribute.getName().equals(name)) {
        return attribute.getValue();
      }
    }
    throw new AssertionError(name + " missing in " + list);
  }

  private static Map<TopicPartition, Long> offsets(ObjectName name) throws Exception {
    TabularData table = (TabularData) SERVER.getAttribute(name, TaskMetrics.COMMITTED_OFFSETS);
    Map<TopicPartition, Long> offsets = new HashMap<>();
    for (Object row : table.values()) {
      CompositeData data = (CompositeData) row;
      offsets.put(new TopicPartition((String) data.get("topic"), (Integer) data.get("partition")),
          (Long) data.get("offset"));
    }
    return offsets;
  }

  /** A task with a context that has no errant-record reporter and no partitions. */
  private static SinetStreamS3SinkTask task() {
    SinetStreamS3SinkTask task = new SinetStreamS3SinkTask();
    task.initialize(new NativeRoundTripTest.RecordingContext());
    return task;
  }
}
