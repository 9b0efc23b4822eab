package org.sinetstream.kafka.connect.s3;

import java.util.Base64;
import java.util.regex.Pattern;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.Width;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/**
 * How the S3 client reaches the store (TLS trust, proxy, an IAM role to assume, payload
 * signing) and what every object carries besides its bytes (server-side encryption,
 * Content-Type, metadata, tags, storage class, checksum). The engine reads them in
 * rust-core/engine/src/config/store.rs; which combinations cannot work is CombinationChecks'.
 */
final class StoreOptions {
  static final String ATTRIBUTES_GROUP = "Encryption and object attributes";

  static final String CA_FILE_CONFIG = "s3.ssl.ca.file";
  static final String CA_FILE_DOC = "A PEM file of CA certificates to trust for https:// stores besides the "
      + "system's (and the JVM's, see s3.ssl.jvm.truststore.enabled), e.g. a university's private CA. Must be "
      + "under a directory the worker allows (SINETS3_ALLOWED_PATHS).";
  static final String JVM_TRUST_CONFIG = "s3.ssl.jvm.truststore.enabled";
  static final String JVM_TRUST_DOC = "Also trust the CAs of the worker JVM's default truststore "
      + "(javax.net.ssl.trustStore if the worker sets it, else the JDK's cacerts), as Java-based S3 sinks do. "
      + "The engine's TLS client otherwise knows only the system's CAs and s3.ssl.ca.file.";
  static final String PROXY_CONFIG = "s3.proxy.url";
  static final String PROXY_DOC = "An HTTP(S) proxy for every request to the store and to STS, "
      + "http://host:port or https://host:port (no user name or password: they would show in the "
      + "connector configuration). Empty: the worker's HTTPS_PROXY, HTTP_PROXY and NO_PROXY, if set.";
  static final String UNSIGNED_PAYLOAD_CONFIG = "s3.unsigned.payload";
  static final String UNSIGNED_PAYLOAD_DOC = "Sign requests with SigV4 UNSIGNED-PAYLOAD instead of the SHA-256 "
      + "of every body: saves hashing each byte. Only over https://, where TLS protects the body.";
  static final String ROLE_ARN_CONFIG = "aws.sts.role.arn";
  static final String ROLE_ARN_DOC = "An IAM role to assume (STS AssumeRole) with the credentials above or the "
      + "default AWS chain; uploads then use the role's temporary credentials, renewed before they expire. "
      + "Empty: no role.";
  static final String EXTERNAL_ID_CONFIG = "aws.sts.role.external.id";
  static final String EXTERNAL_ID_DOC = "The external ID the role's trust policy asks for, if any.";
  static final String SESSION_NAME_CONFIG = "aws.sts.role.session.name";
  static final String SESSION_NAME_DEFAULT = "sinetstream-s3-sink";
  static final String SESSION_NAME_DOC = "The role session name (shows in CloudTrail).";
  static final String STS_ENDPOINT_CONFIG = "aws.sts.config.endpoint";
  static final String STS_ENDPOINT_DOC = "The STS endpoint for aws.sts.role.arn. Empty: https://sts.<region>."
      + "amazonaws.com for Amazon S3, the store.url server for other stores (MinIO and Ceph answer STS there).";

  static final String SSE_TYPE_CONFIG = "s3.sse.type";
  static final String SSE_TYPE_DEFAULT = "none";
  static final String SSE_TYPE_DOC = "Server-side encryption of every object: none (the bucket's default), AES256 "
      + "(SSE-S3), aws:kms (SSE-KMS) or aws:kms:dsse (DSSE-KMS). For SSE-C set s3.sse.customer.key instead.";
  static final String KMS_KEY_CONFIG = "s3.sse.kms.key.id";
  static final String KMS_KEY_DOC = "The KMS key (ID, ARN or alias) for aws:kms and aws:kms:dsse. Empty: the "
      + "account's AWS managed key.";
  static final String CUSTOMER_KEY_CONFIG = "s3.sse.customer.key";
  static final String CUSTOMER_KEY_DOC = "SSE-C: a 256-bit key, base64, that the store encrypts every object with "
      + "and keeps no copy of; every read needs it. Only over https://. Use ${file:...} or ${env:...}.";
  static final String CONTENT_TYPE_CONFIG = "s3.content.type";
  static final String CONTENT_TYPE_DOC = "Content-Type of payload objects. Empty: from format.bytearray.extension "
      + "(.json application/json, .jpeg/.jpg image/jpeg, .png image/png, .txt text/plain; charset=utf-8, "
      + "others application/octet-stream). Timestamp objects are always text/plain; charset=utf-8.";
  static final String METADATA_CONFIG = "s3.object.metadata";
  static final String METADATA_DOC = "User metadata on payload objects. send-time: the SINETStream send time "
      + "(of the object's first record, as timestamp.object.format in UTC) as x-amz-meta-sinetstream-send-time, "
      + "so that sink.objects=payload keeps the time with one request per message.";
  static final String TAGGING_CONFIG = "s3.object.tagging";
  static final String TAGGING_DOC = "Tags of every object, key=value pairs separated by commas (at most 10; "
      + "letters, digits, spaces and + - = . _ : / @). Needs s3:PutObjectTagging besides s3:PutObject.";
  static final String STORAGE_CLASS_CONFIG = "s3.storage.class";
  static final String STORAGE_CLASS_DOC = "Storage class of every object, e.g. STANDARD_IA or INTELLIGENT_TIERING. "
      + "Empty: the store's default.";
  static final String CHECKSUM_CONFIG = "s3.checksum.algorithm";
  static final String CHECKSUM_DEFAULT = "none";
  static final String CHECKSUM_DOC = "A checksum the store verifies with every upload and keeps with the object, "
      + "as buckets with Object Lock require: sha256 or crc64nvme (the two the engine's S3 client computes).";

  private StoreOptions() {}

  private static final ConfigDef.Validator SESSION_NAME =
      new Matching("[\\w+=,.@-]{2,64}", "2 to 64 letters, digits or + = , . @ _ -");
  private static final ConfigDef.Validator HEADER_TEXT =
      new Matching("[\\x20-\\x7e]*", "printable ASCII (it goes into an HTTP header), e.g. image/jpeg");
  private static final ConfigDef.Validator STORAGE_CLASS =
      new Matching("[A-Za-z0-9_.-]*", "a storage class name such as STANDARD_IA");

  /** The store group's keys after the credentials, numbered on from {@code lastOrder}. */
  static void defineConnection(ConfigDef def, String group, int lastOrder) {
    int order = lastOrder;
    def.define(ROLE_ARN_CONFIG, Type.STRING, "", Importance.MEDIUM, ROLE_ARN_DOC, group, ++order, Width.LONG,
        "Role to assume");
    def.define(EXTERNAL_ID_CONFIG, Type.STRING, "", Importance.LOW, EXTERNAL_ID_DOC, group, ++order, Width.MEDIUM,
        "Role external ID");
    def.define(SESSION_NAME_CONFIG, Type.STRING, SESSION_NAME_DEFAULT, SESSION_NAME, Importance.LOW,
        SESSION_NAME_DOC, group, ++order, Width.MEDIUM, "Role session name");
    def.define(STS_ENDPOINT_CONFIG, Type.STRING, "", Importance.LOW, STS_ENDPOINT_DOC, group, ++order,
        Width.LONG, "STS endpoint");
    def.define(CA_FILE_CONFIG, Type.STRING, "", Importance.MEDIUM, CA_FILE_DOC, group, ++order, Width.LONG,
        "CA file");
    def.define(JVM_TRUST_CONFIG, Type.BOOLEAN, true, Importance.LOW, JVM_TRUST_DOC, group, ++order, Width.SHORT,
        "Trust the JVM's CAs");
    def.define(PROXY_CONFIG, Type.STRING, "", Importance.LOW, PROXY_DOC, group, ++order, Width.LONG, "Proxy");
    def.define(UNSIGNED_PAYLOAD_CONFIG, Type.BOOLEAN, false, Importance.LOW, UNSIGNED_PAYLOAD_DOC, group, ++order,
        Width.SHORT, "Unsigned payload");
  }

  static void defineAttributes(ConfigDef def) {
    String group = ATTRIBUTES_GROUP;
    int order = 0;
    def.define(SSE_TYPE_CONFIG, Type.STRING, SSE_TYPE_DEFAULT,
        ConfigDef.ValidString.in("none", "AES256", "aws:kms", "aws:kms:dsse"), Importance.MEDIUM, SSE_TYPE_DOC,
        group, ++order, Width.SHORT, "Server-side encryption");
    def.define(KMS_KEY_CONFIG, Type.STRING, "", Importance.MEDIUM, KMS_KEY_DOC, group, ++order, Width.LONG,
        "KMS key");
    def.define(CUSTOMER_KEY_CONFIG, Type.PASSWORD, "", new CustomerKey(), Importance.MEDIUM, CUSTOMER_KEY_DOC,
        group, ++order, Width.MEDIUM, "SSE-C key");
    def.define(CONTENT_TYPE_CONFIG, Type.STRING, "", HEADER_TEXT, Importance.LOW, CONTENT_TYPE_DOC, group,
        ++order, Width.MEDIUM, "Content-Type");
    def.define(METADATA_CONFIG, Type.LIST, "", ConfigDef.ValidList.in("send-time"), Importance.LOW, METADATA_DOC,
        group, ++order, Width.SHORT, "Object metadata");
    def.define(TAGGING_CONFIG, Type.STRING, "", Importance.LOW, TAGGING_DOC, group, ++order, Width.LONG,
        "Object tags");
    def.define(STORAGE_CLASS_CONFIG, Type.STRING, "", STORAGE_CLASS, Importance.LOW, STORAGE_CLASS_DOC, group,
        ++order, Width.SHORT, "Storage class");
    def.define(CHECKSUM_CONFIG, Type.STRING, CHECKSUM_DEFAULT, ConfigDef.ValidString.in("none", "sha256",
        "crc64nvme"), Importance.LOW, CHECKSUM_DOC, group, ++order, Width.SHORT, "Checksum");
  }

  /** Empty, or base64 of 32 bytes; the message never repeats the key. */
  static final class CustomerKey implements ConfigDef.Validator {
    @Override
    public void ensureValid(String name, Object value) {
      String key = value == null ? "" : ((Password) value).value();
      if (key.isEmpty()) {
        return;
      }
      byte[] raw;
      try {
        raw = Base64.getDecoder().decode(key.trim());
      } catch (IllegalArgumentException e) {
        throw new ConfigException(name + " is not base64 (expected a 256-bit key, e.g. from openssl rand -base64 32)");
      }
      if (raw.length != 32) {
        throw new ConfigException(name + " decodes to " + raw.length + " bytes; SSE-C needs a 256-bit key (32 bytes)");
      }
    }

    @Override
    public String toString() {
      return "empty, or a 256-bit key in base64";
    }
  }

  /** Values matching a pattern; the description is the message and the reference's "valid values". */
  static final class Matching implements ConfigDef.Validator {
    private final Pattern pattern;
    private final String description;

    Matching(String regex, String description) {
      this.pattern = Pattern.compile(regex);
      this.description = description;
    }

    @Override
    public void ensureValid(String name, Object value) {
      if (!pattern.matcher(String.valueOf(value)).matches()) {
        throw new ConfigException(name, value, "expected " + description);
      }
    }

    @Override
    public String toString() {
      return description;
    }
  }
}
