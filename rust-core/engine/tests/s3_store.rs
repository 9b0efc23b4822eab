//! The engine against a real S3 server: versitygw, started here on a free loopback port
//! (binary from `VERSITYGW` or ~/.cache/sinets3/bin/versitygw; scripts/install-versitygw.sh
//! installs it). Objects are read back from versitygw's directory, byte for byte.

use bytes::Bytes;
use s3sink_engine::record::{encode_batch, RecordRef, TopicPartition};
use s3sink_engine::{Sink, SinkConfig, SinkError};
use serde_json::json;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ACCESS: &str = "engine-test-access";
const SECRET: &str = "engine-test-secret-0123456789";
const BUCKET: &str = "enginebucket";
const SEND_US: i64 = 1_650_245_025_123_456; // 2022-04-18T01:23:45.123456Z
const RECORD_MS: i64 = 1_650_245_025_200;
const DIR: &str = "topics/t/year=2022/month=04/day=18/hour=10";

struct Versitygw {
    child: Option<Child>,
    port: u16,
    root: tempfile::TempDir,
}

impl Versitygw {
    fn start() -> Versitygw {
        let root = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = Versitygw { child: None, port, root };
        server.run();
        server.create_bucket();
        server
    }

    fn binary() -> PathBuf {
        std::env::var_os("VERSITYGW")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/sinets3/bin/versitygw"))
    }

    fn run(&mut self) {
        let binary = Self::binary();
        assert!(binary.exists(), "versitygw not found at {} (run scripts/install-versitygw.sh)", binary.display());
        let child = Command::new(binary)
            .args(["--port", &format!("127.0.0.1:{}", self.port), "--access", ACCESS, "--secret", SECRET])
            .args(["--quiet", "--keep-alive", "posix"])
            .arg(self.root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start versitygw");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "versitygw did not listen within 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn create_bucket(&self) {
        let status = Command::new("curl")
            .args(["-sf", "-o", "/dev/null", "-X", "PUT", "--aws-sigv4", "aws:amz:us-east-1:s3"])
            // SHA-256 of the empty body, which versitygw insists on seeing.
            .args(["-H", "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"])
            .args(["--user", &format!("{ACCESS}:{SECRET}")])
            .arg(format!("{}/{BUCKET}", self.url()))
            .status()
            .expect("run curl");
        assert!(status.success(), "could not create the bucket");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn has_object(&self, key: &str) -> bool {
        self.root.path().join(BUCKET).join(key).exists()
    }

    fn object(&self, key: &str) -> Vec<u8> {
        let path = self.root.path().join(BUCKET).join(key);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

impl Drop for Versitygw {
    fn drop(&mut self) {
        self.stop();
    }
}

fn config(server: &Versitygw, extra: serde_json::Value) -> SinkConfig {
    SinkConfig::from_json(&config_json(server, extra)).unwrap()
}

fn config_json(server: &Versitygw, extra: serde_json::Value) -> String {
    let mut map = json!({
        "s3.bucket.name": BUCKET,
        "store.url": server.url(),
        "aws.access.key.id": ACCESS,
        "aws.secret.access.key": SECRET,
        "timezone": "Asia/Tokyo",
        "format.bytearray.extension": ".bin",
        "s3.part.size": (5 * 1024 * 1024).to_string(),
    });
    for (k, v) in extra.as_object().unwrap() {
        map[k] = v.clone();
    }
    map.to_string()
}

/// A SINETStream v3 message with a plain Avro body.
fn message(send_us: i64, payload: &[u8]) -> Bytes {
    let mut out = vec![0xDF, 0x03, 0, 0, 0, 0, 0xC3, 0x01, 0x1F, 0x9C, 0x0C, 0x91, 0xEB, 0x33, 0x66, 0x4F];
    for value in [send_us, payload.len() as i64] {
        let mut z = ((value << 1) ^ (value >> 63)) as u64;
        while z >= 0x80 {
            out.push((z as u8 & 0x7F) | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
    }
    out.extend_from_slice(payload);
    Bytes::from(out)
}

fn batch(first_offset: i64, payloads: &[Vec<u8>]) -> Bytes {
    let records: Vec<_> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| RecordRef {
            tp: TopicPartition { topic: "t".into(), partition: 0 },
            offset: first_offset + i as i64,
            timestamp_ms: Some(RECORD_MS),
            value: Some(message(SEND_US + i as i64 * 1000, p)),
        })
        .collect();
    Bytes::from(encode_batch(&records))
}

fn wait_committed(sink: &Sink, wanted: i64, within: Duration) -> Result<i64, SinkError> {
    let deadline = Instant::now() + within;
    loop {
        let offset = sink.committable()?.first().map(|(_, o)| *o).unwrap_or(-1);
        if offset >= wanted || Instant::now() > deadline {
            return Ok(offset);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn key(offset: i64, ending: &str) -> String {
    format!("{DIR}/t+0+{offset:010}{ending}")
}

#[test]
fn small_objects_are_single_puts_stored_byte_exact() {
    let server = Versitygw::start();
    let sink = Sink::start(config(&server, json!({}))).unwrap();
    let payloads = vec![b"{\"a\":1}".to_vec(), vec![], (0..=255u8).collect()];
    sink.put(batch(0, &payloads)).unwrap();
    assert_eq!(wait_committed(&sink, 3, Duration::from_secs(20)).unwrap(), 3);
    for (i, payload) in payloads.iter().enumerate() {
        assert_eq!(&server.object(&key(i as i64, ".bin")), payload);
    }
    assert_eq!(server.object(&key(0, "-timestamp.txt")), b"2022-04-18T01:23:45.123\n");
    assert_eq!(server.object(&key(2, "-timestamp.txt")), b"2022-04-18T01:23:45.125\n");
    sink.close();
}

#[test]
fn objects_above_the_part_size_go_multipart() {
    let server = Versitygw::start();
    let sink = Sink::start(config(&server, json!({"sink.objects": "payload"}))).unwrap();
    let big: Vec<u8> = (0..12 * 1024 * 1024 + 7).map(|i: usize| (i.wrapping_mul(31) >> 3) as u8).collect();
    sink.put(batch(40, std::slice::from_ref(&big))).unwrap();
    assert_eq!(wait_committed(&sink, 41, Duration::from_secs(60)).unwrap(), 41);
    assert!(server.object(&key(40, ".bin")) == big, "multipart object differs");
    sink.close();
}

#[test]
fn flush_size_groups_records_and_names_objects_by_first_offset() {
    let server = Versitygw::start();
    let sink = Sink::start(config(&server, json!({"flush.size": "3", "format.bytearray.separator": "\\n"}))).unwrap();
    let payloads: Vec<Vec<u8>> = (0..7).map(|i| format!("r{i}").into_bytes()).collect();
    sink.put(batch(10, &payloads)).unwrap();
    // 10..12 and 13..15 are full; 16 waits for more records.
    assert_eq!(wait_committed(&sink, 16, Duration::from_secs(20)).unwrap(), 16);
    assert_eq!(server.object(&key(10, ".bin")), b"r0\nr1\nr2\n");
    assert_eq!(server.object(&key(13, ".bin")), b"r3\nr4\nr5\n");
    let lines = String::from_utf8(server.object(&key(13, "-timestamp.txt"))).unwrap();
    assert_eq!(lines, "2022-04-18T01:23:45.126\n2022-04-18T01:23:45.127\n2022-04-18T01:23:45.128\n");
    sink.close();
}

#[test]
fn uploads_are_retried_while_the_store_is_down() {
    let mut server = Versitygw::start();
    let sink = Sink::start(config(&server, json!({}))).unwrap();
    server.stop();
    sink.put(batch(0, &[b"during outage".to_vec()])).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(wait_committed(&sink, 1, Duration::ZERO).unwrap(), 0, "committed while the store was down");
    server.run();
    assert_eq!(wait_committed(&sink, 1, Duration::from_secs(30)).unwrap(), 1);
    assert_eq!(server.object(&key(0, ".bin")), b"during outage");
    sink.close();
}

#[test]
fn an_upload_that_keeps_failing_fails_the_sink_without_committing() {
    let mut server = Versitygw::start();
    let sink = Sink::start(config(&server, json!({"upload.retry.timeout.ms": "1000"}))).unwrap();
    server.stop();
    sink.put(batch(0, &[b"lost store".to_vec()])).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let error = loop {
        match sink.committable() {
            Err(e) => break e,
            Ok(offsets) => assert!(offsets.iter().all(|(_, o)| *o == 0), "committed {offsets:?}"),
        }
        assert!(Instant::now() < deadline, "the failure was never reported");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(matches!(error, SinkError::UploadFailed { .. }), "{error}");
    assert!(sink.put(batch(1, &[b"more".to_vec()])).is_err());
}

fn partition_0() -> TopicPartition {
    TopicPartition { topic: "t".into(), partition: 0 }
}

#[test]
fn a_partition_handed_back_by_a_rebalance_keeps_what_it_took() {
    let mut server = Versitygw::start();
    let sink = Sink::start(config(&server, json!({}))).unwrap();
    server.stop();
    sink.put(batch(0, &[b"a".to_vec(), b"b".to_vec()])).unwrap();
    sink.close_partitions(&[partition_0()]);
    sink.open_partitions(&[partition_0()]);
    // Connect delivers again from the committed offset; the second copy must not be stored.
    sink.put(batch(0, &[b"a".to_vec(), b"second copy".to_vec(), b"c".to_vec()])).unwrap();
    server.run();
    assert_eq!(wait_committed(&sink, 3, Duration::from_secs(30)).unwrap(), 3);
    assert_eq!(server.object(&key(1, ".bin")), b"b");
    assert_eq!(server.object(&key(2, ".bin")), b"c");
    sink.close();
}

#[test]
fn a_partition_moved_to_another_task_drops_its_pending_uploads() {
    let mut server = Versitygw::start();
    let sink = Sink::start(config(&server, json!({}))).unwrap();
    server.stop();
    sink.put(batch(0, &[b"moved".to_vec()])).unwrap();
    sink.close_partitions(&[partition_0()]);
    sink.open_partitions(&[]);
    // Longer than one failed attempt and its backoff: the retry loop has seen the move.
    std::thread::sleep(Duration::from_secs(2));
    server.run();
    std::thread::sleep(Duration::from_secs(1));
    assert!(!server.has_object(&key(0, ".bin")), "an upload went on for a partition this task lost");
    assert!(sink.committable().unwrap().is_empty());
    sink.close();
}

fn start_error_key(config: SinkConfig) -> String {
    match Sink::start(config) {
        Err(SinkError::Config { key, message }) => {
            assert!(!message.contains(SECRET), "secret in: {message}");
            key
        }
        Err(other) => panic!("not a config error: {other}"),
        Ok(_) => panic!("started with a bad configuration"),
    }
}

#[test]
fn wrong_secret_and_missing_bucket_name_their_keys() {
    let server = Versitygw::start();
    assert_eq!(
        start_error_key(config(&server, json!({"aws.secret.access.key": "wrong-secret"}))),
        "aws.secret.access.key"
    );
    assert_eq!(start_error_key(config(&server, json!({"s3.bucket.name": "nosuchbucket"}))), "s3.bucket.name");
}

#[test]
fn local_directory_store_writes_plain_files() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let map = json!({"s3.bucket.name": "mybucket", "store.url": url, "timezone": "Asia/Tokyo"});
    let sink = Sink::start(SinkConfig::from_json(&map.to_string()).unwrap()).unwrap();
    sink.put(batch(5, &[b"on disk".to_vec()])).unwrap();
    assert_eq!(wait_committed(&sink, 6, Duration::from_secs(10)).unwrap(), 6);
    let root = Path::new(dir.path()).join("mybucket");
    assert_eq!(std::fs::read(root.join(key(5, ".bin"))).unwrap(), b"on disk");
    sink.close();
}

/// What verify.sh hands the engine: one connector writing both kinds, committed up to `offset`.
fn plan(offset: i64) -> String {
    let offsets = json!({"offsets": [{"partition": {"kafka_topic": "t", "kafka_partition": 0},
                                      "offset": {"kafka_offset": offset}}]});
    json!({"topics": ["t"], "connectors": [{"name": "s3-sink", "objects": "payload,timestamp", "offsets": offsets}]})
        .to_string()
}

#[test]
fn verify_reads_back_what_the_sink_stored() {
    let server = Versitygw::start();
    let extra = json!({"flush.size": "3"});
    let sink = Sink::start(config(&server, extra.clone())).unwrap();
    let payloads: Vec<Vec<u8>> = (0..8).map(|i| format!("r{i}").into_bytes()).collect();
    sink.put(batch(0, &payloads)).unwrap();
    assert_eq!(wait_committed(&sink, 6, Duration::from_secs(20)).unwrap(), 6);
    sink.close();
    let json = config_json(&server, extra);

    let report = s3sink_engine::verify::run(&json, &plan(6)).unwrap();
    assert!(report.is_complete(), "{}", report.text());
    assert_eq!(report.summary(), "verified 6 offsets in 4 objects: 0 missing, 0 duplicated, 0 orphaned");

    std::fs::remove_file(server.root.path().join(BUCKET).join(key(3, "-timestamp.txt"))).unwrap();
    let report = s3sink_engine::verify::run(&json, &plan(6)).unwrap();
    assert_eq!(report.summary(), "verified 6 offsets in 3 objects: 0 missing, 0 duplicated, 1 orphaned");
    let orphan = format!("t-0: offsets 3-5: no timestamp object beside {}", key(3, ".bin"));
    assert!(report.lines.contains(&orphan), "{}", report.text());

    std::fs::remove_file(server.root.path().join(BUCKET).join(key(3, ".bin"))).unwrap();
    let report = s3sink_engine::verify::run(&json, &plan(8)).unwrap();
    assert_eq!(report.summary(), "verified 8 offsets in 2 objects: 5 missing, 0 duplicated, 0 orphaned");
    assert!(report.lines.contains(&"t-0: missing offsets (in no object): 3-7".to_string()), "{}", report.text());
}

#[test]
fn verify_fails_when_the_store_refuses_or_is_gone() {
    let mut server = Versitygw::start();
    let wrong = config_json(&server, json!({"aws.secret.access.key": "wrong-secret-for-verify"}));
    let error = s3sink_engine::verify::run(&wrong, &plan(1)).unwrap_err();
    assert!(matches!(&error, SinkError::Config { key, .. } if key == "aws.secret.access.key"), "{error}");
    assert!(!error.to_string().contains("wrong-secret-for-verify"), "{error}");
    server.stop();
    let error = s3sink_engine::verify::run(&config_json(&server, json!({})), &plan(1)).unwrap_err();
    assert!(error.to_string().contains("cannot reach"), "{error}");
}
