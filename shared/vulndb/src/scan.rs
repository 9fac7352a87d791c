//! The `vuln-scan` function: the shared scanner handler of `portcullis-aws` ([`handle_scan`]: parse →
//! route → skip duplicates → stream the object through the tool with the Lambda deadline minus a margin →
//! store the result with `If-None-Match`), with [`CachedVulnTool`] as the tool. That tool asks the
//! [`DbCache`] for the current database on every scan (an in-memory hit, or one HEAD at most every check
//! interval) and delegates to `portcullis_vuln::tool::analyze_with_database`, which walks the artifact
//! while the database loads, receives the policy through the `ToolContext` and adds an unscannable
//! `tool_input_unavailable` finding when the database is older than `vulnerabilities.max_db_age_hours`,
//! so a stale database never yields CLEAN.

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
use portcullis_vuln::TOOL_NAME;

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
            Some(db) => portcullis_vuln::tool::version_for(&db),
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
        _config: &ToolConfiguration,
        ctx: &ToolContext,
    ) -> Result<ToolResult, ToolError> {
        // The artifact is walked while the database loads (a cold start's first scan overlaps the index
        // download with the artifact's); afterwards `get` is an in-memory hit.
        let db = async {
            self.cache.get().await.map_err(|e| {
                tool_error(
                    TOOL_NAME,
                    &ctx.artifact_id,
                    ToolErrorKind::Misconfigured,
                    format!(
                        "vulnerability database unavailable: {}",
                        portcullis_aws::error_chain(&e)
                    ),
                )
            })
        };
        portcullis_vuln::tool::analyze_with_database(source, ctx, db).await
    }

    /// With no database ever loaded in this container, an error is the database's (missing, unreadable,
    /// corrupt index), not the artifact's: the message is retried and finally dead-lettered, which the
    /// fan-in records as this tool's error — no result is stored for the artifact.
    fn unavailable(&self, _error: &ToolError) -> bool {
        self.cache.snapshot().is_none()
    }
}

/// Builds the vuln-scan state at cold start: configuration from the environment, the S3 client and the
/// policy. The database starts loading in the background at once ([`start_loading`]); the first scan walks
/// its artifact meanwhile and waits for the load only to match packages.
pub async fn vuln_scan_state(
    env: &dyn portcullis_aws::config::Env,
) -> Result<ScanState, crate::VulnDbError> {
    let config = ScanConfig::from_env(env)?;
    let cache_config = CacheConfig::from_env(env)?;
    let s3 = portcullis_aws::s3_client(config.common.endpoint_url.as_deref()).await;
    let cache = Arc::new(DbCache::new(s3.clone(), cache_config));
    let loading = start_loading(&cache);
    let policy = Arc::new(portcullis_aws::load_policy(&s3, &config.common.policy).await?);
    let tool: Arc<dyn SecurityTool> = Arc::new(CachedVulnTool::new(cache));
    // The policy's freshness limit is checked once the index is in (a stale index is not fatal: every scan
    // reports it as an unscannable finding until the sync catches up).
    let max_age = policy.vulnerabilities.clone();
    tokio::spawn(async move {
        if let Ok(Ok(db)) = loading.await
            && let Err(stale) = db.check_policy(&max_age)
        {
            tracing::warn!(error = %stale, "vulnerability database is stale");
        }
    });
    tracing::info!(
        tool = tool.name(),
        enabled = policy.tool_enabled(tool.slot()),
        "scanner ready; database loading"
    );
    Ok(ScanState::new(s3, config, policy, tool))
}

/// Starts the cache's first load on the runtime. A failure is logged here; the first scan's own `get`
/// then tries again and, failing too, makes its message retried ([`CachedVulnTool::unavailable`]).
pub fn start_loading(
    cache: &Arc<DbCache>,
) -> tokio::task::JoinHandle<Result<Arc<portcullis_vuln::Database>, crate::VulnDbError>> {
    let cache = Arc::clone(cache);
    tokio::spawn(async move {
        let loaded = cache.get().await;
        if let Err(e) = &loaded {
            tracing::error!(error = %portcullis_aws::error_chain(e), "vulnerability database could not be loaded");
        }
        loaded
    })
}

/// Runs the vuln-scan function (the binary calls only this).
pub async fn run_vuln_scan_function() -> Result<(), lambda_runtime::Error> {
    let state = vuln_scan_state(&ProcessEnv).await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event: LambdaEvent<Value>| {
        handle_scan(&state, event)
    }))
    .await
}
