package org.sinetstream.kafka.connect.s3;

import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Adapts Connect's task contract to the engine: one JNI call per put(), offsets committed
 * only where the engine says every object up to them is stored.
 *
 * <p>When the engine's memory bound is reached it takes only the first records of a batch.
 * The rest wait here, the task's partitions are paused, and each following put() offers them
 * again first, so a slow store holds back the consumer without a RetriableException (which
 * Connect would log with a stack trace on every retry).
 */
public class SinetStreamS3SinkTask extends SinkTask {
  private static final Logger log = LoggerFactory.getLogger(SinetStreamS3SinkTask.class);
  /** Pause before Connect calls put() again while records wait for memory. */
  private static final long RETRY_BACKOFF_MS = 250;

  private NativeSink sink;
  private ErrantRecordReporter reporter;
  private List<SinkRecord> waiting = new ArrayList<>();
  private final Set<TopicPartition> pausedForMemory = new HashSet<>();
  private CommitLog commitLog;
  private TaskMetrics metrics;

  @Override
  public String version() {
    return Version.get();
  }

  @Override
  public void start(Map<String, String> props) {
    S3SinkConfig config = new S3SinkConfig(props);
    List<String[]> problems = CombinationChecks.problems(config);
    if (!problems.isEmpty()) {
      throw new ConnectException(problems.get(0)[0] + ": " + problems.get(0)[1]);
    }
    reporter = errantRecordReporter();
    String taskContext = taskContext();
    sink = NativeSink.open(config.toNativeConfig(), taskContext);
    try {
      commitLog = new CommitLog(sink);
      metrics = TaskMetrics.register(sink, taskContext, props);
    } catch (RuntimeException e) {
      stop();
      throw e;
    }
  }

  private ErrantRecordReporter errantRecordReporter() {
    try {
      return context.errantRecordReporter();
    } catch (NoSuchMethodError | NoClassDefFoundError olderWorker) {
      return null;
    }
  }

  /** Connect's MDC on the task thread reads "[s3-sink|task-0] "; the engine's lines carry it too. */
  private static String taskContext() {
    String context = MDC.get(NativeLogBridge.CONTEXT_MDC);
    return context == null ? "" : context.replace("[", "").replace("]", "").trim();
  }

  @Override
  public void put(Collection<SinkRecord> records) {
    List<SinkRecord> batch = waiting;
    batch.addAll(records);
    RecordBatchCodec.PutResult result = sink.put(batch);
    if (!result.failures.isEmpty()) {
      report(batch, result.failures);
    }
    waiting = new ArrayList<>(batch.subList(result.taken, batch.size()));
    if (waiting.isEmpty()) {
      resumeAfterMemoryWait();
    } else {
      pauseForMemory();
      context.timeout(RETRY_BACKOFF_MS);
    }
  }

  private void pauseForMemory() {
    Set<TopicPartition> assigned = new HashSet<>(context.assignment());
    assigned.removeAll(pausedForMemory);
    if (!assigned.isEmpty()) {
      context.pause(assigned.toArray(new TopicPartition[0]));
      pausedForMemory.addAll(assigned);
    }
  }

  private void resumeAfterMemoryWait() {
    pausedForMemory.retainAll(context.assignment());
    if (!pausedForMemory.isEmpty()) {
      context.resume(pausedForMemory.toArray(new TopicPartition[0]));
      pausedForMemory.clear();
    }
  }

  /**
   * Hands undecodable records to the errant-record reporter (dead letter queue), which
   * throws when errors.tolerance does not allow them; without a reporter the task fails.
   * Only reported records stop holding back the commit of later offsets.
   */
  private void report(List<SinkRecord> batch, List<RecordBatchCodec.Failure> failures) {
    List<Map.Entry<TopicPartition, Long>> reported = new ArrayList<>();
    for (RecordBatchCodec.Failure failure : failures) {
      SinkRecord record = batch.get(failure.index);
      DataException error = new DataException(String.format(
          "Cannot store record %s-%d at offset %d (%s): %s", record.topic(), record.kafkaPartition(),
          record.kafkaOffset(), failure.kind, failure.reason));
      if (reporter == null) {
        throw error;
      }
      log.warn("{}; sending it to the errant-record reporter", error.getMessage());
      reporter.report(record, error);
      SourcePosition source = SourcePosition.of(record);
      reported.add(new AbstractMap.SimpleImmutableEntry<>(source.tp, source.offset));
    }
    sink.resolveFailures(RecordBatchCodec.encodeOffsets(reported));
  }

  /** Offsets are keyed as Connect tracks them: by the topic before any transform renamed it. */
  @Override
  public Map<TopicPartition, OffsetAndMetadata> preCommit(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
    Map<TopicPartition, OffsetAndMetadata> durable = new HashMap<>();
    Map<TopicPartition, Long> committable = RecordBatchCodec.decodeOffsets(sink.committable());
    for (Map.Entry<TopicPartition, Long> entry : committable.entrySet()) {
      OffsetAndMetadata delivered = currentOffsets.get(entry.getKey());
      if (delivered != null) {
        // Never past what Connect delivered, which it may deliver again after a rewind.
        durable.put(entry.getKey(), new OffsetAndMetadata(Math.min(entry.getValue(), delivered.offset())));
      }
    }
    commitLog.committing(durable);
    metrics.committed(durable);
    return durable;
  }

  @Override
  public void flush(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
    // preCommit decides what is committed; nothing is forced out here.
  }

  /** Newly assigned partitions start afresh from the committed offset. */
  @Override
  public void open(Collection<TopicPartition> partitions) {
    if (sink != null && !partitions.isEmpty()) {
      sink.openPartitions(RecordBatchCodec.encodePartitions(partitions));
    }
  }

  /**
   * Revoked or lost partitions: the engine drops what it holds of them and cancels their
   * uploads; records of theirs still waiting for memory are dropped too. Connect delivers
   * them again, from the committed offset, to whichever task owns them next.
   */
  @Override
  public void close(Collection<TopicPartition> partitions) {
    if (sink == null || partitions.isEmpty()) {
      return;
    }
    waiting.removeIf(record -> partitions.contains(SourcePosition.of(record).tp));
    pausedForMemory.removeAll(partitions);
    metrics.forget(partitions);
    sink.closePartitions(RecordBatchCodec.encodePartitions(partitions));
  }

  @Override
  public void stop() {
    waiting.clear();
    if (metrics != null) {
      metrics.unregister();
      metrics = null;
    }
    if (sink != null) {
      sink.close();
      sink = null;
    }
  }
}
