package org.sinetstream.kafka.connect.s3;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.ConfigKey;

/**
 * Writes the connector configuration reference (docs/configuration.md) from the ConfigDef,
 * so the documentation cannot drift from the code. Run by the build's configReference task.
 */
public final class ConfigReference {
  private ConfigReference() {}

  public static void main(String[] args) throws IOException {
    byte[] text = markdown(S3SinkConfig.CONFIG_DEF).getBytes(StandardCharsets.UTF_8);
    if (args.length == 0) {
      System.out.write(text);
      System.out.flush();
    } else {
      Files.write(Paths.get(args[0]), text);
    }
  }

  static String markdown(ConfigDef def) {
    StringBuilder out = new StringBuilder();
    out.append("# Connector configuration reference\n\n")
        .append("Generated from the connector's ConfigDef by `gradle configReference`; do not edit.\n")
        .append("Besides these, Kafka Connect's own keys apply (`topics`, `tasks.max`, `errors.tolerance`,\n")
        .append("`errors.deadletterqueue.topic.name`, converters: use `ByteArrayConverter` for values).\n");
    for (String group : def.groups()) {
      out.append("\n## ").append(group).append("\n\n")
          .append("| key | type | default | valid values | importance | description |\n")
          .append("|---|---|---|---|---|---|\n");
      List<ConfigKey> keys = def.configKeys().values().stream()
          .filter(k -> group.equals(k.group))
          .sorted((a, b) -> Integer.compare(a.orderInGroup, b.orderInGroup))
          .collect(java.util.stream.Collectors.toList());
      for (ConfigKey key : keys) {
        out.append("| `").append(key.name).append("` | ")
            .append(key.type.name().toLowerCase(java.util.Locale.ROOT)).append(" | ")
            .append(defaultOf(key)).append(" | ")
            .append(key.validator == null ? "" : cell(key.validator.toString())).append(" | ")
            .append(key.importance.name().toLowerCase(java.util.Locale.ROOT)).append(" | ")
            .append(cell(key.documentation)).append(" |\n");
      }
    }
    return out.toString();
  }

  private static String defaultOf(ConfigKey key) {
    if (!key.hasDefault()) {
      return "(required)";
    }
    if (key.type == ConfigDef.Type.PASSWORD) {
      return "\"\"";
    }
    Object value = key.defaultValue;
    if (value instanceof List) {
      value = String.join(",", ((List<?>) value).stream().map(String::valueOf).toArray(String[]::new));
    }
    String text = value == null ? "" : String.valueOf(value);
    return text.isEmpty() ? "\"\"" : "`" + cell(text) + "`";
  }

  private static String cell(String text) {
    return text.replace("|", "\\|").replace("\n", " ");
  }
}
