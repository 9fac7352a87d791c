//! Portcullis AWS adapter: the thin layer between Lambda/S3 and the core.
//!
//! - [`events`]: every event shape a function receives (EventBridge, S3 notifications, SQS, SNS) →
//!   object-created items, with the pipeline's own outputs ignored so nothing loops;
//! - [`source`]: an S3 object as a streaming `ArtifactSource`;
//! - [`store`]: results/chains/SBOMs in the results bucket, written once (`If-None-Match: *`);
//! - [`gate`]: tag merge (≤ 10 tags, status always written) and the quarantine move;
//! - [`config`]: environment configuration read once at cold start, failing fast;
//! - [`scan`] and [`fanin`]: the Lambda handlers (the function binaries only wire them up);
//! - [`error`]: typed errors with stable Lambda error types.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
pub mod error;
pub mod events;
pub mod fanin;
pub mod gate;
pub mod s3;
pub mod scan;
pub mod source;
pub mod store;

pub use config::{CommonConfig, FanInConfig, PolicySource, ProcessEnv, QuarantineMode, ScanConfig};
pub use error::{ConfigError, HandlerError, S3Error};
pub use events::{Item, ObjectCreated, Parsed, Route, Router, parse_event};
pub use fanin::{FanInState, handle_fan_in};
pub use s3::{local_s3_client, s3_client};
pub use scan::{ScanState, handle_scan};
pub use source::S3Source;
pub use store::{Outcome, ResultStore, StoredResult};

/// The error and its sources, `: `-joined (for logs and Lambda error messages).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let m = e.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = e.source();
    }
    s
}

/// Loads and validates the policy named by the configuration. The embedded default applies when
/// `POLICY_URI` is unset; that choice is logged.
pub async fn load_policy(
    s3: &aws_sdk_s3::Client,
    source: &PolicySource,
) -> Result<portcullis_core::Policy, ConfigError> {
    let err = |message: String| ConfigError::Policy {
        uri: source.describe(),
        message,
    };
    let (name, text) = match source {
        PolicySource::Embedded => {
            tracing::info!("POLICY_URI not set: using the embedded default policy");
            return Ok(portcullis_core::Policy::default_policy());
        }
        PolicySource::File(path) => {
            let text = tokio::fs::read_to_string(path)
                .await
                .map_err(|e| err(e.to_string()))?;
            (path.clone(), text)
        }
        PolicySource::S3 { bucket, key } => {
            let bytes = crate::s3::get_bytes(s3, bucket, key)
                .await
                .map_err(|e| err(error_chain(&e)))?
                .ok_or_else(|| err("object not found".into()))?;
            (
                key.clone(),
                String::from_utf8(bytes).map_err(|e| err(e.to_string()))?,
            )
        }
    };
    let policy =
        portcullis_core::Policy::from_document(&name, &text).map_err(|e| err(e.to_string()))?;
    tracing::info!(policy = %source.describe(), "policy loaded");
    Ok(policy)
}

/// Initializes logging the Lambda way: JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`, level from
/// `AWS_LAMBDA_LOG_LEVEL`/`RUST_LOG` (default INFO), no timestamps (CloudWatch adds them).
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}
