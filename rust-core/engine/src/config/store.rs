//! Where objects go: the store keys.

use super::keys::Keys;
use crate::error::SinkError;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A directory; objects are plain files under `<dir>/<bucket>/`.
    Directory(std::path::PathBuf),
    /// Amazon S3 (endpoint `None`) or an S3-compatible server.
    S3 { endpoint: Option<String> },
}

#[derive(Clone)]
pub struct StoreConfig {
    pub location: StoreLocation,
    pub bucket: String,
    pub region: String,
    pub path_style: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

/// Credentials are never printed.
impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("location", &self.location_text())
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "[hidden]"))
            .finish()
    }
}

impl StoreConfig {
    pub fn location_text(&self) -> String {
        match &self.location {
            StoreLocation::Directory(dir) => format!("file://{}", dir.display()),
            StoreLocation::S3 { endpoint: Some(url) } => url.clone(),
            StoreLocation::S3 { endpoint: None } => "Amazon S3".into(),
        }
    }
}

pub(super) fn read_store(keys: &Keys) -> Result<StoreConfig, SinkError> {
    let bucket = keys.text("s3.bucket.name")?.to_string();
    // The local store makes the bucket a directory.
    if bucket.contains('/') || bucket == "." || bucket == ".." {
        return Err(SinkError::config("s3.bucket.name", format!("'{bucket}' is not a bucket name")));
    }
    Ok(StoreConfig {
        location: read_location(keys)?,
        bucket,
        region: keys.text("s3.region")?.to_string(),
        path_style: keys.flag("s3.path.style.access.enabled")?,
        access_key_id: keys.non_empty("aws.access.key.id")?.map(String::from),
        secret_access_key: keys.non_empty("aws.secret.access.key")?.map(String::from),
    })
}

fn read_location(keys: &Keys) -> Result<StoreLocation, SinkError> {
    let Some(text) = keys.non_empty("store.url")? else {
        return Ok(StoreLocation::S3 { endpoint: None });
    };
    // Messages about this key never repeat the URL: it may carry a password.
    let url = url::Url::parse(text).map_err(|e| SinkError::config("store.url", format!("not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SinkError::config(
            "store.url",
            "must not contain a user name or password: give them as aws.access.key.id and aws.secret.access.key",
        ));
    }
    match url.scheme() {
        "file" => {
            let path = url
                .to_file_path()
                .map_err(|_| SinkError::config("store.url", format!("'{url}' is not a local path")))?;
            crate::allowed_paths::check("store.url", &path)?;
            Ok(StoreLocation::Directory(path))
        }
        "http" | "https" if url.host().is_some() => Ok(StoreLocation::S3 { endpoint: Some(text.to_string()) }),
        _ => Err(SinkError::config(
            "store.url",
            format!("'{url}' must be http://host:port, https://host:port or file:///directory"),
        )),
    }
}
