//! Reader settings, named as in SINETStream's own configuration file so that a user's
//! service section (or a test vector's `reader` object) deserializes as it is.

use crate::DecodeError;
use serde::Deserialize;
use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// Decompressed payloads larger than this are refused unless configured otherwise.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 256 * 1024 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DecoderConfig {
    pub message_format: u8,
    pub user_data_only: bool,
    pub data_compression: bool,
    pub compression: Option<CompressionConfig>,
    pub data_encryption: bool,
    pub crypto: Option<CryptoConfig>,
    /// Our addition: a bound on one message's decompressed size.
    pub max_decompressed_bytes: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            message_format: 3,
            user_data_only: false,
            data_compression: false,
            compression: None,
            data_encryption: false,
            crypto: None,
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CompressionConfig {
    pub algorithm: String,
    pub level: Option<i32>,
}

/// SINETStream's default algorithm when `compression` is not given.
impl Default for CompressionConfig {
    fn default() -> Self {
        CompressionConfig { algorithm: "gzip".into(), level: None }
    }
}

/// The `crypto` section. The v3 header names the key version a message was encrypted
/// with: `password` (or `key_b64`) is version 1, as SINETStream's single password is, and
/// `_keys` holds further versions. When only one key is configured it serves every version.
#[derive(Clone, Deserialize)]
#[serde(default)]
pub struct CryptoConfig {
    pub algorithm: String,
    pub key_length: u32,
    pub mode: String,
    pub padding: Option<String>,
    /// The key of version 1, derived from this password.
    pub password: Option<Password>,
    /// The key of version 1, raw and base64-encoded. SINETStream's `key` (bytes, which YAML
    /// writes as `!!binary` base64) is read here too.
    #[serde(alias = "key")]
    pub key_b64: Option<String>,
    /// Keys by version, as SINETStream's config server fills them in (`crypto._keys`).
    #[serde(rename = "_keys")]
    pub keys: BTreeMap<u16, VersionedKey>,
    pub key_derivation: Option<KeyDerivationConfig>,
}

/// SINETStream's defaults (`key_length` 128).
impl Default for CryptoConfig {
    fn default() -> Self {
        CryptoConfig {
            algorithm: String::new(),
            key_length: 128,
            mode: String::new(),
            padding: None,
            password: None,
            key_b64: None,
            keys: BTreeMap::new(),
            key_derivation: None,
        }
    }
}

/// `crypto.password` as SINETStream accepts it: a string, `{value: ...}`, or `{path: file}`.
#[derive(Clone, Deserialize)]
#[serde(untagged)]
pub enum Password {
    Text(String),
    /// When both are given, `value` wins (as in SINETStream).
    Entry {
        value: Option<String>,
        path: Option<PathBuf>,
    },
}

/// One entry of `crypto._keys`: a raw key (base64) as the config server hands it out, or a
/// password (our addition, for rotating passwords).
#[derive(Clone, Deserialize)]
#[serde(untagged)]
pub enum VersionedKey {
    RawB64(String),
    Password { password: Password },
}

/// Passwords and keys are never printed.
impl fmt::Debug for CryptoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CryptoConfig")
            .field("algorithm", &self.algorithm)
            .field("key_length", &self.key_length)
            .field("mode", &self.mode)
            .field("padding", &self.padding)
            .field("password", &self.password.as_ref().map(|_| "[hidden]"))
            .field("key_b64", &self.key_b64.as_ref().map(|_| "[hidden]"))
            .field("_keys", &self.keys.keys().collect::<Vec<_>>())
            .field("key_derivation", &self.key_derivation)
            .finish()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([hidden])")
    }
}

impl fmt::Debug for VersionedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VersionedKey([hidden])")
    }
}

impl Password {
    /// The password text; a `path` is read whole, trailing newline included, as SINETStream does.
    pub(crate) fn resolve(&self, field: &str) -> Result<String, DecodeError> {
        match self {
            Password::Text(text) | Password::Entry { value: Some(text), .. } => Ok(text.clone()),
            Password::Entry { value: None, path: Some(path) } => std::fs::read_to_string(path).map_err(|e| {
                DecodeError::setting(&format!("{field}.path"), format!("cannot read {}: {e}", path.display()))
            }),
            Password::Entry { value: None, path: None } => {
                Err(DecodeError::setting(field, "neither value nor path is given"))
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct KeyDerivationConfig {
    pub algorithm: String,
    pub salt_bytes: usize,
    pub iteration: u32,
    pub prf: String,
}

impl Default for KeyDerivationConfig {
    fn default() -> Self {
        KeyDerivationConfig { algorithm: "pbkdf2".into(), salt_bytes: 8, iteration: 10000, prf: "HMAC-SHA256".into() }
    }
}

/// The settings of a service section that concern decoding; the rest (brokers, topics, ...)
/// is not ours to read.
const DECODING_SETTINGS: [&str; 6] =
    ["message_format", "user_data_only", "data_compression", "compression", "data_encryption", "crypto"];

/// serde quotes the values it could not take ("invalid type: string \"hunter2\""): blank them.
fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match (c, quoted) {
            ('"', false) => {
                quoted = true;
                out.push_str("\"…");
            }
            ('"', true) => {
                quoted = false;
                out.push('"');
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out
}

impl DecoderConfig {
    pub fn from_json(json: &str) -> Result<Self, DecodeError> {
        serde_json::from_str(json).map_err(|e| DecodeError::config(format!("bad SINETStream reader settings: {e}")))
    }

    /// Reads the named service's settings from a SINETStream configuration file
    /// (`.sinetstream_config.yml`): either `header: {version: 2|3}` with the services under
    /// `config:`, or the older layout with the services at the top level.
    pub fn from_sinetstream_yaml(text: &str, service: &str) -> Result<Self, DecodeError> {
        // Errors say where, never what: the file may hold passwords.
        let content: Value = serde_yaml::from_str(text).map_err(|e| {
            let at = e.location().map(|l| format!(" (line {}, column {})", l.line(), l.column())).unwrap_or_default();
            DecodeError::config(format!("SINETStream config file is not YAML{at}"))
        })?;
        let services = services_of(&content)?;
        let section = services.get(service).ok_or_else(|| {
            DecodeError::config(format!(
                "service {service:?} is not in the config file (it has {} services)",
                services.len()
            ))
        })?;
        let section = section
            .as_mapping()
            .ok_or_else(|| DecodeError::config(format!("service {service:?}: settings are not a YAML mapping")))?;
        let decoding: Mapping = DECODING_SETTINGS
            .iter()
            .filter_map(|name| section.get(*name).map(|v| (Value::from(*name), v.clone())))
            .collect();
        for (name, value) in &decoding {
            reject_tagged(value, name.as_str().unwrap_or_default())?;
        }
        serde_yaml::from_value(Value::Mapping(decoding))
            .map_err(|e| DecodeError::config(format!("service {service:?}: {}", without_quoted_values(&e.to_string()))))
    }

    pub(crate) fn validate(&self) -> Result<(), DecodeError> {
        if !matches!(self.message_format, 2 | 3) {
            return Err(DecodeError::setting("message_format", format!("must be 2 or 3, not {}", self.message_format)));
        }
        Ok(())
    }
}

fn services_of(content: &Value) -> Result<&Mapping, DecodeError> {
    let top =
        content.as_mapping().ok_or_else(|| DecodeError::config("SINETStream config file is not a YAML mapping"))?;
    let Some(header) = top.get("header") else {
        return Ok(top);
    };
    match header.get("version").map(Value::as_u64) {
        None | Some(Some(2 | 3)) => {}
        Some(Some(n)) => {
            return Err(DecodeError::config(format!("header.version: {n} is not supported, expected 2 or 3")))
        }
        Some(None) => return Err(DecodeError::config("header.version: not a number")),
    }
    top.get("config")
        .and_then(Value::as_mapping)
        .ok_or_else(|| DecodeError::config("config: missing; a config file with a header lists its services there"))
}

/// A value with a YAML tag of its own is one we cannot read: SINETStream's
/// `!sinetstream/encrypted` needs the user's private key. Say so, rather than fail on a type.
fn reject_tagged(value: &Value, field: &str) -> Result<(), DecodeError> {
    match value {
        Value::Tagged(tagged) => Err(DecodeError::config(format!(
            "{field}: values tagged {} are not supported, give the value itself",
            tagged.tag
        ))),
        Value::Mapping(map) => map.iter().try_for_each(|(key, value)| {
            let key = serde_yaml::to_string(key).unwrap_or_default();
            reject_tagged(value, &format!("{field}.{}", key.trim_end()))
        }),
        Value::Sequence(items) => {
            items.iter().enumerate().try_for_each(|(i, item)| reject_tagged(item, &format!("{field}[{i}]")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DecodeErrorKind;

    const CONFIG_V3: &str = r#"
header:
  version: 3
config:
  sensors:
    type: kafka
    brokers:
      - kafka0.example.org:9092
    topic: sensor-data
    consistency: AT_LEAST_ONCE
    message_format: 3
    data_compression: true
    compression:
      algorithm: zstd
      level: 5
    data_encryption: true
    crypto:
      algorithm: AES
      key_length: 256
      mode: GCM
      password:
        value: secret-000
      key_derivation:
        algorithm: pbkdf2
        iteration: 20000
        prf: HMAC-SHA512
  images:
    type: mqtt
    brokers: mqtt.example.org
"#;

    fn config_error(text: &str, service: &str) -> String {
        let err = DecoderConfig::from_sinetstream_yaml(text, service).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Config, "{err}");
        err.reason
    }

    #[test]
    fn reads_a_service_of_a_version_3_file() {
        let config = DecoderConfig::from_sinetstream_yaml(CONFIG_V3, "sensors").unwrap();
        assert_eq!(config.message_format, 3);
        assert!(config.data_compression && config.data_encryption && !config.user_data_only);
        let compression = config.compression.unwrap();
        assert_eq!((compression.algorithm.as_str(), compression.level), ("zstd", Some(5)));
        let crypto = config.crypto.unwrap();
        assert_eq!((crypto.algorithm.as_str(), crypto.mode.as_str()), ("AES", "GCM"));
        assert_eq!(crypto.key_length, 256);
        let password = crypto.password.unwrap().resolve("crypto.password").unwrap();
        assert_eq!(password, "secret-000");
        let kdf = crypto.key_derivation.unwrap();
        assert_eq!((kdf.iteration, kdf.prf.as_str(), kdf.salt_bytes), (20000, "HMAC-SHA512", 8));
        assert_eq!(config.max_decompressed_bytes, DEFAULT_MAX_DECOMPRESSED_BYTES);

        let plain = DecoderConfig::from_sinetstream_yaml(CONFIG_V3, "images").unwrap();
        assert!(!plain.data_compression && !plain.data_encryption && plain.crypto.is_none());
    }

    #[test]
    fn reads_the_older_layout_with_services_at_the_top() {
        let text = "
service-1:
  type: kafka
  brokers: kafka0:9092
  user_data_only: true
  message_format: 2
  data_encryption: true
  crypto:
    algorithm: AES
    mode: CBC
    padding: pkcs7
    password: plain-string-password
    _keys:
      2: !!binary MDEyMzQ1Njc4OWFiY2RlZg==
      3: {password: {value: rotated}}
";
        let config = DecoderConfig::from_sinetstream_yaml(text, "service-1").unwrap();
        assert!(config.user_data_only && config.data_encryption);
        assert_eq!(config.message_format, 2);
        let crypto = config.crypto.unwrap();
        assert_eq!(crypto.key_length, 128, "SINETStream's default");
        assert!(matches!(crypto.password, Some(Password::Text(ref p)) if p == "plain-string-password"));
        assert!(matches!(crypto.keys[&2], VersionedKey::RawB64(ref k) if k == "MDEyMzQ1Njc4OWFiY2RlZg=="));
        assert!(matches!(crypto.keys[&3], VersionedKey::Password { .. }));
    }

    #[test]
    fn sinetstream_binary_key_is_a_raw_key() {
        let text = "s:\n  crypto:\n    key: !!binary MDEyMzQ1Njc4OWFiY2RlZg==\n";
        let crypto = DecoderConfig::from_sinetstream_yaml(text, "s").unwrap().crypto.unwrap();
        assert_eq!(crypto.key_b64.as_deref(), Some("MDEyMzQ1Njc4OWFiY2RlZg=="));
    }

    #[test]
    fn file_problems_are_config_errors() {
        assert_eq!(
            config_error(CONFIG_V3, "nosuch"),
            "service \"nosuch\" is not in the config file (it has 2 services)"
        );
        let version_9 = CONFIG_V3.replace("version: 3", "version: 9");
        assert_eq!(config_error(&version_9, "sensors"), "header.version: 9 is not supported, expected 2 or 3");
        assert!(config_error("header: {version: 3}\n", "s").starts_with("config: missing"));
        assert!(config_error("- a\n- b\n", "s").contains("not a YAML mapping"));
        assert!(config_error("s: [unclosed\n", "s").contains("not YAML"));
        let bad_type = "s:\n  data_encryption: maybe\n";
        let reason = config_error(bad_type, "s");
        assert!(reason.starts_with("service \"s\": ") && reason.contains("boolean"), "{reason}");
        let secret_where_a_mapping_goes = "s:\n  crypto: hunter2-secret\n";
        let reason = config_error(secret_where_a_mapping_goes, "s");
        assert!(!reason.contains("hunter2"), "a value of the file is echoed: {reason}");
        let broken = "s: [\"hunter2-secret\"\n  x: {\n";
        assert!(!config_error(broken, "s").contains("hunter2"));
    }

    #[test]
    fn encrypted_config_values_are_refused_without_echoing_them() {
        let text = "s:\n  crypto:\n    password: !sinetstream/encrypted QUJDREVGR0g=\n";
        let reason = config_error(text, "s");
        assert_eq!(
            reason,
            "crypto.password: values tagged !sinetstream/encrypted are not supported, give the value itself"
        );
    }

    #[test]
    fn versioned_keys_read_from_json_too() {
        let json = r#"{"data_encryption": true, "crypto": {"algorithm": "AES", "mode": "GCM",
            "password": {"value": "v1"}, "_keys": {"2": "MDEyMzQ1Njc4OWFiY2RlZg==",
            "3": {"password": "v3"}}}}"#;
        let crypto = DecoderConfig::from_json(json).unwrap().crypto.unwrap();
        assert_eq!(crypto.keys.keys().copied().collect::<Vec<u16>>(), [2, 3]);
        assert!(matches!(crypto.keys[&3], VersionedKey::Password { password: Password::Text(_) }));
    }

    #[test]
    fn password_forms() {
        let parse = |json: &str| serde_json::from_str::<Password>(json).unwrap();
        assert_eq!(parse(r#""text""#).resolve("p").unwrap(), "text");
        assert_eq!(parse(r#"{"value": "v", "path": "/nonexistent"}"#).resolve("p").unwrap(), "v");
        let missing = parse(r#"{"path": "/nonexistent/password"}"#).resolve("crypto.password");
        assert!(missing.unwrap_err().reason.starts_with("crypto.password.path: cannot read"));
        let neither = parse("{}").resolve("crypto.password").unwrap_err();
        assert_eq!(neither.reason, "crypto.password: neither value nor path is given");

        let file = std::env::temp_dir().join(format!("sinetstream-codec-{}.pw", std::process::id()));
        std::fs::write(&file, "from a file\n").unwrap();
        let from_file = Password::Entry { value: None, path: Some(file.clone()) }.resolve("p");
        std::fs::remove_file(&file).unwrap();
        assert_eq!(from_file.unwrap(), "from a file\n", "read whole, as SINETStream does");
    }
}
