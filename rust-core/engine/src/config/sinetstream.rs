//! How messages are read: a SINETStream config file's service section when one is named,
//! overlaid with the connector's `sinetstream.*` keys (Java sends those only when they are
//! set, so that the file can supply them).

use super::keys::Keys;
use crate::error::SinkError;
use sinetstream_codec::{
    CompressionConfig, CryptoConfig, DecodeError, Decoder, DecoderConfig, KeyDerivationConfig, Password, VersionedKey,
};
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) fn read_decoder(keys: &Keys) -> Result<Arc<Decoder>, SinkError> {
    let from_file = keys.optional("sinetstream.config.file");
    let mut config = match from_file {
        Some(path) => read_config_file(path, keys.optional("sinetstream.service").unwrap_or_default())?,
        None => DecoderConfig::default(),
    };
    if let Some(format) = keys.optional_number::<u8>("sinetstream.message.format")? {
        config.message_format = format;
    }
    if let Some(flag) = keys.optional_flag("sinetstream.user.data.only")? {
        config.user_data_only = flag;
    }
    config.max_decompressed_bytes = keys.number("sinetstream.max.decompressed.bytes")?;
    if let Some(algorithm) = keys.optional("sinetstream.compression.algorithm") {
        config.data_compression = !algorithm.eq_ignore_ascii_case("none");
        config.compression =
            config.data_compression.then(|| CompressionConfig { algorithm: algorithm.to_string(), level: None });
    }
    overlay_crypto(keys, &mut config)?;
    let decoder = Decoder::new(config).map_err(|e| error_on_key(&e, from_file.is_some()))?;
    Ok(Arc::new(decoder))
}

fn read_config_file(path: &str, service: &str) -> Result<DecoderConfig, SinkError> {
    crate::allowed_paths::check("sinetstream.config.file", std::path::Path::new(path))?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| SinkError::config("sinetstream.config.file", format!("cannot read {path}: {e}")))?;
    DecoderConfig::from_sinetstream_yaml(&text, service)
        .map_err(|e| SinkError::config("sinetstream.config.file", format!("{path}: {}", e.reason)))
}

/// Applies the `sinetstream.crypto.*` keys over what the config file said, if anything.
fn overlay_crypto(keys: &Keys, config: &mut DecoderConfig) -> Result<(), SinkError> {
    if let Some(mode) = keys.optional("sinetstream.crypto.mode") {
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
    if let Some(bits) = keys.optional_number::<u32>("sinetstream.crypto.key.length")? {
        crypto.key_length = bits;
    }
    if let Some(password) = keys.optional("sinetstream.crypto.password") {
        crypto.password = Some(Password::Text(password.to_string()));
    }
    if let Some(key) = keys.optional("sinetstream.crypto.key") {
        crypto.key_b64 = Some(key.to_string());
    }
    if let Some(versions) = keys.optional("sinetstream.crypto.password.versions") {
        crypto.keys = parse_versioned_passwords(versions)?;
    }
    let kdf = crypto.key_derivation.get_or_insert_with(KeyDerivationConfig::default);
    if let Some(salt) = keys.optional_number::<usize>("sinetstream.crypto.kdf.salt.bytes")? {
        kdf.salt_bytes = salt;
    }
    if let Some(iterations) = keys.optional_number::<u32>("sinetstream.crypto.kdf.iterations")? {
        kdf.iteration = iterations;
    }
    if let Some(prf) = keys.optional("sinetstream.crypto.kdf.prf") {
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

/// The codec names its settings as SINETStream does (`crypto.key_derivation.prf`); the
/// connector key for each, most specific first.
const KEYS_OF_FIELDS: [(&str, &str); 10] = [
    ("crypto.password", "sinetstream.crypto.password"),
    ("crypto.key_b64", "sinetstream.crypto.key"),
    ("crypto._keys", "sinetstream.crypto.password.versions"),
    ("crypto.key_length", "sinetstream.crypto.key.length"),
    ("crypto.key_derivation.prf", "sinetstream.crypto.kdf.prf"),
    ("crypto.key_derivation.salt_bytes", "sinetstream.crypto.kdf.salt.bytes"),
    ("crypto.key_derivation", "sinetstream.crypto.kdf.iterations"),
    ("crypto", "sinetstream.crypto.mode"),
    ("compression", "sinetstream.compression.algorithm"),
    ("message_format", "sinetstream.message.format"),
];

fn error_on_key(error: &DecodeError, from_file: bool) -> SinkError {
    let field = error.field.as_deref().unwrap_or_default();
    let key = KEYS_OF_FIELDS
        .iter()
        .find(|(prefix, _)| field == *prefix || field.starts_with(&format!("{prefix}.")))
        .map(|(_, key)| *key);
    match (key, from_file) {
        (Some(key), _) => SinkError::config(key, error.reason.clone()),
        (None, true) => SinkError::config("sinetstream.config.file", error.reason.clone()),
        (None, false) => SinkError::config("sinetstream.message.format", error.reason.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::config;
    use crate::error::SinkError;
    use base64::Engine;
    use bytes::Bytes;
    use serde_json::Value;

    /// A message the SINETStream client encrypted (test vector 041).
    const GCM_MESSAGE: &str = "../codec/tests/vectors/041-encrypt-gcm-128-json.json";

    fn vector_value() -> Bytes {
        let vector: Value = serde_json::from_str(&std::fs::read_to_string(GCM_MESSAGE).unwrap()).unwrap();
        let b64 = vector["message_b64"].as_str().unwrap();
        Bytes::from(base64::engine::general_purpose::STANDARD.decode(b64).unwrap())
    }

    fn key_of(error: SinkError) -> String {
        match error {
            SinkError::Config { key, .. } => key,
            other => panic!("not a config error: {other}"),
        }
    }

    #[test]
    fn connector_keys_decrypt_what_the_client_encrypted() {
        let c = config(&[
            ("sinetstream.crypto.mode", "GCM"),
            ("sinetstream.crypto.key.length", "128"),
            ("sinetstream.crypto.password", "secret-pass-1"),
            ("sinetstream.crypto.kdf.iterations", "1000"),
        ])
        .unwrap();
        let message = c.decoder.decode(&vector_value()).unwrap();
        assert_eq!(message.payload.len(), 55);
        assert_eq!(message.timestamp_us, Some(4102444799999999));
    }

    #[test]
    fn versioned_passwords_serve_their_key_version() {
        let c = config(&[
            ("sinetstream.crypto.mode", "GCM"),
            ("sinetstream.crypto.password.versions", "1:secret-pass-1,2:another-one"),
            ("sinetstream.crypto.kdf.iterations", "1000"),
        ])
        .unwrap();
        assert!(c.decoder.decode(&vector_value()).is_ok());
    }

    #[test]
    fn errors_name_connector_keys_by_the_codec_field_and_hide_passwords() {
        let missing = config(&[("sinetstream.crypto.mode", "GCM")]).unwrap_err();
        assert_eq!(key_of(missing), "sinetstream.crypto.password");
        let bad = config(&[
            ("sinetstream.crypto.mode", "GCM"),
            ("sinetstream.crypto.password.versions", "one:hunter2-secret"),
        ])
        .unwrap_err();
        assert!(!bad.to_string().contains("hunter2-secret"));
        assert_eq!(key_of(bad), "sinetstream.crypto.password.versions");
        let zero =
            config(&[("sinetstream.crypto.mode", "GCM"), ("sinetstream.crypto.password.versions", "0:x")]).unwrap_err();
        assert_eq!(key_of(zero), "sinetstream.crypto.password.versions", "crypto._keys.0 is a versions entry");
        let bits = config(&[
            ("sinetstream.crypto.mode", "CBC"),
            ("sinetstream.crypto.password", "p"),
            ("sinetstream.crypto.key.length", "100"),
        ])
        .unwrap_err();
        assert_eq!(key_of(bits), "sinetstream.crypto.key.length");
        let algorithm = config(&[("sinetstream.compression.algorithm", "snappy")]).unwrap_err();
        assert_eq!(key_of(algorithm), "sinetstream.compression.algorithm");
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
        let path = file.to_str().unwrap();
        let c = config(&[("sinetstream.config.file", path), ("sinetstream.service", "sensors")]).unwrap();
        assert!(c.decoder.decode(&vector_value()).is_ok());
        let other = config(&[("sinetstream.config.file", path), ("sinetstream.service", "cameras")]).unwrap_err();
        assert_eq!(key_of(other), "sinetstream.config.file");
    }
}
