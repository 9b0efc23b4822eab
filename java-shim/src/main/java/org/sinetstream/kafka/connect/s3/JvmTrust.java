package org.sinetstream.kafka.connect.s3;

import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The CAs the worker JVM trusts, as PEM for the engine, whose TLS client (rustls) cannot read
 * a Java keystore. They are the default trust manager's accepted issuers: the keystore named
 * by javax.net.ssl.trustStore when the worker sets it (its password too), else the JDK's
 * cacerts, exactly what a Java S3 client in this worker would trust.
 */
final class JvmTrust {
  /** Sent beside the ConfigDef's keys, like topics; rust-core/engine/src/config/store.rs reads it. */
  static final String PEM_KEY = "s3.ssl.jvm.truststore.pem";

  private static volatile String pem;

  private JvmTrust() {}

  /** The config with the JVM's CAs added where the engine will use them (an S3 store that wants them). */
  static Map<String, String> addTo(Map<String, String> config) {
    String url = config.getOrDefault(S3SinkConfig.STORE_URL_CONFIG, "");
    if (!"true".equals(config.get(StoreOptions.JVM_TRUST_CONFIG)) || url.startsWith("file:")) {
      return config;
    }
    Map<String, String> withTrust = new LinkedHashMap<>(config);
    withTrust.put(PEM_KEY, pem());
    return withTrust;
  }

  /** Read once: the truststore is fixed for the JVM's life. */
  static String pem() {
    String known = pem;
    if (known == null) {
      known = read();
      pem = known;
    }
    return known;
  }

  private static String read() {
    try {
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init((KeyStore) null);
      StringBuilder out = new StringBuilder();
      Base64.Encoder base64 = Base64.getMimeEncoder(64, new byte[] {'\n'});
      for (TrustManager manager : factory.getTrustManagers()) {
        if (!(manager instanceof X509TrustManager)) {
          continue;
        }
        for (X509Certificate certificate : ((X509TrustManager) manager).getAcceptedIssuers()) {
          out.append("-----BEGIN CERTIFICATE-----\n")
              .append(base64.encodeToString(certificate.getEncoded()))
              .append("\n-----END CERTIFICATE-----\n");
        }
      }
      return out.toString();
    } catch (java.security.GeneralSecurityException e) {
      // A truststore the JVM cannot read fails the JVM's own TLS too; the engine still has the
      // system's CAs and s3.ssl.ca.file, so go on without, and say why in the worker's log.
      org.slf4j.LoggerFactory.getLogger(JvmTrust.class)
          .warn("cannot read the JVM's truststore, its CAs are not trusted for the store: {}", e.toString());
      return "";
    }
  }
}
