//! The vulndb-sync handler (EventBridge Scheduled Event in, [`SyncReport`] out).

use aws_sdk_s3::Client;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use portcullis_aws::config::Env;

use crate::error::VulnDbError;
use crate::sync::{SyncConfig, SyncReport, fetcher_for, sync};

/// State of the sync function.
#[derive(Debug, Clone)]
pub struct SyncState {
    /// S3 client.
    pub s3: Client,
    /// Settings.
    pub config: SyncConfig,
}

impl SyncState {
    /// From the environment (`VULN_DB_URI`, `OSV_SOURCE_URL`, `OSV_ECOSYSTEMS`, `AWS_ENDPOINT_URL(_S3)`).
    pub async fn from_env(env: &dyn Env) -> Result<SyncState, VulnDbError> {
        let config = SyncConfig::from_env(env)?;
        let endpoint = env
            .var("AWS_ENDPOINT_URL_S3")
            .or_else(|| env.var("AWS_ENDPOINT_URL"))
            .filter(|v| !v.trim().is_empty());
        let s3 = portcullis_aws::s3_client(endpoint.as_deref()).await;
        Ok(SyncState { s3, config })
    }
}

/// Handles one scheduled invocation. The payload (an EventBridge Scheduled Event, or anything for a manual
/// run) carries no parameters; it is only logged.
pub async fn handle_sync(
    state: &SyncState,
    event: LambdaEvent<Value>,
) -> Result<SyncReport, VulnDbError> {
    let kind = event
        .payload
        .get("detail-type")
        .and_then(Value::as_str)
        .unwrap_or("manual invocation");
    tracing::info!(trigger = %kind, source = %state.config.source.export_url("<Ecosystem>"), "OSV sync started");
    let fetcher = fetcher_for(&state.config.source, &state.s3);
    let report = sync(&state.s3, &state.config, fetcher.as_ref()).await?;
    tracing::info!(
        advisories = report.advisories,
        size = report.size,
        build_ms = report.build_ms,
        total_ms = report.total_ms,
        ecosystems = ?report.ecosystems.iter().map(|(k, v)| (k.as_str(), v.advisories)).collect::<Vec<_>>(),
        missing = ?report.missing,
        "OSV sync finished"
    );
    Ok(report)
}
