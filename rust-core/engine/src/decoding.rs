//! From connector keys to the codec's reader settings, and from a Kafka record to the
//! payload and times the sink writes.

use crate::config::TimestampExtractor;
use crate::error::SinkError;
use crate::record::Record;
use bytes::Bytes;
use serde_json::{Map, Value};
use sinetstream_codec::{
    CompressionConfig, CryptoConfig, Decoder, DecoderConfig, KeyDerivationConfig, Password, VersionedKey,
};
use std::collections::BTreeMap;

/// A record ready to be written.
#[derive(Debug, Clone)]
pub struct DecodedRecord {
    pub payload: Bytes,
    /// Time that chooses the directory (per `timestamp.extractor`), milliseconds.
    pub bucket_time_ms: i64,
    /// The send time written into the timestamp object, milliseconds.
    pub send_time_ms: i64,
}

/// Why one record could not be decoded; reported per record, never fatal by itself.
#[derive(Debug, Clone)]
pub struct RecordFailure {
    pub kind: &'static str,
    pub reason: String,
}

impl RecordFailure {
    pub fn new(kind: &'static str, reason: impl Into<String>) -> Self {
        RecordFailure { kind, reason: reason.into() }
    }
}

/// How messages are read, for the start-up log line (no keys or passwords).
pub fn describe(config: &DecoderConfig) -> String {
    let mut parts = vec![if config.user_data_only {
        "user_data_only".to_string()
    } else {
        format!("SINETStream v{}", config.message_format)
    }];
    if let Some(compression) = config.compression.as_ref().filter(|_| config.data_compression) {
        parts.push(compression.algorithm.clone());
    }
    if let Some(crypto) = config.crypto.as_ref().filter(|_| config.data_encryption) {
        parts.push(format!("AES-{}-{}", crypto.mode, crypto.key_length));
    }
    parts.join(", ")
}

/// The reader settings: a SINETStream config file's service section when one is named,
/// overlaid with the connector's `sinetstream.*` keys (Java sends only those that were set).
pub fn read_decoder_config(map: &Map<String, Value>) -> Result<DecoderConfig, SinkError> {
    let keys = SinetStreamKeys(map);
    let mut config = match keys.text("sinetstream.config.file") {
        Some(path) => read_config_file(path, keys.text("sinetstream.service"))?,
        None => DecoderConfig::default(),
    };
    if let Some(format) = keys.number::<u8>("sinetstream.message.format")? {
        config.message_format = format;
    }
    if let Some(flag) = keys.text("sinetstream.user.data.only") {
        config.user_data_only = flag.eq_ignore_ascii_case("true");
    }
    if let Some(limit) = keys.number::<usize>("sinetstream.max.decompressed.bytes")? {
        config.max_decompressed_bytes = limit;
    }
    if let Some(algorithm) = keys.text("sinetstream.compression.algorithm") {
        config.data_compression = !algorithm.eq_ignore_ascii_case("none");
        config.compression =
            config.data_compression.then(|| CompressionConfig { algorithm: algorithm.to_string(), level: None });
    }
    overlay_crypto(&keys, &mut config)?;
    Decoder::new(config.clone()).map_err(|e| SinkError::config(key_of_reason(&e.reason), e.reason))?;
    Ok(config)
}

struct SinetStreamKeys<'a>(&'a Map<String, Value>);

impl SinetStreamKeys<'_> {
    fn text(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
    }

    fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, SinkError> {
        self.text(key)
            .map(|text| text.parse().map_err(|_| SinkError::config(key, format!("'{text}' is not a valid number"))))
            .transpose()
    }
}

fn read_config_file(path: &str, service: Option<&str>) -> Result<DecoderConfig, SinkError> {
    let service = service.ok_or_else(|| {
        SinkError::config("sinetstream.service", "required with sinetstream.config.file: the service to read")
    })?;
    crate::allowed_paths::check("sinetstream.config.file", std::path::Path::new(path))?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| SinkError::config("sinetstream.config.file", format!("cannot read {path}: {e}")))?;
    DecoderConfig::from_sinetstream_yaml(&text, service)
        .map_err(|e| SinkError::config("sinetstream.config.file", format!("{path}: {}", e.reason)))
}

/// Applies the `sinetstream.crypto.*` keys over what the config file said, if anything.
fn overlay_crypto(keys: &SinetStreamKeys, config: &mut DecoderConfig) -> Result<(), SinkError> {
    if let Some(mode) = keys.text("sinetstream.crypto.mode") {
        config.data_encryption = !mode.eq_ignore_ascii_case("none");
        if !config.data_encryption {
            config.crypto = None;
            return Ok(());
        }
        let crypto = config.crypto.get_or_insert_with(CryptoConfig::default);
        crypto.algorithm = "AES".into();
        crypto.mode = mode.to_ascii_uppercase();
        if crypto.mode == "CBC" && crypto.padding.is_none() {
            crypto.padding = Some("pkcs7".into());
        }
    }
    let Some(crypto) = config.crypto.as_mut() else { return Ok(()) };
    if let Some(bits) = keys.number::<u32>("sinetstream.crypto.key.length")? {
        crypto.key_length = bits;
    }
    if let Some(password) = keys.text("sinetstream.crypto.password") {
        crypto.password = Some(Password::Text(password.to_string()));
    }
    if let Some(key) = keys.text("sinetstream.crypto.key") {
        crypto.key_b64 = Some(key.to_string());
    }
    if let Some(versions) = keys.text("sinetstream.crypto.password.versions") {
        crypto.keys = parse_versioned_passwords(versions)?;
    }
    let kdf = crypto.key_derivation.get_or_insert_with(KeyDerivationConfig::default);
    if let Some(salt) = keys.number::<usize>("sinetstream.crypto.kdf.salt.bytes")? {
        kdf.salt_bytes = salt;
    }
    if let Some(iterations) = keys.number::<u32>("sinetstream.crypto.kdf.iterations")? {
        kdf.iteration = iterations;
    }
    if let Some(prf) = keys.text("sinetstream.crypto.kdf.prf") {
        kdf.prf = prf.to_string();
    }
    Ok(())
}

/// `1:old-pass,2:new-pass`; never echoes a password in its errors.
fn parse_versioned_passwords(text: &str) -> Result<BTreeMap<u16, VersionedKey>, SinkError> {
    const KEY: &str = "sinetstream.crypto.password.versions";
    let mut keys = BTreeMap::new();
    for (position, entry) in text.split(',').enumerate() {
        let (version, password) = entry
            .split_once(':')
            .ok_or_else(|| SinkError::config(KEY, format!("entry {} is not version:password", position + 1)))?;
        let version: u16 = version.trim().parse().map_err(|_| {
            SinkError::config(KEY, format!("entry {}: the version is not a number from 0 to 65535", position + 1))
        })?;
        keys.insert(version, VersionedKey::Password { password: Password::Text(password.to_string()) });
    }
    Ok(keys)
}

/// The codec names its settings as SINETStream does; map them back to connector keys.
fn key_of_reason(reason: &str) -> &'static str {
    const KEYS: [(&str, &str); 8] = [
        ("crypto.password", "sinetstream.crypto.password"),
        ("crypto.key_length", "sinetstream.crypto.key.length"),
        ("crypto.key_derivation.prf", "sinetstream.crypto.kdf.prf"),
        ("crypto.key_derivation", "sinetstream.crypto.kdf.iterations"),
        ("crypto._keys", "sinetstream.crypto.password.versions"),
        ("crypto.key", "sinetstream.crypto.key"),
        ("compression", "sinetstream.compression.algorithm"),
        ("message_format", "sinetstream.message.format"),
    ];
    KEYS.iter().find(|(field, _)| reason.starts_with(field)).map(|(_, key)| *key).unwrap_or("sinetstream.crypto.mode")
}

pub fn decode_record(
    decoder: &Decoder,
    extractor: TimestampExtractor,
    record: &Record,
    now_ms: i64,
) -> Result<DecodedRecord, RecordFailure> {
    let value = record.value.as_ref().ok_or_else(|| RecordFailure {
        kind: "malformed",
        reason: "record value is null (a tombstone), not a SINETStream message".into(),
    })?;
    let message = decoder.decode(value).map_err(|e| RecordFailure { kind: e.kind.as_str(), reason: e.to_string() })?;
    let message_time_ms = message.timestamp_us.map(|us| us.div_euclid(1000));
    let send_time_ms = message_time_ms.or(record.timestamp_ms).ok_or_else(|| missing_timestamp("send time"))?;
    let bucket_time_ms = match extractor {
        TimestampExtractor::Record => {
            record.timestamp_ms.ok_or_else(|| missing_timestamp("timestamp.extractor=Record"))?
        }
        TimestampExtractor::Message => send_time_ms,
        TimestampExtractor::Wallclock => now_ms,
    };
    Ok(DecodedRecord { payload: message.payload, bucket_time_ms, send_time_ms })
}

fn missing_timestamp(need: &str) -> RecordFailure {
    RecordFailure { kind: "malformed", reason: format!("record has no Kafka timestamp, needed for {need}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use serde_json::json;

    fn keys(pairs: serde_json::Value) -> Map<String, Value> {
        pairs.as_object().unwrap().clone()
    }

    /// A message the SINETStream client encrypted (test vector 041).
    const GCM_MESSAGE: &str = "../codec/tests/vectors/041-encrypt-gcm-128-json.json";

    fn vector_value() -> Bytes {
        let vector: Value = serde_json::from_str(&std::fs::read_to_string(GCM_MESSAGE).unwrap()).unwrap();
        let b64 = vector["message_b64"].as_str().unwrap();
        Bytes::from(base64::engine::general_purpose::STANDARD.decode(b64).unwrap())
    }

    #[test]
    fn connector_keys_decrypt_what_the_client_encrypted() {
        let config = read_decoder_config(&keys(json!({
            "sinetstream.crypto.mode": "GCM",
            "sinetstream.crypto.key.length": "128",
            "sinetstream.crypto.password": "secret-pass-1",
            "sinetstream.crypto.kdf.iterations": "1000",
        })))
        .unwrap();
        let message = Decoder::new(config).unwrap().decode(&vector_value()).unwrap();
        assert_eq!(message.payload.len(), 55);
        assert_eq!(message.timestamp_us, Some(4102444799999999));
    }

    #[test]
    fn versioned_passwords_serve_their_key_version() {
        let config = read_decoder_config(&keys(json!({
            "sinetstream.crypto.mode": "GCM",
            "sinetstream.crypto.password.versions": "1:secret-pass-1,2:another-one",
            "sinetstream.crypto.kdf.iterations": "1000",
        })))
        .unwrap();
        assert!(Decoder::new(config).unwrap().decode(&vector_value()).is_ok());
    }

    #[test]
    fn errors_name_connector_keys_and_hide_passwords() {
        let missing = read_decoder_config(&keys(json!({"sinetstream.crypto.mode": "GCM"}))).unwrap_err();
        assert!(matches!(&missing, SinkError::Config { key, .. } if key == "sinetstream.crypto.password"), "{missing}");
        let bad = read_decoder_config(&keys(json!({
            "sinetstream.crypto.mode": "GCM",
            "sinetstream.crypto.password.versions": "one:hunter2-secret",
        })))
        .unwrap_err();
        assert!(matches!(&bad, SinkError::Config { key, .. } if key == "sinetstream.crypto.password.versions"));
        assert!(!bad.to_string().contains("hunter2-secret"));
    }

    #[test]
    fn a_sinetstream_config_file_supplies_the_settings() {
        crate::allowed_paths::allow_for_tests();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".sinetstream_config.yml");
        std::fs::write(
            &file,
            "header:\n  version: 3\nconfig:\n  sensors:\n    type: kafka\n    brokers: kafka:9092\n    \
             data_encryption: true\n    crypto:\n      algorithm: AES\n      key_length: 128\n      mode: GCM\n      \
             password: secret-pass-1\n      key_derivation:\n        iteration: 1000\n",
        )
        .unwrap();
        let config = read_decoder_config(&keys(json!({
            "sinetstream.config.file": file.to_str().unwrap(),
            "sinetstream.service": "sensors",
        })))
        .unwrap();
        assert!(Decoder::new(config).unwrap().decode(&vector_value()).is_ok());
        let no_service = read_decoder_config(&keys(json!({"sinetstream.config.file": file.to_str().unwrap()})));
        assert!(matches!(no_service, Err(SinkError::Config { key, .. }) if key == "sinetstream.service"));
    }
}
