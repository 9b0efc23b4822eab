package org.sinetstream.kafka.connect.s3;

import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.Width;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/**
 * The connector's settings. Keys follow Confluent's S3 sink where the meaning is the same,
 * so existing registration scripts carry over. Types and ranges are checked here; what
 * needs the engine (path.format, the store probe) is checked by {@link NativeSink#validate}.
 */
public final class S3SinkConfig extends AbstractConfig {
  static final String STORE_GROUP = "Store";
  static final String LAYOUT_GROUP = "Object names";
  static final String CONTENT_GROUP = "Object content";
  static final String UPLOAD_GROUP = "Uploads";
  static final String SINETSTREAM_GROUP = "SINETStream messages";

  public static final String STORE_URL_CONFIG = "store.url";
  static final String STORE_URL_DOC = "Where objects go. Empty: Amazon S3. http(s)://host:port: an "
      + "S3-compatible server such as MinIO. file:///dir: a local directory, objects become plain "
      + "files under <dir>/<bucket>/.";
  public static final String BUCKET_CONFIG = "s3.bucket.name";
  static final String BUCKET_DOC = "The bucket (for file:// stores: the directory under the store URL).";
  public static final String REGION_CONFIG = "s3.region";
  static final String REGION_DEFAULT = "us-east-1";
  static final String REGION_DOC = "The S3 region.";
  public static final String PATH_STYLE_CONFIG = "s3.path.style.access.enabled";
  static final String PATH_STYLE_DOC = "Address buckets as http://host/bucket (true) or http://bucket.host (false) "
      + "on custom endpoints.";
  public static final String ACCESS_KEY_CONFIG = "aws.access.key.id";
  static final String ACCESS_KEY_DOC = "Access key. Empty: the worker's AWS_ACCESS_KEY_ID, then the default AWS chain.";
  public static final String SECRET_KEY_CONFIG = "aws.secret.access.key";
  static final String SECRET_KEY_DOC = "Secret key. Empty: the worker's AWS_SECRET_ACCESS_KEY or AWS_SECRET_KEY, then "
      + "the default AWS chain. Prefer a reference such as ${env:AWS_SECRET_KEY}.";

  /** Connect's own key, passed on so the engine can check the object keys of each topic. */
  static final String TOPICS_CONFIG = "topics";
  public static final String TOPICS_DIR_CONFIG = "topics.dir";
  static final String TOPICS_DIR_DEFAULT = "topics";
  static final String TOPICS_DIR_DOC = "Top-level directory of all objects.";
  public static final String PATH_FORMAT_CONFIG = "path.format";
  static final String PATH_FORMAT_DEFAULT = "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH";
  static final String PATH_FORMAT_DOC = "Joda-Time pattern of the directory below topics.dir/<topic>/, applied to "
      + "the start of the record's time bucket.";
  public static final String PARTITION_DURATION_CONFIG = "partition.duration.ms";
  static final long PARTITION_DURATION_DEFAULT = 3_600_000L;
  static final String PARTITION_DURATION_DOC = "Length of a time bucket (one directory).";
  public static final String TIMEZONE_CONFIG = "timezone";
  static final String TIMEZONE_DEFAULT = "UTC";
  static final String TIMEZONE_DOC = "Time zone of path.format, e.g. Asia/Tokyo.";
  public static final String LOCALE_CONFIG = "locale";
  static final String LOCALE_DEFAULT = "en";
  static final String LOCALE_DOC = "Locale of month and weekday names in path.format (English only).";
  public static final String TIMESTAMP_EXTRACTOR_CONFIG = "timestamp.extractor";
  static final String TIMESTAMP_EXTRACTOR_DEFAULT = "Record";
  static final String TIMESTAMP_EXTRACTOR_DOC = "Which time chooses the directory: Record (the Kafka record "
      + "timestamp), Message (the SINETStream send time) or Wallclock (arrival at the sink; not reproducible "
      + "on replay).";
  public static final String FILE_DELIM_CONFIG = "file.delim";
  static final String FILE_DELIM_DEFAULT = "+";
  static final String FILE_DELIM_DOC = "Separator of topic, partition and offset in file names.";
  public static final String OFFSET_PAD_CONFIG = "filename.offset.zero.pad.width";
  static final int OFFSET_PAD_DEFAULT = 10;
  static final String OFFSET_PAD_DOC = "Digits of the zero-padded offset in file names.";
  public static final String EXTENSION_CONFIG = "format.bytearray.extension";
  static final String EXTENSION_DEFAULT = ".bin";
  static final String EXTENSION_DOC = "Extension of payload objects, e.g. .json or .jpeg.";
  public static final String TIMESTAMP_SUFFIX_CONFIG = "timestamp.object.suffix";
  static final String TIMESTAMP_SUFFIX_DEFAULT = "-timestamp.txt";
  static final String TIMESTAMP_SUFFIX_DOC = "Ending of timestamp object names.";

  public static final String OBJECTS_CONFIG = "sink.objects";
  static final String OBJECTS_DEFAULT = "payload,timestamp";
  static final String OBJECTS_DOC = "Which objects to write per record: payload, timestamp, or both.";
  public static final String SEPARATOR_CONFIG = "format.bytearray.separator";
  static final String SEPARATOR_DOC = "Bytes written after each record in payload objects (Java escapes such as "
      + "\\n allowed). Empty by default, so payload objects are byte-exact.";
  public static final String TIMESTAMP_FORMAT_CONFIG = "timestamp.object.format";
  static final String TIMESTAMP_FORMAT_DEFAULT = "yyyy-MM-dd'T'HH:mm:ss.SSS";
  static final String TIMESTAMP_FORMAT_DOC = "Joda-Time pattern of each line of a timestamp object (UTC; each "
      + "line ends with a newline).";
  public static final String FLUSH_SIZE_CONFIG = "flush.size";
  static final int FLUSH_SIZE_DEFAULT = 1;
  static final String FLUSH_SIZE_DOC = "Records per object. Objects also end when the time bucket changes.";
  public static final String ROTATE_INTERVAL_CONFIG = "rotate.interval.ms";
  static final String ROTATE_INTERVAL_DOC = "Largest span of record times in one object; -1: no limit.";
  public static final String ROTATE_SCHEDULE_CONFIG = "rotate.schedule.interval.ms";
  static final String ROTATE_SCHEDULE_DOC = "Close objects open longer than this (wall clock); -1: never. "
      + "Object boundaries then depend on timing, so a replay may group records differently.";

  public static final String PART_SIZE_CONFIG = "s3.part.size";
  static final int PART_SIZE_DEFAULT = 25 * 1024 * 1024;
  static final String PART_SIZE_DOC = "Objects up to this size are one PUT; larger ones are multipart uploads "
      + "with parts of this size, sent in parallel. The default is the Confluent S3 sink's.";
  public static final String CONCURRENCY_CONFIG = "upload.concurrency";
  static final int CONCURRENCY_DEFAULT = 128;
  static final String CONCURRENCY_DOC = "The most objects uploaded at the same time by the tasks of a worker that "
      + "write to the same bucket with these settings: they share this budget. It adapts how many are sent at once, "
      + "between upload.concurrency.min and this, to the store's latency: more while requests take about as long "
      + "as the fastest (a distant store), fewer when they queue in a busy store.";
  public static final String CONCURRENCY_MIN_CONFIG = "upload.concurrency.min";
  static final int CONCURRENCY_MIN_DEFAULT = 8;
  static final String CONCURRENCY_MIN_DOC = "The fewest objects a worker's tasks keep uploading to one store at "
      + "the same time when they have enough to upload; equal to upload.concurrency, it fixes the number.";
  public static final String INFLIGHT_CONFIG = "upload.max.inflight.bytes";
  static final long INFLIGHT_DEFAULT = 128L * 1024 * 1024;
  static final String INFLIGHT_DOC = "Bound on the bytes a task holds that are not yet stored; put() waits, then "
      + "asks Connect to retry, when it is reached.";
  public static final String RETRY_TIMEOUT_CONFIG = "upload.retry.timeout.ms";
  static final long RETRY_TIMEOUT_DEFAULT = 600_000L;
  static final String RETRY_TIMEOUT_DOC = "How long a failing upload is retried (with backoff and jitter), counted "
      + "from its first attempt, before the task fails with the object's key and the store's last answer. "
      + "Answers no retry can fix (403, 404, other 4xx but 408 and 429) fail it at once.";

  public static final String MESSAGE_FORMAT_CONFIG = "sinetstream.message.format";
  static final int MESSAGE_FORMAT_DEFAULT = 3;
  static final String MESSAGE_FORMAT_DOC = "SINETStream message format, 2 or 3 (a v3 reader also reads v2).";
  public static final String USER_DATA_ONLY_CONFIG = "sinetstream.user.data.only";
  static final String USER_DATA_ONLY_DOC = "The record value is the payload itself (SINETStream user_data_only); "
      + "the Kafka record timestamp is the send time.";
  public static final String MAX_DECOMPRESSED_CONFIG = "sinetstream.max.decompressed.bytes";
  static final long MAX_DECOMPRESSED_DEFAULT = 64L * 1024 * 1024;
  static final String MAX_DECOMPRESSED_DOC = "Largest payload a compressed message may expand to; at most "
      + "upload.max.inflight.bytes. A larger one is an errant record (dead letter queue or task failure).";

  public static final ConfigDef CONFIG_DEF = define(new ConfigDef());

  public S3SinkConfig(Map<String, String> props) {
    super(CONFIG_DEF, props);
  }

  static ConfigDef define(ConfigDef def) {
    defineStore(def);
    defineLayout(def);
    defineContent(def);
    defineUploads(def);
    StoreOptions.defineAttributes(def);
    return SinetStreamConfig.define(def, SINETSTREAM_GROUP, defineSinetStreamBasics(def));
  }

  private static void defineStore(ConfigDef def) {
    int order = 0;
    def.define(STORE_URL_CONFIG, Type.STRING, "", Importance.HIGH, STORE_URL_DOC, STORE_GROUP, ++order, Width.LONG,
        "Store URL");
    def.define(BUCKET_CONFIG, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(),
        Importance.HIGH, BUCKET_DOC, STORE_GROUP, ++order, Width.MEDIUM, "Bucket");
    def.define(REGION_CONFIG, Type.STRING, REGION_DEFAULT, Importance.MEDIUM, REGION_DOC, STORE_GROUP, ++order,
        Width.SHORT, "Region");
    def.define(PATH_STYLE_CONFIG, Type.BOOLEAN, true, Importance.LOW, PATH_STYLE_DOC, STORE_GROUP, ++order,
        Width.SHORT, "Path-style access");
    def.define(ACCESS_KEY_CONFIG, Type.STRING, "", Importance.HIGH, ACCESS_KEY_DOC, STORE_GROUP, ++order,
        Width.MEDIUM, "Access key");
    def.define(SECRET_KEY_CONFIG, Type.PASSWORD, "", Importance.HIGH, SECRET_KEY_DOC, STORE_GROUP, ++order,
        Width.MEDIUM, "Secret key");
    StoreOptions.defineConnection(def, STORE_GROUP, order);
  }

  private static void defineLayout(ConfigDef def) {
    int order = 0;
    def.define(TOPICS_DIR_CONFIG, Type.STRING, TOPICS_DIR_DEFAULT, Importance.MEDIUM, TOPICS_DIR_DOC, LAYOUT_GROUP,
        ++order, Width.SHORT, "Topics directory");
    def.define(PATH_FORMAT_CONFIG, Type.STRING, PATH_FORMAT_DEFAULT, new ConfigDef.NonEmptyString(),
        Importance.MEDIUM, PATH_FORMAT_DOC, LAYOUT_GROUP, ++order, Width.LONG, "Path format");
    def.define(PARTITION_DURATION_CONFIG, Type.LONG, PARTITION_DURATION_DEFAULT, ConfigDef.Range.atLeast(1),
        Importance.MEDIUM, PARTITION_DURATION_DOC, LAYOUT_GROUP, ++order, Width.SHORT, "Bucket length (ms)");
    def.define(TIMEZONE_CONFIG, Type.STRING, TIMEZONE_DEFAULT, new TimeZoneName(), Importance.MEDIUM, TIMEZONE_DOC,
        LAYOUT_GROUP, ++order, Width.SHORT, "Time zone");
    def.define(LOCALE_CONFIG, Type.STRING, LOCALE_DEFAULT, Importance.LOW, LOCALE_DOC, LAYOUT_GROUP, ++order,
        Width.SHORT, "Locale");
    def.define(TIMESTAMP_EXTRACTOR_CONFIG, Type.STRING, TIMESTAMP_EXTRACTOR_DEFAULT,
        ConfigDef.ValidString.in("Record", "Message", "Wallclock"), Importance.MEDIUM, TIMESTAMP_EXTRACTOR_DOC,
        LAYOUT_GROUP, ++order, Width.SHORT, "Timestamp extractor");
    def.define(FILE_DELIM_CONFIG, Type.STRING, FILE_DELIM_DEFAULT, Importance.LOW, FILE_DELIM_DOC, LAYOUT_GROUP,
        ++order, Width.SHORT, "File name delimiter");
    def.define(OFFSET_PAD_CONFIG, Type.INT, OFFSET_PAD_DEFAULT, ConfigDef.Range.between(0, 19), Importance.LOW,
        OFFSET_PAD_DOC, LAYOUT_GROUP, ++order, Width.SHORT, "Offset width");
    def.define(EXTENSION_CONFIG, Type.STRING, EXTENSION_DEFAULT, Importance.MEDIUM, EXTENSION_DOC, LAYOUT_GROUP,
        ++order, Width.SHORT, "Payload extension");
    def.define(TIMESTAMP_SUFFIX_CONFIG, Type.STRING, TIMESTAMP_SUFFIX_DEFAULT, new ConfigDef.NonEmptyString(),
        Importance.LOW, TIMESTAMP_SUFFIX_DOC, LAYOUT_GROUP, ++order, Width.SHORT, "Timestamp object suffix");
  }

  private static void defineContent(ConfigDef def) {
    int order = 0;
    def.define(OBJECTS_CONFIG, Type.LIST, OBJECTS_DEFAULT, ConfigDef.ValidList.in("payload", "timestamp"), Importance.HIGH, OBJECTS_DOC,
        CONTENT_GROUP, ++order, Width.SHORT, "Objects to write");
    def.define(SEPARATOR_CONFIG, Type.STRING, "", Importance.LOW, SEPARATOR_DOC, CONTENT_GROUP, ++order,
        Width.SHORT, "Record separator");
    def.define(TIMESTAMP_FORMAT_CONFIG, Type.STRING, TIMESTAMP_FORMAT_DEFAULT, new ConfigDef.NonEmptyString(),
        Importance.LOW, TIMESTAMP_FORMAT_DOC, CONTENT_GROUP, ++order, Width.MEDIUM, "Timestamp format");
    def.define(FLUSH_SIZE_CONFIG, Type.INT, FLUSH_SIZE_DEFAULT, ConfigDef.Range.atLeast(1), Importance.HIGH,
        FLUSH_SIZE_DOC, CONTENT_GROUP, ++order, Width.SHORT, "Records per object");
    def.define(ROTATE_INTERVAL_CONFIG, Type.LONG, -1L, Importance.MEDIUM, ROTATE_INTERVAL_DOC, CONTENT_GROUP,
        ++order, Width.SHORT, "Rotate interval (ms)");
    def.define(ROTATE_SCHEDULE_CONFIG, Type.LONG, -1L, Importance.LOW, ROTATE_SCHEDULE_DOC, CONTENT_GROUP,
        ++order, Width.SHORT, "Scheduled rotation (ms)");
  }

  private static void defineUploads(ConfigDef def) {
    int order = 0;
    def.define(PART_SIZE_CONFIG, Type.INT, PART_SIZE_DEFAULT, ConfigDef.Range.atLeast(5 * 1024 * 1024),
        Importance.LOW, PART_SIZE_DOC, UPLOAD_GROUP, ++order, Width.SHORT, "Part size");
    def.define(CONCURRENCY_CONFIG, Type.INT, CONCURRENCY_DEFAULT, ConfigDef.Range.between(1, 1024),
        Importance.LOW, CONCURRENCY_DOC, UPLOAD_GROUP, ++order, Width.SHORT, "Upload concurrency");
    def.define(CONCURRENCY_MIN_CONFIG, Type.INT, CONCURRENCY_MIN_DEFAULT, ConfigDef.Range.between(1, 1024),
        Importance.LOW, CONCURRENCY_MIN_DOC, UPLOAD_GROUP, ++order, Width.SHORT, "Upload concurrency floor");
    def.define(INFLIGHT_CONFIG, Type.LONG, INFLIGHT_DEFAULT, ConfigDef.Range.atLeast(1024 * 1024),
        Importance.MEDIUM, INFLIGHT_DOC, UPLOAD_GROUP, ++order, Width.SHORT, "In-flight bytes");
    def.define(RETRY_TIMEOUT_CONFIG, Type.LONG, RETRY_TIMEOUT_DEFAULT, ConfigDef.Range.atLeast(1000),
        Importance.LOW, RETRY_TIMEOUT_DOC, UPLOAD_GROUP, ++order, Width.SHORT, "Retry timeout (ms)");
  }

  /** Returns the next free order number in the SINETStream group. */
  private static int defineSinetStreamBasics(ConfigDef def) {
    int order = 0;
    def.define(MESSAGE_FORMAT_CONFIG, Type.INT, MESSAGE_FORMAT_DEFAULT, ConfigDef.Range.between(2, 3),
        Importance.MEDIUM, MESSAGE_FORMAT_DOC, SINETSTREAM_GROUP, ++order, Width.SHORT, "Message format");
    def.define(USER_DATA_ONLY_CONFIG, Type.BOOLEAN, false, Importance.MEDIUM, USER_DATA_ONLY_DOC,
        SINETSTREAM_GROUP, ++order, Width.SHORT, "User data only");
    def.define(MAX_DECOMPRESSED_CONFIG, Type.LONG, MAX_DECOMPRESSED_DEFAULT, ConfigDef.Range.atLeast(1),
        Importance.LOW, MAX_DECOMPRESSED_DOC, SINETSTREAM_GROUP, ++order, Width.SHORT, "Decompressed size limit");
    return order;
  }

  /** A time zone name java.time knows, such as Asia/Tokyo; named so the reference shows it. */
  static final class TimeZoneName implements ConfigDef.Validator {
    @Override
    public void ensureValid(String name, Object value) {
      try {
        ZoneId.of(String.valueOf(value));
      } catch (DateTimeException e) {
        throw new ConfigException(name, value, "not a time zone name such as Asia/Tokyo or UTC");
      }
    }

    @Override
    public String toString() {
      return "a time zone name such as Asia/Tokyo or UTC";
    }
  }

  /**
   * The settings as the engine reads them, with secrets revealed: never log it. Every key
   * with its default, except those a SINETStream config file can supply, which go only when
   * set; plus the topics, whose object keys the engine checks.
   */
  Map<String, String> toNativeConfig() {
    Map<String, String> values = new LinkedHashMap<>();
    for (String key : CONFIG_DEF.names()) {
      if (SinetStreamConfig.suppliedByConfigFile(key) && !originals().containsKey(key)) {
        continue;
      }
      values.put(key, asText(get(key)));
    }
    Object topics = originals().get(TOPICS_CONFIG);
    if (topics != null) {
      values.put(TOPICS_CONFIG, topics.toString());
    }
    return values;
  }

  private static String asText(Object value) {
    if (value == null) {
      return "";
    }
    if (value instanceof Password) {
      return ((Password) value).value();
    }
    if (value instanceof List) {
      return String.join(",", ((List<?>) value).stream().map(String::valueOf).toArray(String[]::new));
    }
    return value.toString();
  }
}
