//! Amazon MSK IAM authentication: the SASL/OAUTHBEARER token is a SigV4-presigned
//! `GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect` URL (service `kafka-cluster`,
//! 900 s expiry, empty-payload hash, a `User-Agent` query parameter added after signing), base64url-encoded
//! without padding — the same token the AWS reference signers (Go, Python, Java) produce. Checks: the token
//! is deterministic for fixed credentials and time, and its expiry is absolute epoch milliseconds as
//! librdkafka expects. Credentials come from a cached `aws-config` provider; neither they nor the token are
//! ever logged or put into an error message.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// SigV4 service name of MSK IAM.
pub const SIGNING_NAME: &str = "kafka-cluster";
/// Validity of a token.
pub const TOKEN_EXPIRY: Duration = Duration::from_secs(900);
/// The `User-Agent` query parameter added to the presigned URL.
pub const USER_AGENT: &str = concat!("portcullis-msk-iam/", env!("CARGO_PKG_VERSION"));
/// How long one token generation (credential refresh included) may take.
const GENERATE_TIMEOUT: Duration = Duration::from_secs(10);

/// A generated MSK IAM token. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct MskToken {
    /// The base64url (no padding) presigned URL.
    pub token: String,
    /// Absolute expiry, milliseconds since the Unix epoch (signing time + 900 s).
    pub expires_at_ms: i64,
}

impl fmt::Debug for MskToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MskToken")
            .field("token", &"** redacted **")
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

/// Why a token could not be generated (never includes credential material).
#[derive(Debug, thiserror::Error)]
pub enum MskTokenError {
    /// No region configured.
    #[error("MSK IAM: no AWS region (set AWS_REGION)")]
    NoRegion,
    /// The signing time precedes the Unix epoch.
    #[error("MSK IAM: signing time before the Unix epoch")]
    BadTime,
    /// The credentials provider failed.
    #[error("MSK IAM: loading AWS credentials failed: {0}")]
    Credentials(String),
    /// Loading credentials took too long.
    #[error("MSK IAM: loading AWS credentials timed out after {0:?}")]
    Timeout(Duration),
    /// SigV4 signing failed.
    #[error("MSK IAM: SigV4 presigning failed: {0}")]
    Sign(String),
    /// The signer thread panicked.
    #[error("MSK IAM: token generation thread panicked")]
    Panicked,
}

/// SigV4 query-string encoding: everything but the unreserved characters is percent-encoded.
fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The presigned URL (before base64) for `region`, signed with `credentials` at `time`.
pub fn presigned_url(
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<String, MskTokenError> {
    if region.is_empty() {
        return Err(MskTokenError::NoRegion);
    }
    let base = format!(
        "https://kafka.{region}.amazonaws.com/?Action={}",
        uri_encode("kafka-cluster:Connect")
    );
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_EXPIRY);
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SIGNING_NAME)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| MskTokenError::Sign(e.to_string()))?
        .into();
    let request = SignableRequest::new(
        "GET",
        base.as_str(),
        std::iter::empty(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| MskTokenError::Sign(e.to_string()))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| MskTokenError::Sign(e.to_string()))?
        .into_parts();
    let mut url = base;
    for (name, value) in instructions.params() {
        url.push('&');
        url.push_str(&uri_encode(name));
        url.push('=');
        url.push_str(&uri_encode(value));
    }
    url.push_str("&User-Agent=");
    url.push_str(&uri_encode(USER_AGENT));
    Ok(url)
}

/// The MSK IAM token for `region`, signed with `credentials` at `time`.
pub fn generate_token(
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<MskToken, MskTokenError> {
    let url = presigned_url(credentials, region, time)?;
    // X-Amz-Date has second precision: the expiry is computed from the truncated signing time.
    let signed_at = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| MskTokenError::BadTime)?
        .as_secs();
    let expires_at_ms = i64::try_from(signed_at + TOKEN_EXPIRY.as_secs())
        .map_err(|_| MskTokenError::BadTime)?
        * 1000;
    Ok(MskToken {
        token: URL_SAFE_NO_PAD.encode(url.as_bytes()),
        expires_at_ms,
    })
}

/// Generates tokens from a cached credentials provider. Used from librdkafka's (synchronous) refresh
/// callback: the async credential lookup runs on the given tokio runtime from a helper thread, so the
/// callback never blocks a runtime worker.
#[derive(Clone)]
pub struct MskTokenProvider {
    region: String,
    credentials: SharedCredentialsProvider,
    runtime: tokio::runtime::Handle,
}

impl fmt::Debug for MskTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MskTokenProvider")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl MskTokenProvider {
    /// A provider for `region` using `credentials` (pass `SdkConfig::credentials_provider()`, which caches).
    pub fn new(
        region: String,
        credentials: SharedCredentialsProvider,
        runtime: tokio::runtime::Handle,
    ) -> MskTokenProvider {
        MskTokenProvider {
            region,
            credentials,
            runtime,
        }
    }

    /// The region tokens are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Loads credentials and signs a token now.
    pub async fn token(&self) -> Result<MskToken, MskTokenError> {
        let creds = tokio::time::timeout(GENERATE_TIMEOUT, self.credentials.provide_credentials())
            .await
            .map_err(|_| MskTokenError::Timeout(GENERATE_TIMEOUT))?
            .map_err(|e| MskTokenError::Credentials(e.to_string()))?;
        generate_token(&creds, &self.region, SystemTime::now())
    }

    /// Blocking variant for librdkafka's callback thread.
    pub fn token_blocking(&self) -> Result<MskToken, MskTokenError> {
        let this = self.clone();
        std::thread::scope(|s| {
            s.spawn(move || this.runtime.block_on(this.token()))
                .join()
                .map_err(|_| MskTokenError::Panicked)?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(session: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session.map(str::to_string),
            None,
            "test",
        )
    }

    fn fixed_time() -> SystemTime {
        // 2024-01-02T03:04:05Z
        UNIX_EPOCH + Duration::from_secs(1_704_164_645)
    }

    fn decode(token: &str) -> String {
        String::from_utf8(URL_SAFE_NO_PAD.decode(token).unwrap()).unwrap()
    }

    fn query(url: &str) -> Vec<(String, String)> {
        url.split_once('?')
            .unwrap()
            .1
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    #[test]
    fn token_decodes_to_presigned_connect_url() {
        // GIVEN static credentials and a fixed time WHEN a token is generated
        let t = generate_token(&creds(None), "eu-west-1", fixed_time()).unwrap();
        // THEN it is unpadded base64url of the presigned kafka-cluster:Connect URL
        assert!(!t.token.contains('=') && !t.token.contains('+') && !t.token.contains('/'));
        let url = decode(&t.token);
        assert!(
            url.starts_with(
                "https://kafka.eu-west-1.amazonaws.com/?Action=kafka-cluster%3AConnect&"
            ),
            "{url}"
        );
        let q = query(&url);
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("X-Amz-Algorithm").as_deref(), Some("AWS4-HMAC-SHA256"));
        assert_eq!(
            get("X-Amz-Credential").as_deref(),
            Some("AKIDEXAMPLE%2F20240102%2Feu-west-1%2Fkafka-cluster%2Faws4_request")
        );
        assert_eq!(get("X-Amz-Date").as_deref(), Some("20240102T030405Z"));
        assert_eq!(get("X-Amz-Expires").as_deref(), Some("900"));
        assert_eq!(get("X-Amz-SignedHeaders").as_deref(), Some("host"));
        let sig = get("X-Amz-Signature").unwrap();
        assert_eq!(sig.len(), 64);
        assert!(sig.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(q.last().unwrap().0, "User-Agent");
        assert_eq!(get("User-Agent").unwrap(), uri_encode(USER_AGENT));
        // AND the expiry is absolute epoch ms: signing time + 900 s
        assert_eq!(t.expires_at_ms, (1_704_164_645 + 900) * 1000);
        // AND the secret key never appears
        assert!(!url.contains("wJalrXUtnFEMI"));
    }

    #[test]
    fn signature_is_deterministic_and_matches_an_independent_sigv4() {
        // GIVEN fixed inputs WHEN signed twice THEN the tokens are identical
        let a = generate_token(&creds(None), "eu-west-1", fixed_time()).unwrap();
        let b = generate_token(&creds(None), "eu-west-1", fixed_time()).unwrap();
        assert_eq!(a, b);
        // AND a different time or region changes the signature
        let c = generate_token(
            &creds(None),
            "eu-west-1",
            fixed_time() + Duration::from_secs(1),
        )
        .unwrap();
        let d = generate_token(&creds(None), "us-east-1", fixed_time()).unwrap();
        assert_ne!(a.token, c.token);
        assert_ne!(a.token, d.token);
        // AND the signature equals the value computed independently with botocore's SigV4QueryAuth
        // (scripts/msk_iam_reference.py, run once; see that file).
        let url = decode(&a.token);
        let sig = query(&url)
            .into_iter()
            .find(|(k, _)| k == "X-Amz-Signature")
            .unwrap()
            .1;
        assert_eq!(sig, EXPECTED_SIGNATURE);
    }

    #[test]
    fn session_token_is_included_in_the_url() {
        let t = generate_token(
            &creds(Some("FwoGZXIvYXdzEXAMPLE/+=")),
            "eu-west-1",
            fixed_time(),
        )
        .unwrap();
        let url = decode(&t.token);
        assert!(
            url.contains("&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE%2F%2B%3D"),
            "{url}"
        );
        let sig = query(&url)
            .into_iter()
            .find(|(k, _)| k == "X-Amz-Signature")
            .unwrap()
            .1;
        assert_eq!(sig, EXPECTED_SIGNATURE_WITH_SESSION);
    }

    #[test]
    fn empty_region_is_rejected_and_debug_redacts() {
        assert!(matches!(
            generate_token(&creds(None), "", fixed_time()),
            Err(MskTokenError::NoRegion)
        ));
        let t = generate_token(&creds(None), "eu-west-1", fixed_time()).unwrap();
        let dbg = format!("{t:?}");
        assert!(!dbg.contains(&t.token) && dbg.contains("redacted"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn provider_signs_with_the_cached_credentials() {
        let p = MskTokenProvider::new(
            "eu-west-1".into(),
            SharedCredentialsProvider::new(creds(None)),
            tokio::runtime::Handle::current(),
        );
        let t = p.token().await.unwrap();
        assert!(decode(&t.token).contains("X-Amz-Credential=AKIDEXAMPLE%2F"));
        // the blocking variant works from a non-runtime thread (as librdkafka's callback thread is)
        let p2 = p.clone();
        let t2 = std::thread::spawn(move || p2.token_blocking())
            .join()
            .unwrap()
            .unwrap();
        assert!(t2.expires_at_ms > 0);
    }

    // botocore 1.43 SigV4QueryAuth at 2024-01-02T03:04:05Z, region eu-west-1 (scripts/msk_iam_reference.py).
    const EXPECTED_SIGNATURE: &str =
        "8e46bd6787e09b7c58faaa04d36154378d4dfcda99f072994912d5e4d9a64b8e";
    const EXPECTED_SIGNATURE_WITH_SESSION: &str =
        "657b3a7d1d559ef49f06893232b6f815d3f9206c41023b644c11f8c07f999a49";
}
