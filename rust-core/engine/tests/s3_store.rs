//! The engine against a real S3 server: versitygw, started here on a free loopback port
//! (binary from `VERSITYGW` or ~/.cache/sinets3/bin/versitygw; scripts/install-versitygw.sh
//! installs it). Objects are read back from versitygw's directory, byte for byte.

use bytes::Bytes;
use s3sink_engine::record::{Record, TopicPartition};
use s3sink_engine::{Probe, Sink, SinkConfig, SinkError};
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

    /// Multipart uploads in progress (ListMultipartUploads): their keys.
    fn open_multipart_uploads(&self) -> Vec<String> {
        let output = Command::new("curl")
            .args(["-sf", "--aws-sigv4", "aws:amz:us-east-1:s3"])
            .args(["-H", "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"])
            .args(["--user", &format!("{ACCESS}:{SECRET}")])
            .arg(format!("{}/{BUCKET}?uploads=", self.url()))
            .output()
            .expect("run curl");
        assert!(output.status.success(), "ListMultipartUploads failed");
        let listing = String::from_utf8_lossy(&output.stdout).into_owned();
        listing.split("<Key>").skip(1).filter_map(|rest| rest.split("</Key>").next()).map(String::from).collect()
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
    settings(config_json(server, extra))
}

/// The defaults Java sends (s3sink_engine::config::test_support) with the keys of `json` changed.
fn settings(json: serde_json::Value) -> SinkConfig {
    let changes: Vec<(String, String)> =
        json.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
    let changes: Vec<(&str, &str)> = changes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    s3sink_engine::config::test_support::config(&changes).unwrap()
}

fn config_json(server: &Versitygw, extra: serde_json::Value) -> serde_json::Value {
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
    map
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

fn batch(first_offset: i64, payloads: &[Vec<u8>]) -> Vec<Record> {
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let offset = first_offset + i as i64;
            Record::untransformed(partition_0(), offset, Some(RECORD_MS), Some(message(SEND_US + i as i64 * 1000, p)))
        })
        .collect()
}

fn start(config: SinkConfig) -> Sink {
    Sink::start(config, "s3-store-test|task-0", Probe::Strict).unwrap()
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
    let sink = start(config(&server, json!({})));
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
    let sink = start(config(&server, json!({"sink.objects": "payload"})));
    let big: Vec<u8> = (0..12 * 1024 * 1024 + 7).map(|i: usize| (i.wrapping_mul(31) >> 3) as u8).collect();
    sink.put(batch(40, std::slice::from_ref(&big))).unwrap();
    assert_eq!(wait_committed(&sink, 41, Duration::from_secs(60)).unwrap(), 41);
    assert!(server.object(&key(40, ".bin")) == big, "multipart object differs");
    sink.close();
}

/// Topics not configured (topics.regex, a transform's) are checked once when first seen; one
/// whose keys can be too long has every record refused by itself, not the topic at once.
#[test]
fn records_whose_keys_would_be_too_long_are_refused_and_the_rest_stored() {
    let server = Versitygw::start();
    let topics_dir = vec!["d".repeat(199); 3].join("/"); // 599 bytes; no name over the disk's 255

    let sink = start(config(&server, json!({"topics.dir": topics_dir})));
    let long = TopicPartition::new(&"t".repeat(249), 0);
    let record = |tp: &TopicPartition, offset| {
        Record::untransformed(tp.clone(), offset, Some(RECORD_MS), Some(message(SEND_US, b"x")))
    };
    let records = vec![record(&long, 0), record(&partition_0(), 0), record(&long, 1), record(&long, 1_000_000)];
    let outcome = sink.put(records).unwrap();
    assert_eq!(outcome.taken, 4);
    let refused: Vec<(usize, &str)> = outcome.failures.iter().map(|(i, f)| (*i, f.kind)).collect();
    assert_eq!(refused, vec![(0, "key-too-long"), (2, "key-too-long"), (3, "key-too-long")]);
    assert!(outcome.failures[0].1.reason.contains("more than S3's 1024"), "{}", outcome.failures[0].1.reason);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sink.committable().unwrap().contains(&(partition_0(), 1)) {
        assert!(Instant::now() < deadline, "offset 0 of t-0 not stored: {:?}", sink.committable());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.object(&format!("{topics_dir}/t/year=2022/month=04/day=18/hour=10/t+0+0000000000.bin")), b"x");
    sink.close();
}

#[test]
fn flush_size_groups_records_and_names_objects_by_first_offset() {
    let server = Versitygw::start();
    let sink = start(config(&server, json!({"flush.size": "3", "format.bytearray.separator": "\\n"})));
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
    let sink = start(config(&server, json!({})));
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
    let sink = start(config(&server, json!({"upload.retry.timeout.ms": "1000"})));
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
    TopicPartition::new("t", 0)
}

#[test]
fn a_partition_handed_back_by_a_rebalance_starts_afresh_from_what_connect_delivers() {
    let mut server = Versitygw::start();
    let sink = start(config(&server, json!({})));
    server.stop();
    sink.put(batch(0, &[b"a".to_vec(), b"b".to_vec()])).unwrap();
    sink.close_partitions(&[partition_0()]);
    sink.open_partitions(&[partition_0()]);
    // Connect delivers again from the committed offset (0); all of it is taken anew.
    let outcome = sink.put(batch(0, &[b"a".to_vec(), b"b".to_vec(), b"c".to_vec()])).unwrap();
    assert_eq!(outcome.taken, 3);
    server.run();
    assert_eq!(wait_committed(&sink, 3, Duration::from_secs(30)).unwrap(), 3);
    for (offset, content) in [(0, &b"a"[..]), (1, b"b"), (2, b"c")] {
        assert_eq!(server.object(&key(offset, ".bin")), content);
    }
    sink.close();
}

/// The bug this engine once had: a partition revoked while its assignment became empty
/// (Connect calls no open() then) kept its open object, and when the partition came back
/// after another task had stored and committed further, new records were appended to the
/// stale object and uploaded under its old name, over the other task's object.
#[test]
fn state_of_a_revoked_partition_never_comes_back_with_it() {
    let server = Versitygw::start();
    let sink = start(config(&server, json!({"flush.size": "5", "format.bytearray.separator": "\\n"})));
    let first: Vec<Vec<u8>> = (0..3).map(|i| format!("old{i}").into_bytes()).collect();
    sink.put(batch(0, &first)).unwrap(); // an open object [0, 3) of 5
    sink.close_partitions(&[partition_0()]); // revoked; the new assignment is empty
                                             // Meanwhile another task stored [0, 10) and committed 10. The partition comes back:
    sink.open_partitions(&[partition_0()]);
    let later: Vec<Vec<u8>> = (10..15).map(|i| format!("new{i}").into_bytes()).collect();
    sink.put(batch(10, &later)).unwrap();
    assert_eq!(wait_committed(&sink, 15, Duration::from_secs(20)).unwrap(), 15);
    assert_eq!(server.object(&key(10, ".bin")), b"new10\nnew11\nnew12\nnew13\nnew14\n");
    assert!(!server.has_object(&key(0, ".bin")), "the stale object was uploaded");
    assert_eq!(sink.committable().unwrap(), vec![(partition_0(), 15)], "the commit never went back");
    sink.close();
}

/// Connections from this machine to the server's port that are open now (/proc/net/tcp).
fn open_connections_to(server: &Versitygw) -> usize {
    let port = format!(":{:04X}", server.port);
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|fields| fields[2].ends_with(&port) && fields[3] == "01")
        .count()
}

#[test]
fn tasks_writing_to_one_store_share_its_connections() {
    let server = Versitygw::start();
    let first = start(config(&server, json!({})));
    // Uploads at once, so that several connections are idle when the second task starts: its
    // start-up check sends two requests back to back, and one idle connection could be in use.
    let payloads: Vec<Vec<u8>> = (0..16u8).map(|i| vec![i; 64]).collect();
    first.put(batch(0, &payloads)).unwrap();
    assert_eq!(wait_committed(&first, 16, Duration::from_secs(20)).unwrap(), 16);
    std::thread::sleep(Duration::from_millis(200)); // the last connections are back in the pool
    let opened_by_first = open_connections_to(&server);
    assert!(opened_by_first >= 2, "only {opened_by_first} connections for 32 uploads at once");
    let second = Sink::start(config(&server, json!({})), "s3-store-test|task-1", Probe::Strict).unwrap();
    second.put(batch(16, &[b"second".to_vec()])).unwrap();
    assert_eq!(wait_committed(&second, 17, Duration::from_secs(20)).unwrap(), 17);
    let open = open_connections_to(&server);
    assert!(open <= opened_by_first, "the second task opened connections of its own ({open} > {opened_by_first})");
    assert_eq!(server.object(&key(16, ".bin")), b"second");
    first.close();
    second.close();
}

#[test]
fn a_partition_moved_to_another_task_drops_its_pending_uploads() {
    let mut server = Versitygw::start();
    let sink = start(config(&server, json!({})));
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
    match Sink::start(config, "test", Probe::Strict) {
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
    std::env::set_var("SINETS3_ALLOWED_PATHS", std::env::temp_dir());
    let sink = start(settings(map));
    sink.put(batch(5, &[b"on disk".to_vec()])).unwrap();
    assert_eq!(wait_committed(&sink, 6, Duration::from_secs(10)).unwrap(), 6);
    let root = Path::new(dir.path()).join("mybucket");
    assert_eq!(std::fs::read(root.join(key(5, ".bin"))).unwrap(), b"on disk");
    sink.close();
}

/// With the store down, uploads hold the memory bound: `put` takes what fits and hands the
/// rest back instead of closing objects early, so object boundaries stay those of flush.size.
#[test]
fn a_full_memory_bound_holds_records_back_without_changing_object_boundaries() {
    let mut server = Versitygw::start();
    let limit = 1024 * 1024;
    let extra = json!({"flush.size": "4", "upload.max.inflight.bytes": limit.to_string(), "sink.objects": "payload"});
    let sink = start(config(&server, extra));
    server.stop();
    let payloads: Vec<Vec<u8>> = (0..40).map(|i| vec![b'a' + (i % 26) as u8; 100 * 1024]).collect();
    let mut offered = 0;
    let first = sink.put(batch(0, &payloads)).unwrap();
    assert!(
        first.taken < payloads.len(),
        "took {} of {} records of 100 KiB under a 1 MiB bound",
        first.taken,
        payloads.len()
    );
    offered += first.taken;
    server.run();
    let deadline = Instant::now() + Duration::from_secs(60);
    while offered < payloads.len() {
        assert!(Instant::now() < deadline, "the rest was never taken");
        offered += sink.put(batch(offered as i64, &payloads[offered..])).unwrap().taken;
    }
    assert_eq!(wait_committed(&sink, 40, Duration::from_secs(30)).unwrap(), 40);
    for first in (0..40).step_by(4) {
        let expected: Vec<u8> = payloads[first..first + 4].concat();
        assert!(
            server.object(&key(first as i64, ".bin")) == expected,
            "object {first} is not records {first}..{}",
            first + 3
        );
    }
    sink.close();
}

/// A record that alone needs more than the memory bound can never be taken: it is an errant
/// record with the reason, and the records after it are stored.
#[test]
fn a_record_larger_than_the_memory_bound_is_errant_not_waited_for() {
    let server = Versitygw::start();
    let limit = 1024 * 1024;
    let sink =
        start(config(&server, json!({"upload.max.inflight.bytes": limit.to_string(), "sink.objects": "payload"})));
    let payloads = vec![b"before".to_vec(), vec![1u8; 2 * limit], b"after".to_vec()];
    let outcome = sink.put(batch(0, &payloads)).unwrap();
    assert_eq!(outcome.taken, 3, "the records after the large one were not taken");
    let failures: Vec<_> = outcome.failures.iter().map(|(i, f)| (*i, f.kind)).collect();
    assert_eq!(failures, vec![(1, "too-large")]);
    assert!(outcome.failures[0].1.reason.contains("upload.max.inflight.bytes"), "{}", outcome.failures[0].1.reason);
    sink.resolve_failures(&[(partition_0(), 1)]);
    assert_eq!(wait_committed(&sink, 3, Duration::from_secs(20)).unwrap(), 3);
    assert_eq!(server.object(&key(2, ".bin")), b"after");
    assert!(!server.has_object(&key(1, ".bin")));
    sink.close();
}

/// Memory full of open objects that no upload will ever free: closing them early would make
/// boundaries depend on timing, so the task fails with what to change.
#[test]
fn open_objects_alone_filling_memory_fail_the_task_with_advice() {
    let server = Versitygw::start();
    let extra = json!({"flush.size": "1000", "upload.max.inflight.bytes": (1024 * 1024).to_string()});
    let sink = start(config(&server, extra));
    let payloads: Vec<Vec<u8>> = (0..20).map(|_| vec![7u8; 100 * 1024]).collect();
    let error = sink.put(batch(0, &payloads)).unwrap_err();
    assert!(matches!(error, SinkError::OpenObjectsFillMemory { .. }), "{error}");
    assert!(error.to_string().contains("upload.max.inflight.bytes") && error.to_string().contains("flush.size"));
    assert!(!server.has_object(&key(0, ".bin")), "an object was closed early");
    sink.close();
}

/// Records renamed by a transform (RegexRouter) are named by their new topic and committed
/// where Connect consumed them.
#[test]
fn transformed_records_are_named_by_target_and_committed_by_source() {
    let server = Versitygw::start();
    let sink = start(config(&server, json!({})));
    let source = TopicPartition::new("t", 0);
    let records: Vec<Record> = (0..3)
        .map(|i| {
            let mut record = Record::untransformed(source.clone(), i, Some(RECORD_MS), Some(message(SEND_US, b"x")));
            record.target.tp = TopicPartition::new("archive.t", 0);
            record
        })
        .collect();
    sink.put(records).unwrap();
    assert_eq!(wait_committed(&sink, 3, Duration::from_secs(20)).unwrap(), 3);
    assert_eq!(sink.committable().unwrap(), vec![(source, 3)]);
    let renamed = "topics/archive.t/year=2022/month=04/day=18/hour=10/archive.t+0+0000000002.bin";
    assert_eq!(server.object(renamed), b"x");
    sink.close();
}

/// A bucket deleted mid-run is an answer no retry fixes: the task fails at once, naming the
/// object, and commits nothing more.
#[test]
fn a_bucket_deleted_mid_run_fails_fast() {
    let server = Versitygw::start();
    let sink = start(config(&server, json!({})));
    sink.put(batch(0, &[b"before".to_vec()])).unwrap();
    assert_eq!(wait_committed(&sink, 1, Duration::from_secs(20)).unwrap(), 1);
    std::fs::remove_dir_all(server.root.path().join(BUCKET)).unwrap();
    let started = Instant::now();
    sink.put(batch(1, &[b"after".to_vec()])).unwrap();
    let error = loop {
        match sink.committable() {
            Err(e) => break e,
            Ok(offsets) => assert_eq!(offsets, vec![(partition_0(), 1)], "committed past stored data"),
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no failure within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}: retried a permanent error", started.elapsed());
    assert!(
        error.to_string().contains(&key(1, ".bin")) || error.to_string().contains(&key(1, "-timestamp.txt")),
        "{error}"
    );
}

/// Stopping the task cancels its uploads; a multipart upload cut short is aborted, so the
/// store keeps no parts of it, and nothing is written once close() has returned. (A request the
/// store had already taken when the stop came may still finish: then before close() returned.)
#[test]
fn a_stopped_sink_aborts_its_multipart_uploads_and_writes_nothing_after() {
    let server = Versitygw::start();
    let sink = start(config(
        &server,
        json!({"sink.objects": "payload", "upload.max.inflight.bytes": (256 << 20).to_string()}),
    ));
    let big: Vec<u8> = (0..80 * 1024 * 1024).map(|i: usize| (i >> 7) as u8).collect();
    sink.put(batch(0, std::slice::from_ref(&big))).unwrap();
    std::thread::sleep(Duration::from_millis(30)); // the upload has begun
    sink.close();
    let stopped = std::time::SystemTime::now();
    std::thread::sleep(Duration::from_millis(500));
    let path = server.root.path().join(BUCKET).join(key(0, ".bin"));
    if let Ok(meta) = std::fs::metadata(&path) {
        assert!(meta.modified().unwrap() <= stopped, "an object was stored after the stop");
    }
    let uploads = server.open_multipart_uploads();
    assert!(uploads.is_empty(), "multipart uploads left open: {uploads:?}");
}

/// zstd bombs: a few KB each that expand to more than the decompression limit are errant
/// records with a reason, never an abort; those that expand within it are stored, each
/// waiting for room under the memory bound.
#[test]
fn decompression_bombs_are_errant_records_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("SINETS3_ALLOWED_PATHS", std::env::temp_dir());
    let limit = 8 * 1024 * 1024;
    let map = json!({
        "s3.bucket.name": "mybucket",
        "store.url": format!("file://{}", dir.path().display()),
        "timezone": "Asia/Tokyo",
        "sink.objects": "payload",
        "upload.max.inflight.bytes": limit.to_string(),
        "sinetstream.compression.algorithm": "zstd",
        "sinetstream.max.decompressed.bytes": (4 * 1024 * 1024).to_string(),
    });
    let sink = start(settings(map));
    let fits = zstd::encode_all(&vec![0u8; 3 * 1024 * 1024][..], 19).unwrap();
    let bomb = zstd::encode_all(&vec![0u8; 64 * 1024 * 1024][..], 19).unwrap();
    assert!(bomb.len() < 16 * 1024, "a bomb of {} bytes", bomb.len());
    let values: Vec<&[u8]> = (0..60).map(|i| if i % 2 == 0 { &fits[..] } else { &bomb[..] }).collect();
    let mut failures = Vec::new();
    let mut taken = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while taken < values.len() {
        assert!(Instant::now() < deadline, "the records were never all taken");
        let records = values[taken..]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let offset = (taken + i) as i64;
                Record::untransformed(partition_0(), offset, Some(RECORD_MS), Some(message(SEND_US, v)))
            })
            .collect();
        let outcome = sink.put(records).unwrap();
        failures.extend(outcome.failures.iter().map(|(i, f)| (taken + i, f.kind, f.reason.clone())));
        taken += outcome.taken;
        assert!(sink.gauges().inflight_bytes as usize <= limit);
    }
    assert_eq!(failures.len(), 30, "every bomb is errant");
    assert!(
        failures
            .iter()
            .all(|(i, kind, reason)| i % 2 == 1 && *kind == "decompress" && reason.contains("max_decompressed_bytes")),
        "{failures:?}"
    );
    let errant: Vec<_> = failures.iter().map(|(i, _, _)| (partition_0(), *i as i64)).collect();
    sink.resolve_failures(&errant);
    assert_eq!(wait_committed(&sink, 60, Duration::from_secs(30)).unwrap(), 60);
    let stored = std::fs::read(dir.path().join("mybucket").join(key(58, ".bin"))).unwrap();
    assert_eq!(stored.len(), 3 * 1024 * 1024);
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
    let sink = start(config(&server, extra.clone()));
    let payloads: Vec<Vec<u8>> = (0..8).map(|i| format!("r{i}").into_bytes()).collect();
    sink.put(batch(0, &payloads)).unwrap();
    assert_eq!(wait_committed(&sink, 6, Duration::from_secs(20)).unwrap(), 6);
    sink.close();
    let json = config_json(&server, extra);

    let report = s3sink_engine::verify::run(settings(json.clone()), &plan(6)).unwrap();
    assert!(report.is_complete(), "{}", report.text());
    assert_eq!(report.summary(), "verified 6 offsets in 4 objects: 0 missing, 0 duplicated, 0 orphaned");

    std::fs::remove_file(server.root.path().join(BUCKET).join(key(3, "-timestamp.txt"))).unwrap();
    let report = s3sink_engine::verify::run(settings(json.clone()), &plan(6)).unwrap();
    assert_eq!(report.summary(), "verified 6 offsets in 3 objects: 0 missing, 0 duplicated, 1 orphaned");
    let orphan = format!("t-0: offsets 3-5: no timestamp object beside {}", key(3, ".bin"));
    assert!(report.lines.contains(&orphan), "{}", report.text());

    std::fs::remove_file(server.root.path().join(BUCKET).join(key(3, ".bin"))).unwrap();
    let report = s3sink_engine::verify::run(settings(json.clone()), &plan(8)).unwrap();
    assert_eq!(report.summary(), "verified 8 offsets in 2 objects: 5 missing, 0 duplicated, 0 orphaned");
    assert!(report.lines.contains(&"t-0: missing offsets (in no object): 3-7".to_string()), "{}", report.text());
}

#[test]
fn verify_fails_when_the_store_refuses_or_is_gone() {
    let mut server = Versitygw::start();
    let wrong = config_json(&server, json!({"aws.secret.access.key": "wrong-secret-for-verify"}));
    let error = s3sink_engine::verify::run(settings(wrong), &plan(1)).unwrap_err();
    assert!(matches!(&error, SinkError::Config { key, .. } if key == "aws.secret.access.key"), "{error}");
    assert!(!error.to_string().contains("wrong-secret-for-verify"), "{error}");
    server.stop();
    let error = s3sink_engine::verify::run(settings(config_json(&server, json!({}))), &plan(1)).unwrap_err();
    assert!(error.to_string().contains("cannot reach"), "{error}");
}

/// An errant record ends the open object: every object holds consecutive offsets, so
/// [first, first + lines of its timestamp object) is exactly what it covers.
#[test]
fn an_errant_record_ends_the_open_object() {
    let server = Versitygw::start();
    let sink = start(config(&server, json!({"flush.size": "3", "format.bytearray.separator": "\\n"})));
    let mut records =
        batch(0, &[b"a".to_vec(), b"b".to_vec(), b"-".to_vec(), b"d".to_vec(), b"e".to_vec(), b"f".to_vec()]);
    records[2].value = Some(Bytes::from_static(b"not a SINETStream message"));
    let outcome = sink.put(records).unwrap();
    assert_eq!(outcome.failures.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![2]);
    sink.resolve_failures(&[(partition_0(), 2)]);
    assert_eq!(wait_committed(&sink, 6, Duration::from_secs(20)).unwrap(), 6);
    assert_eq!(server.object(&key(0, ".bin")), b"a\nb\n");
    assert_eq!(server.object(&key(0, "-timestamp.txt")).iter().filter(|&&b| b == b'\n').count(), 2);
    assert_eq!(server.object(&key(3, ".bin")), b"d\ne\nf\n");
    sink.close();
}
