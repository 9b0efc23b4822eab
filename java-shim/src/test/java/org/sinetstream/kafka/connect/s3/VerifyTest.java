package org.sinetstream.kafka.connect.s3;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.Map;
import org.junit.Test;

/** Verify's own logic; the check itself runs end to end in tests/e2e/test_verify.py. */
public class VerifyTest {
  @Test
  public void theExitStatusFollowsTheSummaryLine() throws Exception {
    assertEquals(0, Verify.exitStatus("t-0: committed offset 3, 6 objects\n"
        + "verified 3 offsets in 6 objects: 0 missing, 0 duplicated, 0 orphaned"));
    assertEquals(1, Verify.exitStatus("verified 3 offsets in 5 objects: 0 missing, 0 duplicated, 1 orphaned"));
    assertEquals(1, Verify.exitStatus("verified 3 offsets in 4 objects: 1 missing, 0 duplicated, 0 orphaned"));
    assertEquals(1, Verify.exitStatus("verified 4 offsets in 8 objects: 0 missing, 12 duplicated, 0 orphaned"));
    try {
      Verify.exitStatus("verified 3 offsets in 6 objects: 0 missing, 0 duplicated, 0 orphaned\nsomething after");
      fail("a report not ending in its summary was taken");
    } catch (Verify.CannotCheck expected) {
      assertTrue(expected.getMessage().contains("summary"));
    }
  }

  @Test
  public void referencesResolveFromTheEnvironmentAndFiles() throws Exception {
    File secrets = File.createTempFile("verify-test", ".properties");
    secrets.deleteOnExit();
    Files.write(secrets.toPath(), "secret=from-a-file\n".getBytes(StandardCharsets.UTF_8));
    Map<String, String> props = new HashMap<>();
    props.put("aws.access.key.id", "${env:PATH}");
    props.put("aws.secret.access.key", "${file:" + secrets.getPath() + ":secret}");
    props.put("s3.bucket.name", "plain");
    Map<String, String> resolved = Verify.resolve("s3-sink", props);
    assertEquals(System.getenv("PATH"), resolved.get("aws.access.key.id"));
    assertEquals("from-a-file", resolved.get("aws.secret.access.key"));
    assertEquals("plain", resolved.get("s3.bucket.name"));
  }

  /** The message resolving a config of one key refuses with. */
  private static String refusal(String key, String value) {
    Map<String, String> props = new HashMap<>();
    props.put(key, value);
    try {
      Verify.resolve("s3-sink", props);
    } catch (Verify.CannotCheck e) {
      return e.getMessage();
    }
    throw new AssertionError("resolved " + value);
  }

  @Test
  public void anUnsetVariableNamesTheKeyAndTheReference() {
    String message = refusal("aws.secret.access.key", "${env:SINETS3_VERIFY_TEST_NEVER_SET}");
    assertTrue(message, message.startsWith("s3-sink: aws.secret.access.key refers to "
        + "${env:SINETS3_VERIFY_TEST_NEVER_SET}, not set in the environment of verify"));
  }

  @Test
  public void aMissingFileIsNamed() {
    String message = refusal("sinetstream.crypto.password", "${file:/nonexistent/verify-test:password}");
    assertTrue(message, message.contains("/nonexistent/verify-test"));
  }

  @Test
  public void badUsageIsStatusTwo() {
    assertEquals(Verify.CANNOT_CHECK, Verify.run(new String[] {"--frobnicate"}));
    assertEquals(Verify.CANNOT_CHECK, Verify.run(new String[] {"--connector"}));
  }
}
