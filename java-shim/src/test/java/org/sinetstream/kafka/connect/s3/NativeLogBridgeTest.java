package org.sinetstream.kafka.connect.s3;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Collection;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.log4j.AppenderSkeleton;
import org.apache.log4j.Level;
import org.apache.log4j.Logger;
import org.apache.log4j.spi.LoggingEvent;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** The engine's lines, through the real library and reload4j as in a worker. */
public class NativeLogBridgeTest {
  private static final String SINK_LOGGER = NativeLogBridge.LOGGER_PREFIX + ".sink";
  private static final String TOPIC = "sinetstream.sensor";
  private static final long SEND_MICROS = 1_650_245_025_123_456L;

  private final Capture capture = new Capture();

  /** The lines go to the capture only: thousands of them would fill the test report. */
  @Before
  public void listen() {
    NativeLogBridge.start();
    Logger.getLogger(NativeLogBridge.LOGGER_PREFIX).addAppender(capture);
    Logger.getLogger(NativeLogBridge.LOGGER_PREFIX).setAdditivity(false);
  }

  @After
  public void stopListening() {
    Logger.getLogger(NativeLogBridge.LOGGER_PREFIX).setAdditivity(true);
    Logger.getLogger(NativeLogBridge.LOGGER_PREFIX).removeAppender(capture);
    Logger.getLogger(SINK_LOGGER).setLevel(null);
    NativeLogBridge.passLevels();
  }

  @Test
  public void linesKeepTheirLevelAndCarryTheTaskContext() throws Exception {
    Map<String, String> props = NativeRoundTripTest.fileStore(Files.createTempDirectory("sinets3-log"));
    props.put("rotate.schedule.interval.ms", "60000");
    try (NativeSink sink = NativeSink.open(new S3SinkConfig(props).toNativeConfig(), "log-test|task-3")) {
      Line started = capture.await(l -> l.message.startsWith("started: store"));
      assertEquals(Level.INFO, started.level);
      assertEquals(SINK_LOGGER, started.logger);
      assertEquals("[log-test|task-3] ", started.context);
      Line clock = capture.await(l -> l.message.startsWith("rotate.schedule.interval.ms closes objects"));
      assertEquals(Level.WARN, clock.level);
      assertEquals("[log-test|task-3] ", clock.context);
    }
  }

  /** log4j's level of a logger reaches the engine: DEBUG lines come once enabled, INFO lines stop at WARN. */
  @Test
  public void theEngineLogsWhatLog4jEnables() throws Exception {
    Logger.getLogger(SINK_LOGGER).setLevel(Level.DEBUG);
    NativeLogBridge.passLevels();
    Map<String, String> props = NativeRoundTripTest.fileStore(Files.createTempDirectory("sinets3-log"));
    try (NativeSink sink = NativeSink.open(new S3SinkConfig(props).toNativeConfig(), "log-test|task-4")) {
      sink.put(records(0, 1, 0)); // flush.size 1: stored at once, the partition has no open object
      assertEquals(Long.valueOf(1), NativeRoundTripTest.waitForCommittable(sink, new TopicPartition(TOPIC, 0), 1));
      sink.closePartitions(RecordBatchCodec.encodePartitions(partitions(0, 1)));
      Line debug = capture.await(l -> l.message.contains("closed by a rebalance: cancelled its uploads"));
      assertEquals(Level.DEBUG, debug.level);
      assertEquals("[log-test|task-4] ", debug.context);
    }

    Logger.getLogger(SINK_LOGGER).setLevel(Level.WARN);
    NativeLogBridge.passLevels();
    props.put("flush.size", "1000");
    NativeLogBridge.DRAINING.lock();
    try (NativeSink sink = NativeSink.open(new S3SinkConfig(props).toNativeConfig(), "log-test|task-4")) {
      drainAll();
      sink.put(records(0, 3, 0));
      sink.closePartitions(RecordBatchCodec.encodePartitions(partitions(0, 3))); // 3 INFO lines
      assertEquals("lines queued although their logger is at WARN", 0, NativeLogBridge.drain(0));
    } finally {
      NativeLogBridge.DRAINING.unlock();
    }
  }

  /** More lines than the queue holds while nothing drains: the rest are counted, and the count is logged. */
  @Test
  public void linesDroppedFromAFullQueueAreCounted() throws Exception {
    int partitions = 12_000;
    Map<String, String> props = NativeRoundTripTest.fileStore(Files.createTempDirectory("sinets3-log"));
    props.put("flush.size", "1000");
    try (NativeSink sink = NativeSink.open(new S3SinkConfig(props).toNativeConfig(), "log-test|task-5")) {
      sink.put(records(0, partitions, 0));
      NativeLogBridge.DRAINING.lock();
      try {
        drainAll();
        capture.lines.clear();
        sink.closePartitions(RecordBatchCodec.encodePartitions(partitions(0, partitions)));
        drainAll();
      } finally {
        NativeLogBridge.DRAINING.unlock();
      }
    }
    long delivered = capture.lines.stream().filter(l -> l.message.contains("closed by a rebalance: dropped")).count();
    List<Line> counts = capture.lines.stream().filter(l -> l.message.startsWith("dropped ")).collect(Collectors.toList());
    assertEquals(capture.lines.toString(), 1, counts.size());
    assertEquals(Level.WARN, counts.get(0).level);
    assertEquals(NativeLogBridge.LOGGER_PREFIX + ".logging", counts.get(0).logger);
    Matcher count = Pattern.compile("dropped (\\d+) native log lines").matcher(counts.get(0).message);
    assertTrue(counts.get(0).message, count.find());
    long dropped = Long.parseLong(count.group(1));
    assertTrue("some were dropped: " + dropped, dropped > 0);
    assertEquals(partitions, delivered + dropped);
  }

  private static void drainAll() {
    while (NativeLogBridge.drain(0) > 0) {
      // until the queue is empty
    }
  }

  /** One record per partition {@code first..first+count-1}, at offset {@code offset}. */
  private static List<SinkRecord> records(int first, int count, long offset) {
    byte[] value = SinetStreamMessages.v3(SEND_MICROS, "{}".getBytes(StandardCharsets.UTF_8));
    List<SinkRecord> records = new ArrayList<>();
    for (int p = first; p < first + count; p++) {
      records.add(new SinkRecord(TOPIC, p, null, null, null, value, offset, 1_650_245_025_200L,
          TimestampType.CREATE_TIME));
    }
    return records;
  }

  private static List<TopicPartition> partitions(int first, int count) {
    List<TopicPartition> partitions = new ArrayList<>();
    for (int p = first; p < first + count; p++) {
      partitions.add(new TopicPartition(TOPIC, p));
    }
    return partitions;
  }

  static final class Line {
    final Level level;
    final String logger;
    final String context;
    final String message;

    Line(LoggingEvent event) {
      level = event.getLevel();
      logger = event.getLoggerName();
      context = (String) event.getMDC(NativeLogBridge.CONTEXT_MDC);
      message = event.getRenderedMessage();
    }

    @Override
    public String toString() {
      return level + " " + logger + " " + context + message;
    }
  }

  /** Keeps what reaches the native loggers; the MDC is read as the line is logged. */
  static final class Capture extends AppenderSkeleton {
    final Collection<Line> lines = new ConcurrentLinkedQueue<>();

    @Override
    protected void append(LoggingEvent event) {
      lines.add(new Line(event));
    }

    Line await(Predicate<Line> wanted) throws InterruptedException {
      for (int i = 0; i < 400; i++) {
        for (Line line : lines) {
          if (wanted.test(line)) {
            return line;
          }
        }
        Thread.sleep(25);
      }
      throw new AssertionError("no such line within 10 s; got " + lines);
    }

    @Override
    public void close() {}

    @Override
    public boolean requiresLayout() {
      return false;
    }
  }
}
