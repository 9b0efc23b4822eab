package org.sinetstream.kafka.connect.s3;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The plugin version, written into the jar by the build. */
final class Version {
  private static final String VERSION = read();

  private Version() {}

  static String get() {
    return VERSION;
  }

  private static String read() {
    Properties props = new Properties();
    try (InputStream in = Version.class.getResourceAsStream("/sinetstream-s3-sink-version.properties")) {
      if (in != null) {
        props.load(in);
      }
    } catch (IOException e) {
      // fall through to "unknown"
    }
    return props.getProperty("version", "unknown");
  }
}
