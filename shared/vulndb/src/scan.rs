//! The `vuln-scan` function: the shared scanner handler of `portcullis-aws` ([`handle_scan`]: parse →
//! route → skip duplicates → stream the object through the tool with the Lambda deadline minus a margin →
//! store the result with `If-None-Match`), with [`CachedVulnTool`] as the tool. That tool asks the
//! [`DbCache`] for the current database on every scan (an in-memory hit, or one HEAD at most every check
//! interval) and delegates to `portcullis_vuln::VulnTool`, which receives the policy through the
//! `ToolContext` and adds an unscannable `tool_input_unavailable` finding when the database is older than
//! `vulnerabilities.max_db_age_hours`, so a stale database never yields CLEAN.

use std::sync::Arc;

use async_trait::async_trait;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use portcullis_aws::{ProcessEnv, ScanConfig, ScanState, handle_scan};
use portcullis_core::tool::{Requirements, tool_error};
use portcullis_core::{
    ArtifactSource, SecurityTool, ToolConfiguration, ToolContext, ToolError, ToolErrorKind,
    ToolResult,
};
use portcullis_vuln::{TOOL_NAME, VulnTool};

use crate::cache::{CacheConfig, DbCache};

/// `vuln/osv` over the per-container cached database.
#[derive(Debug, Clone)]
pub struct CachedVulnTool {
    cache: Arc<DbCache>,
}

impl CachedVulnTool {
    /// A tool over `cache`.
    pub fn new(cache: Arc<DbCache>) -> CachedVulnTool {
        CachedVulnTool { cache }
    }

    /// The cache.
    pub fn cache(&self) -> &Arc<DbCache> {
        &self.cache
    }
}

#[async_trait]
impl SecurityTool for CachedVulnTool {
    fn name(&self) -> &'static str {
        TOOL_NAME
    }

    fn version(&self) -> String {
        match self.cache.snapshot() {
            Some(db) => VulnTool::new(db).version(),
            None => format!("{}+db.unloaded", env!("CARGO_PKG_VERSION")),
        }
    }

    fn requirements(&self) -> Requirements {
        Requirements {
            network: false,
            database: true,
        }
    }

    async fn analyze(
        &self,
        source: Arc<dyn ArtifactSource>,
        config: &ToolConfiguration,
        ctx: &ToolContext,
    ) -> Result<ToolResult, ToolError> {
        let db = self.cache.get().await.map_err(|e| {
            tool_error(
                TOOL_NAME,
                &ctx.artifact_id,
                ToolErrorKind::Misconfigured,
                format!(
                    "vulnerability database unavailable: {}",
                    portcullis_aws::error_chain(&e)
                ),
            )
        })?;
        VulnTool::new(db).analyze(source, config, ctx).await
    }
}

/// Builds the vuln-scan state at cold start: configuration from the environment, the S3 client, the
/// policy, and the database loaded once (failing fast when it is absent or corrupt).
pub async fn vuln_scan_state(
    env: &dyn portcullis_aws::config::Env,
) -> Result<ScanState, crate::VulnDbError> {
    let config = ScanConfig::from_env(env)?;
    let cache_config = CacheConfig::from_env(env)?;
    let s3 = portcullis_aws::s3_client(config.common.endpoint_url.as_deref()).await;
    let cache = Arc::new(DbCache::new(s3.clone(), cache_config));
    // independent round trips: the policy and the index load at once
    let (policy, db) = tokio::join!(
        portcullis_aws::load_policy(&s3, &config.common.policy),
        cache.refresh()
    );
    let policy = Arc::new(policy?);
    let db = db?;
    if let Err(stale) = db.check_policy(&policy.vulnerabilities) {
        // Not fatal: every scan reports it as an unscannable finding until the sync catches up.
        tracing::warn!(error = %stale, "vulnerability database is stale");
    }
    let tool: Arc<dyn SecurityTool> = Arc::new(CachedVulnTool::new(cache));
    tracing::info!(tool = tool.name(), version = %tool.version(), enabled = policy.tool_enabled(tool.slot()), "scanner ready");
    Ok(ScanState::new(s3, config, policy, tool))
}

/// Runs the vuln-scan function (the binary calls only this).
pub async fn run_vuln_scan_function() -> Result<(), lambda_runtime::Error> {
    let state = vuln_scan_state(&ProcessEnv).await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event: LambdaEvent<Value>| {
        handle_scan(&state, event)
    }))
    .await
}
