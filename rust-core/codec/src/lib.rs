//! Decoding of SINETStream messages (the value of a Kafka record) into the payload the
//! producer sent and its send time. Pure Rust, no JVM; the only I/O is reading a password
//! file named by `crypto.password.path` when the decoder is built.
//!
//! Layers, outermost first: the v3 envelope (`DF 03 00 00` + key version), optional
//! encryption of the body, the Avro single-object body `{tstamp, msg}`, optional
//! compression of `msg`.

mod avro;
mod compress;
mod config;
mod crypto;
mod envelope;
mod error;

pub use config::{
    CompressionConfig, CryptoConfig, DecoderConfig, KeyDerivationConfig, Password, VersionedKey,
    DEFAULT_MAX_DECOMPRESSED_BYTES,
};
pub use error::{DecodeError, DecodeErrorKind};

use bytes::Bytes;
use compress::Compression;
use crypto::Decryptor;

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Send time in microseconds since the epoch (UTC); `None` for `user_data_only`,
    /// where the Kafka record timestamp stands in for it.
    pub timestamp_us: Option<i64>,
    pub payload: Bytes,
}

/// A decoder for one reader configuration. Cheap to share between threads.
#[derive(Debug)]
pub struct Decoder {
    config: DecoderConfig,
    compression: Option<Compression>,
    decryptor: Option<Decryptor>,
}

impl Decoder {
    pub fn new(config: DecoderConfig) -> Result<Self, DecodeError> {
        config.validate()?;
        let compression = match config.data_compression {
            true => Some(Compression::from_config(config.compression.as_ref())?),
            false => None,
        };
        let decryptor = match (config.data_encryption, &config.crypto) {
            (false, _) => None,
            (true, Some(crypto)) => Some(Decryptor::from_config(crypto)?),
            (true, None) => return Err(DecodeError::setting("crypto", "missing, but data_encryption is on")),
        };
        Ok(Decoder { config, compression, decryptor })
    }

    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// How often a key was derived from a password (PBKDF2 runs); derived keys are cached
    /// by (key version, salt), so this grows with the number of writers' salts, not messages.
    pub fn key_derivations(&self) -> u64 {
        self.decryptor.as_ref().map_or(0, Decryptor::key_derivations)
    }

    /// Decodes one record value. The payload shares memory with `value` where no
    /// decryption or decompression had to produce new bytes.
    pub fn decode(&self, value: &Bytes) -> Result<Message, DecodeError> {
        if self.config.user_data_only {
            // As SINETStream writes it: no envelope, no Avro record, yet encrypted and
            // compressed when those are on.
            let body = self.decrypt(None, value.clone())?;
            return Ok(Message { timestamp_us: None, payload: self.decompress(body)? });
        }
        let (key_version, body) = envelope::split(value, self.config.message_format)?;
        let body = self.decrypt(key_version, body)?;
        let record = avro::decode_single_object(&body)?;
        let payload = self.decompress(record.msg)?;
        Ok(Message { timestamp_us: Some(record.tstamp_us), payload })
    }

    /// `key_version` is `None` when the value has no v3 header.
    fn decrypt(&self, key_version: Option<u16>, body: Bytes) -> Result<Bytes, DecodeError> {
        match (&self.decryptor, key_version) {
            (None, None | Some(0)) => Ok(body),
            (None, Some(version)) => Err(DecodeError::decrypt(format!(
                "message is encrypted (key version {version}) but data_encryption is off"
            ))),
            (Some(_), Some(0)) => {
                Err(DecodeError::decrypt("message is not encrypted (key version 0) but data_encryption is on"))
            }
            (Some(decryptor), version) => decryptor.decrypt(version, &body),
        }
    }

    fn decompress(&self, msg: Bytes) -> Result<Bytes, DecodeError> {
        match self.compression {
            None => Ok(msg),
            Some(algorithm) => algorithm.decompress(&msg, self.config.max_decompressed_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::tests::compress;
    use crate::crypto::tests::{seal, SALT};
    use crate::crypto::Mode;
    use base64::{engine::general_purpose::STANDARD as B64, Engine};

    const KEY: [u8; 16] = [1; 16];

    fn encrypted_zstd() -> DecoderConfig {
        DecoderConfig {
            data_compression: true,
            compression: Some(CompressionConfig { algorithm: "zstd".into(), level: None }),
            data_encryption: true,
            crypto: Some(CryptoConfig {
                algorithm: "AES".into(),
                mode: "GCM".into(),
                key_b64: Some(B64.encode(KEY)),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn decoder_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Decoder>();
    }

    #[test]
    fn user_data_only_is_still_decrypted_and_decompressed() {
        let config = DecoderConfig { user_data_only: true, ..encrypted_zstd() };
        let payload = b"user data only, yet compressed and encrypted".repeat(10);
        let value = seal(Mode::Gcm, &KEY, &SALT, &compress(Compression::Zstd, &payload), false);
        let message = Decoder::new(config).unwrap().decode(&Bytes::from(value)).unwrap();
        assert_eq!(message, Message { timestamp_us: None, payload: Bytes::from(payload) });
    }

    #[test]
    fn decompression_limit_comes_from_the_config() {
        let config = DecoderConfig {
            user_data_only: true,
            data_encryption: false,
            max_decompressed_bytes: 1000,
            ..encrypted_zstd()
        };
        let value = Bytes::from(compress(Compression::Zstd, &[0; 1001]));
        let err = Decoder::new(config).unwrap().decode(&value).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Decompress);
        assert!(err.reason.contains("max_decompressed_bytes (1000 bytes)"), "{err}");
    }

    #[test]
    fn plain_v3_message_is_refused_when_encryption_is_on() {
        let value = Bytes::from_static(&[0xDF, 0x03, 0, 0, 0, 0, 0xC3, 0x01]);
        let err = Decoder::new(encrypted_zstd()).unwrap().decode(&value).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Decrypt);
        assert!(err.reason.contains("key version 0"), "{err}");
    }

    #[test]
    fn encryption_without_crypto_settings_is_a_config_error() {
        let config = DecoderConfig { crypto: None, ..encrypted_zstd() };
        let err = Decoder::new(config).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Config);
        assert_eq!(err.reason, "crypto: missing, but data_encryption is on");
    }

    #[test]
    fn settings_of_disabled_layers_are_not_checked() {
        let config = DecoderConfig {
            data_compression: false,
            compression: Some(CompressionConfig { algorithm: "brotli".into(), level: None }),
            data_encryption: false,
            crypto: Some(CryptoConfig { mode: "XTS".into(), ..Default::default() }),
            ..Default::default()
        };
        assert!(Decoder::new(config).is_ok());
    }
}
