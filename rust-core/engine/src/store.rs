//! The object stores: Amazon S3 or an S3-compatible server through `object_store`, or a
//! local directory of plain files. Uploads are single PUTs up to the part size and
//! multipart uploads with parallel parts above it.

use crate::config::{StoreConfig, StoreLocation};
use crate::error::SinkError;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use std::sync::Arc;
use std::time::Duration;

/// Parts of one multipart upload sent at the same time.
const PARALLEL_PARTS: usize = 4;

pub fn open_store(config: &StoreConfig) -> Result<Arc<dyn ObjectStore>, SinkError> {
    match &config.location {
        StoreLocation::Directory(dir) => open_directory(dir, &config.bucket),
        StoreLocation::S3 { endpoint } => open_s3(config, endpoint.as_deref()),
    }
}

fn open_directory(dir: &std::path::Path, bucket: &str) -> Result<Arc<dyn ObjectStore>, SinkError> {
    let root = dir.join(bucket);
    std::fs::create_dir_all(&root)
        .map_err(|e| SinkError::config("store.url", format!("cannot create directory {}: {e}", root.display())))?;
    let store = LocalFileSystem::new_with_prefix(&root)
        .map_err(|e| SinkError::config("store.url", format!("cannot use directory {}: {e}", root.display())))?
        .with_fsync(true);
    Ok(Arc::new(store))
}

fn open_s3(config: &StoreConfig, endpoint: Option<&str>) -> Result<Arc<dyn ObjectStore>, SinkError> {
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(&config.bucket)
        .with_region(&config.region)
        .with_client_options(
            ClientOptions::new()
                .with_connect_timeout(Duration::from_secs(5))
                .with_timeout(Duration::from_secs(120))
                .with_pool_max_idle_per_host(64)
                .with_allow_http(true),
        )
        // Our own loop retries for upload.retry.timeout.ms; keep each attempt short.
        .with_retry(RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 2,
            retry_timeout: Duration::from_secs(10),
        });
    if let Some(url) = endpoint {
        builder = builder.with_endpoint(url).with_virtual_hosted_style_request(!config.path_style);
    }
    if let Some((key, secret)) = credentials(config) {
        builder = builder.with_access_key_id(key).with_secret_access_key(secret);
    }
    let store =
        builder.build().map_err(|e| SinkError::config("store.url", format!("cannot configure the S3 client: {e}")))?;
    Ok(Arc::new(store))
}

/// Connector keys first, then the environment (the seed's `AWS_SECRET_KEY` included);
/// `None` leaves the default AWS chain (instance profile, web identity) to object_store.
fn credentials(config: &StoreConfig) -> Option<(String, String)> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let key = config.access_key_id.clone().or_else(|| env("AWS_ACCESS_KEY_ID"))?;
    let secret =
        config.secret_access_key.clone().or_else(|| env("AWS_SECRET_ACCESS_KEY")).or_else(|| env("AWS_SECRET_KEY"))?;
    Some((key, secret))
}

/// Stores `data` at `path` in one attempt: one PUT, or a multipart upload that is aborted
/// when any part fails.
pub async fn upload(store: &dyn ObjectStore, path: &Path, data: Bytes, part_size: usize) -> object_store::Result<()> {
    if data.len() <= part_size {
        store.put(path, PutPayload::from(data)).await?;
        return Ok(());
    }
    let mut upload = store.put_multipart(path).await?;
    let parts: Vec<_> = (0..data.len())
        .step_by(part_size)
        .map(|start| upload.put_part(PutPayload::from(data.slice(start..(start + part_size).min(data.len())))))
        .collect();
    let sent = futures::stream::iter(parts).buffered(PARALLEL_PARTS).try_collect::<Vec<()>>().await;
    let finished = match sent {
        Ok(_) => upload.complete().await.map(|_| ()),
        Err(e) => Err(e),
    };
    if finished.is_err() {
        let _ = upload.abort().await;
    }
    finished
}

/// Errors that no retry can fix: the credentials or the bucket are wrong.
pub fn is_permanent(error: &object_store::Error) -> bool {
    matches!(
        error,
        object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. }
            | object_store::Error::NotFound { .. }
            | object_store::Error::InvalidPath { .. }
            | object_store::Error::NotSupported { .. }
    )
}

/// Checks at start that the store answers and takes our credentials, naming the
/// connector key to fix when it does not.
pub async fn probe(store: &dyn ObjectStore, config: &StoreConfig, prefix: &str) -> Result<(), SinkError> {
    let prefix = Path::from(prefix);
    let listing = tokio::time::timeout(Duration::from_secs(20), store.list_with_delimiter(Some(&prefix))).await;
    match listing {
        Ok(Ok(_)) => Ok(()),
        Err(_) => Err(SinkError::config("store.url", format!("{} did not answer within 20 s", config.location_text()))),
        Ok(Err(e)) => Err(probe_error(&e, config)),
    }
}

fn probe_error(error: &object_store::Error, config: &StoreConfig) -> SinkError {
    let location = config.location_text();
    match error {
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            SinkError::config(
                "aws.secret.access.key",
                format!("{location} refused the credentials of access key '{}'", access_key_label(config)),
            )
        }
        object_store::Error::NotFound { .. } => {
            SinkError::config("s3.bucket.name", format!("bucket '{}' does not exist at {location}", config.bucket))
        }
        other => {
            let text = other.to_string();
            if text.contains("NoSuchBucket") {
                return SinkError::config(
                    "s3.bucket.name",
                    format!("bucket '{}' does not exist at {location}", config.bucket),
                );
            }
            if text.contains("SignatureDoesNotMatch")
                || text.contains("InvalidAccessKeyId")
                || text.contains("AccessDenied")
            {
                return SinkError::config(
                    "aws.secret.access.key",
                    format!("{location} refused the credentials of access key '{}'", access_key_label(config)),
                );
            }
            SinkError::config("store.url", format!("cannot reach {location}: {}", first_line(&text)))
        }
    }
}

fn access_key_label(config: &StoreConfig) -> String {
    credentials(config).map(|(key, _)| key).unwrap_or_else(|| "(default AWS chain)".into())
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
