//! `secrets/regex`: finds exposed credentials (cloud keys, VCS/registry tokens, private keys, JWTs, generic
//! high-entropy assignments) in every text entry of an artifact, including text inside nested archives.
//!
//! Rules are gitleaks-shaped TOML ([`rules`]): an embedded rule set written for Portcullis, optionally
//! extended by a user rule file (`settings.rules_file` or [`SecretTool::with_user_rules`]). The engine
//! ([`engine`]) streams each entry through overlapping windows behind an aho-corasick keyword prefilter.
//!
//! A finding carries the rule id, the entry path, the 1-based line and a one-way fingerprint
//! (`sha256:` + 16 hex over rule id and value). The value itself never leaves the window buffer: it is not in
//! results, errors, `Debug` output or logs.
//!
//! Settings (`[tools.settings.secrets]`): `rules_file` (path of a gitleaks-format TOML file added to the
//! rules), `builtin_rules` (default true), `allow_paths` (globs over entry paths to skip, e.g.
//! `**/test/fixtures/**`), `scan_binary` (default false: binary/executable entries are skipped),
//! `max_findings` (default 10 000; the rest is counted in an entry error).

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod engine;
pub mod rules;

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use portcullis_core::glob::Glob;
use portcullis_core::model::{EntryError, Format, SecretDetail, ToolErrorKind};
use portcullis_core::reader::{EntryInfo, Visitor};
use portcullis_core::tool::{VisitorOutput, run_walk, tool_error};
use portcullis_core::{
    ArtifactSource, Finding, FindingDetail, SecurityTool, ToolConfiguration, ToolContext,
};
use portcullis_core::{ToolError, ToolResult};
use serde::Deserialize;

pub use engine::{Hit, fingerprint, shannon_entropy};
pub use rules::{BUILTIN_RULES_TOML, Build, Rule, RuleError, RuleFile, RuleRegex, RuleSet};

/// Tool name.
pub const TOOL_NAME: &str = "secrets/regex";

/// Default cap on findings per artifact.
pub const DEFAULT_MAX_FINDINGS: usize = 10_000;

/// Settings of the tool (`[tools.settings.secrets]`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SecretSettings {
    /// Extra gitleaks-format rule file.
    #[serde(default)]
    pub rules_file: Option<PathBuf>,
    /// Use the embedded rules (default true).
    #[serde(default)]
    pub builtin_rules: Option<bool>,
    /// Entry path globs that are not scanned.
    #[serde(default)]
    pub allow_paths: Vec<String>,
    /// Scan binary and executable entries too.
    #[serde(default)]
    pub scan_binary: bool,
    /// Most findings listed.
    #[serde(default)]
    pub max_findings: Option<usize>,
}

impl SecretSettings {
    /// Reads the settings value of a [`ToolConfiguration`] (`null` = defaults).
    pub fn from_value(v: &serde_json::Value) -> Result<SecretSettings, String> {
        if v.is_null() {
            return Ok(SecretSettings::default());
        }
        serde_json::from_value(v.clone()).map_err(|e| format!("secrets settings: {e}"))
    }
}

/// The secret scanner.
#[derive(Debug, Clone)]
pub struct SecretTool {
    builtin: RuleFile,
    user: Vec<RuleFile>,
    rules: Arc<RuleSet>,
    window: usize,
}

impl SecretTool {
    /// The tool with the embedded rules.
    pub fn new() -> Result<SecretTool, RuleError> {
        let builtin = RuleFile::builtin()?;
        let rules = Arc::new(RuleSet::new(vec![builtin.clone()])?);
        Ok(SecretTool {
            builtin,
            user: Vec::new(),
            rules,
            window: engine::DEFAULT_WINDOW,
        })
    }

    /// The embedded rules plus the rules of a gitleaks-format TOML document.
    pub fn with_user_rules(toml_text: &str) -> Result<SecretTool, RuleError> {
        let mut tool = SecretTool::new()?;
        tool.user.push(RuleFile::parse("user rules", toml_text)?);
        tool.rules = Arc::new(RuleSet::new(tool.files(true, None))?);
        Ok(tool)
    }

    /// Sets the streaming window size (new bytes per pass; at least the rule set's overlap).
    pub fn with_window(mut self, window: usize) -> SecretTool {
        self.window = window.max(1);
        self
    }

    /// The active rule set.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    fn files(&self, builtin: bool, extra: Option<RuleFile>) -> Vec<RuleFile> {
        let mut v = Vec::new();
        if builtin {
            v.push(self.builtin.clone());
        }
        v.extend(self.user.iter().cloned());
        v.extend(extra);
        v
    }

    /// The rule set for one run under `settings` (reloads only when the settings change the rules).
    pub fn rules_for(&self, settings: &SecretSettings) -> Result<Arc<RuleSet>, RuleError> {
        let builtin = settings.builtin_rules.unwrap_or(true);
        if builtin && settings.rules_file.is_none() {
            return Ok(self.rules.clone());
        }
        let extra = match &settings.rules_file {
            Some(p) => Some(RuleFile::load(p)?),
            None => None,
        };
        Ok(Arc::new(RuleSet::new(self.files(builtin, extra))?))
    }

    /// Scans one stream as the entry `path` with the tool's rules.
    pub fn scan_reader(&self, path: &str, reader: &mut dyn Read) -> io::Result<Vec<Hit>> {
        engine::scan_stream(&self.rules, path, reader, self.window)
    }

    /// Scans bytes as the entry `path`, returning `(rule id, line, fingerprint)` per secret.
    pub fn scan_bytes(&self, path: &str, bytes: &[u8]) -> Vec<(String, u64, String)> {
        let mut r: &[u8] = bytes;
        // Reading from a slice cannot fail.
        engine::scan_stream(&self.rules, path, &mut r, self.window)
            .unwrap_or_default()
            .into_iter()
            .map(|h| (self.rules.rules[h.rule].id.clone(), h.line, h.fingerprint))
            .collect()
    }

    /// Synchronous scan (what [`SecurityTool::analyze`] runs on a blocking thread).
    pub fn analyze_blocking(
        &self,
        source: &dyn ArtifactSource,
        config: &ToolConfiguration,
        ctx: &ToolContext,
    ) -> Result<ToolResult, ToolError> {
        let misconfigured =
            |m: String| tool_error(TOOL_NAME, &ctx.artifact_id, ToolErrorKind::Misconfigured, m);
        let settings = SecretSettings::from_value(&config.settings).map_err(misconfigured)?;
        let rules = self
            .rules_for(&settings)
            .map_err(|e| misconfigured(e.to_string()))?;
        let mut allow_paths = Vec::new();
        for g in &settings.allow_paths {
            allow_paths.push(
                Glob::new(g).map_err(|e| {
                    misconfigured(format!("secrets settings: allow_paths `{g}`: {e}"))
                })?,
            );
        }
        let visitor = SecretVisitor {
            rules: &rules,
            allow_paths,
            scan_binary: settings.scan_binary,
            max_findings: settings.max_findings.unwrap_or(DEFAULT_MAX_FINDINGS),
            window: self.window,
            findings: Vec::new(),
            dropped: 0,
            skipped: 0,
        };
        let version = format!("{}+rules.{}", env!("CARGO_PKG_VERSION"), rules.digest);
        let result = run_walk(TOOL_NAME, version, source, ctx, visitor, |v, _report| {
            let mut out = VisitorOutput {
                findings: v.findings,
                ..VisitorOutput::default()
            };
            if v.dropped > 0 {
                out.errors.push(EntryError {
                    path: source.display_name(),
                    message: format!(
                        "{} further secret findings not listed (max_findings {})",
                        v.dropped, v.max_findings
                    ),
                });
            }
            tracing::info!(
                tool = TOOL_NAME,
                findings = out.findings.len(),
                dropped = v.dropped,
                skipped_entries = v.skipped,
                "secret scan finished"
            );
            out
        });
        Ok(result)
    }
}

#[async_trait]
impl SecurityTool for SecretTool {
    fn name(&self) -> &'static str {
        TOOL_NAME
    }

    fn version(&self) -> String {
        format!("{}+rules.{}", env!("CARGO_PKG_VERSION"), self.rules.digest)
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

/// Formats never scanned unless `scan_binary` is set.
fn is_binary(format: Format) -> bool {
    matches!(
        format,
        Format::Binary
            | Format::Elf
            | Format::Pe
            | Format::MachO
            | Format::Wasm
            | Format::Pdf
            | Format::SevenZip
            | Format::Rar
            | Format::Empty
    )
}

struct SecretVisitor<'r> {
    rules: &'r RuleSet,
    allow_paths: Vec<Glob>,
    scan_binary: bool,
    max_findings: usize,
    window: usize,
    findings: Vec<Finding>,
    dropped: u64,
    skipped: u64,
}

impl Visitor for SecretVisitor<'_> {
    fn wants(&mut self, entry: &EntryInfo) -> bool {
        let skip = (!self.scan_binary && is_binary(entry.format))
            || self.allow_paths.iter().any(|g| g.is_match(&entry.path));
        if skip {
            self.skipped += 1;
        }
        !skip
    }

    fn file(&mut self, entry: &EntryInfo, content: &mut dyn Read) -> io::Result<()> {
        let hits = engine::scan_stream(self.rules, &entry.path, content, self.window)?;
        for h in hits {
            let rule = &self.rules.rules[h.rule];
            tracing::debug!(rule_id = %rule.id, path = %entry.path, line = h.line, fingerprint = %h.fingerprint, "secret found");
            if self.findings.len() >= self.max_findings {
                self.dropped += 1;
                continue;
            }
            let line = h.line.to_string();
            let mut f = Finding::new(
                TOOL_NAME,
                rule.severity,
                format!("{} ({})", rule.description, rule.id),
                Some(entry.path.clone()),
                FindingDetail::Secret(SecretDetail {
                    rule_id: rule.id.clone(),
                    line: h.line,
                    fingerprint: h.fingerprint.clone(),
                }),
                &[&rule.id, &h.fingerprint, &line],
            );
            f.layer = entry.layer.clone();
            self.findings.push(f);
        }
        Ok(())
    }
}
