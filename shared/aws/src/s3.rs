//! The S3 client (built once per container) and the few S3 operations the pipeline needs, with errors
//! classified by S3 error *code* (not by SDK variant): `NoSuchKey`/`NoSuchVersion`/404 → not found,
//! `PreconditionFailed`/412 on a conditional write → "already exists".

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

use crate::error::S3Error;

/// Builds the S3 client from the default AWS configuration chain. With a local endpoint (moto), the client
/// uses path-style addressing and computes/validates checksums only when required.
pub async fn s3_client(endpoint_url: Option<&str>) -> Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let mut b = aws_sdk_s3::config::Builder::from(&conf);
    if let Some(ep) = endpoint_url {
        b = local_knobs(b.endpoint_url(ep));
    }
    Client::from_conf(b.build())
}

/// A client for a local S3-compatible server with static test credentials (integration tests, scripts).
pub fn local_s3_client(endpoint_url: &str) -> Client {
    let b = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(endpoint_url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "portcullis-local",
        ));
    Client::from_conf(local_knobs(b).build())
}

fn local_knobs(b: aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder {
    b.force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
}

/// What an S3 SDK error means to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Class {
    NotFound,
    PreconditionFailed,
    Other(String),
}

pub(crate) fn classify_http<E>(err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Class
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

pub(crate) fn request_error(
    operation: &'static str,
    bucket: &str,
    key: &str,
    message: String,
) -> S3Error {
    S3Error::Request {
        operation,
        bucket: bucket.to_string(),
        key: key.to_string(),
        message,
    }
}

/// Outcome of a conditional create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// We wrote it.
    Written,
    /// It already existed (412 PreconditionFailed): someone else won; a no-op for us.
    AlreadyExists,
}

/// `PutObject` with `If-None-Match: *`.
pub async fn put_if_absent(
    s3: &Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
) -> Result<Created, S3Error> {
    let res = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .if_none_match("*")
        .content_type(content_type)
        .body(ByteStream::from(body))
        .send()
        .await;
    match res {
        Ok(_) => Ok(Created::Written),
        Err(e) => match classify_http(&e) {
            Class::PreconditionFailed => Ok(Created::AlreadyExists),
            Class::NotFound => Err(request_error(
                "PutObject",
                bucket,
                key,
                "bucket not found".into(),
            )),
            Class::Other(m) => Err(request_error("PutObject", bucket, key, m)),
        },
    }
}

/// `GetObject` of a small document, `None` when it does not exist.
pub async fn get_bytes(s3: &Client, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, S3Error> {
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let data = out.body.collect().await.map_err(|e| {
                request_error("GetObject", bucket, key, format!("reading body: {e}"))
            })?;
            Ok(Some(data.into_bytes().to_vec()))
        }
        Err(e) => match classify_http(&e) {
            Class::NotFound => Ok(None),
            Class::PreconditionFailed => Err(request_error(
                "GetObject",
                bucket,
                key,
                "precondition failed".into(),
            )),
            Class::Other(m) => Err(request_error("GetObject", bucket, key, m)),
        },
    }
}

/// Whether an object exists (`HeadObject`).
pub async fn exists(
    s3: &Client,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<bool, S3Error> {
    match s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_string))
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => match classify_http(&e) {
            Class::NotFound => Ok(false),
            Class::PreconditionFailed => Ok(false),
            Class::Other(m) => Err(request_error("HeadObject", bucket, key, m)),
        },
    }
}

/// Lists the keys under a prefix (all pages).
pub async fn list_keys(s3: &Client, bucket: &str, prefix: &str) -> Result<Vec<String>, S3Error> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                request_error(
                    "ListObjectsV2",
                    bucket,
                    prefix,
                    format!("{}", DisplayErrorContext(&e)),
                )
            })?;
        keys.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        match out.next_continuation_token() {
            Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(keys)
}

/// Percent-encodes a key for `x-amz-copy-source` (keeps `/` and unreserved characters).
pub fn encode_copy_source_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_keys_are_percent_encoded() {
        assert_eq!(
            encode_copy_source_key("releases/my file(1).tgz"),
            "releases/my%20file%281%29.tgz"
        );
        assert_eq!(encode_copy_source_key("a+b/ü"), "a%2Bb/%C3%BC");
    }
}
