//! The task configuration as it crosses from Java: every key of the connector's ConfigDef
//! with its value as text, defaults filled in. The ConfigDef is the one place where keys,
//! types, defaults, ranges and their documentation are defined and checked; what is read here
//! is checked only where the engine alone can tell: patterns, the time zone, the decoder
//! settings, paths and key lengths. Every error names the connector key it is about.

mod keys;
mod sinetstream;
mod store;

pub use store::{Encryption, RoleConfig, StoreConfig, StoreLocation, Trust};

use crate::attributes::ObjectAttributes;
use crate::error::SinkError;
use crate::joda::JodaPattern;
use crate::naming::{Naming, ObjectKind};
use keys::Keys;
use object_store::path::Path;
use sinetstream_codec::Decoder;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampExtractor {
    /// The Kafka record timestamp.
    Record,
    /// The time the record reached the sink (not reproducible on replay).
    Wallclock,
    /// The SINETStream send time inside the message.
    Message,
}

#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub store: StoreConfig,
    /// Content-Type, metadata, tags and storage class of the objects (S3 stores only).
    pub attributes: ObjectAttributes,
    pub naming: Naming,
    pub timestamp_extractor: TimestampExtractor,
    pub flush_size: usize,
    pub rotate_interval_ms: Option<i64>,
    pub rotate_schedule_interval: Option<Duration>,
    pub payload_separator: Vec<u8>,
    pub write_payload: bool,
    pub write_timestamp: bool,
    pub timestamp_format: JodaPattern,
    pub part_size: usize,
    /// The most uploads at once; the engine adapts between the floor and this.
    pub upload_concurrency: usize,
    pub upload_concurrency_floor: usize,
    pub max_inflight_bytes: usize,
    pub retry_timeout: Duration,
    pub decoder: Arc<Decoder>,
    /// The connector's `topics`, when it names them (not with `topics.regex`).
    pub topics: Vec<String>,
}

impl SinkConfig {
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<Self, SinkError> {
        let keys = Keys::new(map);
        let (write_payload, write_timestamp) = read_objects(&keys)?;
        let naming = read_naming(&keys)?;
        let config = SinkConfig {
            store: store::read_store(&keys)?,
            attributes: store::read_attributes(&keys, &naming.payload_extension)?,
            naming,
            timestamp_extractor: read_extractor(&keys)?,
            flush_size: keys.number("flush.size")?,
            rotate_interval_ms: Some(keys.number("rotate.interval.ms")?).filter(|ms: &i64| *ms > 0),
            rotate_schedule_interval: Some(keys.number("rotate.schedule.interval.ms")?)
                .filter(|ms: &i64| *ms > 0)
                .map(|ms| Duration::from_millis(ms as u64)),
            payload_separator: unescape(keys.text("format.bytearray.separator")?),
            write_payload,
            write_timestamp,
            timestamp_format: keys.pattern("timestamp.object.format")?,
            part_size: keys.number("s3.part.size")?,
            upload_concurrency: keys.number("upload.concurrency")?,
            upload_concurrency_floor: keys.number("upload.concurrency.min")?,
            max_inflight_bytes: keys.number("upload.max.inflight.bytes")?,
            retry_timeout: Duration::from_millis(keys.number("upload.retry.timeout.ms")?),
            decoder: sinetstream::read_decoder(&keys)?,
            topics: keys.optional("topics").map(list).unwrap_or_default(),
        };
        if let Some(unknown) = keys.unread().first() {
            return Err(SinkError::config(
                unknown,
                "not a key this native library knows: are the jar and its native library from one build?",
            ));
        }
        config.check_key_lengths()?;
        config.check_keys_are_stored_as_named()?;
        Ok(config)
    }

    /// Refuses topics whose object keys S3 would refuse: the longest key, for the largest
    /// offset and the longest directory the path format can give.
    fn check_key_lengths(&self) -> Result<(), SinkError> {
        for topic in &self.topics {
            let longest = self.naming.longest_key(topic);
            if longest > crate::objects::MAX_KEY_BYTES {
                return Err(SinkError::config(
                    "topics",
                    format!(
                        "topic '{topic}' gives object keys of up to {longest} bytes (topics.dir, topic, path.format \
                         and file name), more than S3's {}",
                        crate::objects::MAX_KEY_BYTES
                    ),
                ));
            }
        }
        Ok(())
    }

    /// object_store percent-encodes some characters of a key (`~ # % [ ] { } | ^ * ?`, `\`,
    /// `"`, `<`, `>`, controls) and drops empty segments, so such a key would be stored under
    /// another name than the configured layout gives (and than `verify` looks for).
    fn check_keys_are_stored_as_named(&self) -> Result<(), SinkError> {
        let topic = self.topics.first().map_or("topic", String::as_str);
        let directory = self.naming.directory(topic, 0);
        let stem = self.naming.file_stem(topic, 0, 0);
        let kinds = [(ObjectKind::Payload, self.write_payload), (ObjectKind::Timestamp, self.write_timestamp)];
        for (kind, _) in kinds.into_iter().filter(|(_, written)| *written) {
            let key = self.naming.key(kind, &directory, &stem);
            // With an empty topics.dir the key starts with '/', which object_store drops (see naming.rs).
            let key = key.trim_start_matches('/');
            let stored = Path::from(key);
            if stored.as_ref() != key {
                return Err(SinkError::config(
                    self.naming.setting_changed_by_the_store(kind),
                    format!(
                        "object keys such as '{key}' would be stored as '{stored}': the store client percent-encodes \
                         ~ # % [ ] {{ }} | ^ * ? \\ \" < > and drops empty path segments"
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect()
}

fn read_naming(keys: &Keys) -> Result<Naming, SinkError> {
    let path_format = keys.pattern("path.format")?;
    let locale = keys.text("locale")?;
    if path_format.uses_text() && !is_english(locale) {
        return Err(SinkError::config(
            "locale",
            format!("'{locale}': month and weekday names in path.format are only available in English (en, C)"),
        ));
    }
    // Java's validator knows the name; the engine's time zone database must know it too.
    let timezone_text = keys.text("timezone")?;
    let timezone = timezone_text.parse().map_err(|_| {
        SinkError::config("timezone", format!("'{timezone_text}' is not in the native library's time zone database"))
    })?;
    let topics_dir = keys.text("topics.dir")?.trim_matches('/').to_string();
    if topics_dir.split('/').any(|segment| segment == "..") {
        return Err(SinkError::config("topics.dir", format!("'{topics_dir}' must not contain '..'")));
    }
    Ok(Naming {
        topics_dir,
        path_format,
        partition_duration_ms: keys.number("partition.duration.ms")?,
        timezone,
        file_delim: keys.text("file.delim")?.to_string(),
        offset_pad_width: keys.number("filename.offset.zero.pad.width")?,
        payload_extension: keys.text("format.bytearray.extension")?.to_string(),
        timestamp_suffix: keys.text("timestamp.object.suffix")?.to_string(),
    })
}

fn is_english(locale: &str) -> bool {
    let lower = locale.to_ascii_lowercase();
    lower.is_empty() || lower == "c" || lower == "posix" || lower == "root" || lower.starts_with("en")
}

fn read_extractor(keys: &Keys) -> Result<TimestampExtractor, SinkError> {
    match keys.text("timestamp.extractor")?.to_ascii_lowercase().as_str() {
        "record" => Ok(TimestampExtractor::Record),
        "wallclock" => Ok(TimestampExtractor::Wallclock),
        "message" => Ok(TimestampExtractor::Message),
        other => {
            Err(SinkError::config("timestamp.extractor", format!("'{other}' is not one of Record, Wallclock, Message")))
        }
    }
}

fn read_objects(keys: &Keys) -> Result<(bool, bool), SinkError> {
    let (mut payload, mut timestamp) = (false, false);
    for item in list(keys.text("sink.objects")?) {
        match item.to_ascii_lowercase().as_str() {
            "payload" => payload = true,
            "timestamp" => timestamp = true,
            other => return Err(SinkError::config("sink.objects", format!("'{other}' is not payload or timestamp"))),
        }
    }
    if !payload && !timestamp {
        return Err(SinkError::config("sink.objects", "must name payload, timestamp or both"));
    }
    Ok((payload, timestamp))
}

/// Confluent's separator setting takes Java-style escapes such as `\n`.
fn unescape(text: &str) -> Vec<u8> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out.into_bytes()
}

/// Configurations for tests and benchmarks: the defaults Java sends, read from the file
/// Java's S3SinkConfigTest writes from the ConfigDef (so both sides test one set of
/// defaults), with some keys changed.
#[cfg(any(test, feature = "test-support"))]
pub mod test_support {
    use super::*;

    pub const DEFAULTS_JSON: &str = include_str!("../../tests/fixtures/default-config.json");

    pub fn defaults() -> BTreeMap<String, String> {
        serde_json::from_str(DEFAULTS_JSON).expect("tests/fixtures/default-config.json is a JSON object of strings")
    }

    /// The defaults with `changes` applied; an empty value removes a key that Java sends
    /// only when set (the sinetstream.* keys).
    pub fn config(changes: &[(&str, &str)]) -> Result<SinkConfig, SinkError> {
        let mut map = defaults();
        for (key, value) in changes {
            map.insert(key.to_string(), value.to_string());
        }
        SinkConfig::from_map(&map)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{config, defaults};
    use super::*;

    fn key_of(result: Result<SinkConfig, SinkError>) -> String {
        match result.unwrap_err() {
            SinkError::Config { key, .. } => key,
            other => panic!("not a config error: {other}"),
        }
    }

    /// The drift check: Java's defaults (the fixture its test writes) are exactly what this
    /// reads. A key added, removed or renamed on one side only fails here or in Java's test.
    #[test]
    fn the_defaults_java_sends_are_the_keys_read_here() {
        let c = config(&[]).unwrap();
        assert_eq!(c.flush_size, 1);
        assert!(c.write_payload && c.write_timestamp);
        assert!(c.payload_separator.is_empty());
        assert_eq!(c.naming.payload_extension, ".bin");
        assert_eq!(c.store.location, StoreLocation::S3 { endpoint: None });
        assert_eq!(c.timestamp_extractor, TimestampExtractor::Record);
        for key in defaults().keys() {
            let mut map = defaults();
            map.remove(key);
            let result = SinkConfig::from_map(&map);
            if key.starts_with("sinetstream.") && key != "sinetstream.max.decompressed.bytes" {
                continue; // sent only when set
            }
            assert_eq!(key_of(result), *key, "a missing {key} is not noticed");
        }
        let mut map = defaults();
        map.insert("s3.unknown.key".into(), "x".into());
        assert_eq!(key_of(SinkConfig::from_map(&map)), "s3.unknown.key");
    }

    #[test]
    fn engine_checks_name_the_key() {
        assert_eq!(key_of(config(&[("path.format", "'year=YYYY")])), "path.format");
        assert_eq!(key_of(config(&[("timezone", "Mars/Olympus")])), "timezone");
        assert_eq!(key_of(config(&[("store.url", "ftp://x")])), "store.url");
        assert_eq!(key_of(config(&[("sink.objects", "payload,thumbnail")])), "sink.objects");
        assert_eq!(key_of(config(&[("timestamp.extractor", "RecordField")])), "timestamp.extractor");
        assert_eq!(key_of(config(&[("locale", "ja"), ("path.format", "MMMM")])), "locale");
        assert_eq!(key_of(config(&[("sinetstream.crypto.mode", "GCM")])), "sinetstream.crypto.password");
        assert_eq!(
            key_of(config(&[
                ("sinetstream.crypto.mode", "GCM"),
                ("sinetstream.crypto.password", "p"),
                ("sinetstream.crypto.kdf.prf", "MD5")
            ])),
            "sinetstream.crypto.kdf.prf"
        );
    }

    #[test]
    fn file_urls_become_directories_under_the_allowed_paths() {
        crate::allowed_paths::allow_for_tests();
        let c = config(&[("store.url", "file:///srv/data/x")]).unwrap();
        assert_eq!(c.store.location, StoreLocation::Directory("/srv/data/x".into()));
        assert_eq!(key_of(config(&[("store.url", "file:///etc")])), "store.url");
    }

    #[test]
    fn secrets_are_not_printed() {
        let c = config(&[("aws.secret.access.key", "hunter2-secret")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2-secret"));
    }

    #[test]
    fn credentials_in_the_store_url_are_refused_without_repeating_them() {
        let error = config(&[("store.url", "https://user:hunter2@minio:9000")]).unwrap_err();
        assert!(matches!(&error, SinkError::Config { key, .. } if key == "store.url"));
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    #[test]
    fn topics_dir_cannot_climb_out_of_the_bucket() {
        assert_eq!(key_of(config(&[("topics.dir", "a/../../x")])), "topics.dir");
    }

    #[test]
    fn topics_whose_keys_s3_would_refuse_are_refused() {
        let long_topic = "t".repeat(249);
        let long_dir = "d".repeat(500);
        assert!(config(&[("topics", &format!("{long_topic},x"))]).is_ok(), "249-character topic names fit");
        assert_eq!(key_of(config(&[("topics", &long_topic), ("topics.dir", &long_dir)])), "topics");
    }

    #[test]
    fn keys_the_store_would_rename_are_refused_naming_the_setting() {
        assert_eq!(key_of(config(&[("topics.dir", "data~raw")])), "topics.dir");
        assert_eq!(key_of(config(&[("topics.dir", "a//b")])), "topics.dir");
        assert_eq!(key_of(config(&[("path.format", "'run#'YYYY")])), "path.format");
        assert_eq!(key_of(config(&[("file.delim", "|")])), "file.delim");
        assert_eq!(key_of(config(&[("format.bytearray.extension", ".b[1]")])), "format.bytearray.extension");
        assert_eq!(key_of(config(&[("timestamp.object.suffix", "-ts?.txt")])), "timestamp.object.suffix");
        let message = config(&[("topics.dir", "data~raw")]).unwrap_err().to_string();
        assert!(message.contains("'data%7Eraw/topic/"), "{message}");
        assert!(config(&[("timestamp.object.suffix", "-ts?.txt"), ("sink.objects", "payload")]).is_ok());
        assert!(config(&[("topics.dir", ""), ("path.format", "'d'=dd/'h'=HH"), ("file.delim", "_")]).is_ok());
    }

    #[test]
    fn encryption_checksum_and_signing_are_read() {
        let c = config(&[]).unwrap();
        assert_eq!(c.store.encryption, Encryption::BucketDefault);
        assert_eq!((c.store.checksum, c.store.unsigned_payload, c.store.role.is_none()), (None, false, true));
        let kms = config(&[("s3.sse.type", "aws:kms:dsse"), ("s3.sse.kms.key.id", "alias/lab")]).unwrap();
        assert_eq!(kms.store.encryption, Encryption::Kms { key_id: Some("alias/lab".into()), dual_layer: true });
        assert_eq!(config(&[("s3.sse.type", "AES256")]).unwrap().store.encryption, Encryption::S3Managed);
        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let sse_c = config(&[("s3.sse.customer.key", key)]).unwrap();
        assert_eq!(sse_c.store.encryption, Encryption::Customer { key_base64: key.into() });
        assert!(!format!("{:?}", sse_c.store).contains(key), "the SSE-C key is printed");
        let checksum = config(&[("s3.checksum.algorithm", "crc64nvme"), ("s3.unsigned.payload", "true")]).unwrap();
        assert_eq!(checksum.store.checksum, Some(object_store::aws::Checksum::CRC64NVME));
        assert!(checksum.store.unsigned_payload);
        assert_eq!(key_of(config(&[("s3.checksum.algorithm", "crc32c")])), "s3.checksum.algorithm");
        assert_eq!(key_of(config(&[("s3.sse.type", "sse-c")])), "s3.sse.type");
    }

    #[test]
    fn a_role_proxy_and_object_attributes_are_read() {
        let c = config(&[
            ("aws.sts.role.arn", "arn:aws:iam::123456789012:role/sink"),
            ("aws.sts.role.external.id", "lab-42"),
            ("s3.proxy.url", "http://proxy.example:3128"),
            ("format.bytearray.extension", ".jpeg"),
            ("s3.object.metadata", "send-time"),
            ("s3.object.tagging", "project=sensor"),
            ("s3.storage.class", "STANDARD_IA"),
        ])
        .unwrap();
        let role = c.store.role.unwrap();
        assert_eq!(
            (role.arn.as_str(), role.external_id.as_deref()),
            ("arn:aws:iam::123456789012:role/sink", Some("lab-42"))
        );
        assert_eq!((role.session_name.as_str(), role.sts_endpoint), ("sinetstream-s3-sink", None));
        assert_eq!(c.store.proxy_url.as_deref(), Some("http://proxy.example:3128/"));
        assert_eq!(c.attributes.payload_content_type, "image/jpeg");
        assert!(c.attributes.send_time_metadata);
        assert_eq!(c.attributes.tags, vec![("project".to_string(), "sensor".to_string())]);
        assert_eq!(c.attributes.storage_class.as_deref(), Some("STANDARD_IA"));
        let typed = config(&[("format.bytearray.extension", ".jpeg"), ("s3.content.type", "image/x-lab")]).unwrap();
        assert_eq!(typed.attributes.payload_content_type, "image/x-lab", "s3.content.type wins");
        assert_eq!(key_of(config(&[("s3.object.tagging", "a&b")])), "s3.object.tagging");
        assert_eq!(key_of(config(&[("s3.proxy.url", "socks5://proxy:1080")])), "s3.proxy.url");
        let hidden = config(&[("s3.proxy.url", "http://user:hunter2@proxy:3128")]).unwrap_err();
        assert!(matches!(&hidden, SinkError::Config { key, .. } if key == "s3.proxy.url"));
        assert!(!hidden.to_string().contains("hunter2"), "{hidden}");
        assert_eq!(
            key_of(config(&[("aws.sts.role.arn", "r"), ("aws.sts.config.endpoint", "sts")])),
            "aws.sts.config.endpoint"
        );
    }

    #[test]
    fn ca_files_are_checked_certificate_by_certificate() {
        crate::allowed_paths::allow_for_tests();
        let dir = tempfile::tempdir_in("/tmp").unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let good = write("good.pem", TEST_CA);
        let c = config(&[("s3.ssl.ca.file", &good)]).unwrap();
        assert_eq!(c.store.trust.ca_certificates.len(), 1);
        let bad_second = write(
            "bad.pem",
            &format!("{TEST_CA}-----BEGIN CERTIFICATE-----\nMIIBdGVzdA==\n-----END CERTIFICATE-----\n"),
        );
        let error = config(&[("s3.ssl.ca.file", &bad_second)]).unwrap_err().to_string();
        assert!(
            error.contains("s3.ssl.ca.file") && error.contains("certificate 2") && error.contains("bad.pem"),
            "{error}"
        );
        let empty = write("empty.pem", "not a certificate\n");
        assert!(config(&[("s3.ssl.ca.file", &empty)]).unwrap_err().to_string().contains("no PEM certificate"));
        let missing = dir.path().join("missing.pem").display().to_string();
        assert!(config(&[("s3.ssl.ca.file", &missing)]).unwrap_err().to_string().contains("cannot read"));
        assert_eq!(key_of(config(&[("s3.ssl.ca.file", "/etc/ssl/certs/ca-certificates.crt")])), "s3.ssl.ca.file");
    }

    #[test]
    fn the_jvm_cas_are_taken_when_enabled_and_bad_ones_left_out() {
        let junk = "-----BEGIN CERTIFICATE-----\nMIIBdGVzdA==\n-----END CERTIFICATE-----\n";
        let pem = format!("{TEST_CA}{junk}");
        let c = config(&[("s3.ssl.jvm.truststore.pem", &pem)]).unwrap();
        assert_eq!((c.store.trust.jvm_certificates.len(), c.store.trust.jvm_skipped), (1, 1));
        let off = config(&[("s3.ssl.jvm.truststore.pem", &pem), ("s3.ssl.jvm.truststore.enabled", "false")]).unwrap();
        assert!(off.store.trust.jvm_certificates.is_empty());
    }

    /// A self-signed CA made for these tests (openssl req -x509 -newkey ec -pkeyopt
    /// ec_paramgen_curve:P-256 -subj /CN=sinets3-test-ca -days 36500).
    const TEST_CA: &str = include_str!("../../tests/fixtures/test-ca.pem");

    #[test]
    fn separator_escapes() {
        assert_eq!(unescape("\\n"), b"\n");
        assert_eq!(unescape("|\\t|"), b"|\t|");
    }
}
