//! `license/spdx`: identifies the licences in an artifact — declared in package metadata ([`declared`]) and
//! detected from licence texts ([`detect`]) — and evaluates each SPDX expression against the policy's
//! `[licenses]` section ([`eval`]): deny list, allow list, unknown licences. Violations become findings with
//! `violation: Some(LicensePolicy { rule, matched })`; with `report_all` every identified licence is also
//! reported as an informational finding (`violation: None`).
//!
//! Settings (`[tools.settings.license]`): `confidence` (minimum detection score, default 0.8),
//! `detect_texts` (default true), `detect_headers` (licence headers of source files — SPDX tags and common
//! notices, see [`header`] —, default true; one observation per directory and expression).

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod askalono;
pub mod declared;
pub mod detect;
pub mod eval;
pub mod header;

use std::io::{self, Read};
use std::sync::Arc;

use async_trait::async_trait;
use portcullis_core::model::{
    EntryError, Format, LicenseDetail, LicenseRule, LicenseSource, PackageRef, Severity,
    ToolErrorKind,
};
use portcullis_core::policy::LicensePolicyConfig;
use portcullis_core::reader::{EntryInfo, Visitor};
use portcullis_core::tool::{VisitorOutput, run_walk, tool_error};
use portcullis_core::{
    ArtifactSource, Finding, FindingDetail, SecurityTool, ToolConfiguration, ToolContext,
    ToolError, ToolResult,
};
use serde::Deserialize;

/// Tool name.
pub const TOOL_NAME: &str = "license/spdx";

/// Settings of the tool.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LicenseSettings {
    /// Minimum detection score (0–1) for a licence text to count as identified.
    #[serde(default = "default_confidence")]
    pub confidence: f32,
    /// Detect licence texts (LICENSE, COPYING …) in addition to declared metadata.
    #[serde(default = "default_true")]
    pub detect_texts: bool,
    /// Detect licence headers (`SPDX-License-Identifier:` tags, Apache/GPL/MIT notices) in source files.
    #[serde(default = "default_true")]
    pub detect_headers: bool,
}

fn default_confidence() -> f32 {
    detect::DEFAULT_CONFIDENCE
}

fn default_true() -> bool {
    true
}

impl Default for LicenseSettings {
    fn default() -> Self {
        LicenseSettings {
            confidence: default_confidence(),
            detect_texts: true,
            detect_headers: true,
        }
    }
}

impl LicenseSettings {
    /// Reads the settings value of a [`ToolConfiguration`] (`null` = defaults).
    pub fn from_value(v: &serde_json::Value) -> Result<LicenseSettings, String> {
        let s: LicenseSettings = if v.is_null() {
            LicenseSettings::default()
        } else {
            serde_json::from_value(v.clone()).map_err(|e| format!("license settings: {e}"))?
        };
        if !(0.0..=1.0).contains(&s.confidence) {
            return Err(format!(
                "license settings: confidence {} is outside 0–1",
                s.confidence
            ));
        }
        Ok(s)
    }
}

/// One licence observation before policy evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Entry path.
    pub location: String,
    /// Image layer.
    pub layer: Option<String>,
    /// Package, for declared licences.
    pub package: Option<PackageRef>,
    /// Expression as written / detected id.
    pub expression: String,
    /// Declared or detected.
    pub source: LicenseSource,
    /// Detection score.
    pub confidence: Option<f32>,
    /// Other ids with the same licence text (detected texts): the policy is checked against each, so a text
    /// that is both `GPL-2.0-only` and `GPL-2.0-or-later` is denied if either is.
    pub same_text_ids: Vec<String>,
}

/// The licence tool.
#[derive(Debug, Clone, Default)]
pub struct LicenseTool;

impl LicenseTool {
    /// The tool (the embedded SPDX store loads on first use).
    pub fn new() -> LicenseTool {
        LicenseTool
    }

    /// Synchronous scan (what [`SecurityTool::analyze`] runs on a blocking thread).
    pub fn analyze_blocking(
        &self,
        source: &dyn ArtifactSource,
        config: &ToolConfiguration,
        ctx: &ToolContext,
    ) -> Result<ToolResult, ToolError> {
        self.analyze_with_store(source, config, ctx, || detect::store().is_some())
    }

    /// The scan, with `store_ready` telling whether the licence store is usable. The store is only loaded
    /// when a text needs it (a licence file, a source header). If a text needed it and it is unusable, the
    /// whole scan is a `failed` tool error — never a result that silently lacks the detected licences.
    fn analyze_with_store(
        &self,
        source: &dyn ArtifactSource,
        config: &ToolConfiguration,
        ctx: &ToolContext,
        store_ready: fn() -> bool,
    ) -> Result<ToolResult, ToolError> {
        let settings = LicenseSettings::from_value(&config.settings).map_err(|m| {
            tool_error(TOOL_NAME, &ctx.artifact_id, ToolErrorKind::Misconfigured, m)
        })?;
        let policy = ctx.policy.licenses.clone();
        let visitor = LicenseVisitor {
            settings,
            observations: Vec::new(),
            errors: Vec::new(),
            buf: Vec::new(),
            headers_seen: std::collections::HashSet::new(),
            store: StoreCheck {
                ready: store_ready,
                unusable: false,
            },
        };
        let mut store_unusable = false;
        let result = run_walk(TOOL_NAME, self.version(), source, ctx, visitor, |v, _| {
            store_unusable = v.store.unusable;
            let findings = findings_for(&v.observations, &policy);
            tracing::info!(
                tool = TOOL_NAME,
                observations = v.observations.len(),
                findings = findings.len(),
                "licence scan finished"
            );
            VisitorOutput {
                findings,
                inventory: None,
                errors: v.errors,
            }
        });
        if store_unusable {
            return Err(tool_error(
                TOOL_NAME,
                &ctx.artifact_id,
                ToolErrorKind::Failed,
                "the embedded SPDX licence store could not be loaded",
            ));
        }
        Ok(result)
    }
}

#[async_trait]
impl SecurityTool for LicenseTool {
    fn name(&self) -> &'static str {
        TOOL_NAME
    }

    fn version(&self) -> String {
        format!(
            "{}+spdx.{}",
            env!("CARGO_PKG_VERSION"),
            spdx::license_version()
        )
    }

    async fn analyze(
        &self,
        source: Arc<dyn ArtifactSource>,
        config: &ToolConfiguration,
        ctx: &ToolContext,
    ) -> Result<ToolResult, ToolError> {
        let tool = self.clone();
        let config = config.clone();
        let ctx2 = ctx.clone();
        tokio::task::spawn_blocking(move || tool.analyze_blocking(source.as_ref(), &config, &ctx2))
            .await
            .map_err(|e| {
                tool_error(
                    TOOL_NAME,
                    &ctx.artifact_id,
                    ToolErrorKind::Panicked,
                    e.to_string(),
                )
            })?
    }
}

fn package_label(p: &PackageRef) -> String {
    if p.version.is_empty() {
        format!("{} {}", p.ecosystem, p.name)
    } else {
        format!("{} {}@{}", p.ecosystem, p.name, p.version)
    }
}

/// Evaluates observations under the policy and builds the findings.
pub fn findings_for(observations: &[Observation], policy: &LicensePolicyConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    for o in observations {
        let mut ev = if o.expression == "NOASSERTION" {
            eval::unknown(o.expression.clone(), policy)
        } else {
            eval::evaluate(&o.expression, policy)
        };
        if !o.same_text_ids.is_empty() {
            // Same text, several ids: denied if any of them is denied; allowed if any of them is allowed.
            let others: Vec<eval::Evaluation> = o
                .same_text_ids
                .iter()
                .map(|id| eval::evaluate(id, policy))
                .collect();
            let denied = others
                .iter()
                .filter_map(|e| e.violation.clone())
                .find(|v| v.rule == LicenseRule::Denied);
            if ev
                .violation
                .as_ref()
                .is_none_or(|v| v.rule != LicenseRule::Denied)
                && denied.is_some()
            {
                ev.violation = denied;
            } else if ev
                .violation
                .as_ref()
                .is_some_and(|v| v.rule == LicenseRule::NotAllowed)
                && others.iter().any(|e| e.violation.is_none())
            {
                ev.violation = None;
            }
        }
        if ev.violation.is_none() && !policy.report_all {
            continue;
        }
        let subject = match (&o.package, o.source) {
            (Some(p), _) => package_label(p),
            (None, LicenseSource::Detected) => {
                let file = o.location.rsplit("!/").next().unwrap_or(&o.location);
                let name = file.rsplit('/').next().unwrap_or(file);
                if header::is_source_file(name) && !detect::is_license_file(name) {
                    format!("licence header {file}")
                } else {
                    format!("licence text {file}")
                }
            }
            (None, LicenseSource::Declared) => o.location.clone(),
        };
        let (severity, title) = match &ev.violation {
            None => (
                Severity::Info,
                format!("{subject}: licence {}", ev.expression),
            ),
            Some(v) => {
                let (sev, what) = match v.rule {
                    LicenseRule::Denied => (Severity::High, "is denied by policy"),
                    LicenseRule::NotAllowed => (Severity::Medium, "is not on the allow list"),
                    LicenseRule::Unknown => (Severity::Low, "cannot be identified"),
                };
                let matched = if v.matched.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", v.matched.join(", "))
                };
                (
                    sev,
                    format!(
                        "{subject}: licence `{}` {what}{matched} [rule: {}]",
                        ev.expression,
                        rule_name(v.rule)
                    ),
                )
            }
        };
        let pkg_id = o
            .package
            .as_ref()
            .map(|p| format!("{}:{}@{}", p.ecosystem, p.name, p.version))
            .unwrap_or_default();
        let source = match o.source {
            LicenseSource::Declared => "declared",
            LicenseSource::Detected => "detected",
        };
        let mut f = Finding::new(
            TOOL_NAME,
            severity,
            title,
            Some(o.location.clone()),
            FindingDetail::License(LicenseDetail {
                expression: ev.expression.clone(),
                package: o.package.clone(),
                source: o.source,
                confidence: o.confidence,
                violation: ev.violation.clone(),
            }),
            &[source, &ev.expression, &pkg_id],
        );
        f.layer = o.layer.clone();
        out.push(f);
    }
    out
}

fn rule_name(r: LicenseRule) -> &'static str {
    match r {
        LicenseRule::Denied => "denied",
        LicenseRule::NotAllowed => "not_allowed",
        LicenseRule::Unknown => "unknown",
    }
}

struct LicenseVisitor {
    settings: LicenseSettings,
    observations: Vec<Observation>,
    errors: Vec<EntryError>,
    buf: Vec<u8>,
    /// `(directory, expression)` pairs already observed from source headers.
    headers_seen: std::collections::HashSet<(String, String)>,
    /// Whether the licence store could serve the texts that needed it.
    store: StoreCheck,
}

/// Asks whether the licence store is usable (loading it on first use; see `analyze_with_store`) and
/// remembers a "no": the scan then fails.
struct StoreCheck {
    ready: fn() -> bool,
    unusable: bool,
}

impl StoreCheck {
    /// Whether the store can serve the text at hand.
    fn usable(&mut self) -> bool {
        let ready = (self.ready)();
        self.unusable |= !ready;
        ready
    }
}

impl LicenseVisitor {
    fn wants_header(&self, entry: &EntryInfo) -> bool {
        self.settings.detect_headers
            && header::is_source_file(&entry.name)
            && !detect::is_license_file(&entry.name)
            && declared::metadata_kind(&entry.path, &entry.name).is_none()
    }

    /// Reads the head of a source file and records its licence headers, once per directory and expression.
    fn source_header(&mut self, entry: &EntryInfo, content: &mut dyn Read) -> io::Result<()> {
        self.buf.clear();
        content
            .take(header::HEADER_BYTES as u64)
            .read_to_end(&mut self.buf)?;
        io::copy(content, &mut io::sink())?;
        let head = String::from_utf8_lossy(&self.buf);
        let dir = entry
            .path
            .rsplit_once('/')
            .map_or("", |(d, _)| d)
            .to_string();
        for (expression, score) in header::detect(&head) {
            if !self.headers_seen.insert((dir.clone(), expression.clone())) {
                continue;
            }
            if !self.store.usable() {
                return Ok(());
            }
            let mut same_text_ids = detect::expression_aliases(&expression);
            same_text_ids.sort();
            self.observations.push(Observation {
                location: entry.path.clone(),
                layer: entry.layer.clone(),
                package: None,
                expression,
                source: LicenseSource::Detected,
                confidence: Some(score),
                same_text_ids,
            });
        }
        Ok(())
    }
}

fn textual(format: Format) -> bool {
    matches!(format, Format::Text | Format::Json)
}

impl Visitor for LicenseVisitor {
    fn wants(&mut self, entry: &EntryInfo) -> bool {
        textual(entry.format)
            && (declared::metadata_kind(&entry.path, &entry.name).is_some()
                || (self.settings.detect_texts && detect::is_license_file(&entry.name))
                || self.wants_header(entry))
    }

    fn file(&mut self, entry: &EntryInfo, content: &mut dyn Read) -> io::Result<()> {
        if self.wants_header(entry) {
            return self.source_header(entry, content);
        }
        self.buf.clear();
        content
            .take(detect::MAX_TEXT_BYTES as u64 + 1)
            .read_to_end(&mut self.buf)?;
        let truncated = self.buf.len() > detect::MAX_TEXT_BYTES;
        self.buf.truncate(detect::MAX_TEXT_BYTES);
        // Drain the rest so the reader's accounting sees the whole entry.
        io::copy(content, &mut io::sink())?;
        let text = String::from_utf8_lossy(&self.buf);
        if let Some(kind) = declared::metadata_kind(&entry.path, &entry.name) {
            if truncated {
                self.errors.push(EntryError {
                    path: entry.path.clone(),
                    message: format!(
                        "metadata larger than {} bytes; licence not read",
                        detect::MAX_TEXT_BYTES
                    ),
                });
                return Ok(());
            }
            for d in declared::extract(kind, &entry.path, &text) {
                self.observations.push(Observation {
                    location: entry.path.clone(),
                    layer: entry.layer.clone(),
                    package: d.package,
                    expression: d.expression,
                    source: LicenseSource::Declared,
                    confidence: None,
                    same_text_ids: Vec::new(),
                });
            }
            return Ok(());
        }
        if text.trim().is_empty() {
            return Ok(());
        }
        if !self.store.usable() {
            return Ok(());
        }
        let found = detect::detect(&text, self.settings.confidence);
        let lower = entry.name.to_ascii_lowercase();
        let primary = ["license", "licence", "copying", "unlicense"]
            .iter()
            .any(|b| lower.starts_with(b));
        if found.is_empty() && primary {
            // A LICENSE/COPYING file that matches no known licence: an unknown licence.
            let score = detect::best_match(&text).map(|m| m.1);
            self.observations.push(Observation {
                location: entry.path.clone(),
                layer: entry.layer.clone(),
                package: None,
                expression: "NOASSERTION".to_string(),
                source: LicenseSource::Detected,
                confidence: score,
                same_text_ids: Vec::new(),
            });
        }
        for (id, score) in found {
            if detect::is_exception(&id) {
                // An exception text alone grants extra permissions to a licence named elsewhere: it is not
                // a licence of its own (and not a valid SPDX expression without one).
                continue;
            }
            let mut same_text_ids = detect::expression_aliases(&id);
            same_text_ids.sort();
            self.observations.push(Observation {
                location: entry.path.clone(),
                layer: entry.layer.clone(),
                package: None,
                expression: id,
                source: LicenseSource::Detected,
                confidence: Some(score),
                same_text_ids,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use portcullis_core::model::{ToolErrorKind, ToolStatus};
    use portcullis_core::{LocalFile, Policy, ToolConfiguration, ToolContext};

    use super::LicenseTool;

    fn run(
        name: &str,
        body: &str,
        store_ready: fn() -> bool,
    ) -> Result<portcullis_core::ToolResult, portcullis_core::ToolError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        let ctx = ToolContext::for_local_file(&path, Arc::new(Policy::default_policy()));
        let config = ToolConfiguration {
            enabled: true,
            settings: serde_json::Value::Null,
        };
        LicenseTool::new().analyze_with_store(&LocalFile::new(&path), &config, &ctx, store_ready)
    }

    const MIT: &str = "Permission is hereby granted, free of charge, to any person obtaining a copy of this \
        software and associated documentation files (the \"Software\"), to deal in the Software without \
        restriction, including without limitation the rights to use, copy, modify, merge, publish, \
        distribute, sublicense, and/or sell copies of the Software.";

    #[test]
    fn an_unusable_store_fails_the_scan_only_when_a_text_needs_it() {
        // A licence file needs the store: unusable → a failed tool error, never a result without it.
        let e = run("LICENSE", MIT, || false).unwrap_err();
        assert_eq!(e.kind, ToolErrorKind::Failed);
        assert!(e.message.contains("licence store"), "{}", e.message);
        // A source header naming a licence needs it too (for the ids with the same text).
        let src = "// SPDX-License-Identifier: MIT\nfn main() {}\n";
        assert!(run("main.rs", src, || false).is_err());
        // Nothing licence-like: the store is not waited for, and the scan succeeds without it.
        let r = run("README.md", "# Notes\n\nNothing here.\n", || false).unwrap();
        assert_eq!(r.status, ToolStatus::Succeeded);
        // The real store: the licence file is identified.
        let r = run("LICENSE", MIT, || super::detect::store().is_some()).unwrap();
        assert_eq!(r.status, ToolStatus::Succeeded);
        assert!(!r.findings.is_empty(), "{r:?}");
    }
}
