//! Reader settings, named as in SINETStream's own configuration file so that a user's
//! service section (or a test vector's `reader` object) deserializes as it is.

use crate::DecodeError;
use serde::Deserialize;
use std::fmt;

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

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct CompressionConfig {
    pub algorithm: String,
    pub level: Option<i32>,
}

#[derive(Clone, Deserialize, Default)]
#[serde(default)]
pub struct CryptoConfig {
    pub algorithm: String,
    pub key_length: u32,
    pub mode: String,
    pub padding: Option<String>,
    pub password: Option<String>,
    pub key_b64: Option<String>,
    pub key_derivation: Option<KeyDerivationConfig>,
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
            .field("key_derivation", &self.key_derivation)
            .finish()
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
        KeyDerivationConfig {
            algorithm: "pbkdf2".into(),
            salt_bytes: 8,
            iteration: 10000,
            prf: "HMAC-SHA256".into(),
        }
    }
}

impl DecoderConfig {
    pub fn from_json(json: &str) -> Result<Self, DecodeError> {
        serde_json::from_str(json)
            .map_err(|e| DecodeError::config(format!("bad SINETStream reader settings: {e}")))
    }

    pub(crate) fn validate(&self) -> Result<(), DecodeError> {
        if !matches!(self.message_format, 2 | 3) {
            return Err(DecodeError::config(format!(
                "message_format must be 2 or 3, not {}",
                self.message_format
            )));
        }
        Ok(())
    }
}
