package org.sinetstream.kafka.connect.s3;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.Width;

/**
 * How SINETStream messages are read: compression, encryption and keys, either as
 * connector keys or from the SINETStream config file producers already use.
 */
final class SinetStreamConfig {
  static final String CONFIG_FILE_CONFIG = "sinetstream.config.file";
  static final String CONFIG_FILE_DOC = "A SINETStream config file (.sinetstream_config.yml format) whose service "
      + "section gives message_format, user_data_only, compression and crypto settings. Connector keys set "
      + "here override it.";
  static final String SERVICE_CONFIG = "sinetstream.service";
  static final String SERVICE_DOC = "The service name in sinetstream.config.file.";
  static final String COMPRESSION_CONFIG = "sinetstream.compression.algorithm";
  static final String COMPRESSION_DOC = "Compression the producers apply (data_compression): none, gzip, zstd or lz4.";
  static final String CRYPTO_MODE_CONFIG = "sinetstream.crypto.mode";
  static final String CRYPTO_MODE_DOC = "AES mode the producers encrypt with (data_encryption): none, CBC, OFB, CTR, "
      + "EAX or GCM.";
  static final String KEY_LENGTH_CONFIG = "sinetstream.crypto.key.length";
  static final String KEY_LENGTH_DOC = "AES key length in bits: 128, 192 or 256.";
  static final String PASSWORD_CONFIG = "sinetstream.crypto.password";
  static final String PASSWORD_DOC = "Password the AES key is derived from (PBKDF2). Use ${file:...} or ${env:...}.";
  static final String RAW_KEY_CONFIG = "sinetstream.crypto.key";
  static final String RAW_KEY_DOC = "The AES key itself, base64, instead of a password.";
  static final String KEY_VERSIONS_CONFIG = "sinetstream.crypto.password.versions";
  static final String KEY_VERSIONS_DOC = "Passwords by key version for v3 messages, as version:password pairs "
      + "separated by commas (e.g. 1:old-pass,2:new-pass).";
  static final String SALT_BYTES_CONFIG = "sinetstream.crypto.kdf.salt.bytes";
  static final String SALT_BYTES_DOC = "PBKDF2 salt length in bytes.";
  static final String ITERATIONS_CONFIG = "sinetstream.crypto.kdf.iterations";
  static final String ITERATIONS_DOC = "PBKDF2 iterations.";
  static final String PRF_CONFIG = "sinetstream.crypto.kdf.prf";
  static final String PRF_DOC = "PBKDF2 pseudo-random function: HMAC-SHA256, HMAC-SHA384 or HMAC-SHA512.";

  private SinetStreamConfig() {}

  /**
   * Keys a SINETStream config file may set too (everything of the SINETStream group but the
   * decompression limit, which is ours): the engine gets them only when the connector sets
   * them, so that the file's values count otherwise.
   */
  static boolean suppliedByConfigFile(String key) {
    return key.startsWith("sinetstream.") && !key.equals(S3SinkConfig.MAX_DECOMPRESSED_CONFIG);
  }

  static ConfigDef define(ConfigDef def, String group, int lastOrder) {
    int order = lastOrder;
    def.define(CONFIG_FILE_CONFIG, Type.STRING, "", Importance.MEDIUM, CONFIG_FILE_DOC, group, ++order,
        Width.LONG, "SINETStream config file");
    def.define(SERVICE_CONFIG, Type.STRING, "", Importance.MEDIUM, SERVICE_DOC, group, ++order, Width.SHORT,
        "SINETStream service");
    def.define(COMPRESSION_CONFIG, Type.STRING, "", ConfigDef.ValidString.in("", "none", "gzip", "zstd", "lz4"),
        Importance.MEDIUM, COMPRESSION_DOC, group, ++order, Width.SHORT, "Compression");
    def.define(CRYPTO_MODE_CONFIG, Type.STRING, "",
        ConfigDef.ValidString.in("", "none", "CBC", "OFB", "CTR", "EAX", "GCM"), Importance.MEDIUM,
        CRYPTO_MODE_DOC, group, ++order, Width.SHORT, "Encryption mode");
    def.define(KEY_LENGTH_CONFIG, Type.INT, 128, new KeyLengths(), Importance.LOW, KEY_LENGTH_DOC, group,
        ++order, Width.SHORT, "Key length");
    def.define(PASSWORD_CONFIG, Type.PASSWORD, "", Importance.MEDIUM, PASSWORD_DOC, group, ++order, Width.MEDIUM,
        "Password");
    def.define(RAW_KEY_CONFIG, Type.PASSWORD, "", Importance.LOW, RAW_KEY_DOC, group, ++order, Width.MEDIUM,
        "Raw key");
    def.define(KEY_VERSIONS_CONFIG, Type.PASSWORD, "", Importance.LOW, KEY_VERSIONS_DOC, group, ++order,
        Width.MEDIUM, "Passwords by key version");
    def.define(SALT_BYTES_CONFIG, Type.INT, 8, ConfigDef.Range.between(1, 1024), Importance.LOW, SALT_BYTES_DOC,
        group, ++order, Width.SHORT, "Salt bytes");
    def.define(ITERATIONS_CONFIG, Type.INT, 10000, ConfigDef.Range.atLeast(1), Importance.LOW, ITERATIONS_DOC,
        group, ++order, Width.SHORT, "Iterations");
    def.define(PRF_CONFIG, Type.STRING, "HMAC-SHA256",
        ConfigDef.ValidString.in("HMAC-SHA256", "HMAC-SHA384", "HMAC-SHA512"), Importance.LOW, PRF_DOC, group,
        ++order, Width.SHORT, "PRF");
    return def;
  }

  /** Key lengths AES takes; a named class so the generated reference shows the values. */
  private static final class KeyLengths implements ConfigDef.Validator {
    @Override
    public void ensureValid(String name, Object value) {
      int bits = (Integer) value;
      if (bits != 128 && bits != 192 && bits != 256) {
        throw new ConfigException(name, value, "expected 128, 192 or 256");
      }
    }

    @Override
    public String toString() {
      return "[128, 192, 256]";
    }
  }
}
