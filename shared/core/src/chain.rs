//! The tool chain: [`ToolChainResult`] (per-tool results and errors, risk, verdict) and the [`ToolManager`]
//! that runs enabled tools concurrently on one artifact, recording each result or error — one tool's error,
//! panic or timeout never stops the others.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{
    ArtifactId, ArtifactMetadata, ArtifactRef, Finding, SCHEMA_VERSION, ToolError, ToolErrorKind,
    ToolResult,
};
use crate::policy::Policy;
use crate::tool::{ArtifactSource, SecurityTool, ToolConfiguration, ToolContext, tool_error};
use crate::verdict::{Verdict, VerdictReason, Waiver, evaluate};

/// The outcome of every tool on one artifact, with one verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolChainResult {
    /// Contract version.
    pub schema_version: u32,
    /// Artifact id.
    pub artifact_id: ArtifactId,
    /// Artifact identity.
    pub artifact: ArtifactRef,
    /// Digest, size and format, as read by the first tool that read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ArtifactMetadata>,
    /// Results by tool slot.
    pub results: BTreeMap<String, ToolResult>,
    /// Errors by tool slot.
    pub errors: BTreeMap<String, ToolError>,
    /// Risk score, 0–10.
    pub risk_score: f32,
    /// The verdict.
    pub verdict: Verdict,
    /// Why.
    pub reasons: Vec<VerdictReason>,
    /// Findings waived by exceptions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<Waiver>,
    /// When the first tool started.
    pub started_at: DateTime<Utc>,
    /// When the verdict was computed.
    pub completed_at: DateTime<Utc>,
    /// From the first tool's start to the verdict, in milliseconds.
    pub duration_ms: u64,
}

impl ToolChainResult {
    /// An empty chain for `artifact`; add results and errors, then [`ToolChainResult::finalize`].
    pub fn new(artifact: ArtifactRef, started_at: DateTime<Utc>) -> ToolChainResult {
        ToolChainResult {
            schema_version: SCHEMA_VERSION,
            artifact_id: artifact.artifact_id(),
            artifact,
            metadata: None,
            results: BTreeMap::new(),
            errors: BTreeMap::new(),
            risk_score: 0.0,
            verdict: Verdict::Error,
            reasons: Vec::new(),
            waivers: Vec::new(),
            started_at,
            completed_at: started_at,
            duration_ms: 0,
        }
    }

    /// Records a tool's result under its slot (a later result for the same slot replaces an error).
    pub fn add_tool_result(&mut self, result: ToolResult) {
        let slot = slot_of(&result.tool).to_string();
        if self.metadata.is_none()
            && let Some(m) = &result.artifact
        {
            self.metadata = Some(m.clone());
        }
        if result.started_at < self.started_at {
            self.started_at = result.started_at;
        }
        self.errors.remove(&slot);
        self.results.insert(slot, result);
    }

    /// Records a tool's error under its slot (ignored when the slot already has a result).
    pub fn add_tool_error(&mut self, error: ToolError) {
        let slot = slot_of(&error.tool).to_string();
        if !self.results.contains_key(&slot) {
            self.errors.insert(slot, error);
        }
    }

    /// Computes risk and verdict under `policy` as of `now`.
    pub fn finalize(&mut self, policy: &Policy, now: DateTime<Utc>) {
        let today: NaiveDate = now.date_naive();
        let eval = evaluate(
            &self.results,
            &self.errors,
            policy,
            self.artifact.key(),
            today,
        );
        self.verdict = eval.verdict;
        self.risk_score = eval.risk_score;
        self.reasons = eval.reasons;
        self.waivers = eval.waivers;
        self.completed_at = now;
        self.duration_ms = (now - self.started_at).num_milliseconds().max(0) as u64;
    }

    /// Replaces the findings of one tool (a rescan against a newer database) and re-evaluates the chain.
    /// Returns false when the chain has no result for `slot`.
    pub fn replace_findings(
        &mut self,
        slot: &str,
        findings: Vec<Finding>,
        policy: &Policy,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(r) = self.results.get_mut(slot) else {
            return false;
        };
        r.findings = findings;
        r.normalize();
        let started = self.started_at;
        self.finalize(policy, now);
        // the original scan's duration stays meaningful; the re-evaluation time is `completed_at`
        self.started_at = started;
        true
    }

    /// Every finding with its tool slot.
    pub fn findings(&self) -> impl Iterator<Item = (&str, &Finding)> {
        self.results
            .iter()
            .flat_map(|(slot, r)| r.findings.iter().map(move |f| (slot.as_str(), f)))
    }

    /// Whether a finding was waived.
    pub fn is_waived(&self, finding_id: &str) -> bool {
        self.waivers.iter().any(|w| w.finding_id == finding_id)
    }
}

/// The slot of a tool name (`vuln/osv` → `vuln`).
pub fn slot_of(tool: &str) -> &str {
    tool.split('/').next().unwrap_or(tool)
}

/// Runs tools on one artifact.
pub struct ToolManager {
    tools: Vec<Arc<dyn SecurityTool>>,
}

impl ToolManager {
    /// A manager over an explicit list of tools.
    pub fn new(tools: Vec<Arc<dyn SecurityTool>>) -> ToolManager {
        ToolManager { tools }
    }

    /// The tools.
    pub fn tools(&self) -> &[Arc<dyn SecurityTool>] {
        &self.tools
    }

    /// Runs every tool enabled by the policy concurrently and builds the finalized chain. A tool that
    /// errors, panics or exceeds the policy's timeout is recorded as a tool error; the others go on.
    pub async fn run(&self, source: Arc<dyn ArtifactSource>, ctx: &ToolContext) -> ToolChainResult {
        let started_at = Utc::now();
        let started = Instant::now();
        let mut chain = ToolChainResult::new(ctx.artifact.clone(), started_at);
        let timeout = ctx.policy.tools.timeout;
        let mut handles = Vec::new();
        for tool in &self.tools {
            let config = ToolConfiguration::from_policy(&ctx.policy, tool.slot());
            if !config.enabled {
                continue;
            }
            let tool = tool.clone();
            let source = source.clone();
            let ctx = ctx.clone();
            let name = tool.name();
            let handle = tokio::spawn(async move {
                tokio::time::timeout(timeout, tool.analyze(source, &config, &ctx)).await
            });
            handles.push((name, handle));
        }
        for (name, handle) in handles {
            match handle.await {
                Ok(Ok(Ok(result))) => chain.add_tool_result(result),
                Ok(Ok(Err(err))) => chain.add_tool_error(err),
                Ok(Err(_elapsed)) => chain.add_tool_error(tool_error(
                    name,
                    &ctx.artifact_id,
                    ToolErrorKind::TimedOut,
                    format!("no result within {} s", timeout.as_secs()),
                )),
                Err(join) => {
                    let kind = if join.is_panic() {
                        ToolErrorKind::Panicked
                    } else {
                        ToolErrorKind::Failed
                    };
                    let msg = if join.is_panic() {
                        let p = join.into_panic();
                        p.downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| p.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "panic".to_string())
                    } else {
                        "cancelled".to_string()
                    };
                    chain.add_tool_error(tool_error(name, &ctx.artifact_id, kind, msg));
                }
            }
        }
        let now = started_at + chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
        chain.finalize(&ctx.policy, now);
        chain
    }
}
