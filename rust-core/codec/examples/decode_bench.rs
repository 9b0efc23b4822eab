//! Decode throughput next to the throughput of the primitive underneath, over the same bytes,
//! so that the decoder's own overhead shows. Builds its messages itself.
//!
//!     cargo run --release -p sinetstream-codec --example decode_bench
//!
//! MB/s counts payload bytes (10^6 per MB). A primitive runs with its key schedule built once
//! and writes into a reused buffer; the decryptions first copy the ciphertext into that buffer,
//! as they decrypt in place.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::consts::U16;
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyInit, KeyIvInit};
use aes::Aes256;
use aes_gcm::aead::AeadInPlace;
use aes_gcm::AesGcm;
use bytes::Bytes;
use sinetstream_codec::{Decoder, DecoderConfig};
use std::hint::black_box;
use std::time::{Duration, Instant};

type Aes256Gcm16 = AesGcm<Aes256, U16>;

const PASSWORD: &str = "benchmark password";
const SALT: [u8; 8] = *b"benchslt";
const IV: [u8; 16] = *b"benchmark iv 16b";
const ITERATIONS: u32 = 10_000;
const TSTAMP_US: i64 = 1_650_245_025_123_456;
const MIN_TIME: Duration = Duration::from_millis(500);

/// Writes messages the way SINETStream's writer does.
mod encoder {
    use super::*;

    const AVRO_HEADER: [u8; 10] = [0xC3, 0x01, 0x1F, 0x9C, 0x0C, 0x91, 0xEB, 0x33, 0x66, 0x4F];

    pub fn avro_body(tstamp_us: i64, msg: &[u8]) -> Vec<u8> {
        let mut body = AVRO_HEADER.to_vec();
        put_long(&mut body, tstamp_us);
        put_long(&mut body, msg.len() as i64);
        body.extend_from_slice(msg);
        body
    }

    /// Avro `long`: zig-zag, then 7 bits a byte.
    fn put_long(out: &mut Vec<u8>, value: i64) {
        let mut z = ((value << 1) ^ (value >> 63)) as u64;
        while z >= 0x80 {
            out.push((z as u8 & 0x7F) | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
    }

    pub fn v3_envelope(key_version: u16, body: &[u8]) -> Bytes {
        let mut value = vec![0xDF, 0x03, 0x00, 0x00];
        value.extend_from_slice(&key_version.to_be_bytes());
        value.extend_from_slice(body);
        Bytes::from(value)
    }

    pub fn zstd(payload: &[u8]) -> Vec<u8> {
        zstd::bulk::compress(payload, 3).expect("zstd compression")
    }

    pub fn key() -> [u8; 32] {
        let mut key = [0; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(PASSWORD.as_bytes(), &SALT, ITERATIONS, &mut key);
        key
    }

    /// `salt || nonce || ciphertext || tag`, associated data `salt || nonce`.
    pub fn gcm(body: &[u8]) -> Vec<u8> {
        let aad = [&SALT[..], &IV].concat();
        let mut ciphertext = body.to_vec();
        let tag = Aes256Gcm16::new(&key().into())
            .encrypt_in_place_detached(GenericArray::from_slice(&IV), &aad, &mut ciphertext)
            .expect("GCM encryption");
        [&aad[..], &ciphertext, &tag].concat()
    }

    /// `salt || iv || ciphertext`, PKCS#7 padded.
    pub fn cbc(body: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; body.len() + 16];
        buf[..body.len()].copy_from_slice(body);
        let ciphertext = cbc::Encryptor::<Aes256>::new(&key().into(), &IV.into())
            .encrypt_padded_mut::<Pkcs7>(&mut buf, body.len())
            .expect("room for the padding");
        [&SALT[..], &IV, ciphertext].concat()
    }
}

/// Sensor-like JSON lines: compressible, but not trivially.
fn payload(len: usize) -> Vec<u8> {
    let mut text = Vec::with_capacity(len + 100);
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    while text.len() < len {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let reading = (state >> 33) % 100_000;
        let line = format!(
            "{{\"sensor\":\"s-{:03}\",\"temp\":{}.{:02},\"seq\":{}}}\n",
            reading % 200,
            reading / 1000,
            reading % 100,
            reading
        );
        text.extend_from_slice(line.as_bytes());
    }
    text.truncate(len);
    text
}

struct Case {
    name: &'static str,
    reader: String,
    value: Bytes,
    primitive_name: &'static str,
    primitive: Box<dyn FnMut()>,
}

fn crypto_reader(mode: &str, padding: &str) -> String {
    format!(
        r#"{{"data_encryption": true, "crypto": {{"algorithm": "AES", "key_length": 256,
            "mode": "{mode}", {padding} "password": "{PASSWORD}",
            "key_derivation": {{"iteration": {ITERATIONS}}}}}}}"#
    )
}

fn cases(payload: &[u8]) -> Vec<Case> {
    let plain_body = encoder::avro_body(TSTAMP_US, payload);
    let compressed = encoder::zstd(payload);
    let zstd_body = encoder::avro_body(TSTAMP_US, &compressed);
    let gcm_sealed = encoder::gcm(&plain_body);
    let cbc_sealed = encoder::cbc(&plain_body);
    let key = encoder::key();

    let source = payload.to_vec();
    let mut copy = vec![0u8; payload.len()];
    let memcpy = move || {
        copy.copy_from_slice(black_box(&source));
        black_box(&copy);
    };

    let mut zstd_out = vec![0u8; payload.len()];
    let mut zstd_ctx = zstd::bulk::Decompressor::new().unwrap();
    let zstd_alone = move || {
        let n = zstd_ctx.decompress_to_buffer(black_box(&compressed[..]), &mut zstd_out).unwrap();
        black_box(n);
    };

    let gcm = Aes256Gcm16::new(&key.into());
    let (gcm_aad, gcm_rest) = gcm_sealed.split_at(SALT.len() + IV.len());
    let (gcm_ciphertext, gcm_tag) = gcm_rest.split_at(gcm_rest.len() - 16);
    let (gcm_aad, gcm_ciphertext, gcm_tag) = (gcm_aad.to_vec(), gcm_ciphertext.to_vec(), gcm_tag.to_vec());
    let mut gcm_buf = vec![0u8; gcm_ciphertext.len()];
    let gcm_alone = move || {
        gcm_buf.copy_from_slice(&gcm_ciphertext);
        let nonce = GenericArray::from_slice(&gcm_aad[SALT.len()..]);
        gcm.decrypt_in_place_detached(nonce, &gcm_aad, &mut gcm_buf, GenericArray::from_slice(&gcm_tag)).unwrap();
        black_box(&gcm_buf);
    };

    let cbc_aes = Aes256::new(&key.into());
    let cbc_ciphertext = cbc_sealed[SALT.len() + IV.len()..].to_vec();
    let mut cbc_buf = vec![0u8; cbc_ciphertext.len()];
    let cbc_alone = move || {
        cbc_buf.copy_from_slice(&cbc_ciphertext);
        let decryptor = cbc::Decryptor::<Aes256>::inner_iv_init(cbc_aes.clone(), &IV.into());
        black_box(decryptor.decrypt_padded_mut::<Pkcs7>(&mut cbc_buf).unwrap().len());
    };

    vec![
        Case {
            name: "plain",
            reader: "{}".into(),
            value: encoder::v3_envelope(0, &plain_body),
            primitive_name: "memcpy",
            primitive: Box::new(memcpy),
        },
        Case {
            name: "zstd",
            reader: r#"{"data_compression": true, "compression": {"algorithm": "zstd"}}"#.into(),
            value: encoder::v3_envelope(0, &zstd_body),
            primitive_name: "zstd decompress",
            primitive: Box::new(zstd_alone),
        },
        Case {
            name: "GCM-256",
            reader: crypto_reader("GCM", ""),
            value: encoder::v3_envelope(1, &gcm_sealed),
            primitive_name: "AES-256-GCM decrypt",
            primitive: Box::new(gcm_alone),
        },
        Case {
            name: "CBC-256",
            reader: crypto_reader("CBC", r#""padding": "pkcs7","#),
            value: encoder::v3_envelope(1, &cbc_sealed),
            primitive_name: "AES-256-CBC decrypt",
            primitive: Box::new(cbc_alone),
        },
    ]
}

/// Runs `work` for at least `MIN_TIME` and returns MB/s for `bytes` per run.
fn throughput(bytes: usize, mut work: impl FnMut()) -> f64 {
    work(); // warm up: caches, the decoder's derived key
    let mut runs: u64 = 0;
    let start = Instant::now();
    while start.elapsed() < MIN_TIME {
        for _ in 0..16 {
            work();
        }
        runs += 16;
    }
    (bytes as f64 * runs as f64) / start.elapsed().as_secs_f64() / 1e6
}

fn main() {
    println!("| case | payload | record value | decode MB/s | primitive alone | primitive MB/s | decode / primitive |");
    println!("|---|---:|---:|---:|---|---:|---:|");
    for (size_name, size) in [("1 KiB", 1024), ("1 MiB", 1024 * 1024)] {
        let payload = payload(size);
        for mut case in cases(&payload) {
            let config = DecoderConfig::from_json(&case.reader).expect("reader settings");
            let decoder = Decoder::new(config).expect("decoder");
            let decoded = decoder.decode(&case.value).expect("decodes");
            assert_eq!(decoded.payload.as_ref(), payload.as_slice(), "{} round trip", case.name);

            let decode = throughput(size, || {
                black_box(decoder.decode(black_box(&case.value)).unwrap());
            });
            let primitive = throughput(size, &mut case.primitive);
            println!(
                "| {} | {size_name} | {} B | {decode:.0} | {} | {primitive:.0} | {:.2} |",
                case.name,
                case.value.len(),
                case.primitive_name,
                decode / primitive
            );
        }
    }
}
