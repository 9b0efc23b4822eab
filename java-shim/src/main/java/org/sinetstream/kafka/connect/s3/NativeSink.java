package org.sinetstream.kafka.connect.s3;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Owns one engine instance behind an opaque handle. Not thread-safe beyond what Connect
 * needs (one task thread), but {@link #close()} frees the engine exactly once.
 */
final class NativeSink implements AutoCloseable {
  static {
    NativeLibrary.load();
    String nativeVersion = nativeVersion();
    if (!nativeVersion.equals(Version.get())) {
      throw new UnsatisfiedLinkError("Native library " + nativeVersion + " does not match plugin " + Version.get());
    }
  }

  private long handle;

  private NativeSink(long handle) {
    this.handle = handle;
  }

  /** Starts an engine; checks the store and fails with the connector key at fault. */
  static NativeSink open(String configJson) {
    return new NativeSink(nativeOpen(configJson));
  }

  /** Problems of a configuration, as connector key to messages; empty when none. */
  static Map<String, List<String>> validate(String configJson) {
    Map<String, List<String>> problems = new java.util.LinkedHashMap<>();
    for (String[] pair : Json.pairsOfStrings(nativeValidate(configJson))) {
      problems.computeIfAbsent(pair[0], k -> new ArrayList<>()).add(pair[1]);
    }
    return Collections.unmodifiableMap(problems);
  }

  /**
   * Compares the store of a configuration with committed offsets (see Verify); returns the
   * report, whose last line is the summary.
   */
  static String verify(String configJson, String planJson) {
    return nativeVerify(configJson, planJson);
  }

  /** Hands a packed batch to the engine; returns the packed list of undecodable records. */
  synchronized byte[] put(byte[] batch) {
    return nativePut(liveHandle(), batch);
  }

  synchronized void resolveFailures(byte[] partitionOffsets) {
    nativeResolveFailures(liveHandle(), partitionOffsets);
  }

  synchronized byte[] committable() {
    return nativeCommittable(liveHandle());
  }

  synchronized void closePartitions(byte[] partitions) {
    nativeClosePartitions(liveHandle(), partitions);
  }

  synchronized void openPartitions(byte[] partitions) {
    nativeOpenPartitions(liveHandle(), partitions);
  }

  @Override
  public synchronized void close() {
    if (handle != 0) {
      long closing = handle;
      handle = 0;
      nativeClose(closing);
    }
  }

  private long liveHandle() {
    if (handle == 0) {
      throw new IllegalStateException("the native sink is closed");
    }
    return handle;
  }

  private static native long nativeOpen(String configJson);

  private static native String nativeValidate(String configJson);

  private static native byte[] nativePut(long handle, byte[] batch);

  private static native void nativeResolveFailures(long handle, byte[] partitionOffsets);

  private static native byte[] nativeCommittable(long handle);

  private static native void nativeClosePartitions(long handle, byte[] partitions);

  private static native void nativeOpenPartitions(long handle, byte[] partitions);

  private static native void nativeClose(long handle);

  private static native String nativeVersion();

  private static native String nativeVerify(String configJson, String planJson);
}
