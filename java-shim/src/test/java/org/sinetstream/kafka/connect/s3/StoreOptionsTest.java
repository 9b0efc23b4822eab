package org.sinetstream.kafka.connect.s3;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.sinetstream.kafka.connect.s3.S3SinkConfigTest.problemsWith;
import static org.sinetstream.kafka.connect.s3.S3SinkConfigTest.with;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigException;
import org.junit.Test;

/** The TLS, role, encryption and object attribute keys: their validators and the combinations refused. */
public class StoreOptionsTest {
  private static final String CUSTOMER_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes

  private static List<String> problemKeys(String... pairs) {
    return problemsWith(pairs).stream().map(p -> p[0]).collect(Collectors.toList());
  }

  private static List<String> problemTexts(String... pairs) {
    return problemsWith(pairs).stream().map(p -> p[0] + ": " + p[1]).collect(Collectors.toList());
  }

  @Test
  public void theDefaultsNeedNothingAndSendNoHeaders() {
    S3SinkConfig config = new S3SinkConfig(S3SinkConfigTest.minimal());
    assertEquals("none", config.getString("s3.sse.type"));
    assertEquals("none", config.getString("s3.checksum.algorithm"));
    assertTrue(config.getBoolean("s3.ssl.jvm.truststore.enabled"));
    assertFalse(config.getBoolean("s3.unsigned.payload"));
    assertTrue(problemKeys().isEmpty());
  }

  @Test
  public void encryptionTypesAndChecksumsAreTheListedOnes() {
    for (String type : new String[] {"none", "AES256", "aws:kms", "aws:kms:dsse"}) {
      new S3SinkConfig(with("s3.sse.type", type));
    }
    assertRefused("s3.sse.type", "SSE-C");
    assertRefused("s3.checksum.algorithm", "crc32c");
    assertRefused("s3.object.metadata", "send-time,receive-time");
    assertRefused("s3.storage.class", "STANDARD IA");
    assertRefused("s3.content.type", "image/jpeg\r\nx-evil: 1");
    assertRefused("aws.sts.role.session.name", "a");
  }

  @Test
  public void aCustomerKeyMustBeA256BitKeyAndIsNeverRepeated() {
    new S3SinkConfig(with("s3.sse.customer.key", CUSTOMER_KEY, "store.url", "https://minio:9000"));
    String shortKey = "c2hvcnQta2V5LXNlY3JldA=="; // "short-key-secret", 16 bytes
    String message = assertRefused("s3.sse.customer.key", shortKey);
    assertTrue(message, message.contains("16 bytes"));
    assertFalse(message, message.contains(shortKey));
    String notBase64 = "not base64 at all, and secret";
    message = assertRefused("s3.sse.customer.key", notBase64);
    assertFalse(message, message.contains(notBase64));
  }

  @Test
  public void secretsAndUnsignedBodiesDoNotCrossPlainHttp() {
    assertEquals(java.util.Arrays.asList("s3.sse.customer.key"),
        problemKeys("store.url", "http://minio:9000", "s3.sse.customer.key", CUSTOMER_KEY));
    assertTrue(problemKeys("store.url", "https://minio:9000", "s3.sse.customer.key", CUSTOMER_KEY).isEmpty());
    assertTrue("Amazon S3 is https", problemKeys("s3.sse.customer.key", CUSTOMER_KEY).isEmpty());
    assertEquals(java.util.Arrays.asList("s3.unsigned.payload"),
        problemKeys("store.url", "http://minio:9000", "s3.unsigned.payload", "true"));
    assertTrue(problemKeys("store.url", "https://minio:9000", "s3.unsigned.payload", "true").isEmpty());
  }

  @Test
  public void encryptionSettingsThatContradictEachOtherAreRefused() {
    List<String> texts = problemTexts("s3.sse.type", "AES256", "s3.sse.customer.key", CUSTOMER_KEY);
    assertEquals(texts.toString(), 1, texts.size());
    assertTrue(texts.get(0), texts.get(0).startsWith("s3.sse.customer.key: ") && texts.get(0).contains("AES256"));
    assertFalse(texts.get(0), texts.get(0).contains(CUSTOMER_KEY));
    assertEquals(java.util.Arrays.asList("s3.sse.kms.key.id"), problemKeys("s3.sse.kms.key.id", "alias/lab"));
    assertTrue(problemKeys("s3.sse.type", "aws:kms", "s3.sse.kms.key.id", "alias/lab").isEmpty());
    assertTrue(problemKeys("s3.sse.type", "aws:kms:dsse", "s3.sse.kms.key.id", "alias/lab").isEmpty());
  }

  @Test
  public void s3SettingsAreRefusedWithAFileStore() {
    String[][] settings = {{"s3.sse.type", "AES256"}, {"s3.sse.customer.key", CUSTOMER_KEY},
        {"s3.content.type", "image/jpeg"}, {"s3.object.metadata", "send-time"}, {"s3.object.tagging", "a=b"},
        {"s3.storage.class", "STANDARD_IA"}, {"s3.checksum.algorithm", "sha256"}, {"s3.unsigned.payload", "true"},
        {"aws.sts.role.arn", "arn:aws:iam::1:role/r"}, {"s3.ssl.ca.file", "/tmp/ca.pem"},
        {"s3.proxy.url", "http://proxy:3128"}};
    for (String[] setting : settings) {
      List<String> texts = problemTexts("store.url", "file:///tmp/data", setting[0], setting[1]);
      assertEquals(setting[0] + ": " + texts, 1, texts.size());
      assertTrue(texts.get(0), texts.get(0).startsWith(setting[0] + ": ") && texts.get(0).contains("file://"));
      assertFalse(texts.get(0), texts.get(0).contains(CUSTOMER_KEY));
    }
    assertTrue("the JVM truststore default is no problem", problemKeys("store.url", "file:///tmp/data").isEmpty());
  }

  @Test
  public void metadataNeedsPayloadObjectsAndRoleDetailsNeedARole() {
    assertEquals(java.util.Arrays.asList("s3.object.metadata"),
        problemKeys("s3.object.metadata", "send-time", "sink.objects", "timestamp"));
    assertTrue(problemKeys("s3.object.metadata", "send-time", "sink.objects", "payload").isEmpty());
    assertEquals(java.util.Arrays.asList("aws.sts.role.external.id"), problemKeys("aws.sts.role.external.id", "x"));
    assertEquals(java.util.Arrays.asList("aws.sts.config.endpoint"),
        problemKeys("aws.sts.config.endpoint", "https://sts.example"));
    assertTrue(problemKeys("aws.sts.role.arn", "arn:aws:iam::1:role/r", "aws.sts.role.external.id", "x").isEmpty());
  }

  @Test
  public void validateReportsCombinationsOnTheirKeyAndHidesTheCustomerKey() {
    Config result = new SinetStreamS3SinkConnector().validate(
        with("store.url", "http://minio:9000", "s3.sse.customer.key", CUSTOMER_KEY));
    assertFalse(S3SinkConfigTest.errorsOf(result, "s3.sse.customer.key").isEmpty());
    assertFalse(result.toString(), result.configValues().toString().contains(CUSTOMER_KEY));
  }

  @Test
  public void theJvmCasGoToS3StoresOnlyAndOnlyWhenEnabled() {
    Map<String, String> sent = JvmTrust.addTo(new S3SinkConfig(with("store.url", "https://minio:9000"))
        .toNativeConfig());
    String pem = sent.get(JvmTrust.PEM_KEY);
    assertTrue("the JDK's cacerts give certificates", pem.startsWith("-----BEGIN CERTIFICATE-----\n"));
    assertTrue(pem.split("-----BEGIN CERTIFICATE-----").length > 10);
    Map<String, String> off = JvmTrust.addTo(new S3SinkConfig(with("s3.ssl.jvm.truststore.enabled", "false"))
        .toNativeConfig());
    assertFalse(off.containsKey(JvmTrust.PEM_KEY));
    Map<String, String> files = JvmTrust.addTo(new S3SinkConfig(with("store.url", "file:///tmp/x")).toNativeConfig());
    assertFalse(files.containsKey(JvmTrust.PEM_KEY));
  }

  /** The validator's message for a refused value. */
  private static String assertRefused(String key, String value) {
    try {
      new S3SinkConfig(with(key, value));
    } catch (ConfigException e) {
      assertTrue(e.getMessage(), e.getMessage().contains(key));
      return e.getMessage();
    }
    throw new AssertionError(key + "=" + value + " was accepted");
  }
}
