//! The shared conformance harness (`portcullis_core::conformance`, feature `test-util`) on the built-in
//! `inventory/entries` tool, and on two deliberately non-conforming tools built on the same reader, to show
//! the harness catches what it claims to catch (a tool that hides unscannable findings, a tool whose output
//! depends on the run).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use portcullis_core::conformance::Conformance;
use portcullis_core::model::{
    Finding, FindingDetail, FindingKind, LicenseDetail, LicenseSource, Severity, ToolError,
    ToolResult, ToolStatus,
};
use portcullis_core::tool::{ArtifactSource, SecurityTool, ToolConfiguration, ToolContext};
use portcullis_core::tools::inventory::EntryInventory;

#[tokio::test]
async fn inventory_entries_conforms() {
    let tool = EntryInventory;
    let second = EntryInventory;
    let report = Conformance::new(&tool).second_instance(&second).run().await;
    println!("{report}");
    assert!(report.cases.len() >= 12, "{report}");
}

/// Wraps the inventory tool and "cleans up" its result the way a careless tool would: drops unscannable
/// findings and reports success.
struct HidesUnscannable;

#[async_trait]
impl SecurityTool for HidesUnscannable {
    fn name(&self) -> &'static str {
        "inventory/hides-unscannable"
    }
    fn version(&self) -> String {
        "1".to_string()
    }
    async fn analyze(
        &self,
        source: Arc<dyn ArtifactSource>,
        config: &ToolConfiguration,
        ctx: &ToolContext,
    ) -> Result<ToolResult, ToolError> {
        let mut r = EntryInventory.analyze(source, config, ctx).await?;
        r.tool = self.name().to_string();
        r.tool_version = self.version();
        r.findings.retain(|f| f.kind() != FindingKind::Unscannable);
        r.status = ToolStatus::Succeeded;
        r.failure_reason = None;
        Ok(r)
    }
}

#[tokio::test]
async fn harness_rejects_a_tool_that_hides_what_it_did_not_scan() {
    let tool = HidesUnscannable;
    let report = Conformance::new(&tool).check().await;
    assert!(!report.passed(), "{report}");
    for case in [
        "[truncated gzip]",
        "[truncated gzip (single file)]",
        "[corrupt zip]",
        "[per-entry limit]",
        "[total bytes limit]",
        "[artifact size limit]",
        "[nesting depth limit]",
        "[missing artifact]",
    ] {
        assert!(
            report
                .failures
                .iter()
                .any(|f| f.starts_with(case) && f.to_lowercase().contains("succeeded")),
            "{case} not flagged:\n{report}"
        );
    }
    // The well-formed cases are not blamed.
    assert!(
        !report
            .failures
            .iter()
            .any(|f| f.starts_with("[deterministic output]") || f.starts_with("[nested archive]")),
        "{report}"
    );
}

/// Adds a finding that counts its calls: every run differs.
struct CountsRuns(AtomicU64);

#[async_trait]
impl SecurityTool for CountsRuns {
    fn name(&self) -> &'static str {
        "license/counts-runs"
    }
    fn version(&self) -> String {
        "1".to_string()
    }
    async fn analyze(
        &self,
        source: Arc<dyn ArtifactSource>,
        config: &ToolConfiguration,
        ctx: &ToolContext,
    ) -> Result<ToolResult, ToolError> {
        let mut r = EntryInventory.analyze(source, config, ctx).await?;
        r.tool = self.name().to_string();
        r.tool_version = self.version();
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        r.findings.push(Finding::new(
            self.name(),
            Severity::Info,
            format!("run {n}"),
            None,
            FindingDetail::License(LicenseDetail {
                expression: "MIT".to_string(),
                package: None,
                source: LicenseSource::Detected,
                confidence: None,
                violation: None,
            }),
            &[&n.to_string()],
        ));
        r.normalize();
        Ok(r)
    }
}

#[tokio::test]
async fn harness_rejects_nondeterministic_output() {
    let tool = CountsRuns(AtomicU64::new(0));
    let report = Conformance::new(&tool).check().await;
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.starts_with("[deterministic output] two runs on the same file differ")),
        "{report}"
    );
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.contains("read as a stream")),
        "{report}"
    );
}

/// A tool that looks at no file content at all (its visitor wants nothing), like a tool that only reads a
/// few metadata names: the artifact is still walked, so truncated streams and limits must still be reported.
struct WantsNothing;

struct NoFiles;

impl portcullis_core::reader::Visitor for NoFiles {
    fn wants(&mut self, _entry: &portcullis_core::reader::EntryInfo) -> bool {
        false
    }
    fn file(
        &mut self,
        _entry: &portcullis_core::reader::EntryInfo,
        _content: &mut dyn std::io::Read,
    ) -> std::io::Result<()> {
        Ok(())
    }
}

#[async_trait]
impl SecurityTool for WantsNothing {
    fn name(&self) -> &'static str {
        "inventory/wants-nothing"
    }
    fn version(&self) -> String {
        "1".to_string()
    }
    async fn analyze(
        &self,
        source: Arc<dyn ArtifactSource>,
        _config: &ToolConfiguration,
        ctx: &ToolContext,
    ) -> Result<ToolResult, ToolError> {
        Ok(portcullis_core::tool::run_walk(
            self.name(),
            self.version(),
            source.as_ref(),
            ctx,
            NoFiles,
            |_, _| portcullis_core::tool::VisitorOutput::default(),
        ))
    }
}

#[tokio::test]
async fn a_tool_that_reads_no_content_still_reports_broken_streams_and_limits() {
    // Regressions: a truncated single-file gzip whose inner file nobody reads was `succeeded`; a total-size
    // limit hit while the tar reader skipped an unread entry was reported as `corrupt` (and did not stop).
    let tool = WantsNothing;
    let report = Conformance::new(&tool).run().await;
    println!("{report}");
}
