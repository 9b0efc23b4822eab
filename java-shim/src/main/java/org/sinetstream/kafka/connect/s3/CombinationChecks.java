package org.sinetstream.kafka.connect.s3;

import java.util.ArrayList;
import java.util.List;

/** Settings that are valid alone but not together; each problem names the key to change. */
final class CombinationChecks {
  private CombinationChecks() {}

  static List<String[]> problems(S3SinkConfig config) {
    List<String[]> problems = new ArrayList<>();
    String mode = config.getString(SinetStreamConfig.CRYPTO_MODE_CONFIG);
    boolean encrypted = !mode.isEmpty() && !mode.equals("none");
    boolean hasKey = !config.getPassword(SinetStreamConfig.PASSWORD_CONFIG).value().isEmpty()
        || !config.getPassword(SinetStreamConfig.RAW_KEY_CONFIG).value().isEmpty()
        || !config.getPassword(SinetStreamConfig.KEY_VERSIONS_CONFIG).value().isEmpty();
    if (encrypted && !hasKey) {
      problems.add(new String[] {SinetStreamConfig.PASSWORD_CONFIG,
          "sinetstream.crypto.mode is " + mode + ": a password, raw key or versioned passwords is required"});
    }
    boolean fromFile = !config.getString(SinetStreamConfig.CONFIG_FILE_CONFIG).isEmpty();
    boolean hasService = !config.getString(SinetStreamConfig.SERVICE_CONFIG).isEmpty();
    if (fromFile && !hasService) {
      problems.add(new String[] {SinetStreamConfig.SERVICE_CONFIG,
          "required with sinetstream.config.file: the service whose settings apply"});
    }
    return problems;
  }
}
