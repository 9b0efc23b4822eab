package org.sinetstream.kafka.connect.s3;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Logs the engine's lines with SLF4J, under {@code org.sinetstream.kafka.connect.s3.native.<module>}
 * (module = the engine's module, e.g. {@code upload}), at their level, with Connect's MDC
 * {@code connector.context} set to the task they belong to, so they read {@code [s3-sink|task-0]}
 * like Connect's own lines.
 *
 * <p>The engine never calls into the JVM to log (its upload threads are not Java threads): it
 * queues lines (rust-core/jni/src/logging.rs), and one daemon thread per class loader, started
 * with the first {@link NativeSink}, takes them out. Every few seconds the thread also tells the
 * engine which levels the loggers enable, so log4j settings filter these lines like any other.
 */
final class NativeLogBridge {
  static final String LOGGER_PREFIX = "org.sinetstream.kafka.connect.s3.native";
  static final String CONTEXT_MDC = "connector.context";
  private static final long DRAIN_TIMEOUT_MS = 1000;
  private static final long LEVEL_CHECK_NANOS = TimeUnit.SECONDS.toNanos(5);
  private static final Logger log = LoggerFactory.getLogger(NativeLogBridge.class);

  /** Held while lines are taken out and logged: tests hold it to keep lines in the queue. */
  static final ReentrantLock DRAINING = new ReentrantLock();
  private static final Map<String, Logger> LOGGERS = new ConcurrentHashMap<>();
  private static List<String> engineModules;
  private static Thread thread;

  private NativeLogBridge() {}

  /** Starts the thread once; the engine's loggers are set before this returns. */
  static synchronized void start() {
    if (thread != null) {
      return;
    }
    NativeLibrary.load();
    engineModules = Arrays.asList(nativeLogModules());
    passLevels();
    thread = new Thread(NativeLogBridge::run, "sinetstream-s3-native-log");
    thread.setDaemon(true);
    thread.start();
  }

  private static void run() {
    long levelsPassed = System.nanoTime();
    while (true) {
      try {
        drain(DRAIN_TIMEOUT_MS);
        if (System.nanoTime() - levelsPassed >= LEVEL_CHECK_NANOS) {
          passLevels();
          levelsPassed = System.nanoTime();
        }
      } catch (RuntimeException | Error e) {
        // A line that cannot be logged must not silence the ones after it.
        log.warn("could not log lines of the native engine: {}", e.toString());
        sleepQuietly();
      }
    }
  }

  /** Takes out the lines queued, waiting up to {@code timeoutMs} for the first; returns how many. */
  static int drain(long timeoutMs) {
    DRAINING.lock();
    try {
      String[] lines = nativeDrainLogs(timeoutMs);
      for (int i = 0; i + 3 < lines.length; i += 4) {
        emit(lines[i], lines[i + 1], lines[i + 2], lines[i + 3]);
      }
      return lines.length / 4;
    } finally {
      DRAINING.unlock();
    }
  }

  private static void emit(String level, String module, String context, String message) {
    Logger logger = logger(module);
    boolean withContext = !context.isEmpty();
    if (withContext) {
      MDC.put(CONTEXT_MDC, "[" + context + "] ");
    }
    try {
      switch (level) {
        case "ERROR":
          logger.error(message);
          break;
        case "WARN":
          logger.warn(message);
          break;
        case "INFO":
          logger.info(message);
          break;
        case "DEBUG":
          logger.debug(message);
          break;
        default:
          logger.trace(message);
      }
    } finally {
      if (withContext) {
        MDC.remove(CONTEXT_MDC);
      }
    }
  }

  /**
   * Tells the engine the most verbose level each logger enables: the parent, the engine's
   * modules, and every logger a line went to so far (object_store's, for instance).
   */
  static void passLevels() {
    Set<String> modules = new LinkedHashSet<>(engineModules);
    modules.addAll(LOGGERS.keySet());
    List<String> pairs = new ArrayList<>();
    pairs.add("");
    pairs.add(levelOf(LoggerFactory.getLogger(LOGGER_PREFIX)));
    for (String module : modules) {
      pairs.add(module);
      pairs.add(levelOf(logger(module)));
    }
    nativeSetLogLevels(pairs.toArray(new String[0]));
  }

  private static Logger logger(String module) {
    return LOGGERS.computeIfAbsent(module, m -> LoggerFactory.getLogger(LOGGER_PREFIX + "." + m));
  }

  /** In the names of Rust's log::LevelFilter. */
  private static String levelOf(Logger logger) {
    if (logger.isTraceEnabled()) {
      return "TRACE";
    } else if (logger.isDebugEnabled()) {
      return "DEBUG";
    } else if (logger.isInfoEnabled()) {
      return "INFO";
    } else if (logger.isWarnEnabled()) {
      return "WARN";
    } else if (logger.isErrorEnabled()) {
      return "ERROR";
    }
    return "OFF";
  }

  private static void sleepQuietly() {
    try {
      Thread.sleep(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static native String[] nativeDrainLogs(long timeoutMs);

  private static native void nativeSetLogLevels(String[] levels);

  private static native String[] nativeLogModules();
}
