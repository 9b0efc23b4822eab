use thiserror::Error;

/// What went wrong, coarsely: the errant-record reporter and the tests key on this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// Not a SINETStream message of the configured format (bad header, truncated Avro, ...).
    Malformed,
    /// Decryption failed: wrong key, tampered message, bad padding.
    Decrypt,
    /// Decompression failed or exceeded the configured size limit.
    Decompress,
    /// The v3 header names a key version no configured key has.
    UnknownKeyVersion,
    /// The reader configuration itself is unusable.
    Config,
}

impl DecodeErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecodeErrorKind::Malformed => "malformed",
            DecodeErrorKind::Decrypt => "decrypt",
            DecodeErrorKind::Decompress => "decompress",
            DecodeErrorKind::UnknownKeyVersion => "unknown-key-version",
            DecodeErrorKind::Config => "config",
        }
    }
}

/// A decoding failure. The message never contains key material or passwords.
#[derive(Debug, Clone, Error)]
#[error("{} SINETStream message: {reason}", kind_phrase(.kind))]
pub struct DecodeError {
    pub kind: DecodeErrorKind,
    pub reason: String,
    /// For a setting that is wrong: its name as SINETStream spells it (`crypto.password`,
    /// `crypto._keys.2`, `compression.algorithm`), so callers can name their own key for it.
    pub field: Option<String>,
}

fn kind_phrase(kind: &DecodeErrorKind) -> &'static str {
    match kind {
        DecodeErrorKind::Malformed => "malformed",
        DecodeErrorKind::Decrypt => "cannot decrypt",
        DecodeErrorKind::Decompress => "cannot decompress",
        DecodeErrorKind::UnknownKeyVersion => "unknown key version in",
        DecodeErrorKind::Config => "cannot configure decoder for",
    }
}

impl DecodeError {
    pub fn new(kind: DecodeErrorKind, reason: impl Into<String>) -> Self {
        DecodeError { kind, reason: reason.into(), field: None }
    }
    pub fn malformed(reason: impl Into<String>) -> Self {
        Self::new(DecodeErrorKind::Malformed, reason)
    }
    pub fn decrypt(reason: impl Into<String>) -> Self {
        Self::new(DecodeErrorKind::Decrypt, reason)
    }
    pub fn decompress(reason: impl Into<String>) -> Self {
        Self::new(DecodeErrorKind::Decompress, reason)
    }
    pub fn config(reason: impl Into<String>) -> Self {
        Self::new(DecodeErrorKind::Config, reason)
    }
    /// A reader setting that is wrong; the reason reads "field: detail".
    pub fn setting(field: &str, detail: impl std::fmt::Display) -> Self {
        DecodeError { field: Some(field.to_string()), ..Self::config(format!("{field}: {detail}")) }
    }
    /// A setting whose value is not one we know, e.g.
    /// "crypto.mode: unknown mode XTS, expected one of CBC, OFB, CTR, EAX, GCM".
    pub(crate) fn unknown_setting(field: &str, what: &str, value: &str, expected: &str) -> Self {
        if value.is_empty() {
            return Self::setting(field, format!("missing, expected one of {expected}"));
        }
        Self::setting(field, format!("unknown {what} {value}, expected one of {expected}"))
    }
}
