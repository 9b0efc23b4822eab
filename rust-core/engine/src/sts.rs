//! `aws.sts.role.arn`: the role's temporary credentials, from STS AssumeRole signed with the
//! base credentials (the connector's keys, the worker's, or the default chain). object_store
//! 0.14 assumes roles only with a web identity token (IRSA), so this is a small provider on
//! its `CredentialProvider` trait: one AssumeRole request, its answer kept until shortly
//! before it expires, and one request at a time however many uploads ask.

use crate::config::{RoleConfig, StoreConfig, StoreLocation};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use object_store::aws::{AwsAuthorizer, AwsCredential, AwsCredentialProvider};
use object_store::client::{HttpClient, HttpConnector, HttpRequest, ReqwestConnector};
use object_store::{ClientOptions, CredentialProvider};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How long the role's credentials are asked for: STS's default, which every role allows.
const SESSION_SECONDS: u32 = 3600;
/// Credentials are renewed this long before they expire: an upload signed just before expiry
/// may still be on its way, and the store's clock may be ahead.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);
const STS: &str = "STS";

pub struct AssumeRole {
    role: RoleConfig,
    endpoint: String,
    region: String,
    base: AwsCredentialProvider,
    client: HttpClient,
    cached: Mutex<Option<(Arc<AwsCredential>, DateTime<Utc>)>>,
}

impl std::fmt::Debug for AssumeRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumeRole").field("role", &self.role.arn).field("endpoint", &self.endpoint).finish()
    }
}

/// The STS endpoint of a configuration with a role: the configured one, else the regional AWS
/// endpoint for Amazon S3, else the store's own server (MinIO and Ceph RGW answer STS there).
pub fn endpoint(config: &StoreConfig) -> Option<String> {
    let role = config.role.as_ref()?;
    Some(match (&role.sts_endpoint, &config.location) {
        (Some(url), _) => url.clone(),
        (None, StoreLocation::S3 { endpoint: Some(url) }) => url.clone(),
        (None, _) => format!("https://sts.{}.amazonaws.com", config.region),
    })
}

impl AssumeRole {
    pub fn new(
        role: &RoleConfig,
        config: &StoreConfig,
        base: AwsCredentialProvider,
        options: ClientOptions,
    ) -> Result<Self, String> {
        let endpoint = endpoint(config).ok_or("no role to assume")?;
        let client = ReqwestConnector::default()
            .connect(&options)
            .map_err(|e| format!("cannot configure the STS client: {}", crate::store::describe(&e)))?;
        Ok(AssumeRole {
            role: role.clone(),
            endpoint,
            region: config.region.clone(),
            base,
            client,
            cached: Mutex::new(None),
        })
    }

    fn form(&self) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", "AssumeRole")
            .append_pair("Version", "2011-06-15")
            .append_pair("RoleArn", &self.role.arn)
            .append_pair("RoleSessionName", &self.role.session_name)
            .append_pair("DurationSeconds", &SESSION_SECONDS.to_string());
        if let Some(id) = &self.role.external_id {
            form.append_pair("ExternalId", id);
        }
        form.finish()
    }

    async fn assume(&self) -> object_store::Result<(AwsCredential, DateTime<Utc>)> {
        let base = self.base.get_credential().await?;
        let body = self.form();
        let mut request: HttpRequest = http::Request::builder()
            .method(http::Method::POST)
            .uri(&self.endpoint)
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")
            .body(body.into())
            .map_err(|e| generic(format!("cannot build the AssumeRole request to {}: {e}", self.endpoint)))?;
        AwsAuthorizer::new(&base, "sts", &self.region).try_authorize(&mut request, None)?;
        let response =
            self.client.execute(request).await.map_err(|e| {
                generic(format!("AssumeRole at {} failed: {}", self.endpoint, crate::store::describe(&e)))
            })?;
        let status = response.status();
        let body = response.into_body().bytes().await.map_err(|e| generic(format!("AssumeRole answer: {e}")))?;
        let text = String::from_utf8_lossy(&body);
        if !status.is_success() {
            // Worded as object_store words S3's answers, so upload.rs classifies it alike.
            let message = format!(
                "AssumeRole of {} at {}: Server returned non-2xx status code: {status}: {text}",
                self.role.arn, self.endpoint
            );
            return Err(match status.as_u16() {
                401 | 403 => {
                    object_store::Error::PermissionDenied { path: self.role.arn.clone(), source: message.into() }
                }
                _ => generic(message),
            });
        }
        parse_response(&text).map_err(|e| generic(format!("AssumeRole at {}: {e}", self.endpoint)))
    }
}

#[async_trait]
impl CredentialProvider for AssumeRole {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        if let Some((credential, expires)) = cached.as_ref() {
            if !expires_soon(*expires, Utc::now()) {
                return Ok(credential.clone());
            }
        }
        let (credential, expires) = self.assume().await?;
        let credential = Arc::new(credential);
        log::debug!("assumed role {} until {expires}", self.role.arn);
        *cached = Some((credential.clone(), expires));
        Ok(credential)
    }
}

fn expires_soon(expires: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    expires - now < chrono::Duration::from_std(RENEW_BEFORE).unwrap_or_default()
}

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic { store: STS, source: message.into() }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumeRoleResponse {
    assume_role_result: AssumeRoleResult,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumeRoleResult {
    credentials: Credentials,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
}

fn parse_response(xml: &str) -> Result<(AwsCredential, DateTime<Utc>), String> {
    let response: AssumeRoleResponse =
        quick_xml::de::from_str(xml).map_err(|e| format!("not an AssumeRoleResponse ({e})"))?;
    let credentials = response.assume_role_result.credentials;
    let expires = DateTime::parse_from_rfc3339(credentials.expiration.trim())
        .map_err(|e| format!("Expiration '{}' is not a time ({e})", credentials.expiration))?
        .with_timezone(&Utc);
    let credential = AwsCredential {
        key_id: credentials.access_key_id,
        secret_key: credentials.secret_access_key,
        token: Some(credentials.session_token),
    };
    Ok((credential, expires))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As AWS documents the answer (API_AssumeRole), namespace and metadata included.
    const ANSWER: &str = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <SourceIdentity>Alice</SourceIdentity>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>
      <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764</SessionToken>
      <Expiration>2019-11-09T13:34:41Z</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#;

    #[test]
    fn the_answer_gives_the_temporary_credentials_and_their_expiry() {
        let (credential, expires) = parse_response(ANSWER).unwrap();
        assert_eq!(credential.key_id, "ASIAIOSFODNN7EXAMPLE");
        assert_eq!(credential.secret_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
        assert_eq!(credential.token.as_deref(), Some("AQoDYXdzEPT//////////wEXAMPLEtc764"));
        assert_eq!(expires.to_rfc3339(), "2019-11-09T13:34:41+00:00");
        assert!(parse_response("<Error><Code>AccessDenied</Code></Error>").unwrap_err().contains("AssumeRoleResponse"));
    }

    #[test]
    fn credentials_are_renewed_five_minutes_before_they_expire() {
        let now = Utc::now();
        assert!(!expires_soon(now + chrono::Duration::minutes(6), now));
        assert!(expires_soon(now + chrono::Duration::minutes(4), now));
        assert!(expires_soon(now - chrono::Duration::minutes(1), now));
    }
}
