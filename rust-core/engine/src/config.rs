//! The task configuration as it crosses from Java: one JSON object of connector keys to
//! string values (Java's ConfigDef has already checked types and ranges). Everything here
//! names the connector key it is about.

use crate::error::SinkError;
use crate::joda::JodaPattern;
use crate::naming::Naming;
use serde_json::{Map, Value};
use sinetstream_codec::DecoderConfig;
use std::fmt;
use std::time::Duration;

pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampExtractor {
    /// The Kafka record timestamp.
    Record,
    /// The time the record reached the sink (not reproducible on replay).
    Wallclock,
    /// The SINETStream send time inside the message.
    Message,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A directory; objects are plain files under `<dir>/<bucket>/`.
    Directory(std::path::PathBuf),
    /// Amazon S3 (endpoint `None`) or an S3-compatible server.
    S3 { endpoint: Option<String> },
}

#[derive(Clone)]
pub struct StoreConfig {
    pub location: StoreLocation,
    pub bucket: String,
    pub region: String,
    pub path_style: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

/// Credentials are never printed.
impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("location", &self.location_text())
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "[hidden]"))
            .finish()
    }
}

impl StoreConfig {
    pub fn location_text(&self) -> String {
        match &self.location {
            StoreLocation::Directory(dir) => format!("file://{}", dir.display()),
            StoreLocation::S3 { endpoint: Some(url) } => url.clone(),
            StoreLocation::S3 { endpoint: None } => "Amazon S3".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub store: StoreConfig,
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
    pub decoder: DecoderConfig,
    /// The connector's `topics`, when it names them (not with `topics.regex`).
    pub topics: Vec<String>,
}

/// Typed reads of the key/value map, each error naming its key.
struct Keys<'a>(&'a Map<String, Value>);

impl<'a> Keys<'a> {
    fn text(&self, key: &str, default: &str) -> String {
        match self.0.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => default.to_string(),
            Some(other) => other.to_string(),
        }
    }

    fn optional(&self, key: &str) -> Option<String> {
        Some(self.text(key, "")).filter(|s| !s.is_empty())
    }

    fn number<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, SinkError> {
        match self.optional(key) {
            None => Ok(default),
            Some(text) => {
                text.trim().parse().map_err(|_| SinkError::config(key, format!("'{text}' is not a valid number")))
            }
        }
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, SinkError> {
        match self.optional(key).map(|s| s.to_ascii_lowercase()) {
            None => Ok(default),
            Some(s) if s == "true" => Ok(true),
            Some(s) if s == "false" => Ok(false),
            Some(s) => Err(SinkError::config(key, format!("'{s}' is not true or false"))),
        }
    }

    fn pattern(&self, key: &str, default: &str) -> Result<JodaPattern, SinkError> {
        JodaPattern::parse(&self.text(key, default)).map_err(|e| SinkError::config(key, e))
    }
}

impl SinkConfig {
    pub fn from_json(json: &str) -> Result<Self, SinkError> {
        let map: Map<String, Value> =
            serde_json::from_str(json).map_err(|e| SinkError::config("(config)", format!("not a JSON object: {e}")))?;
        Self::from_map(&map)
    }

    pub fn from_map(map: &Map<String, Value>) -> Result<Self, SinkError> {
        let keys = Keys(map);
        let naming = read_naming(&keys)?;
        let (write_payload, write_timestamp) = read_objects(&keys)?;
        let config = SinkConfig {
            store: read_store(&keys)?,
            timestamp_extractor: read_extractor(&keys)?,
            flush_size: at_least(&keys, "flush.size", 1, 1)?,
            rotate_interval_ms: Some(keys.number("rotate.interval.ms", -1i64)?).filter(|ms| *ms > 0),
            rotate_schedule_interval: Some(keys.number("rotate.schedule.interval.ms", -1i64)?)
                .filter(|ms| *ms > 0)
                .map(|ms| Duration::from_millis(ms as u64)),
            payload_separator: unescape(&keys.text("format.bytearray.separator", "")),
            write_payload,
            write_timestamp,
            timestamp_format: keys.pattern("timestamp.object.format", "yyyy-MM-dd'T'HH:mm:ss.SSS")?,
            part_size: at_least(&keys, "s3.part.size", 8 * 1024 * 1024, MIN_PART_SIZE)?,
            upload_concurrency: at_least(&keys, "upload.concurrency", 64, 1)?,
            upload_concurrency_floor: at_least(&keys, "upload.concurrency.min", 8, 1)?,
            max_inflight_bytes: at_least(&keys, "upload.max.inflight.bytes", 128 * 1024 * 1024, 1024 * 1024)?,
            retry_timeout: Duration::from_millis(keys.number("upload.retry.timeout.ms", 600_000u64)?),
            decoder: crate::decoding::read_decoder_config(map)?,
            naming,
            topics: keys
                .text("topics", "")
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect(),
        };
        config.check_key_lengths()?;
        Ok(config)
    }
}

impl SinkConfig {
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
}

fn at_least(keys: &Keys, key: &str, default: usize, min: usize) -> Result<usize, SinkError> {
    let value = keys.number(key, default)?;
    if value < min {
        return Err(SinkError::config(key, format!("{value} is below the minimum {min}")));
    }
    Ok(value)
}

fn read_store(keys: &Keys) -> Result<StoreConfig, SinkError> {
    let bucket = keys.optional("s3.bucket.name").ok_or_else(|| SinkError::config("s3.bucket.name", "is required"))?;
    if bucket.contains('/') || bucket == "." || bucket == ".." {
        return Err(SinkError::config("s3.bucket.name", format!("'{bucket}' is not a bucket name")));
    }
    Ok(StoreConfig {
        location: read_location(keys)?,
        bucket,
        region: keys.text("s3.region", "us-east-1"),
        path_style: keys.flag("s3.path.style.access.enabled", true)?,
        access_key_id: keys.optional("aws.access.key.id"),
        secret_access_key: keys.optional("aws.secret.access.key"),
    })
}

fn read_location(keys: &Keys) -> Result<StoreLocation, SinkError> {
    let Some(text) = keys.optional("store.url") else {
        return Ok(StoreLocation::S3 { endpoint: None });
    };
    // Messages about this key never repeat the URL: it may carry a password.
    let url = url::Url::parse(&text).map_err(|e| SinkError::config("store.url", format!("not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SinkError::config(
            "store.url",
            "must not contain a user name or password: give them as aws.access.key.id and aws.secret.access.key",
        ));
    }
    match url.scheme() {
        "file" => {
            let path = url
                .to_file_path()
                .map_err(|_| SinkError::config("store.url", format!("'{url}' is not a local path")))?;
            crate::allowed_paths::check("store.url", &path)?;
            Ok(StoreLocation::Directory(path))
        }
        "http" | "https" if url.host().is_some() => Ok(StoreLocation::S3 { endpoint: Some(text) }),
        _ => Err(SinkError::config(
            "store.url",
            format!("'{url}' must be http://host:port, https://host:port or file:///directory"),
        )),
    }
}

fn read_naming(keys: &Keys) -> Result<Naming, SinkError> {
    let path_format = keys.pattern("path.format", "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH")?;
    let locale = keys.text("locale", "en");
    if path_format.uses_text() && !is_english(&locale) {
        return Err(SinkError::config(
            "locale",
            format!("'{locale}': month and weekday names in path.format are only available in English (en, C)"),
        ));
    }
    let timezone_text = keys.text("timezone", "UTC");
    let timezone = timezone_text.parse().map_err(|_| {
        SinkError::config("timezone", format!("'{timezone_text}' is not a time zone name such as Asia/Tokyo or UTC"))
    })?;
    let partition_duration_ms = keys.number("partition.duration.ms", 3_600_000i64)?;
    if partition_duration_ms <= 0 {
        return Err(SinkError::config("partition.duration.ms", "must be positive"));
    }
    let topics_dir = keys.text("topics.dir", "topics").trim_matches('/').to_string();
    if topics_dir.split('/').any(|segment| segment == "..") {
        return Err(SinkError::config("topics.dir", format!("'{topics_dir}' must not contain '..'")));
    }
    Ok(Naming {
        topics_dir,
        path_format,
        partition_duration_ms,
        timezone,
        file_delim: keys.text("file.delim", "+"),
        offset_pad_width: keys.number("filename.offset.zero.pad.width", 10usize)?,
        payload_extension: keys.text("format.bytearray.extension", ".bin"),
        timestamp_suffix: keys.text("timestamp.object.suffix", "-timestamp.txt"),
    })
}

fn is_english(locale: &str) -> bool {
    let lower = locale.to_ascii_lowercase();
    lower.is_empty() || lower == "c" || lower == "posix" || lower == "root" || lower.starts_with("en")
}

fn read_extractor(keys: &Keys) -> Result<TimestampExtractor, SinkError> {
    match keys.text("timestamp.extractor", "Record").to_ascii_lowercase().as_str() {
        "record" | "recordfield" => Ok(TimestampExtractor::Record),
        "wallclock" => Ok(TimestampExtractor::Wallclock),
        "message" => Ok(TimestampExtractor::Message),
        other => {
            Err(SinkError::config("timestamp.extractor", format!("'{other}' is not one of Record, Wallclock, Message")))
        }
    }
}

fn read_objects(keys: &Keys) -> Result<(bool, bool), SinkError> {
    let text = keys.text("sink.objects", "payload,timestamp");
    let (mut payload, mut timestamp) = (false, false);
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<SinkConfig, SinkError> {
        let map: Map<String, Value> =
            pairs.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
        SinkConfig::from_map(&map)
    }

    fn key_of(result: Result<SinkConfig, SinkError>) -> String {
        match result.unwrap_err() {
            SinkError::Config { key, .. } => key,
            other => panic!("not a config error: {other}"),
        }
    }

    #[test]
    fn seed_defaults() {
        let c = config(&[("s3.bucket.name", "mybucket")]).unwrap();
        assert_eq!(c.flush_size, 1);
        assert!(c.write_payload && c.write_timestamp);
        assert!(c.payload_separator.is_empty());
        assert_eq!(c.naming.payload_extension, ".bin");
        assert_eq!(c.store.location, StoreLocation::S3 { endpoint: None });
        assert_eq!(c.timestamp_extractor, TimestampExtractor::Record);
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(key_of(config(&[])), "s3.bucket.name");
        let bad = |k: &str, v: &str| key_of(config(&[("s3.bucket.name", "b"), (k, v)]));
        assert_eq!(bad("path.format", "'year=YYYY"), "path.format");
        assert_eq!(bad("timezone", "Mars/Olympus"), "timezone");
        assert_eq!(bad("store.url", "ftp://x"), "store.url");
        assert_eq!(bad("flush.size", "0"), "flush.size");
        assert_eq!(bad("s3.part.size", "1000"), "s3.part.size");
        assert_eq!(bad("sink.objects", "payload,thumbnail"), "sink.objects");
        assert_eq!(bad("timestamp.extractor", "Header"), "timestamp.extractor");
    }

    #[test]
    fn file_urls_become_directories() {
        crate::allowed_paths::allow_for_tests();
        let c = config(&[("s3.bucket.name", "b"), ("store.url", "file:///srv/data/x")]).unwrap();
        assert_eq!(c.store.location, StoreLocation::Directory("/srv/data/x".into()));
        let outside = key_of(config(&[("s3.bucket.name", "b"), ("store.url", "file:///etc")]));
        assert_eq!(outside, "store.url");
    }

    #[test]
    fn secrets_are_not_printed() {
        let c = config(&[("s3.bucket.name", "b"), ("aws.secret.access.key", "hunter2-secret")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2-secret"));
    }

    #[test]
    fn credentials_in_the_store_url_are_refused_without_repeating_them() {
        let error = config(&[("s3.bucket.name", "b"), ("store.url", "https://user:hunter2@minio:9000")]).unwrap_err();
        assert!(matches!(&error, SinkError::Config { key, .. } if key == "store.url"));
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    #[test]
    fn topics_dir_cannot_climb_out_of_the_bucket() {
        assert_eq!(key_of(config(&[("s3.bucket.name", "b"), ("topics.dir", "a/../../x")])), "topics.dir");
    }

    #[test]
    fn topics_whose_keys_s3_would_refuse_are_refused() {
        let long_topic = "t".repeat(249);
        let long_dir = "d".repeat(500);
        let ok = config(&[("s3.bucket.name", "b"), ("topics", &format!("{long_topic},x"))]);
        assert!(ok.is_ok(), "249-character topic names fit");
        let refused = config(&[("s3.bucket.name", "b"), ("topics", &long_topic), ("topics.dir", &long_dir)]);
        assert_eq!(key_of(refused), "topics");
    }

    #[test]
    fn separator_escapes() {
        assert_eq!(unescape("\\n"), b"\n");
        assert_eq!(unescape("|\\t|"), b"|\t|");
    }
}
