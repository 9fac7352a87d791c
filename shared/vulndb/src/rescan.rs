//! Rescans: re-match stored SBOMs against a new index without downloading the artifacts again.
//!
//! For each artifact id: read `chains/<id>.json` (with its ETag) and `sboms/<id>.json` (the fan-in's
//! CycloneDX, read back losslessly; its legacy `portcullis-packages/1` document; or any CycloneDX/SPDX JSON
//! SBOM via `portcullis_inventory::packages_from_sbom`), match the packages with `portcullis_vuln::rescan`, and
//! replace the `vuln` slot's findings (`ToolChainResult::replace_findings`, which re-evaluates verdict and
//! risk under the policy). Unscannable findings of the original scan are kept (the SBOM cannot tell whether
//! those parts would now match), except the stale-database one, which the fresh index resolves.
//!
//! The chain is rewritten only when something changed, with `If-Match` on the ETag it was read at (a
//! concurrent writer makes the write fail with 412; the artifact is re-read and re-matched, up to
//! [`MAX_ATTEMPTS`] times). When the verdict changed, the status tags are re-applied with
//! `portcullis_aws::gate::apply_tags` (a quarantine *move* is not performed by a rescan; the tag gates
//! reads). The result lists `new_events(before, after)`: exactly the events the rewritten chain adds.
//!
//! Publishing: the publisher is triggered by chain writes, so a rewritten chain is published again. Event
//! ids are deterministic (artifact, finding id, evaluation), so the events already published for the old
//! chain carry the same ids and consumers de-duplicate them; only the new ones are new.
//!
//! A database older than the policy's `max_db_age` is refused ([`VulnDbError::Stale`]): a rescan with it
//! could only make a chain look cleaner than it is.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use chrono::Utc;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use portcullis_aws::config::{CommonConfig, Env};
use portcullis_aws::events::CHAINS_PREFIX;
use portcullis_aws::gate::{apply_tags, chain_tags};
use portcullis_aws::store::{LEGACY_SBOM_FORMAT, LegacySbomDocument, chain_key, sbom_key};
use portcullis_core::events::new_events;
use portcullis_core::{
    ArtifactId, ArtifactRef, FindingDetail, Package, Policy, SecurityEvent, SecurityTool,
    ToolChainResult, ToolStatus, UnscannableReason, Verdict,
};
use portcullis_vuln::{Database, DbError};

use crate::cache::{CacheConfig, DbCache};
use crate::error::VulnDbError;
use crate::s3util::{Class, classify, request_error};

/// Conditional-write attempts per artifact.
pub const MAX_ATTEMPTS: u32 = 5;
/// The vuln tool's chain slot.
pub const SLOT: &str = "vuln";
/// Default margin before the Lambda deadline at which a walk stops and returns a continuation token.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(30);
const STALE_REASON: &str = "vulnerability database older than the policy allows";

/// Everything a rescan invocation needs, built once per container.
#[derive(Debug)]
pub struct RescanState {
    /// S3 client.
    pub s3: Client,
    /// Results bucket (chains, SBOMs).
    pub bucket: String,
    /// Policy (verdicts are re-evaluated under it).
    pub policy: Arc<Policy>,
    /// The database cache.
    pub cache: Arc<DbCache>,
    /// Stop this long before the Lambda deadline.
    pub margin: Duration,
}

impl RescanState {
    /// Builds the state from the environment (`RESULTS_BUCKET`, `POLICY_URI`, `VULN_DB_URI`, …,
    /// `RESCAN_DEADLINE_MARGIN_MS`), loading the policy and the database (fail fast).
    pub async fn from_env(env: &dyn Env) -> Result<RescanState, VulnDbError> {
        let common = CommonConfig::from_env(env)?;
        let cache_config = CacheConfig::from_env(env)?;
        let margin = match env.var("RESCAN_DEADLINE_MARGIN_MS") {
            None => DEFAULT_MARGIN,
            Some(v) => Duration::from_millis(v.trim().parse().map_err(|e| {
                portcullis_aws::ConfigError::Invalid {
                    name: "RESCAN_DEADLINE_MARGIN_MS",
                    message: format!("`{v}` is not a number of milliseconds: {e}"),
                }
            })?),
        };
        let s3 = portcullis_aws::s3_client(common.endpoint_url.as_deref()).await;
        let policy = Arc::new(portcullis_aws::load_policy(&s3, &common.policy).await?);
        let cache = Arc::new(DbCache::new(s3.clone(), cache_config));
        cache.refresh().await?;
        Ok(RescanState {
            s3,
            bucket: common.results_bucket,
            policy,
            cache,
            margin,
        })
    }
}

/// The rescan function's input: explicit ids, or a walk of `chains/` (continued with the token).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescanRequest {
    /// Artifact ids to rescan.
    #[serde(default)]
    pub artifact_ids: Vec<String>,
    /// Walk every chain.
    #[serde(default)]
    pub all: bool,
    /// Continuation token of a previous walk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
}

/// What happened to one artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RescanStatus {
    /// The chain was rewritten.
    Updated,
    /// Nothing changed; the chain was left alone.
    Unchanged,
    /// No chain stored (not finished yet, or unknown id).
    NoChain,
    /// No SBOM stored (no tool produced an inventory).
    NoSbom,
    /// The chain has no `vuln` result (the tool errored or is not deployed).
    NoVulnResult,
}

/// One artifact's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactRescan {
    /// Artifact id.
    pub artifact_id: String,
    /// Outcome.
    pub status: RescanStatus,
    /// Verdict before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict_before: Option<Verdict>,
    /// Verdict after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict_after: Option<Verdict>,
    /// Whether the status tags were re-applied.
    pub retagged: bool,
    /// The events the rewritten chain adds (what the publisher will newly emit).
    pub new_events: Vec<SecurityEvent>,
}

/// A failed artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescanFailure {
    /// Artifact id.
    pub artifact_id: String,
    /// Stable error type.
    pub error_type: String,
    /// Message.
    pub message: String,
}

/// The rescan function's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RescanResponse {
    /// Build time of the index used.
    pub db_built_at: chrono::DateTime<Utc>,
    /// Per-artifact outcomes.
    pub artifacts: Vec<ArtifactRescan>,
    /// Failures (the rest of the batch still ran).
    pub failed: Vec<RescanFailure>,
    /// Set when a walk stopped at the deadline: invoke again with `{"all": true, "continuation_token": …}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
}

/// Handles one rescan invocation.
pub async fn handle_rescan(
    state: &RescanState,
    event: LambdaEvent<Value>,
) -> Result<RescanResponse, VulnDbError> {
    let req: RescanRequest = serde_json::from_value(event.payload).map_err(|e| {
        VulnDbError::Config(portcullis_aws::ConfigError::Invalid {
            name: "event",
            message: format!(
                "expected {{\"artifact_ids\": [...]}} or {{\"all\": true, \"continuation_token\"?: ...}}: {e}"
            ),
        })
    })?;
    let deadline = deadline(&event.context, state.margin);
    let db = state.cache.refresh().await?;
    db.check_policy(&state.policy.vulnerabilities)?;
    let mut resp = RescanResponse {
        db_built_at: db.metadata().built_at,
        artifacts: Vec::new(),
        failed: Vec::new(),
        continuation_token: None,
    };
    if !req.all {
        for id in req.artifact_ids {
            run_one(state, &db, id, &mut resp).await;
        }
        return Ok(resp);
    }
    let mut token = req.continuation_token;
    loop {
        let page = state
            .s3
            .list_objects_v2()
            .bucket(&state.bucket)
            .prefix(CHAINS_PREFIX)
            .max_keys(100)
            .set_continuation_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                request_error(
                    "ListObjectsV2",
                    &state.bucket,
                    CHAINS_PREFIX,
                    format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e)),
                )
            })?;
        for key in page.contents().iter().filter_map(|o| o.key()) {
            if let Some(id) = chain_id_of(key) {
                run_one(state, &db, id.to_string(), &mut resp).await;
            }
        }
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() {
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            // Pages are whole: the next invocation starts at the next page, nothing is skipped.
            resp.continuation_token = token;
            break;
        }
    }
    Ok(resp)
}

async fn run_one(state: &RescanState, db: &Arc<Database>, id: String, resp: &mut RescanResponse) {
    match rescan_artifact(state, db, &ArtifactId(id.clone())).await {
        Ok(r) => resp.artifacts.push(r),
        Err(e) => {
            tracing::error!(artifact_id = %id, error = %portcullis_aws::error_chain(&e), "rescan failed");
            resp.failed.push(RescanFailure {
                artifact_id: id,
                error_type: e.error_type().to_string(),
                message: portcullis_aws::error_chain(&e),
            });
        }
    }
}

/// The Lambda deadline minus `margin`; `None` without a deadline or with one that had passed before the
/// invocation started (runtime emulators), as in [`portcullis_aws::scan::scan_deadline`].
fn deadline(ctx: &lambda_runtime::Context, margin: Duration) -> Option<Instant> {
    if ctx.deadline == 0 {
        return None;
    }
    let Ok(remaining) = ctx.deadline().duration_since(SystemTime::now()) else {
        tracing::warn!(
            deadline_ms = ctx.deadline,
            "deadline already passed at start (an emulator?): ignored"
        );
        return None;
    };
    Some(Instant::now() + remaining.saturating_sub(margin))
}

/// `chains/<id>.json` → `<id>`.
pub fn chain_id_of(key: &str) -> Option<&str> {
    key.strip_prefix(CHAINS_PREFIX)?
        .strip_suffix(".json")
        .filter(|id| !id.is_empty() && !id.contains('/') && !id.ends_with(".sbom"))
}

/// Rescans one artifact.
pub async fn rescan_artifact(
    state: &RescanState,
    db: &Arc<Database>,
    id: &ArtifactId,
) -> Result<ArtifactRescan, VulnDbError> {
    let outcome = |status| ArtifactRescan {
        artifact_id: id.to_string(),
        status,
        verdict_before: None,
        verdict_after: None,
        retagged: false,
        new_events: Vec::new(),
    };
    let Some(packages) = load_sbom(&state.s3, &state.bucket, id).await? else {
        return Ok(outcome(RescanStatus::NoSbom));
    };
    let key = chain_key(id);
    for _attempt in 0..MAX_ATTEMPTS {
        let Some((before, etag)) = get_chain(&state.s3, &state.bucket, &key).await? else {
            return Ok(outcome(RescanStatus::NoChain));
        };
        let rematched =
            rematch(&before, &packages, db, &state.policy).map_err(|source| VulnDbError::Db {
                location: "the loaded index".to_string(),
                source,
            })?;
        let Some(after) = rematched else {
            return Ok(outcome(RescanStatus::NoVulnResult));
        };
        let events = new_events(&before, &after);
        let mut r = outcome(RescanStatus::Unchanged);
        r.verdict_before = Some(before.verdict);
        r.verdict_after = Some(after.verdict);
        if same_outcome(&before, &after) {
            return Ok(r);
        }
        let body = serde_json::to_vec_pretty(&after)
            .map_err(|e| VulnDbError::Internal(format!("chain JSON: {e}")))?;
        let res = state
            .s3
            .put_object()
            .bucket(&state.bucket)
            .key(&key)
            .if_match(format!("\"{}\"", etag.trim_matches('"')))
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await;
        match res {
            Ok(_) => {}
            Err(e) => match classify(&e) {
                Class::PreconditionFailed => {
                    tracing::info!(artifact_id = %id, "chain changed concurrently; re-reading");
                    continue;
                }
                // If-Match on a deleted key: 404
                Class::NotFound => return Ok(outcome(RescanStatus::NoChain)),
                Class::Other(m) => {
                    if m.contains("ConditionalRequestConflict") {
                        continue;
                    }
                    return Err(request_error("PutObject", &state.bucket, &key, m).into());
                }
            },
        }
        r.status = RescanStatus::Updated;
        r.new_events = events;
        if before.verdict != after.verdict
            && let ArtifactRef::S3(obj) = &after.artifact
        {
            let t = apply_tags(&state.s3, obj, &chain_tags(&after)).await?;
            tracing::info!(artifact_id = %id, tags = ?t, "status tags re-applied");
            r.retagged = true;
        }
        tracing::info!(
            artifact_id = %id,
            verdict_before = %before.verdict,
            verdict_after = %after.verdict,
            new_events = r.new_events.len(),
            "chain rescanned"
        );
        return Ok(r);
    }
    Err(VulnDbError::Conflict {
        bucket: state.bucket.clone(),
        key,
        attempts: MAX_ATTEMPTS,
    })
}

/// The chain with the `vuln` slot re-matched against `db` (`None`: no `vuln` result to update); an error
/// when the database cannot answer for a package.
pub fn rematch(
    before: &ToolChainResult,
    packages: &[Package],
    db: &Arc<Database>,
    policy: &Policy,
) -> Result<Option<ToolChainResult>, DbError> {
    let Some(old) = before.results.get(SLOT) else {
        return Ok(None);
    };
    let mut findings: Vec<_> = old
        .findings
        .iter()
        .filter(|f| match &f.detail {
            FindingDetail::Unscannable(u) => !is_stale_finding(u.reason, f.location.as_deref()),
            _ => false,
        })
        .cloned()
        .collect();
    findings.extend(portcullis_vuln::rescan(packages, db)?);
    let mut after = before.clone();
    if let Some(r) = after.results.get_mut(SLOT) {
        r.tool_version = portcullis_vuln::VulnTool::new(Arc::clone(db)).version();
        if r.failure_reason.as_deref() == Some(STALE_REASON) {
            r.failure_reason = None;
            if r.status == ToolStatus::PartiallySucceeded
                && !findings
                    .iter()
                    .any(|f| matches!(f.detail, FindingDetail::Unscannable(_)))
            {
                r.status = ToolStatus::Succeeded;
            }
        }
    }
    after.replace_findings(SLOT, findings, policy, Utc::now());
    Ok(Some(after))
}

fn is_stale_finding(reason: UnscannableReason, location: Option<&str>) -> bool {
    reason == UnscannableReason::ToolInputUnavailable && location.is_none()
}

fn finding_ids(c: &ToolChainResult) -> BTreeSet<&str> {
    c.results
        .get(SLOT)
        .map(|r| r.findings.iter().map(|f| f.id.as_str()).collect())
        .unwrap_or_default()
}

fn same_outcome(a: &ToolChainResult, b: &ToolChainResult) -> bool {
    a.verdict == b.verdict
        && (a.risk_score - b.risk_score).abs() < f32::EPSILON
        && finding_ids(a) == finding_ids(b)
}

async fn get_chain(
    s3: &Client,
    bucket: &str,
    key: &str,
) -> Result<Option<(ToolChainResult, String)>, VulnDbError> {
    let out = match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(o) => o,
        Err(e) => {
            return match classify(&e) {
                Class::NotFound => Ok(None),
                Class::PreconditionFailed => {
                    Err(
                        request_error("GetObject", bucket, key, "precondition failed".into())
                            .into(),
                    )
                }
                Class::Other(m) => Err(request_error("GetObject", bucket, key, m).into()),
            };
        }
    };
    let etag = out
        .e_tag()
        .map(str::to_string)
        .ok_or_else(|| request_error("GetObject", bucket, key, "no ETag".into()))?;
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| request_error("GetObject", bucket, key, format!("reading body: {e}")))?
        .into_bytes();
    let chain: ToolChainResult =
        serde_json::from_slice(&bytes).map_err(|e| portcullis_aws::S3Error::Corrupt {
            bucket: bucket.to_string(),
            key: key.to_string(),
            what: "tool chain result",
            message: e.to_string(),
        })?;
    Ok(Some((chain, etag)))
}

/// The stored SBOM's packages: the fan-in's CycloneDX (read back losslessly, locations and layers included),
/// its legacy `portcullis-packages/1` document, or any other CycloneDX/SPDX JSON.
pub async fn load_sbom(
    s3: &Client,
    bucket: &str,
    id: &ArtifactId,
) -> Result<Option<Vec<Package>>, VulnDbError> {
    let key = sbom_key(id);
    let Some(bytes) = portcullis_aws::s3::get_bytes(s3, bucket, &key).await? else {
        return Ok(None);
    };
    let err = |message: String| VulnDbError::Sbom {
        bucket: bucket.to_string(),
        key: key.clone(),
        message,
    };
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))?;
    if v.get("format").and_then(Value::as_str) == Some(LEGACY_SBOM_FORMAT) {
        let doc: LegacySbomDocument = serde_json::from_value(v).map_err(|e| err(e.to_string()))?;
        return Ok(Some(doc.packages));
    }
    if let Some(packages) = portcullis_core::cyclonedx::packages_from_portcullis_cyclonedx(&v) {
        return Ok(Some(packages));
    }
    portcullis_inventory::packages_from_sbom(&bytes)
        .map(Some)
        .map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_keys_map_to_ids() {
        assert_eq!(chain_id_of("chains/abc.json"), Some("abc"));
        assert_eq!(chain_id_of("chains/x/abc.json"), None);
        assert_eq!(chain_id_of("results/abc.json"), None);
        assert_eq!(chain_id_of("chains/.json"), None);
    }

    #[test]
    fn request_shapes() {
        let r: RescanRequest = serde_json::from_str(r#"{"artifact_ids": ["a", "b"]}"#).unwrap();
        assert_eq!(r.artifact_ids, ["a", "b"]);
        assert!(!r.all);
        let r: RescanRequest =
            serde_json::from_str(r#"{"all": true, "continuation_token": "t"}"#).unwrap();
        assert!(r.all);
        assert_eq!(r.continuation_token.as_deref(), Some("t"));
    }
}
