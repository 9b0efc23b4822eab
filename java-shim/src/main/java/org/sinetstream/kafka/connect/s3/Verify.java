package org.sinetstream.kafka.connect.s3;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigTransformer;
import org.apache.kafka.common.config.provider.ConfigProvider;
import org.apache.kafka.common.config.provider.EnvVarConfigProvider;
import org.apache.kafka.common.config.provider.FileConfigProvider;

/**
 * Is the bucket complete? The entry point of verify.sh: fetches the connector's configuration
 * and committed offsets from the Kafka Connect REST API, resolves its {@code ${env:NAME}} and
 * {@code ${file:path:key}} references from this process's environment and files as the worker
 * does, and lets the engine compare them with the stored objects ({@link NativeSink#verify}).
 *
 * <pre>
 * java -cp '&lt;plugin dir&gt;/*:&lt;Kafka libs&gt;/*' org.sinetstream.kafka.connect.s3.Verify [options]
 *   --connect-url URL        Connect REST API (default: $CONNECT_URL, else http://localhost:8083)
 *   --connector NAME[,NAME]  default: s3-sink, else the pair s3-sink-data,s3-sink-timestamp
 *   --store-url URL          read the objects there instead of at the connector's store.url
 * </pre>
 *
 * The Kafka libs are kafka-clients (ConfigDef, config providers), connect-api (the exceptions
 * the engine throws) and slf4j. Exit status: 0 complete, 1 offsets missing or doubled or
 * objects without their pair, 2 Connect or the store cannot be read (or bad usage). Prints no
 * secret: the report names keys, offsets, the store URL and the bucket.
 */
public final class Verify {
  static final int COMPLETE = 0;
  static final int INCOMPLETE = 1;
  static final int CANNOT_CHECK = 2;
  static final String SINGLE = "s3-sink";
  static final List<String> PAIR = Arrays.asList("s3-sink-data", "s3-sink-timestamp");
  private static final Pattern SUMMARY =
      Pattern.compile("verified \\d+ offsets in \\d+ objects: (\\d+) missing, (\\d+) duplicated, (\\d+) orphaned");
  private static final Pattern REFERENCE = Pattern.compile("\\$\\{(\\w+):((?:[^}:]*:)?[^}]*)\\}");
  // Names, not class literals: loading the connector class would need connect-api.
  private static final String CONNECTOR_CLASS = "org.sinetstream.kafka.connect.s3.SinetStreamS3SinkConnector";
  private static final String LOG_CONFIG = "sinetstream-s3-sink-verify-log4j.properties";
  private static final int ATTEMPTS = 10;

  private final String connectUrl;
  private final String storeUrl;

  private Verify(String connectUrl, String storeUrl) {
    this.connectUrl = connectUrl.replaceAll("/+$", "");
    this.storeUrl = storeUrl;
  }

  /** What went wrong before the store could be compared: exit status 2. */
  static final class CannotCheck extends Exception {
    private static final long serialVersionUID = 1L;

    CannotCheck(String message) {
      super(message);
    }
  }

  public static void main(String[] args) {
    // Warnings only (log4j reads this when the first logger is made): the report is the output.
    if (System.getProperty("log4j.configuration") == null) {
      System.setProperty("log4j.configuration", LOG_CONFIG);
    }
    System.exit(run(args));
  }

  static int run(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      String option = args[i];
      if (option.equals("-h") || option.equals("--help")) {
        System.out.println("usage: Verify [--connect-url URL] [--connector NAME[,NAME]] [--store-url URL]");
        return COMPLETE;
      }
      if (!Arrays.asList("--connect-url", "--connector", "--store-url").contains(option) || i + 1 == args.length) {
        System.err.println("error: unknown option or missing value: " + option
            + " (options: --connect-url URL, --connector NAME[,NAME], --store-url URL)");
        return CANNOT_CHECK;
      }
      options.put(option, args[++i]);
    }
    String defaultUrl = System.getenv().getOrDefault("CONNECT_URL", "http://localhost:8083");
    Verify verify = new Verify(options.getOrDefault("--connect-url", defaultUrl), options.get("--store-url"));
    try {
      String report = verify.check(options.get("--connector"));
      System.out.println(report);
      return exitStatus(report);
    } catch (CannotCheck e) {
      System.err.println("error: " + e.getMessage());
      return CANNOT_CHECK;
    } catch (RuntimeException | LinkageError e) {
      // The engine's errors (store unreachable, credentials refused) and a missing native library.
      String message = String.valueOf(e.getMessage());
      boolean storeUnreachable = message.startsWith(S3SinkConfig.STORE_URL_CONFIG + ": ");
      System.err.println("error: " + message + (storeUnreachable && !options.containsKey("--store-url")
          ? "\n(that is the connector's store.url: if the store has another address from here, give it with "
              + "--store-url URL, or run the check in the worker's container: verify.sh --compose)" : ""));
      return CANNOT_CHECK;
    }
  }

  /** 0 or 1 from the report's last line, so that the status and the printed figures agree. */
  static int exitStatus(String report) throws CannotCheck {
    String[] lines = report.split("\n");
    Matcher summary = SUMMARY.matcher(lines[lines.length - 1]);
    if (!summary.matches()) {
      throw new CannotCheck("the engine's report has no summary line");
    }
    for (int group = 1; group <= 3; group++) {
      if (Long.parseLong(summary.group(group)) > 0) {
        return INCOMPLETE;
      }
    }
    return COMPLETE;
  }

  private String check(String connectorOption) throws CannotCheck {
    List<String> names = new ArrayList<>();
    for (String name : connectorOption != null ? connectorOption.split(",") : registered().toArray(new String[0])) {
      names.add(name.trim());
    }
    Map<String, String> nativeConfig = null;
    String topics = null;
    List<String> writers = new ArrayList<>();
    for (String name : names) {
      Map<String, String> props = resolve(name, connectorConfig(name));
      String objects = String.join(",", new S3SinkConfig(props).getList(S3SinkConfig.OBJECTS_CONFIG));
      props.remove(S3SinkConfig.OBJECTS_CONFIG); // the engine gets every kind; each connector says what it writes
      if (storeUrl != null) {
        props.put(S3SinkConfig.STORE_URL_CONFIG, storeUrl);
      }
      Map<String, String> config = new S3SinkConfig(props).toNativeConfig();
      if (nativeConfig != null && !(nativeConfig.equals(config) && topics.equals(topicsJson(props)))) {
        throw new CannotCheck(String.join(" and ", names) + " are configured differently; check one at a time with "
            + "--connector NAME");
      }
      nativeConfig = config;
      topics = topicsJson(props);
      writers.add("{\"name\":" + Json.string(name) + ",\"objects\":" + Json.string(objects) + ",\"offsets\":"
          + offsets(name) + "}");
    }
    String plan = "{\"topics\":" + topics + ",\"connectors\":[" + String.join(",", writers) + "]}";
    return NativeSink.verify(nativeConfig, plan);
  }

  /** s3-sink, or the pair register.sh --two-connectors creates. */
  private List<String> registered() throws CannotCheck {
    List<String> names = Json.strings(get("/connectors", "listing the connectors"));
    if (names.contains(SINGLE)) {
      return Arrays.asList(SINGLE);
    }
    if (names.containsAll(PAIR)) {
      return PAIR;
    }
    throw new CannotCheck("no connector " + SINGLE + " (nor " + String.join(" and ", PAIR) + ") at " + connectUrl
        + "; registered there: " + names + "; name one with --connector NAME");
  }

  private Map<String, String> connectorConfig(String name) throws CannotCheck {
    Map<String, String> props = new LinkedHashMap<>();
    for (String[] pair : Json.pairsOfStrings(get("/connectors/" + pathSegment(name) + "/config",
        "reading the configuration of " + name))) {
      props.put(pair[0], pair[1]);
    }
    String connectorClass = props.getOrDefault("connector.class", "");
    // Connect also takes the simple class name and its alias without "Connector".
    String simple = CONNECTOR_CLASS.substring(CONNECTOR_CLASS.lastIndexOf('.') + 1);
    if (!Arrays.asList(CONNECTOR_CLASS, simple, simple.replace("Connector", "")).contains(connectorClass)) {
      throw new CannotCheck(name + " is a " + connectorClass + ", not a " + CONNECTOR_CLASS);
    }
    return props;
  }

  /** Replaces ${env:...} and ${file:...} references as the worker's config providers do. */
  static Map<String, String> resolve(String name, Map<String, String> props) throws CannotCheck {
    Map<String, ConfigProvider> providers = new HashMap<>();
    providers.put("env", new EnvVarConfigProvider());
    providers.put("file", new FileConfigProvider());
    providers.values().forEach(p -> p.configure(new HashMap<String, Object>()));
    Map<String, String> resolved;
    try {
      resolved = new HashMap<>(new ConfigTransformer(providers).transform(props).data());
    } catch (ConfigException e) {
      throw new CannotCheck(name + ": cannot resolve a reference in its configuration: " + e.getMessage());
    } finally {
      for (ConfigProvider provider : providers.values()) {
        closeQuietly(provider);
      }
    }
    for (Map.Entry<String, String> entry : resolved.entrySet()) {
      Matcher left = REFERENCE.matcher(entry.getValue() == null ? "" : entry.getValue());
      if (left.find()) {
        String where = left.group(1).equals("env") ? "not set in the environment of verify"
            : left.group(1).equals("file") ? "not found" : "a config provider verify does not know";
        throw new CannotCheck(name + ": " + entry.getKey() + " refers to " + left.group() + ", " + where
            + " (verify.sh passes the variables of .env)");
      }
    }
    return resolved;
  }

  private static void closeQuietly(ConfigProvider provider) {
    try {
      provider.close();
    } catch (IOException ignored) {
      // nothing held open
    }
  }

  private static String topicsJson(Map<String, String> props) {
    String topics = props.getOrDefault("topics", "").trim();
    if (topics.isEmpty()) {
      return "null"; // topics.regex: the engine checks the topics with committed offsets
    }
    List<String> quoted = new ArrayList<>();
    for (String topic : topics.split(",")) {
      if (!topic.trim().isEmpty()) {
        quoted.add(Json.string(topic.trim()));
      }
    }
    return "[" + String.join(",", quoted) + "]";
  }

  private String offsets(String name) throws CannotCheck {
    String body = get("/connectors/" + pathSegment(name) + "/offsets", "reading the committed offsets of " + name
        + " (GET /connectors/" + name + "/offsets needs Kafka Connect 3.5 or newer)").trim();
    if (!body.startsWith("{")) {
      throw new CannotCheck("unexpected answer to GET /connectors/" + name + "/offsets: " + firstLine(body));
    }
    return body;
  }

  /** GET from the REST API; retried while the worker rebalances (409) or starts (503). */
  private String get(String path, String what) throws CannotCheck {
    String url = connectUrl + path;
    for (int attempt = 1; ; attempt++) {
      int status;
      String body;
      try {
        HttpURLConnection connection = (HttpURLConnection) URI.create(url).toURL().openConnection();
        connection.setConnectTimeout(10_000);
        connection.setReadTimeout(60_000);
        connection.setRequestProperty("Accept", "application/json");
        status = connection.getResponseCode();
        try (InputStream in = status >= 400 ? connection.getErrorStream() : connection.getInputStream()) {
          body = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
      } catch (IOException | IllegalArgumentException e) {
        throw new CannotCheck("cannot reach Kafka Connect at " + connectUrl + " (" + e + ")");
      }
      if (status == 200) {
        return body;
      }
      if ((status == 409 || status == 503) && attempt < ATTEMPTS) {
        sleep(2000);
        continue;
      }
      throw new CannotCheck(what + " failed: HTTP " + status + " from " + url + ": " + firstLine(body));
    }
  }

  private static void sleep(long ms) throws CannotCheck {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CannotCheck("interrupted");
    }
  }

  private static String firstLine(String text) {
    String line = text.split("\n", 2)[0];
    return line.length() > 300 ? line.substring(0, 300) + "..." : line;
  }

  private static String pathSegment(String text) {
    StringBuilder out = new StringBuilder();
    for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if (Character.isLetterOrDigit(c) && c < 0x80 || "-._~".indexOf(c) >= 0) {
        out.append(c);
      } else {
        out.append(String.format("%%%02X", b & 0xff));
      }
    }
    return out.toString();
  }
}
