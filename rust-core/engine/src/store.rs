//! The object stores: Amazon S3 or an S3-compatible server through `object_store`, or a
//! local directory of plain files. How objects are uploaded is `upload.rs`; this file builds
//! the clients and checks at start that the store answers.

use crate::attributes::{FileKind, ObjectAttributes};
use crate::config::{Encryption, StoreConfig, StoreLocation};
use crate::connections::SharedConnector;
use crate::error::SinkError;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::multipart::MultipartStore;
use object_store::path::Path;
use object_store::{BackoffConfig, Certificate, ClientOptions, ObjectStore, RetryConfig};
use std::sync::Arc;
use std::time::Duration;

/// Where objects go.
#[derive(Clone)]
pub enum Store {
    S3(Arc<AmazonS3>),
    Directory(Arc<LocalFileSystem>),
}

impl Store {
    /// The store as `object_store` sees it, for listing and plain PUTs.
    pub fn objects(&self) -> Arc<dyn ObjectStore> {
        match self {
            Store::S3(s3) => s3.clone(),
            Store::Directory(dir) => dir.clone(),
        }
    }
}

/// Where the S3 credentials come from, for the start-up log (never the secret itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    ConnectorConfig,
    WorkerEnvironment,
    /// The default AWS chain: web identity (IRSA), ECS/EKS container credentials, or the
    /// instance metadata service, whichever the worker's environment provides.
    DefaultChain,
    None,
}

pub fn open_store(config: &StoreConfig) -> Result<Store, SinkError> {
    match &config.location {
        StoreLocation::Directory(dir) => open_directory(dir, &config.bucket),
        StoreLocation::S3 { endpoint } => open_s3(config, endpoint.as_deref()),
    }
}

fn open_directory(dir: &std::path::Path, bucket: &str) -> Result<Store, SinkError> {
    let root = dir.join(bucket);
    std::fs::create_dir_all(&root)
        .map_err(|e| SinkError::config("store.url", format!("cannot create directory {}: {e}", root.display())))?;
    let store = LocalFileSystem::new_with_prefix(&root)
        .map_err(|e| SinkError::config("store.url", format!("cannot use directory {}: {e}", root.display())))?
        .with_fsync(true);
    Ok(Store::Directory(Arc::new(store)))
}

/// Only what the connector's configuration names, plus the worker's credential chain: the
/// worker's other AWS_* settings (endpoint, signing, encryption) never change where or how
/// objects are written.
fn open_s3(config: &StoreConfig, endpoint: Option<&str>) -> Result<Store, SinkError> {
    let client_error = |e: object_store::Error| {
        let key = if config.trust.ca_file.is_some() { "s3.ssl.ca.file" } else { "store.url" };
        SinkError::config(key, format!("cannot configure the S3 client: {}", describe(&e)))
    };
    let mut builder = s3_builder(config, endpoint)?;
    if let Some(role) = &config.role {
        // The role is assumed with the credentials the builder would use itself.
        let base = builder.clone().build().map_err(client_error)?.credentials().clone();
        let sts =
            crate::sts::AssumeRole::new(role, config, base, client_options(config, role_endpoint_is_http(config)))
                .map_err(|e| SinkError::config("aws.sts.role.arn", e))?;
        builder = builder.with_credentials(Arc::new(sts));
    }
    let store = builder.build().map_err(client_error)?;
    Ok(Store::S3(Arc::new(store)))
}

fn role_endpoint_is_http(config: &StoreConfig) -> bool {
    crate::sts::endpoint(config).is_some_and(|url| url.starts_with("http://"))
}

/// Idle connections kept per store: as many as `upload.concurrency` allows at most, so that
/// the connections of a burst of uploads are reused instead of being closed and opened again.
const IDLE_CONNECTIONS_PER_STORE: usize = 1024;

/// The client's connection settings, for the store and for STS alike.
pub fn client_options(config: &StoreConfig, allow_http: bool) -> ClientOptions {
    let mut options = ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(120))
        .with_pool_max_idle_per_host(IDLE_CONNECTIONS_PER_STORE)
        .with_allow_http(allow_http);
    for der in config.trust.certificates() {
        if let Ok(certificate) = Certificate::from_der(der) {
            options = options.with_root_certificate(certificate);
        }
    }
    if let Some(proxy) = &config.proxy_url {
        options = options.with_proxy_url(proxy);
    }
    options
}

fn s3_builder(config: &StoreConfig, endpoint: Option<&str>) -> Result<AmazonS3Builder, SinkError> {
    let mut builder = AmazonS3Builder::new()
        .with_http_connector(SharedConnector::trusting(config.trust.certificates()))
        .with_bucket_name(&config.bucket)
        .with_region(&config.region)
        .with_client_options(client_options(config, endpoint.is_some_and(|url| url.starts_with("http://"))))
        // upload.rs retries with its own deadline, backoff and throttling feedback; a second
        // retry loop inside the client would hide the store's answers from it.
        .with_retry(RetryConfig { backoff: BackoffConfig::default(), max_retries: 0, retry_timeout: Duration::ZERO })
        .with_unsigned_payload(config.unsigned_payload);
    if let Some(url) = endpoint {
        builder = builder.with_endpoint(url).with_virtual_hosted_style_request(!config.path_style);
    }
    if let Some(checksum) = config.checksum {
        builder = builder.with_checksum_algorithm(checksum);
    }
    builder = with_encryption(builder, &config.encryption)?;
    builder = match credentials(config) {
        Some(keys) => {
            let builder = builder.with_access_key_id(keys.key).with_secret_access_key(keys.secret);
            match keys.token {
                Some(token) => builder.with_token(token),
                None => builder,
            }
        }
        None => with_credential_chain(builder),
    };
    Ok(builder)
}

fn with_encryption(builder: AmazonS3Builder, encryption: &Encryption) -> Result<AmazonS3Builder, SinkError> {
    let key = |name: &str| name.parse::<AmazonS3ConfigKey>().expect("a key object_store 0.14 knows");
    let kind = "aws_server_side_encryption";
    Ok(match encryption {
        Encryption::BucketDefault => builder,
        Encryption::S3Managed => builder.with_config(key(kind), "AES256"),
        Encryption::Kms { key_id, dual_layer } => {
            let builder = builder.with_config(key(kind), if *dual_layer { "aws:kms:dsse" } else { "aws:kms" });
            match key_id {
                Some(id) => builder.with_config(key("aws_sse_kms_key_id"), id),
                None => builder,
            }
        }
        Encryption::Customer { key_base64 } => builder.with_ssec_encryption(key_base64.trim()),
    })
}

/// The worker environment variables of the AWS default credential chain that object_store
/// reads from its builder.
const CREDENTIAL_CHAIN: [(&str, AmazonS3ConfigKey); 8] = [
    ("AWS_WEB_IDENTITY_TOKEN_FILE", AmazonS3ConfigKey::WebIdentityTokenFile),
    ("AWS_ROLE_ARN", AmazonS3ConfigKey::RoleArn),
    ("AWS_ROLE_SESSION_NAME", AmazonS3ConfigKey::RoleSessionName),
    ("AWS_ENDPOINT_URL_STS", AmazonS3ConfigKey::StsEndpoint),
    ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", AmazonS3ConfigKey::ContainerCredentialsRelativeUri),
    ("AWS_CONTAINER_CREDENTIALS_FULL_URI", AmazonS3ConfigKey::ContainerCredentialsFullUri),
    ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", AmazonS3ConfigKey::ContainerAuthorizationTokenFile),
    ("AWS_METADATA_ENDPOINT", AmazonS3ConfigKey::MetadataEndpoint),
];

fn with_credential_chain(mut builder: AmazonS3Builder) -> AmazonS3Builder {
    for (variable, key) in CREDENTIAL_CHAIN {
        if let Some(value) = env(variable) {
            builder = builder.with_config(key, value);
        }
    }
    builder
}

struct StaticKeys {
    key: String,
    secret: String,
    token: Option<String>,
    source: CredentialSource,
}

/// Connector keys first, then the worker's environment (the seed's `AWS_SECRET_KEY`
/// included); `None` leaves the default AWS chain to object_store.
fn credentials(config: &StoreConfig) -> Option<StaticKeys> {
    if let (Some(key), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
        let token = None;
        return Some(StaticKeys {
            key: key.clone(),
            secret: secret.clone(),
            token,
            source: CredentialSource::ConnectorConfig,
        });
    }
    let key = config.access_key_id.clone().or_else(|| env("AWS_ACCESS_KEY_ID"))?;
    let secret =
        config.secret_access_key.clone().or_else(|| env("AWS_SECRET_ACCESS_KEY")).or_else(|| env("AWS_SECRET_KEY"))?;
    Some(StaticKeys { key, secret, token: env("AWS_SESSION_TOKEN"), source: CredentialSource::WorkerEnvironment })
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub fn credential_source(config: &StoreConfig) -> CredentialSource {
    match (&config.location, credentials(config)) {
        (StoreLocation::Directory(_), _) => CredentialSource::None,
        (_, Some(keys)) => keys.source,
        (_, None) => CredentialSource::DefaultChain,
    }
}

/// Encryption, checksum, trust and proxy in a few words, for the start-up log (no secret).
pub fn describe_settings(config: &StoreConfig) -> String {
    let trust = &config.trust;
    let mut text = format!("encryption {:?}", config.encryption);
    if let Some(checksum) = config.checksum {
        text.push_str(&format!(", checksum {checksum}"));
    }
    if config.unsigned_payload {
        text.push_str(", unsigned payload");
    }
    if let Some(file) = &trust.ca_file {
        text.push_str(&format!(", CAs of {}", file.display()));
    }
    if !trust.jvm_certificates.is_empty() || trust.jvm_skipped > 0 {
        text.push_str(&format!(
            ", {} CAs of the JVM's truststore ({} left out)",
            trust.jvm_certificates.len(),
            trust.jvm_skipped
        ));
    }
    if config.proxy_url.is_some() {
        text.push_str(", through s3.proxy.url");
    }
    text
}

/// The access key in use, for messages; never the secret.
pub fn access_key_label(config: &StoreConfig) -> String {
    credentials(config).map(|keys| format!("'{}'", keys.key)).unwrap_or_else(|| "of the default AWS chain".into())
}

/// Why the start-up check failed.
pub struct ProbeFailure {
    pub error: SinkError,
    /// The store did not answer at all (as opposed to refusing our credentials or bucket).
    pub unreachable: bool,
}

/// The name the start-up probe creates (and at once aborts) a multipart upload under.
const PROBE_NAME: &str = ".sinetstream-s3-sink-probe";
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Checks that the store answers and takes our credentials, naming the connector key to fix
/// when it does not. On S3 it starts a multipart upload with the headers of a payload object
/// and aborts it: that needs only what uploads need (s3:PutObject, s3:AbortMultipartUpload,
/// s3:PutObjectTagging with tags, the KMS key with SSE-KMS), checks the encryption and the
/// other headers, and leaves nothing in the bucket.
pub async fn probe(
    store: &Store,
    config: &StoreConfig,
    prefix: &str,
    attributes: &ObjectAttributes,
) -> Result<(), ProbeFailure> {
    let Store::S3(s3) = store else { return probe_listing(store, config, prefix).await };
    let path = Path::from(prefix).join(PROBE_NAME);
    let send_time = attributes.send_time_metadata.then_some("1970-01-01T00:00:00.000");
    let options = attributes.multipart_options(FileKind::Payload, send_time);
    let id = within_timeout(config, s3.create_multipart_opts(&path, options))
        .await?
        .map_err(|e| probe_failure(&e, config, "CreateMultipartUpload"))?;
    within_timeout(config, s3.abort_multipart(&path, &id))
        .await?
        .map_err(|e| probe_failure(&e, config, "AbortMultipartUpload"))
}

/// Checks that the store answers to a listing under `prefix` (what verify needs).
pub async fn probe_listing(store: &Store, config: &StoreConfig, prefix: &str) -> Result<(), ProbeFailure> {
    let prefix = Path::from(prefix);
    let objects = store.objects();
    within_timeout(config, objects.list_with_delimiter(Some(&prefix)))
        .await?
        .map(|_| ())
        .map_err(|e| probe_failure(&e, config, "ListObjectsV2"))
}

async fn within_timeout<T>(
    config: &StoreConfig,
    request: impl std::future::Future<Output = T>,
) -> Result<T, ProbeFailure> {
    tokio::time::timeout(PROBE_TIMEOUT, request).await.map_err(|_| ProbeFailure {
        error: SinkError::config(
            "store.url",
            format!("{} did not answer within {PROBE_TIMEOUT:?}", config.location_text()),
        ),
        unreachable: true,
    })
}

fn probe_failure(error: &object_store::Error, config: &StoreConfig, request: &str) -> ProbeFailure {
    let location = config.location_text();
    let text = describe(error);
    let answer = summarize_answer(&text);
    let refused = || {
        let keys = access_key_label(config);
        let message = if assume_role_request(&text).is_some() {
            format!("the role's credentials could not be had with access key {keys}: {answer}")
        } else {
            format!("{location} refused {request} with the credentials of access key {keys}: {answer}")
        };
        SinkError::config("aws.secret.access.key", message)
    };
    let no_bucket =
        || SinkError::config("s3.bucket.name", format!("bucket '{}' does not exist at {location}", config.bucket));
    let failure = |error| ProbeFailure { error, unreachable: false };
    match error {
        _ if text.contains("invalid peer certificate") => failure(untrusted_certificate(config, &text)),
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            failure(refused())
        }
        object_store::Error::NotFound { .. } => failure(no_bucket()),
        _ if text.contains("NoSuchBucket") => failure(no_bucket()),
        _ if ["SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied"].iter().any(|c| text.contains(c)) => {
            failure(refused())
        }
        _ if text.contains("status code: 4") => failure(SinkError::config(
            key_of_refusal(&text),
            format!("{location} refused {request} as the connector's uploads will make it: {answer}"),
        )),
        _ => ProbeFailure {
            error: SinkError::config("store.url", format!("cannot reach {location}: {answer}")),
            unreachable: true,
        },
    }
}

/// The key whose header a store's 4xx answer is about, by its S3 error code.
fn key_of_refusal(text: &str) -> &'static str {
    const BY_CODE: [(&str, &str); 6] = [
        ("InvalidStorageClass", "s3.storage.class"),
        ("InvalidTag", "s3.object.tagging"),
        ("KMS.", "s3.sse.kms.key.id"),
        ("KMS", "s3.sse.type"),
        ("Encryption", "s3.sse.type"),
        ("Checksum", "s3.checksum.algorithm"),
    ];
    BY_CODE.iter().find(|(code, _)| text.contains(code)).map_or("store.url", |(_, key)| key)
}

/// The store's TLS certificate was refused: what was trusted, and rustls' reason.
fn untrusted_certificate(config: &StoreConfig, text: &str) -> SinkError {
    let trust = &config.trust;
    let ca_file = match &trust.ca_file {
        Some(path) => format!("the {} certificate(s) of {}", trust.ca_certificates.len(), path.display()),
        None => "no s3.ssl.ca.file".to_string(),
    };
    let reason = text.split("invalid peer certificate: ").nth(1).unwrap_or(text);
    SinkError::config(
        "s3.ssl.ca.file",
        format!(
            "the TLS certificate of {} was refused: {reason}. Trusted were the system's CAs, {} of the JVM's \
             truststore and {ca_file}; for a private CA, give its PEM file as s3.ssl.ca.file. Whole error: {text}",
            config.location_text(),
            trust.jvm_certificates.len(),
        ),
    )
}

/// The error and every cause under it, each said once: a TLS failure names the certificate
/// problem, not only "error sending request".
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let said = inner.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = inner.source();
    }
    text
}

/// A store's error answer in one line, `HTTP 403 SignatureDoesNotMatch: <Message>`, rather than
/// its whole XML body; text that is not an HTTP answer (a TLS or network failure) as it is.
/// An STS answer keeps the request it answered: `AssumeRole of <role> at <endpoint>: HTTP 403 ...`.
pub fn summarize_answer(text: &str) -> String {
    let Some(status) = http_status(text) else { return text.to_string() };
    let request = assume_role_request(text).map(|r| format!("{r}: ")).unwrap_or_default();
    let code = xml_field(text, "Code").map(|c| format!(" {c}")).unwrap_or_default();
    let message = xml_field(text, "Message").map(|m| format!(": {m}")).unwrap_or_default();
    format!("{request}HTTP {status}{code}{message}")
}

/// `AssumeRole of <role> at <endpoint>`, as sts.rs words a refused request.
fn assume_role_request(text: &str) -> Option<&str> {
    let start = text.find("AssumeRole of ")?;
    text[start..].split(": ").next()
}

/// `... status code: 503 Service Unavailable ...` as object_store words it.
pub fn http_status(text: &str) -> Option<u16> {
    let after = text.split("status code: ").nth(1)?;
    after.get(..3)?.parse().ok()
}

/// `<Code>SlowDown</Code>` in an S3 error body.
pub fn xml_field<'a>(text: &'a str, field: &str) -> Option<&'a str> {
    let open = format!("<{field}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find("</")? + start;
    Some(&text[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_answer_is_summarized_by_status_code_and_message() {
        let text = "Client error with status code: 403 Forbidden: <?xml version=\"1.0\"?><Error>\
                    <Code>SignatureDoesNotMatch</Code><Message>The signature does not match</Message>\
                    <RequestId>1</RequestId></Error>";
        assert_eq!(summarize_answer(text), "HTTP 403 SignatureDoesNotMatch: The signature does not match");
    }

    #[test]
    fn an_sts_answer_keeps_the_request_it_answered() {
        let text = "Generic S3 error: AssumeRole of arn:aws:iam::123:role/lab at http://127.0.0.1:9000: Server \
                    returned non-2xx status code: 403 Forbidden: <Error><Code>AccessDenied</Code>\
                    <Message>Denied</Message></Error>";
        assert_eq!(
            summarize_answer(text),
            "AssumeRole of arn:aws:iam::123:role/lab at http://127.0.0.1:9000: HTTP 403 AccessDenied: Denied"
        );
    }

    #[test]
    fn text_without_a_status_is_kept_whole() {
        let text = "error sending request: invalid peer certificate: UnknownIssuer";
        assert_eq!(summarize_answer(text), text);
    }
}
