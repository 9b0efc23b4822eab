import java.util.Map;
import java.util.TreeMap;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * A JMX client for the end-to-end tests, run as {@code java JmxRead.java HOST:PORT PATTERN}: connects
 * over RMI as jconsole or the Prometheus JMX exporter would and prints every MBean matching the
 * ObjectName pattern, one line per value, tab-separated:
 *
 * <pre>
 * bean    NAME
 * attr    NAME    ATTRIBUTE    VALUE
 * row     NAME    ATTRIBUTE    KEY=VALUE,KEY=VALUE...   (a row of a TabularData attribute)
 * </pre>
 */
public class JmxRead {
  public static void main(String[] args) throws Exception {
    JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://" + args[0] + "/jmxrmi");
    try (JMXConnector connector = JMXConnectorFactory.connect(url)) {
      MBeanServerConnection server = connector.getMBeanServerConnection();
      for (ObjectName name : new java.util.TreeSet<>(server.queryNames(new ObjectName(args[1]), null))) {
        System.out.println("bean\t" + name);
        for (MBeanAttributeInfo info : server.getMBeanInfo(name).getAttributes()) {
          Object value = server.getAttribute(name, info.getName());
          if (value instanceof TabularData) {
            for (Object row : ((TabularData) value).values()) {
              System.out.println("row\t" + name + "\t" + info.getName() + "\t" + fields((CompositeData) row));
            }
          } else {
            System.out.println("attr\t" + name + "\t" + info.getName() + "\t" + value);
          }
        }
      }
    }
  }

  private static String fields(CompositeData row) {
    Map<String, Object> sorted = new TreeMap<>();
    for (String key : row.getCompositeType().keySet()) {
      sorted.put(key, row.get(key));
    }
    StringBuilder out = new StringBuilder();
    sorted.forEach((k, v) -> out.append(out.length() == 0 ? "" : ",").append(k).append('=').append(v));
    return out.toString();
  }
}
