package org.sinetstream.kafka.connect.s3;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;

/** Stores every SINETStream message of the topics as payload and timestamp objects. */
public class SinetStreamS3SinkConnector extends SinkConnector {
  private Map<String, String> props;

  @Override
  public String version() {
    return Version.get();
  }

  @Override
  public void start(Map<String, String> props) {
    new S3SinkConfig(props);
    this.props = new HashMap<>(props);
  }

  @Override
  public Class<? extends Task> taskClass() {
    return SinetStreamS3SinkTask.class;
  }

  @Override
  public List<Map<String, String>> taskConfigs(int maxTasks) {
    List<Map<String, String>> configs = new ArrayList<>(maxTasks);
    for (int i = 0; i < maxTasks; i++) {
      configs.add(new HashMap<>(props));
    }
    return configs;
  }

  @Override
  public void stop() {
    props = null;
  }

  @Override
  public ConfigDef config() {
    return S3SinkConfig.CONFIG_DEF;
  }

  /**
   * ConfigDef's checks, then the combinations and what only the engine can judge
   * (patterns, the store answering to these credentials), each reported on its key.
   */
  @Override
  public Config validate(Map<String, String> connectorConfigs) {
    Config config = super.validate(connectorConfigs);
    Map<String, ConfigValue> byKey = new HashMap<>();
    for (ConfigValue value : config.configValues()) {
      byKey.put(value.name(), value);
    }
    if (hasErrors(config)) {
      return config;
    }
    S3SinkConfig parsed = new S3SinkConfig(connectorConfigs);
    for (String[] problem : CombinationChecks.problems(parsed)) {
      addError(config, byKey, problem[0], problem[1]);
    }
    if (!hasErrors(config)) {
      for (Map.Entry<String, List<String>> problem : NativeSink.validate(parsed.toNativeConfig()).entrySet()) {
        for (String message : problem.getValue()) {
          addError(config, byKey, problem.getKey(), message);
        }
      }
    }
    return config;
  }

  private static boolean hasErrors(Config config) {
    return config.configValues().stream().anyMatch(v -> !v.errorMessages().isEmpty());
  }

  /** An error on the key it is about; Connect's own keys (errors.tolerance, topics) get an entry of their own. */
  private static void addError(Config config, Map<String, ConfigValue> byKey, String key, String message) {
    ConfigValue value = byKey.get(key);
    if (value == null) {
      value = new ConfigValue(key);
      byKey.put(key, value);
      config.configValues().add(value);
    }
    if (value.value() instanceof Password) {
      value.value(new Password(Password.HIDDEN));
    }
    value.addErrorMessage(message);
  }
}
