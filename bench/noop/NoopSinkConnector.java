package bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;

/**
 * "Connect alone" of bench/run.sh: a sink that stores nothing and only counts what Connect
 * delivers, so a row measures the worker reading and delivering the records by itself.
 * Each task writes "records value-bytes first-delivery-ms" to {@code count.file}-{@code task} at
 * every commit; the bench adds them up. Compiled by bench/run.sh, never part of the plugin.
 */
public class NoopSinkConnector extends SinkConnector {
  private Map<String, String> props;

  @Override public String version() { return "bench"; }
  @Override public void start(Map<String, String> props) { this.props = props; }
  @Override public Class<? extends Task> taskClass() { return CountingTask.class; }
  @Override public void stop() {}
  @Override public ConfigDef config() {
    return new ConfigDef().define("count.file", ConfigDef.Type.STRING, ConfigDef.Importance.HIGH, "count prefix");
  }

  @Override
  public List<Map<String, String>> taskConfigs(int maxTasks) {
    List<Map<String, String>> configs = new java.util.ArrayList<>();
    for (int i = 0; i < maxTasks; i++) {
      Map<String, String> config = new java.util.HashMap<>(props);
      config.put("task", Integer.toString(i));
      configs.add(config);
    }
    return configs;
  }

  /** Counts records and value bytes; writes them down when Connect commits. */
  public static class CountingTask extends SinkTask {
    private Path file;
    private long records;
    private long bytes;
    private long firstDelivery;

    @Override public String version() { return "bench"; }
    @Override public void start(Map<String, String> props) {
      file = Paths.get(props.get("count.file") + "-" + props.get("task"));
    }

    @Override
    public void put(Collection<SinkRecord> batch) {
      if (firstDelivery == 0 && !batch.isEmpty()) {
        firstDelivery = System.currentTimeMillis();
      }
      for (SinkRecord record : batch) {
        records++;
        Object value = record.value();
        if (value instanceof byte[]) {
          bytes += ((byte[]) value).length;
        }
      }
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> preCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {
      try {
        Files.write(file, (records + " " + bytes + " " + firstDelivery + "\n").getBytes(StandardCharsets.US_ASCII));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return offsets;
    }

    @Override public void stop() {}
  }

}
