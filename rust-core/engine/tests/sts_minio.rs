//! `aws.sts.role.arn` against a real STS: MinIO, which implements AssumeRole (versitygw does
//! not), started here on a free loopback port (binary from `MINIO` or
//! ~/.cache/sinets3/bin/minio; scripts/install-minio.sh builds it). MinIO checks the request's
//! SigV4 signature for the "sts" service, issues temporary credentials, and checks their
//! session token on every S3 request made with them.

use bytes::Bytes;
use object_store::{CredentialProvider, ObjectStoreExt};
use s3sink_engine::record::{Record, TopicPartition};
use s3sink_engine::{Probe, Sink, SinkConfig};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROOT_USER: &str = "sts-test-root";
const ROOT_PASSWORD: &str = "sts-test-root-password-0123";
const BUCKET: &str = "stsbucket";
const ROLE: &str = "arn:aws:iam::123456789012:role/sinets3-sink";

struct Minio {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

impl Minio {
    fn start() -> Minio {
        let binary = std::env::var_os("MINIO")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/sinets3/bin/minio"));
        assert!(binary.exists(), "minio not found at {} (run scripts/install-minio.sh)", binary.display());
        let data = tempfile::tempdir().unwrap();
        let free = || TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (port, console) = (free(), free());
        let child = Command::new(binary)
            .args(["server", "--quiet", "--address", &format!("127.0.0.1:{port}")])
            .args(["--console-address", &format!("127.0.0.1:{console}")])
            .arg(data.path())
            .env("MINIO_ROOT_USER", ROOT_USER)
            .env("MINIO_ROOT_PASSWORD", ROOT_PASSWORD)
            .env("MINIO_BROWSER", "off")
            .env("MINIO_UPDATE", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start minio");
        let server = Minio { child, port, _data: data };
        // MinIO can say ready and still answer 503 (not initialized) for a little while after,
        // so the bucket's creation is what is waited for.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let created = server.curl(&["-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT"], &format!("/{BUCKET}"));
            if created.ends_with("200") {
                return server;
            }
            assert!(Instant::now() < deadline, "could not create the bucket within 60 s: last HTTP {created}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A request signed with the root credentials; returns what curl printed.
    fn curl(&self, args: &[&str], path: &str) -> String {
        let output = Command::new("curl")
            .args(["-s", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", &format!("{ROOT_USER}:{ROOT_PASSWORD}")])
            .args(["-H", "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"])
            .args(args)
            .arg(format!("{}{path}", self.url()))
            .output()
            .expect("run curl");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Minio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(server: &Minio, secret: &str) -> SinkConfig {
    let url = server.url();
    s3sink_engine::config::test_support::config(&[
        ("s3.bucket.name", BUCKET),
        ("store.url", &url),
        ("aws.access.key.id", ROOT_USER),
        ("aws.secret.access.key", secret),
        ("aws.sts.role.arn", ROLE),
        ("aws.sts.role.session.name", "sts-minio-test"),
        ("sinetstream.user.data.only", "true"),
        ("sink.objects", "payload"),
    ])
    .unwrap()
}

#[test]
fn uploads_use_the_temporary_credentials_of_the_assumed_role() {
    let server = Minio::start();
    let config = config(&server, ROOT_PASSWORD);

    // The provider itself: temporary credentials, not the base ones, kept for the next caller.
    let base = Arc::new(object_store::StaticCredentialProvider::new(object_store::aws::AwsCredential {
        key_id: ROOT_USER.into(),
        secret_key: ROOT_PASSWORD.into(),
        token: None,
    }));
    let options = s3sink_engine::store::client_options(&config.store, true);
    let role = config.store.role.as_ref().unwrap();
    let provider = s3sink_engine::sts::AssumeRole::new(role, &config.store, base, options).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let first = runtime.block_on(provider.get_credential()).unwrap();
    assert_ne!(first.key_id, ROOT_USER);
    assert!(first.token.as_deref().is_some_and(|t| !t.is_empty()), "no session token");
    let again = runtime.block_on(provider.get_credential()).unwrap();
    assert!(Arc::ptr_eq(&first, &again), "asked STS again for credentials valid for an hour");

    // The sink: the start-up probe and the upload go out with them, and MinIO takes them.
    let sink = Sink::start(config, "sts-test|task-0", Probe::Strict).unwrap();
    let tp = TopicPartition::new("t", 0);
    let payload = b"stored with a role's credentials".to_vec();
    let record = Record::untransformed(tp, 0, Some(1_650_245_025_200), Some(Bytes::from(payload.clone())));
    sink.put(vec![record]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while sink.committable().unwrap().first().map(|(_, o)| *o) != Some(1) {
        assert!(Instant::now() < deadline, "not stored within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    sink.close();
    // Read back with the root credentials, through object_store (it signs keys with '+' right).
    let mut root = s3sink_engine::config::test_support::config(&[
        ("s3.bucket.name", BUCKET),
        ("store.url", &server.url()),
        ("aws.access.key.id", ROOT_USER),
        ("aws.secret.access.key", ROOT_PASSWORD),
    ])
    .unwrap()
    .store;
    root.role = None;
    let store = s3sink_engine::store::open_store(&root).unwrap().objects();
    let key = object_store::path::Path::from("topics/t/year=2022/month=04/day=18/hour=01/t+0+0000000000.bin");
    let stored = runtime.block_on(async { store.get(&key).await.unwrap().bytes().await.unwrap() });
    assert_eq!(stored.as_ref(), payload.as_slice());
}

#[test]
fn a_refused_assume_role_fails_the_start_and_says_so() {
    let server = Minio::start();
    let error = match Sink::start(config(&server, "not-the-root-password"), "sts-test|task-0", Probe::Strict) {
        Ok(_) => panic!("started with a wrong secret"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains("AssumeRole") && error.contains(ROLE), "{error}");
    assert!(!error.contains("not-the-root-password"), "{error}");
}
