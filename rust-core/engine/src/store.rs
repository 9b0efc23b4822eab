//! The object stores: Amazon S3 or an S3-compatible server through `object_store`, or a
//! local directory of plain files. How objects are uploaded is `upload.rs`; this file builds
//! the clients and checks at start that the store answers.

use crate::config::{StoreConfig, StoreLocation};
use crate::error::SinkError;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};
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
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(&config.bucket)
        .with_region(&config.region)
        .with_client_options(
            ClientOptions::new()
                .with_connect_timeout(Duration::from_secs(5))
                .with_timeout(Duration::from_secs(120))
                .with_pool_max_idle_per_host(64)
                .with_allow_http(endpoint.is_some_and(|url| url.starts_with("http://"))),
        )
        // upload.rs retries with its own deadline, backoff and throttling feedback; a second
        // retry loop inside the client would hide the store's answers from it.
        .with_retry(RetryConfig { backoff: BackoffConfig::default(), max_retries: 0, retry_timeout: Duration::ZERO });
    if let Some(url) = endpoint {
        builder = builder.with_endpoint(url).with_virtual_hosted_style_request(!config.path_style);
    }
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
    let store =
        builder.build().map_err(|e| SinkError::config("store.url", format!("cannot configure the S3 client: {e}")))?;
    Ok(Store::S3(Arc::new(store)))
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

/// Checks that the store answers and takes our credentials, naming the connector key to fix
/// when it does not.
pub async fn probe(store: &Store, config: &StoreConfig, prefix: &str) -> Result<(), ProbeFailure> {
    let prefix = Path::from(prefix);
    let objects = store.objects();
    let listing = tokio::time::timeout(Duration::from_secs(20), objects.list_with_delimiter(Some(&prefix))).await;
    let location = config.location_text();
    match listing {
        Ok(Ok(_)) => Ok(()),
        Err(_) => Err(ProbeFailure {
            error: SinkError::config("store.url", format!("{location} did not answer within 20 s")),
            unreachable: true,
        }),
        Ok(Err(e)) => Err(probe_failure(&e, config)),
    }
}

fn probe_failure(error: &object_store::Error, config: &StoreConfig) -> ProbeFailure {
    let location = config.location_text();
    let text = describe(error);
    let refused = || {
        SinkError::config(
            "aws.secret.access.key",
            format!("{location} refused the credentials of access key {}: {text}", access_key_label(config)),
        )
    };
    let no_bucket =
        || SinkError::config("s3.bucket.name", format!("bucket '{}' does not exist at {location}", config.bucket));
    let failure = |error| ProbeFailure { error, unreachable: false };
    match error {
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            failure(refused())
        }
        object_store::Error::NotFound { .. } => failure(no_bucket()),
        _ if text.contains("NoSuchBucket") => failure(no_bucket()),
        _ if ["SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied"].iter().any(|c| text.contains(c)) => {
            failure(refused())
        }
        _ => ProbeFailure {
            error: SinkError::config("store.url", format!("cannot reach {location}: {text}")),
            unreachable: true,
        },
    }
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
