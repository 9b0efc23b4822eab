package org.sinetstream.kafka.connect.s3;

import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adapts Connect's task contract to the engine: one JNI call per put(), offsets committed
 * only where the engine says every object up to them is stored.
 */
public class SinetStreamS3SinkTask extends SinkTask {
  private static final Logger log = LoggerFactory.getLogger(SinetStreamS3SinkTask.class);
  /** Pause before Connect offers a refused batch again. */
  private static final long RETRY_BACKOFF_MS = 1000;

  private NativeSink sink;
  private ErrantRecordReporter reporter;

  @Override
  public String version() {
    return Version.get();
  }

  @Override
  public void start(Map<String, String> props) {
    S3SinkConfig config = new S3SinkConfig(props);
    reporter = errantRecordReporter();
    sink = NativeSink.open(config.toNativeJson());
    log.info("Started: bucket {} at {}", config.getString(S3SinkConfig.BUCKET_CONFIG),
        storeLabel(config.getString(S3SinkConfig.STORE_URL_CONFIG)));
  }

  private ErrantRecordReporter errantRecordReporter() {
    try {
      return context.errantRecordReporter();
    } catch (NoSuchMethodError | NoClassDefFoundError olderWorker) {
      return null;
    }
  }

  private static String storeLabel(String url) {
    return url.isEmpty() ? "Amazon S3" : url;
  }

  @Override
  public void put(Collection<SinkRecord> records) {
    if (records.isEmpty()) {
      return;
    }
    List<SinkRecord> batch = records instanceof List ? (List<SinkRecord>) records : new ArrayList<>(records);
    byte[] failures;
    try {
      failures = sink.put(RecordBatchCodec.encodeBatch(batch));
    } catch (RetriableException busy) {
      context.timeout(RETRY_BACKOFF_MS);
      throw busy;
    }
    List<RecordBatchCodec.Failure> undecodable = RecordBatchCodec.decodeFailures(failures);
    if (!undecodable.isEmpty()) {
      report(batch, undecodable);
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
      reported.add(new AbstractMap.SimpleImmutableEntry<>(
          new TopicPartition(record.topic(), record.kafkaPartition()), record.kafkaOffset()));
    }
    sink.resolveFailures(RecordBatchCodec.encodePartitionOffsets(reported));
  }

  @Override
  public Map<TopicPartition, OffsetAndMetadata> preCommit(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
    Map<TopicPartition, OffsetAndMetadata> durable = new HashMap<>();
    Map<TopicPartition, Long> committable = RecordBatchCodec.decodePartitionOffsets(sink.committable());
    for (Map.Entry<TopicPartition, Long> entry : committable.entrySet()) {
      OffsetAndMetadata delivered = currentOffsets.get(entry.getKey());
      if (delivered != null) {
        // Stored records Connect is delivering again after a rebalance count from where it is.
        durable.put(entry.getKey(), new OffsetAndMetadata(Math.min(entry.getValue(), delivered.offset())));
      }
    }
    return durable;
  }

  @Override
  public void flush(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
    // preCommit decides what is committed; nothing is forced out here.
  }

  /**
   * Partitions this task held before the rebalance keep the records it took: Connect
   * delivers them again from the committed offset, and the engine skips those.
   */
  @Override
  public void open(Collection<TopicPartition> partitions) {
    if (sink != null && !partitions.isEmpty()) {
      sink.openPartitions(RecordBatchCodec.encodePartitions(partitions));
    }
  }

  @Override
  public void close(Collection<TopicPartition> partitions) {
    if (sink != null && !partitions.isEmpty()) {
      sink.closePartitions(RecordBatchCodec.encodePartitions(partitions));
    }
  }

  @Override
  public void stop() {
    if (sink != null) {
      sink.close();
      sink = null;
    }
  }
}
