package org.sinetstream.kafka.connect.s3;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.Test;

public class ConfigReferenceTest {
  @Test
  public void committedReferenceMatchesTheConfigDef() throws Exception {
    Path committed = Paths.get(System.getProperty("project.dir", "."), "docs", "configuration.md");
    String expected = ConfigReference.markdown(S3SinkConfig.CONFIG_DEF);
    assertEquals("docs/configuration.md is stale: run `gradle configReference`",
        expected, new String(Files.readAllBytes(committed), StandardCharsets.UTF_8));
  }

  @Test
  public void everyKeyIsDocumented() {
    String text = ConfigReference.markdown(S3SinkConfig.CONFIG_DEF);
    for (String key : S3SinkConfig.CONFIG_DEF.names()) {
      assertTrue(key, text.contains("| `" + key + "` |"));
    }
  }
}
