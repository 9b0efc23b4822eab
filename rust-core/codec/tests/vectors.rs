//! Runs every SINETStream test vector: the project's copy under `tests/vectors/`, and the
//! directory named by `SINETSTREAM_TEST_VECTORS` when set.

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use bytes::Bytes;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sinetstream_codec::{Decoder, DecoderConfig};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
struct Vector {
    name: String,
    reader: serde_json::Value,
    message_b64: String,
    expect: Expect,
}

#[derive(Deserialize)]
struct Expect {
    ok: bool,
    tstamp_us: Option<i64>,
    payload_len: Option<usize>,
    payload_sha256: Option<String>,
    payload_b64: Option<String>,
    error: Option<String>,
}

fn vector_files() -> Vec<PathBuf> {
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")];
    if let Some(extra) = std::env::var_os("SINETSTREAM_TEST_VECTORS") {
        dirs.push(PathBuf::from(extra));
    }
    let mut files = Vec::new();
    for dir in dirs {
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read vector directory {}: {e}", dir.display()));
        let mut jsons: Vec<PathBuf> =
            entries.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
        jsons.sort();
        files.extend(jsons);
    }
    files
}

/// Returns `None` when the vector passes, else why it failed.
fn check(vector: &Vector) -> Option<String> {
    let config = match DecoderConfig::from_json(&vector.reader.to_string()) {
        Ok(c) => c,
        Err(e) => return Some(format!("reader settings refused: {e}")),
    };
    let decoder = match Decoder::new(config) {
        Ok(d) => d,
        Err(e) => return Some(format!("decoder refused settings: {e}")),
    };
    let value = Bytes::from(B64.decode(&vector.message_b64).expect("message_b64"));
    let expect = &vector.expect;
    match (decoder.decode(&value), expect.ok) {
        (Ok(message), true) => {
            let payload = &message.payload;
            if message.timestamp_us != expect.tstamp_us {
                return Some(format!("tstamp {:?} != {:?}", message.timestamp_us, expect.tstamp_us));
            }
            if Some(payload.len()) != expect.payload_len {
                return Some(format!("length {} != {:?}", payload.len(), expect.payload_len));
            }
            let sha = hex(&Sha256::digest(payload));
            if Some(&sha) != expect.payload_sha256.as_ref() {
                return Some(format!("sha256 {sha} differs"));
            }
            if let Some(b64) = &expect.payload_b64 {
                if B64.decode(b64).unwrap() != payload.as_ref() {
                    return Some("payload bytes differ".into());
                }
            }
            None
        }
        (Ok(_), false) => Some(format!("decoded, but expected error {:?}", expect.error)),
        (Err(e), true) => Some(format!("expected a payload, got: {e}")),
        (Err(e), false) => {
            let want = expect.error.as_deref().unwrap_or("");
            (e.kind.as_str() != want).then(|| format!("error kind {} != {want}: {e}", e.kind.as_str()))
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn sinetstream_vectors() {
    let files = vector_files();
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let vector: Vector =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not a test vector: {e}", file.display()));
        if let Some(why) = check(&vector) {
            failures.push(format!("{} ({}): {why}", vector.name, file.display()));
        }
    }
    for failure in &failures {
        println!("FAILED {failure}");
    }
    // Written past the test harness's capture, so that the count shows when all pass too.
    let passed = files.len() - failures.len();
    let summary = format!("sinetstream vectors: {passed} passed, {} failed\n", failures.len());
    std::io::stdout().write_all(summary.as_bytes()).unwrap();
    assert!(!files.is_empty(), "no test vector was read");
    assert!(failures.is_empty(), "{} vectors failed", failures.len());
}
