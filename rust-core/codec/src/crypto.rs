//! Decryption of the Avro body. An encrypted body is `salt || IV (16 bytes) || ciphertext`,
//! followed by the tag in EAX (8 bytes) and GCM (16 bytes); for both the associated data is
//! `salt || IV`. The key is PBKDF2(password, salt) or a configured raw key.

use crate::config::{CryptoConfig, KeyDerivationConfig, Password, VersionedKey};
use crate::{DecodeError, DecodeErrorKind};
use aes::cipher::block_padding::NoPadding;
use aes::cipher::consts::{U16, U8};
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{
    BlockCipher, BlockDecrypt, BlockDecryptMut, BlockEncrypt, InnerIvInit, InvalidLength, KeyInit, StreamCipher,
};
use aes::{Aes128, Aes192, Aes256};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::AesGcm;
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use bytes::Bytes;
use eax::Eax;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

const IV_LEN: usize = 16;
const BLOCK_LEN: usize = 16;
/// Keys derived from one password are cached per salt; past this many salts the cache
/// starts over, so that a stream of ever new salts cannot grow it without bound.
const MAX_CACHED_SALTS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Cbc,
    Ofb,
    Ctr,
    Eax,
    Gcm,
}

impl Mode {
    fn parse(name: &str) -> Result<Self, DecodeError> {
        match name.to_ascii_uppercase().as_str() {
            "CBC" => Ok(Mode::Cbc),
            "OFB" => Ok(Mode::Ofb),
            "CTR" => Ok(Mode::Ctr),
            "EAX" => Ok(Mode::Eax),
            "GCM" => Ok(Mode::Gcm),
            _ => Err(DecodeError::unknown_setting("crypto.mode", "mode", name, "CBC, OFB, CTR, EAX, GCM")),
        }
    }

    /// SINETStream follows BouncyCastle here: 8-byte EAX tags, 16-byte GCM tags.
    fn tag_len(self) -> usize {
        match self {
            Mode::Eax => 8,
            Mode::Gcm => 16,
            Mode::Cbc | Mode::Ofb | Mode::Ctr => 0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Prf {
    Sha256,
    Sha384,
    Sha512,
}

/// PBKDF2 with the configured PRF, iteration count and output length.
#[derive(Debug, Clone, Copy)]
struct Pbkdf2 {
    prf: Prf,
    iterations: u32,
    key_len: usize,
}

impl Pbkdf2 {
    fn from_config(config: &KeyDerivationConfig, key_len: usize) -> Result<Self, DecodeError> {
        let algorithm = &config.algorithm;
        if !(algorithm.eq_ignore_ascii_case("pbkdf2") || algorithm == "PBKDF2WithHmacSHA256") {
            return Err(DecodeError::unknown_setting(
                "crypto.key_derivation.algorithm",
                "algorithm",
                algorithm,
                "pbkdf2",
            ));
        }
        if config.iteration == 0 {
            return Err(DecodeError::setting("crypto.key_derivation.iteration", "must be at least 1"));
        }
        let prf = match config.prf.to_ascii_uppercase().as_str() {
            "HMAC-SHA256" => Prf::Sha256,
            "HMAC-SHA384" => Prf::Sha384,
            "HMAC-SHA512" => Prf::Sha512,
            _ => {
                return Err(DecodeError::unknown_setting(
                    "crypto.key_derivation.prf",
                    "prf",
                    &config.prf,
                    "HMAC-SHA256, HMAC-SHA384, HMAC-SHA512",
                ))
            }
        };
        Ok(Pbkdf2 { prf, iterations: config.iteration, key_len })
    }

    fn derive(&self, password: &[u8], salt: &[u8]) -> Vec<u8> {
        let mut key = vec![0; self.key_len];
        let rounds = self.iterations;
        match self.prf {
            Prf::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, &mut key),
            Prf::Sha384 => pbkdf2::pbkdf2_hmac::<sha2::Sha384>(password, salt, rounds, &mut key),
            Prf::Sha512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, salt, rounds, &mut key),
        }
        key
    }
}

/// The parts of one encrypted body.
struct Sealed<'a> {
    salt: &'a [u8],
    iv: &'a [u8],
    /// `salt || iv`, the associated data of the AEAD modes.
    aad: &'a [u8],
    ciphertext: &'a [u8],
    tag: &'a [u8],
}

/// A key expanded for one mode: built once per key, then used for many messages.
trait KeyedCipher: Send + Sync {
    /// Decrypts `buf`, which holds `sealed.ciphertext`, in place.
    fn decrypt(&self, sealed: &Sealed, buf: &mut [u8]) -> Result<(), DecodeError>;
}

/// What every AES variant offers; lets one generic function build all modes for all sizes.
trait AesVariant:
    BlockCipher<BlockSize = U16> + BlockEncrypt + BlockDecrypt + KeyInit + Clone + Send + Sync + 'static
{
}

impl<T> AesVariant for T where
    T: BlockCipher<BlockSize = U16> + BlockEncrypt + BlockDecrypt + KeyInit + Clone + Send + Sync + 'static
{
}

struct Cbc<C>(C);
struct Ofb<C>(C);
struct Ctr<C>(C);
struct EaxCipher<C: AesVariant>(Eax<C, U8>);
struct Gcm<C>(AesGcm<C, U16>);

impl<C: AesVariant> KeyedCipher for Cbc<C> {
    fn decrypt(&self, sealed: &Sealed, buf: &mut [u8]) -> Result<(), DecodeError> {
        if !buf.len().is_multiple_of(BLOCK_LEN) {
            return Err(DecodeError::decrypt(format!(
                "CBC ciphertext of {} bytes is not a whole number of 16-byte blocks",
                buf.len()
            )));
        }
        cbc::Decryptor::<C>::inner_iv_init(self.0.clone(), GenericArray::from_slice(sealed.iv))
            .decrypt_padded_mut::<NoPadding>(buf)
            .map_err(|_| DecodeError::decrypt("CBC decryption failed"))?;
        Ok(())
    }
}

impl<C: AesVariant> KeyedCipher for Ofb<C> {
    fn decrypt(&self, sealed: &Sealed, buf: &mut [u8]) -> Result<(), DecodeError> {
        let core = ofb::OfbCore::inner_iv_init(self.0.clone(), GenericArray::from_slice(sealed.iv));
        ofb::Ofb::<C>::from_core(core).apply_keystream(buf);
        Ok(())
    }
}

/// The 16 bytes are the whole initial counter block, incremented as one 128-bit number.
impl<C: AesVariant> KeyedCipher for Ctr<C> {
    fn decrypt(&self, sealed: &Sealed, buf: &mut [u8]) -> Result<(), DecodeError> {
        let core = ctr::CtrCore::inner_iv_init(self.0.clone(), GenericArray::from_slice(sealed.iv));
        ctr::Ctr128BE::<C>::from_core(core).apply_keystream(buf);
        Ok(())
    }
}

impl<C: AesVariant> KeyedCipher for EaxCipher<C> {
    fn decrypt(&self, sealed: &Sealed, buf: &mut [u8]) -> Result<(), DecodeError> {
        let (nonce, tag) = (GenericArray::from_slice(sealed.iv), GenericArray::from_slice(sealed.tag));
        self.0.decrypt_in_place_detached(nonce, sealed.aad, buf, tag).map_err(|_| tag_mismatch("EAX"))
    }
}

impl<C: AesVariant> KeyedCipher for Gcm<C> {
    fn decrypt(&self, sealed: &Sealed, buf: &mut [u8]) -> Result<(), DecodeError> {
        let (nonce, tag) = (GenericArray::from_slice(sealed.iv), GenericArray::from_slice(sealed.tag));
        self.0.decrypt_in_place_detached(nonce, sealed.aad, buf, tag).map_err(|_| tag_mismatch("GCM"))
    }
}

fn tag_mismatch(mode: &str) -> DecodeError {
    DecodeError::decrypt(format!("{mode} authentication tag does not verify (wrong key or tampered message)"))
}

fn expand(mode: Mode, key: &[u8]) -> Result<Arc<dyn KeyedCipher>, InvalidLength> {
    match key.len() {
        16 => expand_with::<Aes128>(mode, key),
        24 => expand_with::<Aes192>(mode, key),
        32 => expand_with::<Aes256>(mode, key),
        _ => Err(InvalidLength),
    }
}

fn expand_with<C: AesVariant>(mode: Mode, key: &[u8]) -> Result<Arc<dyn KeyedCipher>, InvalidLength> {
    let aes = C::new_from_slice(key)?;
    Ok(match mode {
        Mode::Cbc => Arc::new(Cbc(aes)),
        Mode::Ofb => Arc::new(Ofb(aes)),
        Mode::Ctr => Arc::new(Ctr(aes)),
        Mode::Eax => Arc::new(EaxCipher(Eax::<C, U8>::new_from_slice(key)?)),
        Mode::Gcm => Arc::new(Gcm(AesGcm::<C, U16>::from(aes))),
    })
}

type CipherBySalt = HashMap<Box<[u8]>, Arc<dyn KeyedCipher>>;

/// The key of one key version.
enum KeySlot {
    /// A raw key, expanded once.
    Raw(Arc<dyn KeyedCipher>),
    /// A password; the keys derived from it are cached by salt.
    Password { password: String, derived: Mutex<CipherBySalt> },
}

impl KeySlot {
    fn password(password: String) -> Self {
        KeySlot::Password { password, derived: Mutex::new(HashMap::new()) }
    }
}

/// Decrypts bodies for one `crypto` configuration. Shared between threads.
pub(crate) struct Decryptor {
    mode: Mode,
    pkcs7: bool,
    salt_len: usize,
    kdf: Pbkdf2,
    keys: BTreeMap<u16, KeySlot>,
    derivations: AtomicU64,
}

impl Decryptor {
    pub(crate) fn from_config(config: &CryptoConfig) -> Result<Self, DecodeError> {
        if !config.algorithm.eq_ignore_ascii_case("AES") {
            return Err(DecodeError::unknown_setting("crypto.algorithm", "algorithm", &config.algorithm, "AES"));
        }
        let mode = Mode::parse(&config.mode)?;
        let key_len = match config.key_length {
            128 | 192 | 256 => config.key_length as usize / 8,
            other => {
                return Err(DecodeError::unknown_setting(
                    "crypto.key_length",
                    "key length",
                    &other.to_string(),
                    "128, 192, 256",
                ))
            }
        };
        let key_derivation = config.key_derivation.clone().unwrap_or_default();
        Ok(Decryptor {
            mode,
            pkcs7: uses_pkcs7(config.padding.as_deref(), mode)?,
            salt_len: key_derivation.salt_bytes,
            kdf: Pbkdf2::from_config(&key_derivation, key_len)?,
            keys: key_slots(config, mode, key_len)?,
            derivations: AtomicU64::new(0),
        })
    }

    /// How often PBKDF2 ran: once per (key version, salt) while the cache holds it.
    pub(crate) fn key_derivations(&self) -> u64 {
        self.derivations.load(Ordering::Relaxed)
    }

    /// Decrypts a body. `key_version` is `None` for a v2 message, which has none.
    pub(crate) fn decrypt(&self, key_version: Option<u16>, body: &[u8]) -> Result<Bytes, DecodeError> {
        let slot = self.slot_for(key_version)?;
        let sealed = self.split(body)?;
        let cipher = self.cipher_for(slot, sealed.salt);
        let mut plain = sealed.ciphertext.to_vec();
        cipher.decrypt(&sealed, &mut plain)?;
        if self.pkcs7 {
            strip_pkcs7(&mut plain)?;
        }
        Ok(Bytes::from(plain))
    }

    fn slot_for(&self, key_version: Option<u16>) -> Result<&KeySlot, DecodeError> {
        let newest = self.keys.values().next_back().expect("at least one key is configured");
        let Some(version) = key_version else {
            // As SINETStream: a v2 message is decrypted with the newest key.
            return Ok(newest);
        };
        if let Some(slot) = self.keys.get(&version) {
            return Ok(slot);
        }
        if self.keys.len() == 1 {
            return Ok(newest);
        }
        let configured: Vec<String> = self.keys.keys().map(u16::to_string).collect();
        Err(DecodeError::new(
            DecodeErrorKind::UnknownKeyVersion,
            format!("key version {version} is not configured (configured: {})", configured.join(", ")),
        ))
    }

    fn split<'a>(&self, body: &'a [u8]) -> Result<Sealed<'a>, DecodeError> {
        let header_len = self.salt_len.saturating_add(IV_LEN);
        let tag_len = self.mode.tag_len();
        if body.len() < header_len.saturating_add(tag_len) {
            return Err(DecodeError::decrypt(format!(
                "encrypted body of {} bytes is shorter than its salt, IV and tag ({} bytes)",
                body.len(),
                header_len.saturating_add(tag_len)
            )));
        }
        let (aad, rest) = body.split_at(header_len);
        let (ciphertext, tag) = rest.split_at(rest.len() - tag_len);
        let (salt, iv) = aad.split_at(self.salt_len);
        Ok(Sealed { salt, iv, aad, ciphertext, tag })
    }

    fn cipher_for(&self, slot: &KeySlot, salt: &[u8]) -> Arc<dyn KeyedCipher> {
        let (password, derived) = match slot {
            KeySlot::Raw(cipher) => return cipher.clone(),
            KeySlot::Password { password, derived } => (password, derived),
        };
        if let Some(cipher) = lock(derived).get(salt) {
            return cipher.clone();
        }
        // Derived without holding the lock: PBKDF2 is slow on purpose, other salts need not wait.
        let key = self.kdf.derive(password.as_bytes(), salt);
        self.derivations.fetch_add(1, Ordering::Relaxed);
        let cipher = expand(self.mode, &key).expect("PBKDF2 yields key_length bytes");
        let mut cache = lock(derived);
        if cache.len() >= MAX_CACHED_SALTS {
            cache.clear();
        }
        cache.insert(salt.into(), cipher.clone());
        cipher
    }
}

/// Keys and passwords are never printed.
impl fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decryptor")
            .field("mode", &self.mode)
            .field("pkcs7", &self.pkcs7)
            .field("salt_len", &self.salt_len)
            .field("kdf", &self.kdf)
            .field("key_versions", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// SINETStream pads in any mode when `padding: pkcs7` is set; CBC cannot carry arbitrary
/// lengths without it, so CBC pads when `padding` is not set at all.
fn uses_pkcs7(padding: Option<&str>, mode: Mode) -> Result<bool, DecodeError> {
    match padding {
        None => Ok(mode == Mode::Cbc),
        Some(p) if p.eq_ignore_ascii_case("pkcs7") => Ok(true),
        Some(p) if p.eq_ignore_ascii_case("none") || p.eq_ignore_ascii_case("NoPadding") => Ok(false),
        Some(other) => Err(DecodeError::unknown_setting("crypto.padding", "padding", other, "pkcs7, none")),
    }
}

fn strip_pkcs7(plain: &mut Vec<u8>) -> Result<(), DecodeError> {
    let pad = plain.last().map_or(0, |&b| usize::from(b));
    let valid = plain.len().is_multiple_of(BLOCK_LEN)
        && (1..=BLOCK_LEN).contains(&pad)
        && plain[plain.len() - pad..].iter().all(|&b| usize::from(b) == pad);
    if !valid {
        return Err(DecodeError::decrypt("bad PKCS#7 padding (wrong key or corrupt message)"));
    }
    plain.truncate(plain.len() - pad);
    Ok(())
}

/// Version 1 from `password` or `key_b64`, and whatever `_keys` adds.
fn key_slots(config: &CryptoConfig, mode: Mode, key_len: usize) -> Result<BTreeMap<u16, KeySlot>, DecodeError> {
    let mut slots = BTreeMap::new();
    match (&config.password, &config.key_b64) {
        (Some(_), Some(_)) => {
            return Err(DecodeError::setting("crypto.password", "give only one of crypto.password and crypto.key_b64"))
        }
        (Some(password), None) => {
            slots.insert(1, KeySlot::password(password.resolve("crypto.password")?));
        }
        (None, Some(b64)) => {
            slots.insert(1, raw_slot(b64, "crypto.key_b64", mode, key_len)?);
        }
        (None, None) => {}
    }
    for (&version, key) in &config.keys {
        let field = format!("crypto._keys.{version}");
        if version == 0 {
            return Err(DecodeError::setting(&field, "key version 0 means 'not encrypted', versions start at 1"));
        }
        if slots.contains_key(&version) {
            return Err(DecodeError::setting(
                &field,
                "version 1 is already given by crypto.password or crypto.key_b64",
            ));
        }
        let slot = match key {
            VersionedKey::RawB64(b64) => raw_slot(b64, &field, mode, key_len)?,
            VersionedKey::Password { password } => password_slot(password, &field)?,
        };
        slots.insert(version, slot);
    }
    if slots.is_empty() {
        return Err(DecodeError::setting(
            "crypto.password",
            "missing; give crypto.password, crypto.key_b64 or crypto._keys",
        ));
    }
    Ok(slots)
}

fn password_slot(password: &Password, field: &str) -> Result<KeySlot, DecodeError> {
    Ok(KeySlot::password(password.resolve(&format!("{field}.password"))?))
}

fn raw_slot(b64: &str, field: &str, mode: Mode, key_len: usize) -> Result<KeySlot, DecodeError> {
    // The decoder's own message could quote key characters, so it is not passed on.
    let key = B64.decode(b64.trim()).map_err(|_| DecodeError::setting(field, "not valid base64"))?;
    if key.len() != key_len {
        return Err(DecodeError::setting(
            field,
            format!("the key is {} bits, but crypto.key_length is {}", key.len() * 8, key_len * 8),
        ));
    }
    let cipher = expand(mode, &key).expect("key length checked above");
    Ok(KeySlot::Raw(cipher))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aes::cipher::BlockEncryptMut;

    pub(crate) const SALT: [u8; 8] = *b"saltsalt";
    const IV: [u8; 16] = [0xA5; 16];
    const MODES: [&str; 5] = ["CBC", "OFB", "CTR", "EAX", "GCM"];

    fn crypto_config(mode: &str, key_length: u32) -> CryptoConfig {
        CryptoConfig {
            algorithm: "AES".into(),
            key_length,
            mode: mode.into(),
            password: Some(Password::Text("test password".into())),
            key_derivation: Some(KeyDerivationConfig { iteration: 10, ..Default::default() }),
            ..Default::default()
        }
    }

    fn derive(config: &CryptoConfig, password: &str, salt: &[u8]) -> Vec<u8> {
        let kdf = config.key_derivation.clone().unwrap_or_default();
        let kdf = Pbkdf2::from_config(&kdf, config.key_length as usize / 8).unwrap();
        kdf.derive(password.as_bytes(), salt)
    }

    /// Encrypts as SINETStream does: `salt || iv || ciphertext || tag`.
    pub(crate) fn seal(mode: Mode, key: &[u8], salt: &[u8], plain: &[u8], pkcs7: bool) -> Vec<u8> {
        match key.len() {
            16 => seal_with::<Aes128>(mode, key, salt, plain, pkcs7),
            24 => seal_with::<Aes192>(mode, key, salt, plain, pkcs7),
            _ => seal_with::<Aes256>(mode, key, salt, plain, pkcs7),
        }
    }

    fn seal_with<C: AesVariant>(mode: Mode, key: &[u8], salt: &[u8], plain: &[u8], pkcs7: bool) -> Vec<u8> {
        let mut buf = plain.to_vec();
        if pkcs7 {
            let pad = BLOCK_LEN - buf.len() % BLOCK_LEN;
            buf.extend(std::iter::repeat_n(pad as u8, pad));
        }
        let aes = C::new_from_slice(key).unwrap();
        let iv = GenericArray::from_slice(&IV);
        let aad = [salt, &IV].concat();
        let tag = match mode {
            Mode::Cbc => {
                let len = buf.len();
                cbc::Encryptor::<C>::inner_iv_init(aes, iv).encrypt_padded_mut::<NoPadding>(&mut buf, len).unwrap();
                vec![]
            }
            Mode::Ofb => {
                ofb::Ofb::<C>::from_core(ofb::OfbCore::inner_iv_init(aes, iv)).apply_keystream(&mut buf);
                vec![]
            }
            Mode::Ctr => {
                ctr::Ctr128BE::<C>::from_core(ctr::CtrCore::inner_iv_init(aes, iv)).apply_keystream(&mut buf);
                vec![]
            }
            Mode::Eax => Eax::<C, U8>::new_from_slice(key)
                .unwrap()
                .encrypt_in_place_detached(iv, &aad, &mut buf)
                .unwrap()
                .to_vec(),
            Mode::Gcm => AesGcm::<C, U16>::from(aes).encrypt_in_place_detached(iv, &aad, &mut buf).unwrap().to_vec(),
        };
        [&aad[..], &buf, &tag].concat()
    }

    fn sealed_for(config: &CryptoConfig, plain: &[u8]) -> Vec<u8> {
        let mode = Mode::parse(&config.mode).unwrap();
        let key = derive(config, "test password", &SALT);
        seal(mode, &key, &SALT, plain, mode == Mode::Cbc)
    }

    fn config_error(config: &CryptoConfig) -> String {
        let err = Decryptor::from_config(config).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::Config, "{err}");
        err.reason
    }

    #[test]
    fn every_mode_and_key_length_round_trips() {
        for mode in MODES {
            for key_length in [128, 192, 256] {
                let config = crypto_config(mode, key_length);
                let decryptor = Decryptor::from_config(&config).unwrap();
                for len in [0, 1, 15, 16, 17, 1000] {
                    let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
                    let body = sealed_for(&config, &plain);
                    let out = decryptor.decrypt(Some(1), &body).unwrap();
                    assert_eq!(out.as_ref(), plain.as_slice(), "{mode}-{key_length} len {len}");
                }
            }
        }
    }

    #[test]
    fn ctr_counter_carries_across_all_128_bits() {
        let config = crypto_config("CTR", 128);
        let key = derive(&config, "test password", &SALT);
        let aes = Aes128::new_from_slice(&key).unwrap();
        let iv = [0xFF; 16];
        let mut expected_keystream = [[0u8; 16]; 2];
        expected_keystream[0] = iv;
        expected_keystream[1] = [0; 16]; // FF..FF + 1 wraps to 00..00
        for block in &mut expected_keystream {
            aes.clone().encrypt_block_mut(GenericArray::from_mut_slice(block));
        }
        let body = [&SALT[..], &iv, &[0u8; 32]].concat();
        let out = Decryptor::from_config(&config).unwrap().decrypt(Some(1), &body).unwrap();
        assert_eq!(out.as_ref(), expected_keystream.concat().as_slice());
    }

    #[test]
    fn tampered_aead_messages_are_refused() {
        for mode in ["EAX", "GCM"] {
            let config = crypto_config(mode, 256);
            let decryptor = Decryptor::from_config(&config).unwrap();
            let body = sealed_for(&config, b"payload bytes");
            for position in [0, SALT.len(), SALT.len() + IV_LEN, body.len() - 1] {
                let mut tampered = body.clone();
                tampered[position] ^= 1;
                let err = decryptor.decrypt(Some(1), &tampered).unwrap_err();
                assert_eq!(err.kind, DecodeErrorKind::Decrypt, "{mode} byte {position}");
            }
        }
    }

    #[test]
    fn wrong_password_fails_tag_or_padding() {
        for mode in ["CBC", "EAX", "GCM"] {
            let body = sealed_for(&crypto_config(mode, 128), b"some payload");
            let mut wrong = crypto_config(mode, 128);
            wrong.password = Some(Password::Text("other password".into()));
            let decryptor = Decryptor::from_config(&wrong).unwrap();
            let err = decryptor.decrypt(Some(1), &body).unwrap_err();
            assert_eq!(err.kind, DecodeErrorKind::Decrypt, "{mode}");
            assert!(!err.to_string().contains("password"), "{err}");
        }
    }

    #[test]
    fn truncated_bodies_are_decrypt_errors() {
        for mode in MODES {
            let config = crypto_config(mode, 128);
            let decryptor = Decryptor::from_config(&config).unwrap();
            let body = sealed_for(&config, &[7; 40]);
            let header_len = SALT.len() + IV_LEN;
            for len in [0, 5, header_len - 1, header_len + Mode::parse(mode).unwrap().tag_len() - 1] {
                let err = decryptor.decrypt(Some(1), &body[..len]).unwrap_err();
                assert_eq!(err.kind, DecodeErrorKind::Decrypt, "{mode} truncated to {len}");
            }
        }
        // Padding and tags also catch a shortened ciphertext; OFB and CTR cannot (the Avro
        // record around the payload does).
        for mode in ["CBC", "EAX", "GCM"] {
            let config = crypto_config(mode, 128);
            let body = sealed_for(&config, &[7; 40]);
            let decryptor = Decryptor::from_config(&config).unwrap();
            let err = decryptor.decrypt(Some(1), &body[..body.len() - 1]).unwrap_err();
            assert_eq!(err.kind, DecodeErrorKind::Decrypt, "{mode}");
        }
    }

    #[test]
    fn cbc_ciphertext_must_be_whole_blocks() {
        let config = crypto_config("CBC", 128);
        let body = sealed_for(&config, b"0123456789");
        let err = Decryptor::from_config(&config).unwrap().decrypt(Some(1), &body[..body.len() - 3]);
        assert!(err.unwrap_err().reason.contains("16-byte blocks"));
    }

    #[test]
    fn padding_setting_applies_to_any_mode() {
        let mut config = crypto_config("GCM", 128);
        config.padding = Some("pkcs7".into());
        let key = derive(&config, "test password", &SALT);
        let body = seal(Mode::Gcm, &key, &SALT, b"padded gcm", true);
        let out = Decryptor::from_config(&config).unwrap().decrypt(Some(1), &body).unwrap();
        assert_eq!(out.as_ref(), b"padded gcm");

        let mut unpadded_cbc = crypto_config("CBC", 128);
        unpadded_cbc.padding = Some("none".into());
        let body = seal(Mode::Cbc, &key, &SALT, &[3; 32], false);
        let out = Decryptor::from_config(&unpadded_cbc).unwrap().decrypt(Some(1), &body).unwrap();
        assert_eq!(out.as_ref(), &[3; 32]);
    }

    #[test]
    fn raw_keys_decrypt_and_their_length_is_checked() {
        let key = [9u8; 32];
        let config = CryptoConfig { password: None, key_b64: Some(B64.encode(key)), ..crypto_config("GCM", 256) };
        let body = seal(Mode::Gcm, &key, &SALT, b"raw key payload", false);
        let out = Decryptor::from_config(&config).unwrap().decrypt(Some(1), &body).unwrap();
        assert_eq!(out.as_ref(), b"raw key payload");

        let short = CryptoConfig { key_b64: Some(B64.encode([9u8; 16])), ..config.clone() };
        assert_eq!(config_error(&short), "crypto.key_b64: the key is 128 bits, but crypto.key_length is 256");
        let not_base64 = CryptoConfig { key_b64: Some("@@@".into()), ..config };
        assert_eq!(config_error(&not_base64), "crypto.key_b64: not valid base64");
    }

    fn two_versions() -> CryptoConfig {
        let mut config = crypto_config("GCM", 128);
        config.keys.insert(2, VersionedKey::RawB64(B64.encode([2u8; 16])));
        config
    }

    #[test]
    fn key_versions_pick_their_key() {
        let config = two_versions();
        let decryptor = Decryptor::from_config(&config).unwrap();
        let v1 = sealed_for(&config, b"under version 1");
        let v2 = seal(Mode::Gcm, &[2; 16], &SALT, b"under version 2", false);
        assert_eq!(decryptor.decrypt(Some(1), &v1).unwrap().as_ref(), b"under version 1");
        assert_eq!(decryptor.decrypt(Some(2), &v2).unwrap().as_ref(), b"under version 2");
        // A v2 message has no key version: the newest key applies, as in SINETStream.
        assert_eq!(decryptor.decrypt(None, &v2).unwrap().as_ref(), b"under version 2");
        assert_eq!(decryptor.decrypt(Some(2), &v1).unwrap_err().kind, DecodeErrorKind::Decrypt);
    }

    #[test]
    fn unknown_key_version_is_its_own_error() {
        let decryptor = Decryptor::from_config(&two_versions()).unwrap();
        let body = seal(Mode::Gcm, &[2; 16], &SALT, b"x", false);
        let err = decryptor.decrypt(Some(3), &body).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::UnknownKeyVersion);
        assert_eq!(err.reason, "key version 3 is not configured (configured: 1, 2)");
    }

    #[test]
    fn a_single_key_serves_every_version() {
        let config = crypto_config("CTR", 128);
        let body = sealed_for(&config, b"written as key version 7");
        let out = Decryptor::from_config(&config).unwrap().decrypt(Some(7), &body).unwrap();
        assert_eq!(out.as_ref(), b"written as key version 7");
    }

    #[test]
    fn versioned_passwords_are_accepted() {
        let mut config = crypto_config("EAX", 192);
        let rotated = Password::Entry { value: Some("rotated".into()), path: None };
        config.keys.insert(5, VersionedKey::Password { password: rotated });
        let key = derive(&config, "rotated", &SALT);
        let body = seal(Mode::Eax, &key, &SALT, b"after rotation", false);
        let out = Decryptor::from_config(&config).unwrap().decrypt(Some(5), &body).unwrap();
        assert_eq!(out.as_ref(), b"after rotation");
    }

    #[test]
    fn pbkdf2_runs_once_per_salt_and_key_version() {
        let config = two_versions();
        let decryptor = Decryptor::from_config(&config).unwrap();
        let body = sealed_for(&config, b"many messages, one salt");
        for _ in 0..100 {
            decryptor.decrypt(Some(1), &body).unwrap();
        }
        assert_eq!(decryptor.key_derivations(), 1);
        let other_salt = *b"newsalt!";
        let key = derive(&config, "test password", &other_salt);
        let body = seal(Mode::Gcm, &key, &other_salt, b"second writer", false);
        for _ in 0..10 {
            decryptor.decrypt(Some(1), &body).unwrap();
        }
        assert_eq!(decryptor.key_derivations(), 2);
        // Raw keys need no derivation at all.
        let raw = seal(Mode::Gcm, &[2; 16], &SALT, b"raw", false);
        decryptor.decrypt(Some(2), &raw).unwrap();
        assert_eq!(decryptor.key_derivations(), 2);
    }

    #[test]
    fn key_cache_is_bounded() {
        let mut config = crypto_config("CTR", 128);
        config.key_derivation = Some(KeyDerivationConfig { iteration: 1, ..Default::default() });
        let decryptor = Decryptor::from_config(&config).unwrap();
        for n in 0..(MAX_CACHED_SALTS as u64 + 10) {
            let body = [&n.to_be_bytes()[..], &IV, b"data"].concat();
            decryptor.decrypt(Some(1), &body).unwrap();
        }
        let KeySlot::Password { derived, .. } = &decryptor.keys[&1] else { panic!("password slot") };
        assert!(lock(derived).len() <= MAX_CACHED_SALTS);
        assert_eq!(decryptor.key_derivations(), MAX_CACHED_SALTS as u64 + 10);
    }

    #[test]
    fn settings_are_validated_naming_the_field() {
        let base = crypto_config("GCM", 128);
        let cases = [
            (
                CryptoConfig { mode: "XTS".into(), ..base.clone() },
                "crypto.mode: unknown mode XTS, expected one of CBC, OFB, CTR, EAX, GCM",
            ),
            (
                CryptoConfig { mode: String::new(), ..base.clone() },
                "crypto.mode: missing, expected one of CBC, OFB, CTR, EAX, GCM",
            ),
            (
                CryptoConfig { algorithm: "DES".into(), ..base.clone() },
                "crypto.algorithm: unknown algorithm DES, expected one of AES",
            ),
            (
                CryptoConfig { key_length: 100, ..base.clone() },
                "crypto.key_length: unknown key length 100, expected one of 128, 192, 256",
            ),
            (
                CryptoConfig { padding: Some("zeros".into()), ..base.clone() },
                "crypto.padding: unknown padding zeros, expected one of pkcs7, none",
            ),
            (
                CryptoConfig { password: None, ..base.clone() },
                "crypto.password: missing; give crypto.password, crypto.key_b64 or crypto._keys",
            ),
            (
                CryptoConfig { key_b64: Some(B64.encode([0u8; 16])), ..base.clone() },
                "crypto.password: give only one of crypto.password and crypto.key_b64",
            ),
        ];
        for (config, message) in cases {
            assert_eq!(config_error(&config), message);
            let field = Decryptor::from_config(&config).unwrap_err().field;
            assert_eq!(field.as_deref(), message.split(':').next(), "the field of: {message}");
        }
        let prf = KeyDerivationConfig { prf: "HMAC-MD5".into(), ..Default::default() };
        let config = CryptoConfig { key_derivation: Some(prf), ..base.clone() };
        assert_eq!(
            config_error(&config),
            "crypto.key_derivation.prf: unknown prf HMAC-MD5, expected one of HMAC-SHA256, HMAC-SHA384, HMAC-SHA512"
        );
        let mut zero = base.clone();
        zero.keys.insert(0, VersionedKey::RawB64(B64.encode([0u8; 16])));
        assert!(config_error(&zero).starts_with("crypto._keys.0: key version 0"));
        let mut twice = base;
        twice.keys.insert(1, VersionedKey::RawB64(B64.encode([0u8; 16])));
        assert!(config_error(&twice).starts_with("crypto._keys.1: version 1 is already given"));
    }

    #[test]
    fn other_prfs_derive_other_keys() {
        let mut config = crypto_config("GCM", 256);
        for prf in ["HMAC-SHA384", "HMAC-SHA512"] {
            config.key_derivation = Some(KeyDerivationConfig { prf: prf.into(), iteration: 5, ..Default::default() });
            let body = sealed_for(&config, prf.as_bytes());
            let out = Decryptor::from_config(&config).unwrap().decrypt(Some(1), &body).unwrap();
            assert_eq!(out.as_ref(), prf.as_bytes());
        }
        assert_ne!(derive(&config, "p", &SALT), derive(&crypto_config("GCM", 256), "p", &SALT));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let mut config = crypto_config("GCM", 128);
        let raw_key = B64.encode(b"sixteen byte key");
        config.keys.insert(2, VersionedKey::RawB64(raw_key.clone()));
        let shown = format!("{config:?} {:?}", Decryptor::from_config(&config).unwrap());
        assert!(!shown.contains("test password") && !shown.contains(&raw_key), "{shown}");
    }
}
