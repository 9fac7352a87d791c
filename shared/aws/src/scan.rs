//! The scanner handler shared by every tool function (`vuln-scan`, `license-scan`, `malware-scan`,
//! `secret-scan`): parse the event → route to an artifact → skip if this tool's result exists → stream the
//! object through the tool with a deadline (the Lambda deadline minus a margin, so a slow scan ends as a
//! partial/UNSCANNABLE result instead of being killed) → store the result with `If-None-Match`.
//!
//! SQS batches report failed messages in `batchItemFailures` (the queue retries them, then dead-letters
//! them, and the fan-in records a `dead_lettered` error for this tool). A direct (non-SQS) invocation fails
//! as a whole with a typed error.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};
use aws_sdk_s3::Client;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use portcullis_core::tool::tool_error;
use portcullis_core::{
    ArtifactRef, Policy, SecurityTool, ToolConfiguration, ToolContext, ToolErrorKind,
};

use crate::config::ScanConfig;
use crate::error::HandlerError;
use crate::events::{Item, Route, Router, parse_event};
use crate::s3::Created;
use crate::source::S3Source;
use crate::store::{Outcome, ResultStore, StoredResult};

/// Everything a scanner invocation needs, built once per container.
pub struct ScanState {
    /// S3 client.
    pub s3: Client,
    /// Configuration.
    pub config: ScanConfig,
    /// Validated policy.
    pub policy: Arc<Policy>,
    /// The function's one tool.
    pub tool: Arc<dyn SecurityTool>,
    /// Results bucket.
    pub store: ResultStore,
    /// Event router.
    pub router: Router,
}

impl ScanState {
    /// Assembles the state.
    pub fn new(
        s3: Client,
        config: ScanConfig,
        policy: Arc<Policy>,
        tool: Arc<dyn SecurityTool>,
    ) -> ScanState {
        let store = ResultStore::new(s3.clone(), config.common.results_bucket.clone());
        let router = Router {
            results_bucket: config.common.results_bucket.clone(),
            artifact_prefix: config.artifact_prefix.clone(),
            excluded_prefixes: config.excluded_prefixes.clone(),
        };
        ScanState {
            s3,
            config,
            policy,
            tool,
            store,
            router,
        }
    }
}

/// What happened to one artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanOutcome {
    /// Result stored now.
    Stored,
    /// Another invocation stored it first (duplicate event).
    Duplicate,
    /// The policy disables this tool: nothing to do.
    Disabled,
}

/// The external deadline for a scan: the Lambda deadline minus `margin` (the margin is capped at a quarter
/// of the remaining time, so a short function timeout still leaves the scan most of it). `None` when the
/// context carries no deadline (`Context::default()` in tests) or one that had already passed when the
/// invocation started: real Lambda never does that, but runtime emulators do (`cargo lambda watch` sends a
/// constant `600000`, i.e. 1970). The scan is then bounded by the policy's wall-time limit alone.
pub fn scan_deadline(ctx: &lambda_runtime::Context, margin: Duration) -> Option<Instant> {
    if ctx.deadline == 0 {
        return None;
    }
    let Ok(remaining) = ctx.deadline().duration_since(SystemTime::now()) else {
        tracing::warn!(
            deadline_ms = ctx.deadline,
            "the runtime's deadline had passed before the invocation started (an emulator?): \
             ignored; the scan is bounded by the policy's wall-time limit"
        );
        return None;
    };
    let margin = margin.min(remaining / 4);
    tracing::debug!(
        remaining_ms = remaining.as_millis() as u64,
        margin_ms = margin.as_millis() as u64,
        "scan deadline"
    );
    Some(Instant::now() + remaining.saturating_sub(margin))
}

/// Handles one invocation.
pub async fn handle_scan(
    state: &ScanState,
    event: LambdaEvent<Value>,
) -> Result<SqsBatchResponse, HandlerError> {
    let items = parse_event(&event.payload)?;
    let deadline = scan_deadline(&event.context, state.config.deadline_margin);
    let mut failures: Vec<(Item, HandlerError)> = Vec::new();
    let total = items.len();
    for item in items {
        let result = match &item.parsed {
            Err(e) => Err(HandlerError::InvalidEvent(e.clone())),
            Ok(parsed) => match state.router.for_scanner(parsed) {
                Route::Artifact(artifact) => {
                    scan_artifact(state, artifact, deadline).await.map(|_| ())
                }
                Route::Ignored(reason) => {
                    tracing::info!(message_id = %item.message_id, ?reason, "ignored");
                    Ok(())
                }
                other => {
                    tracing::info!(message_id = %item.message_id, route = ?other, "not an artifact; ignored");
                    Ok(())
                }
            },
        };
        if let Err(e) = result {
            tracing::error!(message_id = %item.message_id, error_type = e.error_type(), error = %crate::error_chain(&e), "item failed");
            failures.push((item, e));
        }
    }
    batch_response(total, failures)
}

/// Turns per-item failures into the SQS partial-batch response (SQS items) or an error (direct events).
pub(crate) fn batch_response(
    total: usize,
    failures: Vec<(Item, HandlerError)>,
) -> Result<SqsBatchResponse, HandlerError> {
    let mut resp = SqsBatchResponse::default();
    let mut direct: Vec<HandlerError> = Vec::new();
    for (item, err) in failures {
        if item.from_sqs {
            if !resp
                .batch_item_failures
                .iter()
                .any(|f| f.item_identifier == item.message_id)
            {
                let mut f = BatchItemFailure::default();
                f.item_identifier = item.message_id.clone();
                resp.batch_item_failures.push(f);
            }
        } else {
            direct.push(err);
        }
    }
    match direct.len() {
        0 => Ok(resp),
        1 if total == 1 => Err(direct.remove(0)),
        n => Err(HandlerError::Items {
            failed: n,
            total,
            first: crate::error_chain(&direct[0]),
        }),
    }
}

/// Scans one artifact with the state's tool and stores the outcome.
pub async fn scan_artifact(
    state: &ScanState,
    artifact: ArtifactRef,
    deadline: Option<Instant>,
) -> Result<ScanOutcome, HandlerError> {
    let slot = state.tool.slot();
    let ArtifactRef::S3(object) = &artifact else {
        return Err(HandlerError::ArtifactUnavailable(
            "only S3 artifacts are scanned by functions".into(),
        ));
    };
    let id = artifact.artifact_id();
    if !state.policy.tool_enabled(slot) {
        tracing::info!(artifact_id = %id, slot, "tool disabled by the policy; nothing to do");
        return Ok(ScanOutcome::Disabled);
    }
    let source = Arc::new(S3Source::new(
        state.s3.clone(),
        object.clone(),
        tokio::runtime::Handle::current(),
    ));
    let config = ToolConfiguration::from_policy(&state.policy, slot);
    let ctx = ToolContext::new(artifact.clone(), Arc::clone(&state.policy), deadline);
    let tool = Arc::clone(&state.tool);
    let tool_name = tool.name();
    let handle = tokio::runtime::Handle::current();
    let src: Arc<dyn portcullis_core::ArtifactSource> = source.clone();
    // The tool may do blocking work inside `analyze`; run it on a blocking thread so the S3 body pump
    // keeps the runtime's workers.
    let task =
        tokio::task::spawn_blocking(move || handle.block_on(tool.analyze(src, &config, &ctx)));
    // The duplicate check runs while the scan starts, so a first delivery does not wait a round trip
    // before its GET; a duplicate cancels the scan's reads (its walk stops; nothing is stored).
    match state.store.has_result(&id, slot).await {
        Ok(false) => {}
        Ok(true) => {
            source.cancel();
            tracing::info!(artifact_id = %id, slot, "result already stored (duplicate event)");
            return Ok(ScanOutcome::Duplicate);
        }
        Err(e) => {
            source.cancel();
            return Err(e.into());
        }
    }
    // Backstop in case a tool ignores the walk deadline: stop waiting shortly after it.
    let waited = match deadline {
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now()) + Duration::from_secs(2);
            tokio::time::timeout(left, task).await
        }
        None => Ok(task.await),
    };
    let outcome = match waited {
        Ok(Ok(Ok(result))) => {
            if let Some(m) = source.transient_error() {
                // Not the artifact's fault: let SQS retry rather than store a failed result forever.
                return Err(HandlerError::ArtifactUnavailable(m));
            }
            Outcome::Result(Box::new(result))
        }
        Ok(Ok(Err(err))) => {
            if let Some(m) = source.transient_error() {
                return Err(HandlerError::ArtifactUnavailable(m));
            }
            if state.tool.unavailable(&err) {
                return Err(HandlerError::ToolUnavailable(err.message));
            }
            Outcome::Error(err)
        }
        Ok(Err(join)) => Outcome::Error(tool_error(
            tool_name,
            &id,
            if join.is_panic() {
                ToolErrorKind::Panicked
            } else {
                ToolErrorKind::Failed
            },
            if join.is_panic() {
                "the tool panicked".to_string()
            } else {
                "the tool task was cancelled".to_string()
            },
        )),
        Err(_elapsed) => Outcome::Error(tool_error(
            tool_name,
            &id,
            ToolErrorKind::TimedOut,
            "no result before the Lambda deadline margin",
        )),
    };
    let stored = StoredResult::new(artifact, slot, outcome);
    match state.store.put_result(&stored).await? {
        Created::Written => {
            tracing::info!(artifact_id = %id, slot, "result stored");
            Ok(ScanOutcome::Stored)
        }
        Created::AlreadyExists => {
            tracing::info!(artifact_id = %id, slot, "result already stored by a concurrent invocation");
            Ok(ScanOutcome::Duplicate)
        }
    }
}

/// Runs a scanner function: config from the environment, the S3 client and policy once per container, the
/// tool built from the policy by `make_tool`, then the Lambda loop. The function binaries call only this.
pub async fn run_scan_function<F, E>(make_tool: F) -> Result<(), lambda_runtime::Error>
where
    F: FnOnce(&Policy) -> Result<Arc<dyn SecurityTool>, E>,
    E: std::fmt::Display,
{
    let config = ScanConfig::from_env(&crate::ProcessEnv)?;
    let s3 = crate::s3_client(config.common.endpoint_url.as_deref()).await;
    let policy = Arc::new(crate::load_policy(&s3, &config.common.policy).await?);
    let tool = make_tool(&policy).map_err(|e| crate::ConfigError::Invalid {
        name: "tool",
        message: format!("cannot build the tool: {e}"),
    })?;
    tracing::info!(tool = tool.name(), version = %tool.version(), enabled = policy.tool_enabled(tool.slot()), "scanner ready");
    let state = ScanState::new(s3, config, policy, tool);
    lambda_runtime::run(lambda_runtime::service_fn(|event: LambdaEvent<Value>| {
        handle_scan(&state, event)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx_with_deadline_in(d: Duration) -> lambda_runtime::Context {
        let mut ctx = lambda_runtime::Context::default();
        ctx.deadline = (SystemTime::now() + d)
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        ctx
    }

    #[test]
    fn the_deadline_keeps_a_margin_capped_at_a_quarter_of_the_remaining_time() {
        let none = scan_deadline(&lambda_runtime::Context::default(), Duration::from_secs(15));
        assert_eq!(none, None);
        // 900 s left, 20 s margin: about 880 s
        let ctx = ctx_with_deadline_in(Duration::from_secs(900));
        let d = scan_deadline(&ctx, Duration::from_secs(20)).unwrap();
        let left = d.saturating_duration_since(Instant::now()).as_secs();
        assert!((877..=880).contains(&left), "{left}");
        // 3 s left, 15 s margin: the margin shrinks to 0.75 s instead of leaving no time at all
        let ctx = ctx_with_deadline_in(Duration::from_secs(3));
        let d = scan_deadline(&ctx, Duration::from_secs(15)).unwrap();
        let left = d.saturating_duration_since(Instant::now()).as_millis();
        assert!((2000..=2250).contains(&left), "{left}");
        // an emulator's nonsense deadline (cargo lambda watch sends 600000 ms after the epoch): ignored
        let mut ctx = lambda_runtime::Context::default();
        ctx.deadline = 600_000;
        assert_eq!(scan_deadline(&ctx, Duration::from_secs(15)), None);
    }
}
