//! The fan-in handler: collects tool outcomes, decides once, and gates the artifact.
//!
//! Inputs (any accepted shape, usually SQS):
//! - "result stored" notifications for `results/<artifact-id>/<slot>.json` in the results bucket;
//! - messages from a tool's dead-letter queue (the original artifact event, after that tool's retries were
//!   exhausted): recorded as a `dead_lettered` `ToolError` for that tool (a no-op if the tool did store a
//!   result — the first outcome wins).
//!
//! When every tool the policy requires has an outcome, the chain is built from those outcomes and finalized
//! and written to `chains/<artifact-id>.json` with `If-None-Match` (exactly one winner; a loser adopts the
//! winner's chain). Then the actions run, each idempotent: status tags, SBOM, quarantine move. If the chain
//! already exists (a retry after a crash between "chain written" and "tags applied", or a late duplicate),
//! the actions are re-applied from the stored chain.
//!
//! Requests to a decision: the required results by their keys (one concurrent round, no LIST); the chain's
//! conditional PUT while the artifact's tags are read; the tag write while the SBOM is written.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsBatchResponse;
use aws_sdk_s3::Client;
use chrono::Utc;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use portcullis_core::tool::tool_error;
use portcullis_core::{ArtifactId, ArtifactRef, Policy, ToolChainResult, ToolErrorKind};

use crate::config::FanInConfig;
use crate::error::HandlerError;
use crate::events::{Item, Route, Router, parse_event};
use crate::gate::{
    MoveOutcome, TagOutcome, apply_tags, apply_tags_over, chain_tags, get_tags,
    quarantine_location, quarantine_move,
};
use crate::s3::Created;
use crate::scan::batch_response;
use crate::store::{Outcome, ResultStore, StoredResult};

/// Everything a fan-in invocation needs, built once per container.
pub struct FanInState {
    /// S3 client.
    pub s3: Client,
    /// Configuration.
    pub config: FanInConfig,
    /// Validated policy (its `tools.enabled` is what the fan-in waits for).
    pub policy: Arc<Policy>,
    /// Results bucket.
    pub store: ResultStore,
    /// Event router.
    pub router: Router,
}

impl FanInState {
    /// Assembles the state, checking the policy against the deployed tools.
    pub fn new(
        s3: Client,
        config: FanInConfig,
        policy: Arc<Policy>,
    ) -> Result<FanInState, crate::ConfigError> {
        config.check_policy(&policy)?;
        let store = ResultStore::new(s3.clone(), config.common.results_bucket.clone());
        let router = Router {
            results_bucket: config.common.results_bucket.clone(),
            artifact_prefix: String::new(),
            excluded_prefixes: match &config.quarantine {
                crate::config::QuarantineMode::Move { prefix, .. } if !prefix.is_empty() => {
                    vec![prefix.clone()]
                }
                _ => Vec::new(),
            },
        };
        Ok(FanInState {
            s3,
            config,
            policy,
            store,
            router,
        })
    }
}

/// What the fan-in did for one artifact.
#[derive(Debug, Clone, PartialEq)]
pub enum FanInOutcome {
    /// Still waiting for these slots.
    Waiting(Vec<String>),
    /// This invocation wrote the chain and applied the actions.
    Decided(Box<ActionReport>),
    /// The chain existed (or another invocation won the race); actions re-applied from it.
    Reapplied(Box<ActionReport>),
}

/// The actions applied for a chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionReport {
    /// The chain acted on.
    pub chain: ToolChainResult,
    /// Tagging.
    pub tags: TagOutcome,
    /// SBOM stored (`None`: no tool produced an inventory).
    pub sbom: Option<Created>,
    /// Quarantine move.
    pub moved: MoveOutcome,
}

/// Handles one invocation.
///
/// Dead letters are recorded first, item by item. Then each artifact the batch is about is completed
/// **once**, whatever number of its tools' results the batch carries (the four tools of one upload usually
/// finish within one batching window), and the distinct artifacts concurrently. A failure fails every item
/// of that artifact, so SQS redelivers all of them.
pub async fn handle_fan_in(
    state: &FanInState,
    event: LambdaEvent<Value>,
) -> Result<SqsBatchResponse, HandlerError> {
    let items = parse_event(&event.payload)?;
    let total = items.len();
    let mut failures: Vec<(Item, HandlerError)> = Vec::new();
    let mut pending: Vec<(ArtifactId, Vec<Item>)> = Vec::new();
    for item in items {
        match plan_item(state, &item).await {
            Ok(Some(id)) => match pending.iter_mut().find(|(a, _)| *a == id) {
                Some((_, same)) => same.push(item),
                None => pending.push((id, vec![item])),
            },
            Ok(None) => {}
            Err(e) => {
                tracing::error!(message_id = %item.message_id, error_type = e.error_type(), error = %crate::error_chain(&e), "item failed");
                failures.push((item, e));
            }
        }
    }
    let completed =
        futures::future::join_all(pending.iter().map(|(id, _)| complete(state, id))).await;
    for ((id, its_items), res) in pending.into_iter().zip(completed) {
        if let Err(e) = res {
            tracing::error!(artifact_id = %id, items = its_items.len(), error_type = e.error_type(), error = %crate::error_chain(&e), "artifact failed");
            failures.extend(its_items.into_iter().map(|item| (item, e.clone())));
        }
    }
    batch_response(total, failures)
}

/// Classifies one item: `Some(artifact)` when it asks for that artifact's chain to be completed (a stored
/// tool result, or a dead letter — recorded here), `None` when it is ignored.
async fn plan_item(state: &FanInState, item: &Item) -> Result<Option<ArtifactId>, HandlerError> {
    let parsed = item
        .parsed
        .as_ref()
        .map_err(|e| HandlerError::InvalidEvent(e.clone()))?;
    let dlq_slot = item
        .source_arn
        .as_deref()
        .and_then(|arn| state.config.dlq_slot(arn));
    if let Some(slot) = dlq_slot {
        return match state.router.for_scanner(parsed) {
            Route::Artifact(artifact) => store_dead_letter(state, artifact, slot).await.map(Some),
            other => {
                tracing::info!(message_id = %item.message_id, route = ?other, slot, "dead letter without an artifact; ignored");
                Ok(None)
            }
        };
    }
    match state.router.for_pipeline_output(parsed) {
        Route::ToolResult { artifact_id, slot } => {
            tracing::info!(%artifact_id, slot, "tool outcome stored");
            Ok(Some(artifact_id))
        }
        other => {
            tracing::info!(message_id = %item.message_id, route = ?other, "ignored");
            Ok(None)
        }
    }
}

/// Stores a `dead_lettered` tool error for `slot` (a no-op when the tool did report) and returns the
/// artifact's id.
async fn store_dead_letter(
    state: &FanInState,
    artifact: ArtifactRef,
    slot: &str,
) -> Result<ArtifactId, HandlerError> {
    let id = artifact.artifact_id();
    let err = tool_error(
        slot,
        &id,
        ToolErrorKind::DeadLettered,
        format!(
            "the {slot} function crashed or timed out on every retry; its message was dead-lettered"
        ),
    );
    let stored = StoredResult::new(artifact, slot, Outcome::Error(err));
    match state.store.put_result(&stored).await? {
        Created::Written => tracing::warn!(artifact_id = %id, slot, "recorded dead-lettered tool"),
        Created::AlreadyExists => {
            tracing::info!(artifact_id = %id, slot, "tool had already reported; dead letter ignored")
        }
    }
    Ok(id)
}

/// Builds the chain when every required tool has reported, and applies the actions.
pub async fn complete(state: &FanInState, id: &ArtifactId) -> Result<FanInOutcome, HandlerError> {
    // The chain is not read first: it usually does not exist yet, and when it does, the conditional write
    // below says so and the stored one is adopted.
    let results = state
        .store
        .results_expecting(id, &state.policy.tools.enabled)
        .await?;
    let missing: Vec<String> = state
        .policy
        .tools
        .enabled
        .iter()
        .filter(|slot| !results.iter().any(|r| &r.slot == *slot))
        .cloned()
        .collect();
    if !missing.is_empty() {
        // A chain with results missing: they expired after it was written. Its actions are completed
        // (they may not have been) rather than waiting for results that will not come.
        if let Some(chain) = state.store.chain(id).await? {
            let report = apply_actions(state, chain).await?;
            return Ok(FanInOutcome::Reapplied(Box::new(report)));
        }
        tracing::info!(artifact_id = %id, ?missing, "waiting for tools");
        return Ok(FanInOutcome::Waiting(missing));
    }
    let Some(first) = results.first() else {
        return Ok(FanInOutcome::Waiting(Vec::new()));
    };
    let now = Utc::now();
    let started_at = results
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Result(tr) => Some(tr.started_at),
            Outcome::Error(_) => None,
        })
        .min()
        .unwrap_or(now);
    let mut chain = ToolChainResult::new(first.artifact.clone(), started_at);
    for r in &results {
        match &r.outcome {
            Outcome::Result(tr) => chain.add_tool_result((**tr).clone()),
            Outcome::Error(e) => chain.add_tool_error(e.clone()),
        }
    }
    chain.finalize(&state.policy, now);
    // The artifact's tags are read while the chain is written (the merge needs them, whoever wins).
    let read_tags = async {
        match &chain.artifact {
            ArtifactRef::S3(obj) => get_tags(&state.s3, obj).await.map(Some),
            _ => Ok(None),
        }
    };
    let (created, tags) = tokio::join!(state.store.put_chain(&chain), read_tags);
    let (created, tags) = (created?, tags?);
    match created {
        Created::Written => {
            tracing::info!(artifact_id = %id, verdict = %chain.verdict, risk = chain.risk_score, "chain written");
            let report = apply_actions_over(state, chain, tags).await?;
            Ok(FanInOutcome::Decided(Box::new(report)))
        }
        Created::AlreadyExists => {
            tracing::info!(artifact_id = %id, "another invocation wrote the chain first; adopting it");
            let winner = state.store.chain(id).await?.ok_or_else(|| {
                HandlerError::Internal(format!("chain {id} reported existing but cannot be read"))
            })?;
            let report = apply_actions_over(state, winner, tags).await?;
            Ok(FanInOutcome::Reapplied(Box::new(report)))
        }
    }
}

/// Applies tags, SBOM and quarantine for a chain. Safe to repeat.
pub async fn apply_actions(
    state: &FanInState,
    chain: ToolChainResult,
) -> Result<ActionReport, HandlerError> {
    apply_actions_over(state, chain, None).await
}

/// [`apply_actions`], merging into the artifact's tags read before (`Some(read)`, see
/// [`apply_tags_over`]) or reading them now (`None`).
async fn apply_actions_over(
    state: &FanInState,
    chain: ToolChainResult,
    read_tags: Option<Option<Vec<(String, String)>>>,
) -> Result<ActionReport, HandlerError> {
    let ArtifactRef::S3(obj) = &chain.artifact else {
        return Err(HandlerError::ArtifactUnavailable(
            "chain of a non-S3 artifact".into(),
        ));
    };
    let ours = chain_tags(&chain);
    let tagging = async {
        let tags = match read_tags {
            Some(existing) => apply_tags_over(&state.s3, obj, &ours, existing).await?,
            None => apply_tags(&state.s3, obj, &ours).await?,
        };
        if tags == TagOutcome::ObjectMissing
            && let Some(dest) = quarantine_location(obj, &state.config.quarantine)
            && chain.verdict == portcullis_core::Verdict::Quarantined
        {
            // a retry after the move: make sure the moved copy carries the verdict
            return apply_tags(&state.s3, &dest, &ours).await;
        }
        Ok(tags)
    };
    // The SBOM goes to the results bucket: independent of the artifact's tags, written meanwhile. The move
    // waits for both (it copies the tagged object).
    let (tags, sbom) = tokio::try_join!(tagging, state.store.put_sbom(&chain))?;
    let moved = quarantine_move(&state.s3, &chain, &state.config.quarantine).await?;
    tracing::info!(
        artifact_id = %chain.artifact_id,
        verdict = %chain.verdict,
        tags = ?tags,
        sbom = ?sbom,
        moved = ?moved,
        "actions applied"
    );
    Ok(ActionReport {
        chain,
        tags,
        sbom,
        moved,
    })
}
