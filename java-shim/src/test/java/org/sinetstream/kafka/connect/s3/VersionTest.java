package org.sinetstream.kafka.connect.s3;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.Test;

/** One version from one place: Cargo.toml's workspace version, in Version.get() and the jar manifest. */
public class VersionTest {
  @Test
  public void versionGetAndTheJarManifestCarryCargoTomlsVersion() throws IOException {
    String cargoToml = new String(Files.readAllBytes(Paths.get(System.getProperty("project.dir"), "Cargo.toml")),
        StandardCharsets.UTF_8);
    Matcher m = Pattern.compile("(?m)^version\\s*=\\s*\"([^\"]+)\"").matcher(cargoToml);
    assertTrue("Cargo.toml has a workspace version", m.find());
    assertEquals(m.group(1), Version.get());
    // Read from the jar: the package itself is defined by this test's classes directory first.
    String jar = Version.class.getProtectionDomain().getCodeSource().getLocation().getPath();
    try (JarFile plugin = new JarFile(jar)) {
      assertEquals(Version.get(), plugin.getManifest().getMainAttributes().getValue("Implementation-Version"));
    }
    assertEquals(Version.get(), new SinetStreamS3SinkConnector().version());
  }
}
