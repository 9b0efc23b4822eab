//! Where objects go and how the client reaches them: the store keys (location, credentials,
//! a role to assume, TLS trust, proxy, signing, server-side encryption, checksum), and the
//! attributes every object carries (Content-Type, metadata, tags, storage class).

use super::keys::Keys;
use crate::attributes::ObjectAttributes;
use crate::error::SinkError;
use object_store::aws::Checksum;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::fmt;
use std::path::PathBuf;

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
    /// An IAM role to assume with the credentials above (or the default chain).
    pub role: Option<RoleConfig>,
    pub trust: Trust,
    pub proxy_url: Option<String>,
    pub unsigned_payload: bool,
    pub encryption: Encryption,
    pub checksum: Option<Checksum>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleConfig {
    pub arn: String,
    pub external_id: Option<String>,
    pub session_name: String,
    /// `None`: the regional AWS STS endpoint, or the store's own server for other stores.
    pub sts_endpoint: Option<String>,
}

/// CA certificates trusted besides the system's.
#[derive(Clone, Default)]
pub struct Trust {
    pub ca_file: Option<PathBuf>,
    /// `s3.ssl.ca.file`'s certificates, each checked as the TLS client takes them.
    pub ca_certificates: Vec<CertificateDer<'static>>,
    /// The JVM truststore's CAs (Java sends them), less those the TLS client cannot take.
    pub jvm_certificates: Vec<CertificateDer<'static>>,
    /// JVM CAs left out, for the start-up log.
    pub jvm_skipped: usize,
}

impl Trust {
    /// Every CA certificate trusted besides the system's.
    pub fn certificates(&self) -> impl Iterator<Item = &CertificateDer<'static>> {
        self.ca_certificates.iter().chain(&self.jvm_certificates)
    }
}

/// Server-side encryption of every object, as object_store's builder sets it.
#[derive(Clone, PartialEq, Eq)]
pub enum Encryption {
    /// The bucket's default.
    BucketDefault,
    /// SSE-S3 (AES256).
    S3Managed,
    Kms {
        key_id: Option<String>,
        dual_layer: bool,
    },
    /// SSE-C with this base64 key; never printed.
    Customer {
        key_base64: String,
    },
}

impl fmt::Debug for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Encryption::BucketDefault => write!(f, "bucket default"),
            Encryption::S3Managed => write!(f, "SSE-S3 (AES256)"),
            Encryption::Kms { key_id, dual_layer } => {
                let kind = if *dual_layer { "DSSE-KMS" } else { "SSE-KMS" };
                write!(f, "{kind} (key {})", key_id.as_deref().unwrap_or("aws/s3"))
            }
            Encryption::Customer { .. } => write!(f, "SSE-C (customer key [hidden])"),
        }
    }
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
            .field("role", &self.role)
            .field("ca_file", &self.trust.ca_file)
            .field("proxy_url", &self.proxy_url)
            .field("unsigned_payload", &self.unsigned_payload)
            .field("encryption", &self.encryption)
            .field("checksum", &self.checksum)
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
        role: read_role(keys)?,
        trust: read_trust(keys)?,
        proxy_url: read_proxy(keys)?,
        unsigned_payload: keys.flag("s3.unsigned.payload")?,
        encryption: read_encryption(keys)?,
        checksum: read_checksum(keys)?,
    })
}

fn read_role(keys: &Keys) -> Result<Option<RoleConfig>, SinkError> {
    let external_id = keys.non_empty("aws.sts.role.external.id")?.map(String::from);
    let session_name = keys.text("aws.sts.role.session.name")?.trim().to_string();
    let sts_endpoint = match keys.non_empty("aws.sts.config.endpoint")? {
        Some(text) => Some(http_url("aws.sts.config.endpoint", text)?.to_string()),
        None => None,
    };
    Ok(keys.non_empty("aws.sts.role.arn")?.map(|arn| RoleConfig {
        arn: arn.to_string(),
        external_id,
        session_name,
        sts_endpoint,
    }))
}

/// Java sends the JVM's CAs beside the ConfigDef's keys (java-shim JvmTrust), only when
/// `s3.ssl.jvm.truststore.enabled` and the store is S3.
const JVM_PEM_KEY: &str = "s3.ssl.jvm.truststore.pem";

fn read_trust(keys: &Keys) -> Result<Trust, SinkError> {
    let mut trust = Trust::default();
    if keys.flag("s3.ssl.jvm.truststore.enabled")? {
        if let Some(pem) = keys.optional(JVM_PEM_KEY) {
            // One certificate the TLS client cannot take would fail every connection: such a
            // certificate is left out (the JVM's own TLS may accept what rustls does not).
            for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                match certificate.ok().filter(|der| takes(der).is_ok()) {
                    Some(der) => trust.jvm_certificates.push(der),
                    None => trust.jvm_skipped += 1,
                }
            }
        }
    } else {
        keys.optional(JVM_PEM_KEY);
    }
    let Some(text) = keys.non_empty("s3.ssl.ca.file")? else { return Ok(trust) };
    let path = PathBuf::from(text);
    crate::allowed_paths::check("s3.ssl.ca.file", &path)?;
    let pem = std::fs::read(&path)
        .map_err(|e| SinkError::config("s3.ssl.ca.file", format!("cannot read {}: {e}", path.display())))?;
    trust.ca_certificates = ca_certificates(&pem)
        .map_err(|why| SinkError::config("s3.ssl.ca.file", format!("{}: {why}", path.display())))?;
    trust.ca_file = Some(path);
    Ok(trust)
}

/// Every certificate of a PEM file, or which one the TLS client would refuse and why.
pub(crate) fn ca_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut certificates = Vec::new();
    for (index, certificate) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let number = index + 1;
        let der = certificate.map_err(|e| format!("certificate {number}: not valid PEM ({e})"))?;
        takes(&der).map_err(|e| format!("certificate {number}: not a CA certificate the TLS client can use ({e})"))?;
        certificates.push(der);
    }
    if certificates.is_empty() {
        return Err("no PEM certificate (-----BEGIN CERTIFICATE-----) in the file".into());
    }
    Ok(certificates)
}

/// Whether rustls takes the certificate as a trust anchor, as the client's verifier will.
fn takes(der: &CertificateDer<'static>) -> Result<(), rustls::Error> {
    rustls::RootCertStore::empty().add(der.clone())
}

fn read_proxy(keys: &Keys) -> Result<Option<String>, SinkError> {
    let Some(text) = keys.non_empty("s3.proxy.url")? else { return Ok(None) };
    let url = http_url("s3.proxy.url", text)?;
    Ok(Some(url.to_string()))
}

/// An http(s)://host[:port] URL without credentials; messages never repeat it (it may hold them).
fn http_url(key: &str, text: &str) -> Result<url::Url, SinkError> {
    let url = url::Url::parse(text).map_err(|e| SinkError::config(key, format!("not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SinkError::config(key, "must not contain a user name or password"));
    }
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(SinkError::config(key, "must be http://host:port or https://host:port"));
    }
    Ok(url)
}

fn read_encryption(keys: &Keys) -> Result<Encryption, SinkError> {
    let key_id = keys.non_empty("s3.sse.kms.key.id")?.map(String::from);
    let customer_key = keys.non_empty("s3.sse.customer.key")?;
    let kind = keys.text("s3.sse.type")?.trim();
    Ok(match (kind, customer_key) {
        ("none" | "", Some(key)) => Encryption::Customer { key_base64: key.to_string() },
        ("none" | "", None) => Encryption::BucketDefault,
        ("AES256", _) => Encryption::S3Managed,
        ("aws:kms", _) => Encryption::Kms { key_id, dual_layer: false },
        ("aws:kms:dsse", _) => Encryption::Kms { key_id, dual_layer: true },
        (other, _) => {
            return Err(SinkError::config(
                "s3.sse.type",
                format!("'{other}' is not none, AES256, aws:kms or aws:kms:dsse"),
            ))
        }
    })
}

fn read_checksum(keys: &Keys) -> Result<Option<Checksum>, SinkError> {
    match keys.text("s3.checksum.algorithm")?.trim() {
        "none" | "" => Ok(None),
        "sha256" => Ok(Some(Checksum::SHA256)),
        "crc64nvme" => Ok(Some(Checksum::CRC64NVME)),
        other => Err(SinkError::config("s3.checksum.algorithm", format!("'{other}' is not none, sha256 or crc64nvme"))),
    }
}

/// What every object carries besides its bytes.
pub(super) fn read_attributes(keys: &Keys, payload_extension: &str) -> Result<ObjectAttributes, SinkError> {
    let content_type = keys.non_empty("s3.content.type")?;
    let mut send_time = false;
    for item in super::list(keys.text("s3.object.metadata")?) {
        match item.as_str() {
            "send-time" => send_time = true,
            other => return Err(SinkError::config("s3.object.metadata", format!("'{other}' is not send-time"))),
        }
    }
    let tags = crate::attributes::parse_tags(keys.text("s3.object.tagging")?)
        .map_err(|why| SinkError::config("s3.object.tagging", why))?;
    Ok(ObjectAttributes {
        payload_content_type: content_type
            .map(String::from)
            .unwrap_or_else(|| crate::attributes::content_type_of(payload_extension).to_string()),
        send_time_metadata: send_time,
        tags,
        storage_class: keys.non_empty("s3.storage.class")?.map(String::from),
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
