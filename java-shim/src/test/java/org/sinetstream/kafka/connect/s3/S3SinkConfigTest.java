package org.sinetstream.kafka.connect.s3;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigValue;
import org.junit.Test;

public class S3SinkConfigTest {
  static Map<String, String> minimal() {
    Map<String, String> props = new HashMap<>();
    props.put("s3.bucket.name", "mybucket");
    return props;
  }

  @Test
  public void seedDefaults() {
    S3SinkConfig config = new S3SinkConfig(minimal());
    assertEquals(1, (int) config.getInt("flush.size"));
    assertEquals("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", config.getString("path.format"));
    assertEquals(".bin", config.getString("format.bytearray.extension"));
    assertEquals("", config.getString("format.bytearray.separator"));
    assertEquals("-timestamp.txt", config.getString("timestamp.object.suffix"));
  }

  @Test(expected = ConfigException.class)
  public void bucketIsRequired() {
    new S3SinkConfig(new HashMap<>());
  }

  @Test
  public void unknownTimeZoneNamesTheKey() {
    Map<String, String> props = minimal();
    props.put("timezone", "Mars/Olympus");
    try {
      new S3SinkConfig(props);
    } catch (ConfigException e) {
      assertTrue(e.getMessage(), e.getMessage().contains("timezone"));
      List<String> errors = errorsOf(new SinetStreamS3SinkConnector().validate(props), "timezone");
      assertEquals(1, errors.size());
      return;
    }
    throw new AssertionError("accepted an unknown time zone");
  }

  @Test
  public void encryptionWithoutKeyIsRefusedOnThePasswordKey() throws java.io.IOException {
    Map<String, String> props = minimal();
    props.put("store.url", java.nio.file.Files.createTempDirectory("sinets3-crypto").toUri().toString());
    props.put("sinetstream.crypto.mode", "GCM");
    assertTrue(CombinationChecks.problems(new S3SinkConfig(props)).isEmpty());
    List<String> errors = errorsOf(new SinetStreamS3SinkConnector().validate(props), "sinetstream.crypto.password");
    assertEquals(errors.toString(), 1, errors.size());
  }

  @Test
  public void nativeConfigCarriesEveryKeyWithItsDefaultAndTheTopics() {
    Map<String, String> props = minimal();
    props.put("format.bytearray.separator", "\"\\n");
    props.put("topics", "a,b");
    Map<String, String> config = new S3SinkConfig(props).toNativeConfig();
    assertEquals("\"\\n", config.get("format.bytearray.separator"));
    assertEquals("1", config.get("flush.size"));
    assertEquals("payload,timestamp", config.get("sink.objects"));
    assertEquals("a,b", config.get("topics"));
    assertFalse("SINETStream keys go only when set", config.containsKey("sinetstream.crypto.mode"));
  }

  /**
   * The defaults the engine reads, as the golden file its tests read too
   * (rust-core/engine/tests/fixtures/default-config.json): a key added, removed or renamed on
   * one side only fails one of the two suites. -Dsinets3.writeFixtures=true writes it anew.
   */
  @Test
  public void theDefaultsSentToTheEngineAreTheFixtureItsTestsRead() throws java.io.IOException {
    Map<String, String> sent = new java.util.TreeMap<>(new S3SinkConfig(minimal()).toNativeConfig());
    StringBuilder json = new StringBuilder("{\n");
    for (Map.Entry<String, String> entry : sent.entrySet()) {
      json.append("  ").append(Json.string(entry.getKey())).append(": ").append(Json.string(entry.getValue()));
      json.append(json.length() > 0 && !entry.getKey().equals(((java.util.TreeMap<String, String>) sent).lastKey())
          ? ",\n" : "\n");
    }
    String written = json.append("}\n").toString();
    java.nio.file.Path fixture = java.nio.file.Paths.get(System.getProperty("project.dir", "."),
        "rust-core/engine/tests/fixtures/default-config.json");
    if (Boolean.getBoolean("sinets3.writeFixtures")) {
      java.nio.file.Files.write(fixture, written.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    assertEquals(new String(java.nio.file.Files.readAllBytes(fixture), java.nio.charset.StandardCharsets.UTF_8),
        written);
  }

  /** The minimal config with the key/value pairs added. */
  static Map<String, String> with(String... pairs) {
    Map<String, String> props = minimal();
    for (int i = 0; i < pairs.length; i += 2) {
      props.put(pairs[i], pairs[i + 1]);
    }
    return props;
  }

  static List<String[]> problemsWith(String... pairs) {
    return CombinationChecks.problems(new S3SinkConfig(with(pairs)));
  }

  private static String keyOfOnlyProblem(String... pairs) {
    List<String[]> problems = problemsWith(pairs);
    assertEquals(problems.stream().map(p -> p[0] + ": " + p[1]).collect(Collectors.toList()).toString(), 1,
        problems.size());
    return problems.get(0)[0];
  }

  @Test
  public void endingsThatGivePayloadAndTimestampObjectsOneKeyAreRefused() {
    assertEquals("format.bytearray.extension", keyOfOnlyProblem("format.bytearray.extension", "-timestamp.txt"));
    assertEquals("format.bytearray.extension", keyOfOnlyProblem("format.bytearray.extension", "5-timestamp.txt"));
    assertTrue(problemsWith("format.bytearray.extension", "-timestamp.txt", "sink.objects", "payload").isEmpty());
    assertTrue(problemsWith("format.bytearray.extension", "").isEmpty());
    assertTrue(problemsWith("format.bytearray.extension", "x-timestamp.txt").isEmpty());
  }

  @Test
  public void uploadSettingsThatContradictEachOtherAreRefused() {
    assertEquals("upload.concurrency.min", keyOfOnlyProblem("upload.concurrency", "4", "upload.concurrency.min", "8"));
    assertEquals("sinetstream.max.decompressed.bytes",
        keyOfOnlyProblem("upload.max.inflight.bytes", "16777216", "sinetstream.max.decompressed.bytes", "67108864"));
    Config result = new SinetStreamS3SinkConnector().validate(withPair("upload.retry.timeout.ms", "0"));
    assertFalse(errorsOf(result, "upload.retry.timeout.ms").isEmpty());
  }

  @Test
  public void toleratingAllErrorsWithNowhereToSendThemIsRefused() {
    assertEquals("errors.tolerance", keyOfOnlyProblem("errors.tolerance", "all"));
    assertTrue(problemsWith("errors.tolerance", "all", "errors.deadletterqueue.topic.name", "dlq").isEmpty());
    assertTrue(problemsWith("errors.tolerance", "all", "errors.log.enable", "true").isEmpty());
    Config result = new SinetStreamS3SinkConnector().validate(withPair("errors.tolerance", "all"));
    assertFalse("reported on Connect's own key", errorsOf(result, "errors.tolerance").isEmpty());
  }

  private static Map<String, String> withPair(String key, String value) {
    Map<String, String> props = minimal();
    props.put(key, value);
    return props;
  }

  @Test
  public void validateReportsMissingBucketOnItsKey() {
    Config result = new SinetStreamS3SinkConnector().validate(new HashMap<>());
    assertFalse(errorsOf(result, "s3.bucket.name").isEmpty());
  }

  static List<String> errorsOf(Config config, String key) {
    return config.configValues().stream()
        .filter(v -> v.name().equals(key))
        .map(ConfigValue::errorMessages)
        .flatMap(List::stream)
        .collect(Collectors.toList());
  }
}
