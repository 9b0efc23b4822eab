package org.sinetstream.kafka.connect.s3;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongConsumer;
import java.util.function.LongFunction;
import org.apache.kafka.connect.sink.SinkRecord;

/**
 * Owns one engine instance behind an opaque handle; {@link #close()} frees it exactly once.
 * The engine takes calls from several threads (the task's, and JMX reading metrics while a put
 * waits for memory); a read-write lock keeps them all before the close.
 */
final class NativeSink implements AutoCloseable {
  static {
    NativeLibrary.load();
    String nativeVersion = nativeVersion();
    if (!nativeVersion.equals(Version.get())) {
      throw new UnsatisfiedLinkError("Native library " + nativeVersion + " does not match plugin " + Version.get());
    }
  }

  /**
   * The engine's metrics, in the order of the values {@link #metrics()} returns (rust-core/jni/src/lib.rs,
   * metric_values), with what each counts (the MBean's attribute descriptions).
   */
  static final Map<String, String> METRIC_DESCRIPTIONS = inOrder(
      "records-received", "records the task took from Connect (a record delivered again counts again)",
      "records-stored", "records in objects that are stored",
      "records-errant", "records that cannot be stored (sent to the errant-record reporter)",
      "payload-bytes-stored", "payload bytes in objects that are stored",
      "objects-stored", "objects stored (a payload object and its timestamp object count once)",
      "put-requests", "single PUT requests sent, retries included",
      "multipart-requests", "multipart requests sent (create, parts, complete, abort)",
      "retries", "uploads tried again after a failure",
      "failures-throttled", "requests the store refused as too many (503 SlowDown, 429)",
      "failures-server-error", "requests that failed with a server error or a transient S3 error",
      "failures-network", "requests that failed without an answer (connection refused, reset, timeout)",
      "failures-permanent", "requests that failed for a reason no retry fixes (403, 404, ...)",
      "inflight-bytes", "bytes taken but not yet stored",
      "inflight-bytes-limit", "upload.max.inflight.bytes",
      "upload-concurrency", "uploads allowed at the same time now (lowered while the store throttles)",
      "upload-concurrency-max", "upload.concurrency",
      "open-objects", "objects still collecting records",
      "oldest-unstored-record-age-ms", "age of the oldest record taken but not yet stored: the sink's lag",
      "upload-latency-avg-us", "average upload time over the last minute, microseconds",
      "upload-latency-max-us", "longest upload time over the last minute, microseconds",
      "upload-latency-p99-us", "99th percentile of the upload times over the last minute, microseconds");

  static final List<String> METRIC_NAMES =
      Collections.unmodifiableList(new ArrayList<>(METRIC_DESCRIPTIONS.keySet()));

  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private long handle;
  /** Reused from batch to batch; only the task's thread calls put. */
  private ByteBuffer batchBuffer;

  private NativeSink(long handle) {
    this.handle = handle;
  }

  /**
   * Starts an engine; fails with the connector key at fault. {@code context} names the task in
   * the engine's log lines, as Connect's MDC does ("s3-sink|task-0"); the lines reach SLF4J
   * through {@link NativeLogBridge}.
   */
  static NativeSink open(Map<String, String> config, String context) {
    NativeLogBridge.start();
    return new NativeSink(nativeOpen(pairs(config), context));
  }

  /** Problems of a configuration, as connector key to messages; empty when none. */
  static Map<String, List<String>> validate(Map<String, String> config) {
    String[] flat = nativeValidate(pairs(config));
    Map<String, List<String>> problems = new LinkedHashMap<>();
    for (int i = 0; i + 1 < flat.length; i += 2) {
      problems.computeIfAbsent(flat[i], k -> new ArrayList<>()).add(flat[i + 1]);
    }
    return Collections.unmodifiableMap(problems);
  }

  /** The pairs the engine reads: the config, with the JVM's CAs where the store needs them. */
  private static String[] pairs(Map<String, String> settings) {
    Map<String, String> config = JvmTrust.addTo(settings);
    String[] flat = new String[config.size() * 2];
    int i = 0;
    for (Map.Entry<String, String> entry : config.entrySet()) {
      flat[i++] = entry.getKey();
      flat[i++] = entry.getValue();
    }
    return flat;
  }

  /**
   * Compares the store of a configuration with committed offsets (see Verify); returns the
   * report, whose last line is the summary.
   */
  static String verify(Map<String, String> config, String planJson) {
    return nativeVerify(pairs(config), planJson);
  }

  /** Hands a batch to the engine; says how many records it took and which it cannot store. */
  RecordBatchCodec.PutResult put(List<SinkRecord> records) {
    return call(live -> {
      batchBuffer = RecordBatchCodec.encodeBatch(records, batchBuffer);
      return RecordBatchCodec.decodePutResult(nativePut(live, batchBuffer, batchBuffer.position()));
    });
  }

  void resolveFailures(byte[] offsets) {
    run(live -> nativeResolveFailures(live, offsets));
  }

  byte[] committable() {
    return call(NativeSink::nativeCommittable);
  }

  void closePartitions(byte[] partitions) {
    run(live -> nativeClosePartitions(live, partitions));
  }

  void openPartitions(byte[] partitions) {
    run(live -> nativeOpenPartitions(live, partitions));
  }

  /** The values named by {@link #METRIC_NAMES}. */
  long[] metrics() {
    return call(NativeSink::nativeMetrics);
  }

  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (handle != 0) {
        long closing = handle;
        handle = 0;
        batchBuffer = null;
        nativeClose(closing);
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  private void run(LongConsumer body) {
    call(live -> {
      body.accept(live);
      return null;
    });
  }

  private <T> T call(LongFunction<T> body) {
    lock.readLock().lock();
    try {
      if (handle == 0) {
        throw new IllegalStateException("the native sink is closed");
      }
      return body.apply(handle);
    } finally {
      lock.readLock().unlock();
    }
  }

  private static native long nativeOpen(String[] config, String context);

  private static native String[] nativeValidate(String[] config);

  private static native byte[] nativePut(long handle, ByteBuffer batch, int length);

  private static native void nativeResolveFailures(long handle, byte[] offsets);

  private static native byte[] nativeCommittable(long handle);

  private static native void nativeClosePartitions(long handle, byte[] partitions);

  private static native void nativeOpenPartitions(long handle, byte[] partitions);

  private static native long[] nativeMetrics(long handle);

  private static native void nativeClose(long handle);

  private static native String nativeVersion();

  private static native String nativeVerify(String[] config, String planJson);

  private static Map<String, String> inOrder(String... pairs) {
    Map<String, String> map = new LinkedHashMap<>();
    for (int i = 0; i + 1 < pairs.length; i += 2) {
      map.put(pairs[i], pairs[i + 1]);
    }
    return Collections.unmodifiableMap(map);
  }
}
