package org.sinetstream.kafka.connect.s3;

import java.lang.management.ManagementFactory;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import javax.management.ReflectionException;
import javax.management.openmbean.CompositeDataSupport;
import javax.management.openmbean.CompositeType;
import javax.management.openmbean.OpenDataException;
import javax.management.openmbean.OpenType;
import javax.management.openmbean.SimpleType;
import javax.management.openmbean.TabularData;
import javax.management.openmbean.TabularDataSupport;
import javax.management.openmbean.TabularType;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JMX bean of one task, named like Connect's own task metrics:
 * {@code kafka.connect:type=sinetstream-s3-sink-task-metrics,connector=<name>,task=<id>}.
 * Its attributes are the engine's counters and gauges ({@link NativeSink#METRIC_NAMES}, each a
 * long) and {@code committed-offsets}, the offsets preCommit last returned, as a table indexed
 * by topic and partition (the Prometheus JMX exporter turns its rows into labels).
 *
 * <p>Reading an attribute takes the sink's read lock only, which a put() waiting for memory
 * shares, so a monitoring client never waits for the store.
 */
final class TaskMetrics implements DynamicMBean {
  static final String DOMAIN = "kafka.connect";
  static final String TYPE = "sinetstream-s3-sink-task-metrics";
  static final String COMMITTED_OFFSETS = "committed-offsets";
  private static final Logger log = LoggerFactory.getLogger(TaskMetrics.class);
  private static final String[] OFFSET_COLUMNS = {"topic", "partition", "offset"};
  private static final CompositeType OFFSET_ROW;
  private static final TabularType OFFSET_TABLE;
  /** Registered by this class loader; a stop unregisters only its own bean. */
  private static final Map<ObjectName, TaskMetrics> REGISTERED = new ConcurrentHashMap<>();

  static {
    try {
      OFFSET_ROW = new CompositeType("committed-offset", "the next offset to read, committed for a partition",
          OFFSET_COLUMNS, new String[] {"topic", "partition", "committed offset (the next to read)"},
          new OpenType<?>[] {SimpleType.STRING, SimpleType.INTEGER, SimpleType.LONG});
      OFFSET_TABLE = new TabularType("committed-offsets", "committed offset per partition", OFFSET_ROW,
          new String[] {"topic", "partition"});
    } catch (OpenDataException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final NativeSink sink;
  private final ObjectName name;
  private final MBeanInfo info;
  private final Map<TopicPartition, Long> committed = new ConcurrentHashMap<>();
  /** The values of the last read, returned once the sink has closed. */
  private volatile long[] last;

  private TaskMetrics(NativeSink sink, ObjectName name) {
    this.sink = sink;
    this.name = name;
    this.last = new long[NativeSink.METRIC_NAMES.size()];
    this.info = mbeanInfo();
  }

  /**
   * Registers the bean of the task named by Connect's task context ("s3-sink|task-0"), or by
   * the connector's name when there is none. A bean of the same name left by an earlier task
   * is replaced. Never fails the task: without JMX it only logs why.
   */
  static TaskMetrics register(NativeSink sink, String taskContext, Map<String, String> taskConfig) {
    ObjectName name = objectName(taskContext, taskConfig);
    TaskMetrics metrics = new TaskMetrics(sink, name);
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    synchronized (REGISTERED) {
      try {
        if (server.isRegistered(name)) {
          log.info("Replacing the metrics bean {} of an earlier task", name);
          server.unregisterMBean(name);
        }
        server.registerMBean(metrics, name);
        REGISTERED.put(name, metrics);
      } catch (JMException e) {
        log.warn("Cannot register the metrics bean {}: {}", name, e.toString());
      }
    }
    return metrics;
  }

  /** Removes the bean, unless a later task of the same name replaced it meanwhile. */
  void unregister() {
    synchronized (REGISTERED) {
      if (!REGISTERED.remove(name, this)) {
        return;
      }
      try {
        ManagementFactory.getPlatformMBeanServer().unregisterMBean(name);
      } catch (InstanceNotFoundException gone) {
        // unregistered by someone else: nothing to do
      } catch (JMException e) {
        log.warn("Cannot unregister the metrics bean {}: {}", name, e.toString());
      }
    }
  }

  ObjectName name() {
    return name;
  }

  /** The offsets preCommit returns; Connect commits them. */
  void committed(Map<TopicPartition, OffsetAndMetadata> offsets) {
    offsets.forEach((tp, offset) -> committed.put(tp, offset.offset()));
  }

  /** Partitions this task no longer owns: their offsets are another task's to show. */
  void forget(Collection<TopicPartition> partitions) {
    partitions.forEach(committed::remove);
  }

  static ObjectName objectName(String taskContext, Map<String, String> taskConfig) {
    int bar = taskContext.lastIndexOf("|task-");
    String connector = bar >= 0 ? taskContext.substring(0, bar) : taskConfig.getOrDefault("name", "unnamed");
    String task = bar >= 0 ? taskContext.substring(bar + "|task-".length()) : "unknown";
    try {
      return new ObjectName(DOMAIN + ":type=" + TYPE + ",connector=" + jmxValue(connector) + ",task="
          + jmxValue(task));
    } catch (MalformedObjectNameException e) {
      throw new IllegalArgumentException("no JMX name for connector " + connector + " task " + task, e);
    }
  }

  /**
   * A property value as Connect writes them: as is when plain, quoted when it holds a character
   * ObjectName gives a meaning to. (Kafka's own Sanitizer is internal and gone from Kafka 4.)
   */
  static String jmxValue(String value) {
    return value.matches("[-\\w.]*") ? value : ObjectName.quote(value);
  }

  private long[] values() {
    try {
      last = sink.metrics();
    } catch (IllegalStateException closed) {
      // the task is stopping: its last values stand
    }
    return last;
  }

  private Object value(String attribute, long[] values) throws AttributeNotFoundException {
    if (attribute.equals(COMMITTED_OFFSETS)) {
      return offsetTable();
    }
    int index = NativeSink.METRIC_NAMES.indexOf(attribute);
    if (index < 0) {
      throw new AttributeNotFoundException(attribute + " is not an attribute of " + name);
    }
    return values[index];
  }

  private TabularData offsetTable() {
    TabularDataSupport table = new TabularDataSupport(OFFSET_TABLE);
    committed.forEach((tp, offset) -> {
      try {
        table.put(new CompositeDataSupport(OFFSET_ROW, OFFSET_COLUMNS,
            new Object[] {tp.topic(), tp.partition(), offset}));
      } catch (OpenDataException e) {
        throw new IllegalStateException(e);
      }
    });
    return table;
  }

  @Override
  public Object getAttribute(String attribute) throws AttributeNotFoundException {
    return attribute.equals(COMMITTED_OFFSETS) ? offsetTable() : value(attribute, values());
  }

  @Override
  public AttributeList getAttributes(String[] attributes) {
    long[] values = values();
    AttributeList list = new AttributeList();
    for (String attribute : attributes) {
      try {
        list.add(new Attribute(attribute, value(attribute, values)));
      } catch (AttributeNotFoundException unknown) {
        // left out, as the DynamicMBean contract asks
      }
    }
    return list;
  }

  @Override
  public void setAttribute(Attribute attribute) throws AttributeNotFoundException {
    throw new AttributeNotFoundException(attribute.getName() + " is read-only");
  }

  @Override
  public AttributeList setAttributes(AttributeList attributes) {
    return new AttributeList();
  }

  @Override
  public Object invoke(String action, Object[] params, String[] signature) throws ReflectionException {
    throw new ReflectionException(new NoSuchMethodException(action), name + " has no operations");
  }

  @Override
  public MBeanInfo getMBeanInfo() {
    return info;
  }

  private static MBeanInfo mbeanInfo() {
    List<String> names = NativeSink.METRIC_NAMES;
    MBeanAttributeInfo[] attributes = new MBeanAttributeInfo[names.size() + 1];
    for (int i = 0; i < names.size(); i++) {
      attributes[i] = new MBeanAttributeInfo(names.get(i), "long", DESCRIPTIONS.get(names.get(i)), true, false, false);
    }
    attributes[names.size()] = new MBeanAttributeInfo(COMMITTED_OFFSETS, TabularData.class.getName(),
        "the offsets the task last committed, per topic and partition (the next offset to read)", true, false, false);
    return new MBeanInfo(TaskMetrics.class.getName(), "SINETStream S3 sink task metrics", attributes, null, null,
        null);
  }

  /** What each of {@link NativeSink#METRIC_NAMES} counts. */
  static final Map<String, String> DESCRIPTIONS = NativeSink.METRIC_DESCRIPTIONS;
}
