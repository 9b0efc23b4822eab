package org.sinetstream.kafka.connect.s3;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Settings that are valid alone but not together; each problem names the key to change. */
final class CombinationChecks {
  static final String ERRORS_TOLERANCE = "errors.tolerance";
  static final String DLQ_TOPIC = "errors.deadletterqueue.topic.name";
  static final String ERRORS_LOG = "errors.log.enable";

  private CombinationChecks() {}

  static List<String[]> problems(S3SinkConfig config) {
    List<String[]> problems = new ArrayList<>();
    // Whether the decoder settings hold together (a key for the mode, ...) is the codec's to
    // say: a SINETStream config file may supply them. NativeSink.validate reports it.
    boolean fromFile = !config.getString(SinetStreamConfig.CONFIG_FILE_CONFIG).isEmpty();
    boolean hasService = !config.getString(SinetStreamConfig.SERVICE_CONFIG).isEmpty();
    if (fromFile && !hasService) {
      problems.add(new String[] {SinetStreamConfig.SERVICE_CONFIG,
          "required with sinetstream.config.file: the service whose settings apply"});
    }
    problems.addAll(objectKeys(config));
    problems.addAll(uploads(config));
    problems.addAll(store(config));
    problems.addAll(errantRecords(config));
    return problems;
  }

  /** Payload and timestamp objects must never share a key, or one silently replaces the other. */
  private static List<String[]> objectKeys(S3SinkConfig config) {
    List<String[]> problems = new ArrayList<>();
    List<String> objects = config.getList(S3SinkConfig.OBJECTS_CONFIG);
    String extension = config.getString(S3SinkConfig.EXTENSION_CONFIG);
    String suffix = config.getString(S3SinkConfig.TIMESTAMP_SUFFIX_CONFIG);
    if (objects.contains("payload") && objects.contains("timestamp") && endingsCollide(extension, suffix)) {
      problems.add(new String[] {S3SinkConfig.EXTENSION_CONFIG, "'" + extension + "' and timestamp.object.suffix '"
          + suffix + "' would give payload and timestamp objects the same keys; choose endings that differ"});
    }
    return problems;
  }

  /**
   * Equal endings collide, and so do endings where the longer one is the shorter one after a
   * few digits: the digits of one offset can make up the difference ("5.bin" and ".bin").
   */
  static boolean endingsCollide(String a, String b) {
    String longer = a.length() >= b.length() ? a : b;
    String shorter = longer == a ? b : a;
    if (!longer.endsWith(shorter)) {
      return false;
    }
    String rest = longer.substring(0, longer.length() - shorter.length());
    return rest.chars().allMatch(Character::isDigit) && (!rest.isEmpty() || a.equals(b));
  }

  private static List<String[]> uploads(S3SinkConfig config) {
    List<String[]> problems = new ArrayList<>();
    int floor = config.getInt(S3SinkConfig.CONCURRENCY_MIN_CONFIG);
    int ceiling = config.getInt(S3SinkConfig.CONCURRENCY_CONFIG);
    if (floor > ceiling) {
      problems.add(new String[] {S3SinkConfig.CONCURRENCY_MIN_CONFIG,
          floor + " is above upload.concurrency (" + ceiling + ")"});
    }
    long decompressed = config.getLong(S3SinkConfig.MAX_DECOMPRESSED_CONFIG);
    long inflight = config.getLong(S3SinkConfig.INFLIGHT_CONFIG);
    if (decompressed > inflight) {
      problems.add(new String[] {S3SinkConfig.MAX_DECOMPRESSED_CONFIG, decompressed
          + " is above upload.max.inflight.bytes (" + inflight + "): one message could exceed the memory bound"});
    }
    return problems;
  }

  /**
   * Store settings that cannot work where the objects go: S3's request headers mean nothing
   * to a file:// store, and secrets (an SSE-C key) or an unsigned body must not cross plain
   * http://.
   */
  private static List<String[]> store(S3SinkConfig config) {
    List<String[]> problems = new ArrayList<>();
    String url = config.getString(S3SinkConfig.STORE_URL_CONFIG).trim().toLowerCase(java.util.Locale.ROOT);
    boolean files = url.startsWith("file:");
    boolean plainHttp = url.startsWith("http:");
    String sseType = config.getString(StoreOptions.SSE_TYPE_CONFIG);
    boolean customerKey = !config.getPassword(StoreOptions.CUSTOMER_KEY_CONFIG).value().isEmpty();
    boolean roleArn = !config.getString(StoreOptions.ROLE_ARN_CONFIG).isEmpty();
    if (files) {
      String[][] s3Only = {
          {StoreOptions.SSE_TYPE_CONFIG, "none".equals(sseType) ? "" : sseType},
          {StoreOptions.KMS_KEY_CONFIG, config.getString(StoreOptions.KMS_KEY_CONFIG)},
          {StoreOptions.CUSTOMER_KEY_CONFIG, customerKey ? "set" : ""},
          {StoreOptions.CONTENT_TYPE_CONFIG, config.getString(StoreOptions.CONTENT_TYPE_CONFIG)},
          {StoreOptions.METADATA_CONFIG, String.join(",", config.getList(StoreOptions.METADATA_CONFIG))},
          {StoreOptions.TAGGING_CONFIG, config.getString(StoreOptions.TAGGING_CONFIG)},
          {StoreOptions.STORAGE_CLASS_CONFIG, config.getString(StoreOptions.STORAGE_CLASS_CONFIG)},
          {StoreOptions.CHECKSUM_CONFIG, "none".equals(config.getString(StoreOptions.CHECKSUM_CONFIG)) ? ""
              : config.getString(StoreOptions.CHECKSUM_CONFIG)},
          {StoreOptions.UNSIGNED_PAYLOAD_CONFIG,
              config.getBoolean(StoreOptions.UNSIGNED_PAYLOAD_CONFIG) ? "true" : ""},
          {StoreOptions.ROLE_ARN_CONFIG, config.getString(StoreOptions.ROLE_ARN_CONFIG)},
          {StoreOptions.CA_FILE_CONFIG, config.getString(StoreOptions.CA_FILE_CONFIG)},
          {StoreOptions.PROXY_CONFIG, config.getString(StoreOptions.PROXY_CONFIG)}};
      for (String[] setting : s3Only) {
        if (!setting[1].isEmpty()) {
          problems.add(new String[] {setting[0], "an S3 setting: a file:// store (store.url) writes plain files, "
              + "which keep no encryption, content type, metadata, tags, storage class or checksum, and makes no "
              + "requests; leave it empty"});
        }
      }
      return problems;
    }
    if (customerKey && !"none".equals(sseType)) {
      problems.add(new String[] {StoreOptions.CUSTOMER_KEY_CONFIG, "SSE-C cannot be combined with s3.sse.type="
          + sseType + ": an object has one kind of server-side encryption; set s3.sse.type=none"});
    }
    if (customerKey && plainHttp) {
      problems.add(new String[] {StoreOptions.CUSTOMER_KEY_CONFIG, "SSE-C sends the key with every request: "
          + "only over https://, not to " + config.getString(S3SinkConfig.STORE_URL_CONFIG)});
    }
    if (!config.getString(StoreOptions.KMS_KEY_CONFIG).isEmpty() && !sseType.startsWith("aws:kms")) {
      problems.add(new String[] {StoreOptions.KMS_KEY_CONFIG, "a KMS key needs s3.sse.type=aws:kms or "
          + "aws:kms:dsse (now " + sseType + ")"});
    }
    if (config.getBoolean(StoreOptions.UNSIGNED_PAYLOAD_CONFIG) && plainHttp) {
      problems.add(new String[] {StoreOptions.UNSIGNED_PAYLOAD_CONFIG, "an unsigned body over plain http:// could "
          + "be changed on the way unnoticed: only with an https:// store.url"});
    }
    if (!config.getList(StoreOptions.METADATA_CONFIG).isEmpty()
        && !config.getList(S3SinkConfig.OBJECTS_CONFIG).contains("payload")) {
      problems.add(new String[] {StoreOptions.METADATA_CONFIG, "goes on payload objects, which sink.objects does "
          + "not write"});
    }
    if (!roleArn && !config.getString(StoreOptions.EXTERNAL_ID_CONFIG).isEmpty()) {
      problems.add(new String[] {StoreOptions.EXTERNAL_ID_CONFIG, "only used with aws.sts.role.arn, which is empty"});
    }
    if (!roleArn && !config.getString(StoreOptions.STS_ENDPOINT_CONFIG).isEmpty()) {
      problems.add(new String[] {StoreOptions.STS_ENDPOINT_CONFIG, "only used with aws.sts.role.arn, which is empty"});
    }
    return problems;
  }

  /**
   * errors.tolerance=all hands undecodable records to the errant-record reporter, which Connect
   * only provides with a dead letter queue or the error log: without either, a bad record fails
   * the task although the user asked to tolerate it.
   */
  private static List<String[]> errantRecords(S3SinkConfig config) {
    List<String[]> problems = new ArrayList<>();
    Map<String, Object> originals = config.originals();
    boolean tolerateAll = "all".equalsIgnoreCase(String.valueOf(originals.get(ERRORS_TOLERANCE)).trim());
    boolean deadLetters = !String.valueOf(originals.getOrDefault(DLQ_TOPIC, "")).trim().isEmpty();
    boolean errorLog = "true".equalsIgnoreCase(String.valueOf(originals.get(ERRORS_LOG)).trim());
    if (tolerateAll && !deadLetters && !errorLog) {
      problems.add(new String[] {ERRORS_TOLERANCE, "'all' needs errors.deadletterqueue.topic.name or "
          + "errors.log.enable=true: without either, Connect gives the task no errant-record reporter and an "
          + "undecodable record fails the task"});
    }
    return problems;
  }
}
