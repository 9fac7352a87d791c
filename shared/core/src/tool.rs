//! The `SecurityTool` plugin contract, the artifact source abstraction tools read from, and the shared
//! plumbing that turns a reader walk into a [`ToolResult`] (limits hit → unscannable findings).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::Utc;

use crate::model::{
    ArtifactId, ArtifactRef, EntryError, Finding, Inventory, SCHEMA_VERSION, ToolError,
    ToolErrorKind, ToolResult, ToolStats, ToolStatus, UnscannableReason,
};
use crate::policy::Policy;
use crate::reader::{ReaderError, Visitor, WalkOptions, WalkReport, walk_path, walk_reader};

/// Where a tool reads the artifact's bytes from. `open` may be called once per tool.
pub trait ArtifactSource: Send + Sync {
    /// A fresh reader over the whole artifact (called on a blocking thread).
    fn open(&self) -> Result<Box<dyn Read + Send>, ReaderError>;
    /// The local file, when the artifact is one (random access without spooling).
    fn local_path(&self) -> Option<&Path>;
    /// Size, when known before reading.
    fn size_hint(&self) -> Option<u64>;
    /// Name for paths and messages (`s3://b/k` or the file path).
    fn display_name(&self) -> String;
}

/// A local file as an [`ArtifactSource`].
#[derive(Debug, Clone)]
pub struct LocalFile {
    path: PathBuf,
    display: String,
}

impl LocalFile {
    /// Wraps a path.
    pub fn new(path: impl Into<PathBuf>) -> LocalFile {
        let path = path.into();
        let display = path.display().to_string();
        LocalFile { path, display }
    }
}

impl ArtifactSource for LocalFile {
    fn open(&self) -> Result<Box<dyn Read + Send>, ReaderError> {
        std::fs::File::open(&self.path)
            .map(|f| Box::new(f) as Box<dyn Read + Send>)
            .map_err(|source| {
                if source.kind() == std::io::ErrorKind::NotFound {
                    ReaderError::NotFound {
                        path: self.display.clone(),
                    }
                } else {
                    ReaderError::Io {
                        path: self.display.clone(),
                        source,
                    }
                }
            })
    }
    fn local_path(&self) -> Option<&Path> {
        Some(&self.path)
    }
    fn size_hint(&self) -> Option<u64> {
        std::fs::metadata(&self.path).ok().map(|m| m.len())
    }
    fn display_name(&self) -> String {
        self.display.clone()
    }
}

/// Walks a source: local files directly, streams through [`walk_reader`].
pub fn walk_source(
    source: &dyn ArtifactSource,
    opts: &WalkOptions,
    visitor: &mut dyn Visitor,
) -> Result<WalkReport, ReaderError> {
    let name = source.display_name();
    match source.local_path() {
        Some(p) => walk_path(p, &name, opts, visitor),
        None => {
            let mut r = source.open()?;
            walk_reader(&mut r, &name, source.size_hint(), opts, visitor)
        }
    }
}

/// A tool's configuration from the policy: whether it runs, and its free-form settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolConfiguration {
    /// Whether the tool runs.
    pub enabled: bool,
    /// Tool-specific settings (`[tools.settings.<slot>]`).
    pub settings: serde_json::Value,
}

impl ToolConfiguration {
    /// The configuration of `slot` under `policy`.
    pub fn from_policy(policy: &Policy, slot: &str) -> ToolConfiguration {
        ToolConfiguration {
            enabled: policy.tool_enabled(slot),
            settings: policy
                .tools
                .settings
                .get(slot)
                .cloned()
                .unwrap_or(serde_json::Value::Null),
        }
    }
}

/// What a tool needs to run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// Needs network access at scan time (none of ours do).
    pub network: bool,
    /// Needs a vulnerability database.
    pub database: bool,
}

/// Everything a tool gets besides its configuration.
#[derive(Clone)]
pub struct ToolContext {
    /// The artifact's identity.
    pub artifact: ArtifactRef,
    /// Its id.
    pub artifact_id: ArtifactId,
    /// The validated policy.
    pub policy: Arc<Policy>,
    /// Reader options (limits from the policy, deadline from the caller).
    pub walk: WalkOptions,
}

impl ToolContext {
    /// A context for `artifact` under `policy`, with an optional external deadline.
    pub fn new(
        artifact: ArtifactRef,
        policy: Arc<Policy>,
        deadline: Option<Instant>,
    ) -> ToolContext {
        let artifact_id = artifact.artifact_id();
        let mut walk = WalkOptions::new(policy.limits.clone());
        walk.deadline = deadline;
        ToolContext {
            artifact,
            artifact_id,
            policy,
            walk,
        }
    }

    /// A context for the local file `path` under `policy`, without a deadline (tests, benches).
    pub fn for_local_file(path: &Path, policy: Arc<Policy>) -> ToolContext {
        ToolContext::new(
            ArtifactRef::Local(crate::model::LocalFileRef {
                path: path.display().to_string(),
                size: None,
            }),
            policy,
            None,
        )
    }
}

/// A security tool: one plugin, run by the tool manager (CLI) or by its own Lambda function.
#[async_trait]
pub trait SecurityTool: Send + Sync {
    /// Path-like name (`vuln/osv`, `secrets/regex`). The part before `/` is the slot.
    fn name(&self) -> &'static str;
    /// Version of the tool including its rules or database (`1.0.0+rules.3`).
    fn version(&self) -> String;
    /// What it needs.
    fn requirements(&self) -> Requirements {
        Requirements::default()
    }
    /// The slot (`vuln`) this tool fills in the chain.
    fn slot(&self) -> &'static str {
        let n = self.name();
        n.split('/').next().unwrap_or(n)
    }
    /// Scans one artifact.
    async fn analyze(
        &self,
        source: Arc<dyn ArtifactSource>,
        config: &ToolConfiguration,
        ctx: &ToolContext,
    ) -> Result<ToolResult, ToolError>;
    /// Whether `error`, returned by [`SecurityTool::analyze`], says that the tool itself cannot run now
    /// (say its database is not loaded and could not be) rather than anything about the artifact. A function
    /// then fails the message, so it is retried and finally dead-lettered, instead of storing an error
    /// result for the artifact. Default: never.
    fn unavailable(&self, _error: &ToolError) -> bool {
        false
    }
}

/// What a visitor-based tool produced.
#[derive(Debug, Default)]
pub struct VisitorOutput {
    /// Findings.
    pub findings: Vec<Finding>,
    /// Inventory.
    pub inventory: Option<Inventory>,
    /// Entry-level errors of the tool itself (parse failures etc.).
    pub errors: Vec<EntryError>,
}

/// Runs a reader walk with `visitor` and assembles the tool result: issues become unscannable findings and
/// make the status `partially_succeeded`; a missing artifact gives a `failed` result with a `missing` finding.
pub fn run_walk<V, F>(
    tool: &str,
    tool_version: String,
    source: &dyn ArtifactSource,
    ctx: &ToolContext,
    mut visitor: V,
    finish: F,
) -> ToolResult
where
    V: Visitor,
    F: FnOnce(V, &WalkReport) -> VisitorOutput,
{
    let started = Instant::now();
    let started_at = Utc::now();
    let mut result = ToolResult {
        schema_version: SCHEMA_VERSION,
        tool: tool.to_string(),
        tool_version,
        artifact_id: ctx.artifact_id.clone(),
        status: ToolStatus::Succeeded,
        failure_reason: None,
        findings: Vec::new(),
        errors: Vec::new(),
        stats: ToolStats::default(),
        artifact: None,
        inventory: None,
        started_at,
    };
    match walk_source(source, &ctx.walk, &mut visitor) {
        Ok(report) => {
            let out = finish(visitor, &report);
            result.findings = out.findings;
            result.inventory = out.inventory;
            result.errors = out.errors;
            result.errors.extend(report.errors.iter().cloned());
            for issue in &report.issues {
                result.findings.push(Finding::unscannable(
                    tool,
                    issue.reason,
                    issue.detail.clone(),
                    Some(issue.path.clone()),
                ));
            }
            if report.issues_dropped > 0 {
                result.errors.push(EntryError {
                    path: source.display_name(),
                    message: format!(
                        "{} further unscannable entries not listed",
                        report.issues_dropped
                    ),
                });
            }
            if !report.complete() {
                result.status = ToolStatus::PartiallySucceeded;
                result.failure_reason = Some(if report.aborted {
                    "walk stopped by a limit".to_string()
                } else {
                    "some entries could not be scanned".to_string()
                });
            }
            result.stats.bytes_scanned = report.bytes_read;
            result.stats.entries_scanned = report.files;
            result.artifact = Some(report.metadata);
        }
        Err(ReaderError::NotFound { path }) => {
            result.status = ToolStatus::Failed;
            result.failure_reason = Some(format!("artifact not found: {path}"));
            result.findings.push(Finding::unscannable(
                tool,
                UnscannableReason::Missing,
                format!("{path} does not exist (deleted before its scan?)"),
                None,
            ));
        }
        Err(e) => {
            result.status = ToolStatus::Failed;
            result.failure_reason = Some(crate::reader::error_chain(&e));
            result.findings.push(Finding::unscannable(
                tool,
                UnscannableReason::Corrupt,
                crate::reader::error_chain(&e),
                None,
            ));
        }
    }
    result.stats.duration_ms = started.elapsed().as_millis() as u64;
    result.normalize();
    result
}

/// Builds a [`ToolError`].
pub fn tool_error(
    tool: &str,
    artifact_id: &ArtifactId,
    kind: ToolErrorKind,
    message: impl Into<String>,
) -> ToolError {
    ToolError {
        schema_version: SCHEMA_VERSION,
        tool: tool.to_string(),
        artifact_id: artifact_id.clone(),
        kind,
        message: message.into(),
    }
}
