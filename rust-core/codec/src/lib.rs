//! Decoding of SINETStream messages (the value of a Kafka record) into the payload the
//! producer sent and its send time. Pure Rust: no I/O, no JVM.
//!
//! Layers, outermost first: the v3 envelope (`DF 03 00 00` + key version), optional
//! encryption of the body, the Avro single-object body `{tstamp, msg}`, optional
//! compression of `msg`.

mod avro;
mod config;
mod envelope;
mod error;

pub use config::{CompressionConfig, CryptoConfig, DecoderConfig, KeyDerivationConfig};
pub use error::{DecodeError, DecodeErrorKind};

use bytes::Bytes;

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
}

impl Decoder {
    pub fn new(config: DecoderConfig) -> Result<Self, DecodeError> {
        config.validate()?;
        Ok(Decoder { config })
    }

    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// Decodes one record value. The payload shares memory with `value` where no
    /// decryption or decompression had to produce new bytes.
    pub fn decode(&self, value: &Bytes) -> Result<Message, DecodeError> {
        if self.config.user_data_only {
            return Ok(Message { timestamp_us: None, payload: value.clone() });
        }
        let (key_version, body) = envelope::split(value, self.config.message_format)?;
        let body = self.decrypt(key_version, body)?;
        let record = avro::decode_single_object(&body)?;
        let payload = self.decompress(record.msg)?;
        Ok(Message { timestamp_us: Some(record.tstamp_us), payload })
    }

    fn decrypt(&self, key_version: u16, body: Bytes) -> Result<Bytes, DecodeError> {
        if !self.config.data_encryption {
            if key_version != 0 {
                return Err(DecodeError::decrypt(format!(
                    "message is encrypted (key version {key_version}) but data_encryption is off"
                )));
            }
            return Ok(body);
        }
        Err(DecodeError::unsupported("decryption is not built in yet"))
    }

    fn decompress(&self, msg: Bytes) -> Result<Bytes, DecodeError> {
        if !self.config.data_compression {
            return Ok(msg);
        }
        Err(DecodeError::unsupported("decompression is not built in yet"))
    }
}
