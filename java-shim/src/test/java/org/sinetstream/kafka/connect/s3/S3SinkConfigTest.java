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
      return;
    }
    throw new AssertionError("accepted an unknown time zone");
  }

  @Test
  public void encryptionWithoutKeyIsRefusedOnThePasswordKey() {
    Map<String, String> props = minimal();
    props.put("sinetstream.crypto.mode", "GCM");
    List<String[]> problems = CombinationChecks.problems(new S3SinkConfig(props));
    assertEquals(1, problems.size());
    assertEquals("sinetstream.crypto.password", problems.get(0)[0]);
  }

  @Test
  public void nativeJsonCarriesEveryKeyAndEscapes() {
    Map<String, String> props = minimal();
    props.put("format.bytearray.separator", "\"\\n");
    String json = new S3SinkConfig(props).toNativeJson();
    assertTrue(json.contains("\"format.bytearray.separator\":\"\\\"\\\\n\""));
    assertTrue(json.contains("\"flush.size\":\"1\""));
    assertTrue(json.contains("\"sink.objects\":\"payload,timestamp\""));
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
