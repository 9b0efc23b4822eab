package org.sinetstream.kafka.connect.s3;

import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One INFO line per commit (Connect commits every offset.flush.interval.ms): what was stored
 * since the last one, and the offsets being committed.
 */
final class CommitLog {
  private static final Logger log = LoggerFactory.getLogger(SinetStreamS3SinkTask.class);
  /** Partitions named in one line; the rest are counted. */
  private static final int SHOWN_PARTITIONS = 8;

  private final NativeSink sink;
  private long[] last;

  CommitLog(NativeSink sink) {
    this.sink = sink;
    this.last = sink.metrics();
  }

  void committing(Map<TopicPartition, OffsetAndMetadata> offsets) {
    long[] now = sink.metrics();
    long records = delta(now, "records-stored");
    long failures = delta(now, "failures-throttled") + delta(now, "failures-server-error")
        + delta(now, "failures-network") + delta(now, "failures-permanent");
    if (records > 0 || failures > 0 || delta(now, "records-errant") > 0) {
      log.info("Stored {} records ({} payload bytes) in {} objects, {} errant, {} failed requests, {} retries since "
          + "the last commit; committing {}", records, delta(now, "payload-bytes-stored"),
          delta(now, "objects-stored"), delta(now, "records-errant"), failures, delta(now, "retries"),
          describe(offsets));
    }
    last = now;
  }

  private long delta(long[] now, String name) {
    int i = NativeSink.METRIC_NAMES.indexOf(name);
    return now[i] - last[i];
  }

  private static String describe(Map<TopicPartition, OffsetAndMetadata> offsets) {
    Map<String, Long> sorted = new TreeMap<>();
    offsets.forEach((tp, offset) -> sorted.put(tp.toString(), offset.offset()));
    String shown = sorted.entrySet().stream().limit(SHOWN_PARTITIONS)
        .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(", "));
    int more = sorted.size() - SHOWN_PARTITIONS;
    return more > 0 ? shown + " and " + more + " more partitions" : shown.isEmpty() ? "nothing" : shown;
  }
}
