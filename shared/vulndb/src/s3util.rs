//! Small S3 helpers: error classification by S3 error code (same rules as `portcullis-aws`), location
//! parsing, and streaming downloads to a file with a SHA-256.

use std::path::Path;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use portcullis_aws::S3Error;

use crate::error::{VulnDbError, io_err};

/// What an S3 SDK error means to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Class {
    NotFound,
    PreconditionFailed,
    Other(String),
}

pub(crate) fn classify<E>(err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Class
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err.code() {
        Some("NoSuchKey") | Some("NoSuchVersion") | Some("NotFound") => return Class::NotFound,
        Some("PreconditionFailed") => return Class::PreconditionFailed,
        _ => {}
    }
    if let Some(raw) = err.raw_response() {
        match raw.status().as_u16() {
            404 if err.code().is_none() => return Class::NotFound,
            412 => return Class::PreconditionFailed,
            _ => {}
        }
    }
    Class::Other(format!("{}", DisplayErrorContext(err)))
}

pub(crate) fn request_error(op: &'static str, bucket: &str, key: &str, message: String) -> S3Error {
    S3Error::Request {
        operation: op,
        bucket: bucket.to_string(),
        key: key.to_string(),
        message,
    }
}

/// Splits `s3://bucket/key` (the key may be empty when `allow_empty_key`).
pub fn parse_s3_uri(uri: &str, allow_empty_key: bool) -> Option<(String, String)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() || (!allow_empty_key && key.is_empty()) {
        return None;
    }
    Some((bucket.to_string(), key.to_string()))
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The SHA-256 the sync publishes as `x-amz-meta-sha256` (lowercase hex), from a HEAD's or a GET's metadata.
pub(crate) fn published_sha256(
    metadata: Option<&std::collections::HashMap<String, String>>,
) -> Option<String> {
    metadata
        .and_then(|m| m.get("sha256"))
        .map(|s| s.trim().to_ascii_lowercase())
}

/// What [`download_to_file`] fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Downloaded {
    /// Hex SHA-256 of the bytes written.
    pub sha256: String,
    /// Bytes written.
    pub len: u64,
    /// The object's ETag (unquoted), as the GET returned it.
    pub etag: Option<String>,
    /// The `x-amz-meta-sha256` the sync publishes (lowercase hex), as the GET returned it.
    pub published_sha256: Option<String>,
}

/// Streams `s3://bucket/key` to `dest` (created/truncated). With `if_match`, the GET fails with
/// [`Class::PreconditionFailed`] semantics (a `Request` error) when the object changed since the HEAD.
/// `Ok(None)`: the object does not exist.
///
/// The file is not fsynced: it is a cache in the function's `/tmp` (or a sync's scratch file), which does
/// not outlive the process that would rely on its durability, and every reader checks the bytes (the
/// index's own checksum, the published SHA-256).
pub(crate) async fn download_to_file(
    s3: &Client,
    bucket: &str,
    key: &str,
    if_match: Option<&str>,
    dest: &Path,
) -> Result<Option<Downloaded>, VulnDbError> {
    let out = match s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_if_match(if_match.map(|e| format!("\"{}\"", e.trim_matches('"'))))
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) => {
            return match classify(&e) {
                Class::NotFound => Ok(None),
                Class::PreconditionFailed => Err(request_error(
                    "GetObject",
                    bucket,
                    key,
                    "object changed since HEAD (If-Match failed)".into(),
                )
                .into()),
                Class::Other(m) => Err(request_error("GetObject", bucket, key, m).into()),
            };
        }
    };
    let etag = out.e_tag().map(|e| e.trim_matches('"').to_string());
    let published_sha256 = published_sha256(out.metadata());
    let mut body = out.body;
    let mut file = tokio::fs::File::create(dest).await.map_err(io_err(dest))?;
    let mut hasher = Sha256::new();
    let mut n: u64 = 0;
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| request_error("GetObject", bucket, key, format!("reading body: {e}")))?
    {
        hasher.update(&chunk);
        n += chunk.len() as u64;
        file.write_all(&chunk).await.map_err(io_err(dest))?;
    }
    file.flush().await.map_err(io_err(dest))?;
    Ok(Some(Downloaded {
        sha256: hex::encode(hasher.finalize()),
        len: n,
        etag,
        published_sha256,
    }))
}
