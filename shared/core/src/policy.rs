//! The scan policy: one document (TOML or YAML), parsed into [`RawPolicy`] with unknown fields rejected, then
//! validated into [`Policy`] so an invalid threshold, limit or exception cannot exist at run time. Errors name
//! the field (`limits.max_compression_ratio: must be ≥ 1`). The documented default is embedded.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::glob::Glob;
use crate::model::Severity;
use crate::reader::Limits;

/// The default policy shipped with Portcullis (`shared/core/policy/default.toml`).
pub const DEFAULT_POLICY_TOML: &str = include_str!("../policy/default.toml");

/// Policy errors. Every validation error names the offending field.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The document is not valid TOML/YAML or does not match the schema (unknown field, wrong type).
    #[error("policy is not valid {format}: {message}")]
    Parse {
        /// `toml` or `yaml`.
        format: &'static str,
        /// Parser message (names the field and position).
        message: String,
    },
    /// A field has an invalid value.
    #[error("policy field `{field}`: {message}")]
    Invalid {
        /// Dotted path of the field (`exceptions[2].expires`).
        field: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// What to do when a tool fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnToolError {
    /// A tool error makes the verdict ERROR (the artifact stays blocked). Default.
    FailClosed,
    /// A tool error is reported but does not block.
    FailOpen,
}

/// What to do with a class of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingAction {
    /// Quarantine the artifact.
    Quarantine,
    /// Report (events, result) without blocking.
    Report,
}

/// Handling of licences that cannot be identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownLicense {
    /// Accept silently.
    Allow,
    /// Report as a finding without blocking.
    Warn,
    /// Treat as a violation.
    Deny,
}

/// Raw `[vulnerabilities]` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawVulnerabilities {
    /// Quarantine at or above this severity.
    pub severity_threshold: Option<String>,
    /// Quarantine at or above this CVSS base score (0–10).
    pub cvss_threshold: Option<f32>,
    /// Ignore advisories without a fixed version.
    pub ignore_unfixed: Option<bool>,
    /// Refuse a vulnerability database older than this many hours.
    pub max_db_age_hours: Option<u64>,
    /// Severity assumed for an advisory that carries none (no CVSS vector, no database severity).
    pub unknown_severity: Option<String>,
}

/// Raw `[licenses]` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawLicenses {
    /// SPDX ids allowed (empty: anything not denied is allowed).
    pub allow: Option<Vec<String>>,
    /// SPDX ids denied.
    pub deny: Option<Vec<String>>,
    /// `allow`, `warn` or `deny`.
    pub unknown: Option<UnknownLicense>,
    /// Report every identified licence as an informational finding.
    pub report_all: Option<bool>,
}

/// Raw `[findings]` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFindings {
    /// Action on malware.
    pub malware: Option<FindingAction>,
    /// Action on exposed secrets.
    pub secrets: Option<FindingAction>,
    /// Action on licence violations.
    pub license_violations: Option<FindingAction>,
}

/// Raw `[risk]` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRisk {
    /// Quarantine when the risk score (0–10) reaches this value.
    pub quarantine_threshold: Option<f32>,
}

/// Raw `[tools]` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawTools {
    /// Tools that must report for a verdict (`vuln`, `license`, `malware`, `secrets`, `inventory`).
    pub enabled: Option<Vec<String>>,
    /// `fail_closed` or `fail_open`.
    pub on_error: Option<OnToolError>,
    /// Per-tool time budget in seconds.
    pub timeout_seconds: Option<u64>,
    /// Per-tool settings, passed to the tool as its `ToolConfiguration.settings`.
    pub settings: Option<BTreeMap<String, serde_json::Value>>,
}

/// Raw `[limits]` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Largest artifact scanned, in MiB.
    pub max_artifact_mib: Option<u64>,
    /// Total uncompressed bytes across all nesting levels, in MiB.
    pub max_total_uncompressed_mib: Option<u64>,
    /// Largest single entry, in MiB.
    pub max_entry_mib: Option<u64>,
    /// Highest allowed uncompressed/compressed ratio.
    pub max_compression_ratio: Option<u64>,
    /// Most entries.
    pub max_entries: Option<u64>,
    /// Deepest archive nesting.
    pub max_depth: Option<u32>,
    /// Wall-time budget of one walk, in seconds.
    pub max_wall_seconds: Option<u64>,
}

/// Raw exception.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawException {
    /// Advisory id or alias (`CVE-2021-44228`, `GHSA-…`).
    pub advisory: Option<String>,
    /// Package URL prefix (`pkg:npm/lodash`, or with `@version`).
    pub purl: Option<String>,
    /// SPDX licence id.
    pub license: Option<String>,
    /// Malware or secret rule id.
    pub rule: Option<String>,
    /// Glob over the path inside the artifact.
    pub path: Option<String>,
    /// Glob over the artifact's key.
    pub artifact_key: Option<String>,
    /// Why the exception exists. Mandatory.
    pub reason: Option<String>,
    /// Last day (UTC, inclusive) the exception applies, `YYYY-MM-DD`. Mandatory.
    pub expires: Option<String>,
}

/// The policy document as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// Document version; must be 1.
    pub version: Option<u32>,
    /// Vulnerability thresholds.
    pub vulnerabilities: Option<RawVulnerabilities>,
    /// Licence lists.
    pub licenses: Option<RawLicenses>,
    /// Actions per finding class.
    pub findings: Option<RawFindings>,
    /// Risk threshold.
    pub risk: Option<RawRisk>,
    /// Tool selection and error behaviour.
    pub tools: Option<RawTools>,
    /// Reader limits.
    pub limits: Option<RawLimits>,
    /// Waivers.
    pub exceptions: Option<Vec<RawException>>,
}

/// Validated vulnerability policy.
#[derive(Debug, Clone, PartialEq)]
pub struct VulnerabilityPolicy {
    /// Quarantine at or above this severity.
    pub severity_threshold: Severity,
    /// Quarantine at or above this CVSS score.
    pub cvss_threshold: Option<f32>,
    /// Ignore advisories without a fixed version.
    pub ignore_unfixed: bool,
    /// Maximum database age.
    pub max_db_age: Option<Duration>,
    /// Severity assumed, for gating, for an advisory without one (the finding still says UNKNOWN).
    pub unknown_severity: Severity,
}

/// Validated licence policy.
#[derive(Debug, Clone, PartialEq)]
pub struct LicensePolicyConfig {
    /// Allowed ids (empty: allow anything not denied).
    pub allow: Vec<String>,
    /// Denied ids.
    pub deny: Vec<String>,
    /// Unknown licences.
    pub unknown: UnknownLicense,
    /// Report every identified licence.
    pub report_all: bool,
}

/// Validated exception.
#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    /// Position in the document (for messages).
    pub index: usize,
    /// Advisory id or alias.
    pub advisory: Option<String>,
    /// purl prefix.
    pub purl: Option<String>,
    /// Licence id.
    pub license: Option<String>,
    /// Rule id.
    pub rule: Option<String>,
    /// Path glob.
    pub path: Option<Glob>,
    /// Artifact key glob.
    pub artifact_key: Option<Glob>,
    /// Reason.
    pub reason: String,
    /// Last day it applies (inclusive).
    pub expires: NaiveDate,
}

impl Exception {
    /// True while `today` is on or before `expires`.
    pub fn is_active(&self, today: NaiveDate) -> bool {
        today <= self.expires
    }
}

/// Tool selection and error behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolsPolicy {
    /// Tools whose results are required for a verdict.
    pub enabled: Vec<String>,
    /// Behaviour on tool error.
    pub on_error: OnToolError,
    /// Per-tool time budget.
    pub timeout: Duration,
    /// Per-tool settings.
    pub settings: BTreeMap<String, serde_json::Value>,
}

/// The validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Vulnerabilities.
    pub vulnerabilities: VulnerabilityPolicy,
    /// Licences.
    pub licenses: LicensePolicyConfig,
    /// Action on malware.
    pub malware: FindingAction,
    /// Action on secrets.
    pub secrets: FindingAction,
    /// Action on licence violations.
    pub license_violations: FindingAction,
    /// Risk quarantine threshold.
    pub risk_threshold: f32,
    /// Tools.
    pub tools: ToolsPolicy,
    /// Reader limits.
    pub limits: Limits,
    /// Exceptions.
    pub exceptions: Vec<Exception>,
}

/// Tool slots the pipeline knows (one Lambda function each, plus the in-process inventory).
pub const KNOWN_TOOLS: &[&str] = &["vuln", "license", "malware", "secrets", "inventory"];

impl Policy {
    /// The embedded default policy.
    pub fn default_policy() -> Policy {
        // The embedded default is validated by a unit test; failing here would be a build defect.
        #[allow(clippy::expect_used)]
        Policy::from_toml(DEFAULT_POLICY_TOML).expect("embedded default policy is valid")
    }

    /// Parses and validates a TOML document.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::Parse {
            format: "toml",
            message: e.to_string().trim().to_string(),
        })?;
        Policy::try_from(raw)
    }

    /// Parses and validates a YAML document (alias and nesting budgets enforced by serde-saphyr).
    pub fn from_yaml(text: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = serde_saphyr::from_str(text).map_err(|e| PolicyError::Parse {
            format: "yaml",
            message: e.to_string().trim().to_string(),
        })?;
        Policy::try_from(raw)
    }

    /// Parses a document, choosing TOML or YAML by file name (`.yaml`/`.yml` → YAML, else TOML).
    pub fn from_document(name: &str, text: &str) -> Result<Policy, PolicyError> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Policy::from_yaml(text)
        } else {
            Policy::from_toml(text)
        }
    }

    /// True when `tool` (a slot such as `vuln`) is enabled.
    pub fn tool_enabled(&self, tool: &str) -> bool {
        self.tools.enabled.iter().any(|t| t == tool)
    }
}

fn check_id_list(field: &str, ids: &[String]) -> Result<(), PolicyError> {
    for (i, id) in ids.iter().enumerate() {
        let ok = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b':'));
        if !ok {
            return Err(invalid(
                format!("{field}[{i}]"),
                format!("`{id}` is not an SPDX licence id"),
            ));
        }
    }
    Ok(())
}

impl TryFrom<RawPolicy> for Policy {
    type Error = PolicyError;

    fn try_from(raw: RawPolicy) -> Result<Policy, PolicyError> {
        match raw.version {
            Some(1) => {}
            Some(v) => {
                return Err(invalid(
                    "version",
                    format!("unsupported version {v} (expected 1)"),
                ));
            }
            None => return Err(invalid("version", "missing (expected `version = 1`)")),
        }

        let v = raw.vulnerabilities.unwrap_or(RawVulnerabilities {
            severity_threshold: None,
            cvss_threshold: None,
            ignore_unfixed: None,
            max_db_age_hours: None,
            unknown_severity: None,
        });
        let known_severity =
            |field: &'static str, value: Option<&str>, default: Severity| match value {
                None => Ok(default),
                Some(s) => match Severity::parse_loose(s) {
                    Some(Severity::Unknown) | None => Err(invalid(
                        field,
                        format!("`{s}` is not one of info, low, medium, high, critical"),
                    )),
                    Some(sev) => Ok(sev),
                },
            };
        let severity_threshold = known_severity(
            "vulnerabilities.severity_threshold",
            v.severity_threshold.as_deref(),
            Severity::High,
        )?;
        let unknown_severity = known_severity(
            "vulnerabilities.unknown_severity",
            v.unknown_severity.as_deref(),
            Severity::Medium,
        )?;
        if let Some(c) = v.cvss_threshold
            && !(0.0..=10.0).contains(&c)
        {
            return Err(invalid(
                "vulnerabilities.cvss_threshold",
                format!("{c} is outside 0–10"),
            ));
        }
        if v.max_db_age_hours == Some(0) {
            return Err(invalid("vulnerabilities.max_db_age_hours", "must be ≥ 1"));
        }
        let vulnerabilities = VulnerabilityPolicy {
            severity_threshold,
            cvss_threshold: v.cvss_threshold,
            ignore_unfixed: v.ignore_unfixed.unwrap_or(false),
            max_db_age: v.max_db_age_hours.map(|h| Duration::from_secs(h * 3600)),
            unknown_severity,
        };

        let l = raw.licenses.unwrap_or(RawLicenses {
            allow: None,
            deny: None,
            unknown: None,
            report_all: None,
        });
        let allow = l.allow.unwrap_or_default();
        let deny = l.deny.unwrap_or_default();
        check_id_list("licenses.allow", &allow)?;
        check_id_list("licenses.deny", &deny)?;
        if let Some(both) = allow
            .iter()
            .find(|a| deny.iter().any(|d| d.eq_ignore_ascii_case(a)))
        {
            return Err(invalid(
                "licenses.deny",
                format!("`{both}` is both allowed and denied"),
            ));
        }
        let licenses = LicensePolicyConfig {
            allow,
            deny,
            unknown: l.unknown.unwrap_or(UnknownLicense::Warn),
            report_all: l.report_all.unwrap_or(true),
        };

        let f = raw.findings.unwrap_or(RawFindings {
            malware: None,
            secrets: None,
            license_violations: None,
        });

        let risk_threshold = raw.risk.and_then(|r| r.quarantine_threshold).unwrap_or(7.0);
        if !(0.0..=10.0).contains(&risk_threshold) || risk_threshold.is_nan() {
            return Err(invalid(
                "risk.quarantine_threshold",
                format!("{risk_threshold} is outside 0–10"),
            ));
        }

        let t = raw.tools.unwrap_or(RawTools {
            enabled: None,
            on_error: None,
            timeout_seconds: None,
            settings: None,
        });
        let enabled = t.enabled.unwrap_or_else(|| {
            ["vuln", "license", "malware", "secrets"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
        if enabled.is_empty() {
            return Err(invalid(
                "tools.enabled",
                "at least one tool must be enabled",
            ));
        }
        for (i, tool) in enabled.iter().enumerate() {
            if !KNOWN_TOOLS.contains(&tool.as_str()) {
                return Err(invalid(
                    format!("tools.enabled[{i}]"),
                    format!("unknown tool `{tool}` (known: {})", KNOWN_TOOLS.join(", ")),
                ));
            }
        }
        let settings = t.settings.unwrap_or_default();
        for name in settings.keys() {
            if !KNOWN_TOOLS.contains(&name.as_str()) {
                return Err(invalid(format!("tools.settings.{name}"), "unknown tool"));
            }
        }
        let timeout_s = t.timeout_seconds.unwrap_or(600);
        if timeout_s == 0 || timeout_s > 3600 {
            return Err(invalid(
                "tools.timeout_seconds",
                format!("{timeout_s} is outside 1–3600"),
            ));
        }
        let tools = ToolsPolicy {
            enabled,
            on_error: t.on_error.unwrap_or(OnToolError::FailClosed),
            timeout: Duration::from_secs(timeout_s),
            settings,
        };

        let limits = parse_limits(raw.limits)?;
        let exceptions = raw
            .exceptions
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, e)| parse_exception(i, e))
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Policy {
            vulnerabilities,
            licenses,
            malware: f.malware.unwrap_or(FindingAction::Quarantine),
            secrets: f.secrets.unwrap_or(FindingAction::Quarantine),
            license_violations: f.license_violations.unwrap_or(FindingAction::Quarantine),
            risk_threshold,
            tools,
            limits,
            exceptions,
        })
    }
}

const MIB: u64 = 1024 * 1024;

fn parse_limits(raw: Option<RawLimits>) -> Result<Limits, PolicyError> {
    let d = Limits::default();
    let Some(r) = raw else { return Ok(d) };
    fn positive(field: &str, v: Option<u64>, default: u64, scale: u64) -> Result<u64, PolicyError> {
        match v {
            None => Ok(default),
            Some(0) => Err(invalid(field, "must be ≥ 1")),
            Some(n) => n
                .checked_mul(scale)
                .ok_or_else(|| invalid(field, format!("{n} is too large"))),
        }
    }
    let limits = Limits {
        max_artifact_bytes: positive(
            "limits.max_artifact_mib",
            r.max_artifact_mib,
            d.max_artifact_bytes,
            MIB,
        )?,
        max_total_bytes: positive(
            "limits.max_total_uncompressed_mib",
            r.max_total_uncompressed_mib,
            d.max_total_bytes,
            MIB,
        )?,
        max_entry_bytes: positive(
            "limits.max_entry_mib",
            r.max_entry_mib,
            d.max_entry_bytes,
            MIB,
        )?,
        max_ratio: positive(
            "limits.max_compression_ratio",
            r.max_compression_ratio,
            d.max_ratio,
            1,
        )?,
        max_entries: positive("limits.max_entries", r.max_entries, d.max_entries, 1)?,
        max_depth: match r.max_depth {
            None => d.max_depth,
            Some(0) => return Err(invalid("limits.max_depth", "must be ≥ 1")),
            Some(n) if n > 64 => {
                return Err(invalid("limits.max_depth", format!("{n} is above 64")));
            }
            Some(n) => n,
        },
        max_wall: Duration::from_secs(positive(
            "limits.max_wall_seconds",
            r.max_wall_seconds,
            d.max_wall.as_secs(),
            1,
        )?),
    };
    if limits.max_entry_bytes > limits.max_total_bytes {
        return Err(invalid(
            "limits.max_entry_mib",
            "is larger than limits.max_total_uncompressed_mib",
        ));
    }
    Ok(limits)
}

fn parse_exception(i: usize, e: RawException) -> Result<Exception, PolicyError> {
    let field = |name: &str| format!("exceptions[{i}].{name}");
    let reason = match e.reason {
        Some(r) if !r.trim().is_empty() => r,
        _ => {
            return Err(invalid(
                field("reason"),
                "mandatory: say why the exception exists",
            ));
        }
    };
    let expires = match e.expires {
        None => {
            return Err(invalid(
                field("expires"),
                "mandatory: the last day (YYYY-MM-DD) it applies",
            ));
        }
        Some(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|err| {
            invalid(
                field("expires"),
                format!("`{s}` is not a YYYY-MM-DD date: {err}"),
            )
        })?,
    };
    let path = e
        .path
        .map(|p| Glob::new(&p).map_err(|m| invalid(field("path"), m)))
        .transpose()?;
    let artifact_key = e
        .artifact_key
        .map(|p| Glob::new(&p).map_err(|m| invalid(field("artifact_key"), m)))
        .transpose()?;
    for (name, value) in [
        ("advisory", &e.advisory),
        ("purl", &e.purl),
        ("license", &e.license),
        ("rule", &e.rule),
    ] {
        if let Some(v) = value
            && v.trim().is_empty()
        {
            return Err(invalid(field(name), "must not be empty"));
        }
    }
    if let Some(p) = &e.purl
        && !p.starts_with("pkg:")
    {
        return Err(invalid(
            field("purl"),
            format!("`{p}` is not a package URL (pkg:…)"),
        ));
    }
    if e.advisory.is_none()
        && e.purl.is_none()
        && e.license.is_none()
        && e.rule.is_none()
        && path.is_none()
        && artifact_key.is_none()
    {
        return Err(invalid(
            format!("exceptions[{i}]"),
            "names nothing to match (advisory, purl, license, rule, path or artifact_key)",
        ));
    }
    Ok(Exception {
        index: i,
        advisory: e.advisory,
        purl: e.purl,
        license: e.license,
        rule: e.rule,
        path,
        artifact_key,
        reason,
        expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_valid_and_fail_closed() {
        let p = Policy::default_policy();
        assert_eq!(p.tools.on_error, OnToolError::FailClosed);
        assert_eq!(p.limits.max_ratio, 200);
        assert_eq!(p.vulnerabilities.severity_threshold, Severity::High);
        assert!(p.licenses.deny.iter().any(|d| d == "AGPL-3.0-only"));
    }

    #[test]
    fn version_is_mandatory() {
        let e = Policy::from_toml("").unwrap_err();
        assert_eq!(e, invalid("version", "missing (expected `version = 1`)"));
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_name() {
        let e = Policy::from_toml("version = 1\n[limits]\nmax_dept = 3\n").unwrap_err();
        let PolicyError::Parse { message, .. } = e else {
            panic!("{e:?}")
        };
        assert!(message.contains("max_dept"), "{message}");
    }

    #[test]
    fn invalid_values_name_the_field() {
        let cases = [
            (
                "version = 1\n[vulnerabilities]\nseverity_threshold = \"urgent\"",
                "vulnerabilities.severity_threshold",
            ),
            (
                "version = 1\n[vulnerabilities]\ncvss_threshold = 11.0",
                "vulnerabilities.cvss_threshold",
            ),
            (
                "version = 1\n[risk]\nquarantine_threshold = -1.0",
                "risk.quarantine_threshold",
            ),
            (
                "version = 1\n[limits]\nmax_compression_ratio = 0",
                "limits.max_compression_ratio",
            ),
            ("version = 1\n[limits]\nmax_depth = 100", "limits.max_depth"),
            (
                "version = 1\n[limits]\nmax_entry_mib = 9000\nmax_total_uncompressed_mib = 10",
                "limits.max_entry_mib",
            ),
            (
                "version = 1\n[tools]\nenabled = [\"clamav\"]",
                "tools.enabled[0]",
            ),
            ("version = 1\n[tools]\nenabled = []", "tools.enabled"),
            (
                "version = 1\n[tools]\ntimeout_seconds = 0",
                "tools.timeout_seconds",
            ),
            (
                "version = 1\n[licenses]\nallow = [\"MIT\"]\ndeny = [\"mit\"]",
                "licenses.deny",
            ),
            (
                "version = 1\n[licenses]\ndeny = [\"GPL 3\"]",
                "licenses.deny[0]",
            ),
            ("version = 2", "version"),
            (
                "version = 1\n[[exceptions]]\nadvisory = \"CVE-1\"\nexpires = \"2030-01-01\"",
                "exceptions[0].reason",
            ),
            (
                "version = 1\n[[exceptions]]\nadvisory = \"CVE-1\"\nreason = \"x\"",
                "exceptions[0].expires",
            ),
            (
                "version = 1\n[[exceptions]]\nadvisory = \"CVE-1\"\nreason = \"x\"\nexpires = \"31/12/2030\"",
                "exceptions[0].expires",
            ),
            (
                "version = 1\n[[exceptions]]\nreason = \"x\"\nexpires = \"2030-01-01\"",
                "exceptions[0]",
            ),
            (
                "version = 1\n[[exceptions]]\npurl = \"npm/x\"\nreason = \"x\"\nexpires = \"2030-01-01\"",
                "exceptions[0].purl",
            ),
            (
                "version = 1\n[[exceptions]]\npath = \"a[\"\nreason = \"x\"\nexpires = \"2030-01-01\"",
                "exceptions[0].path",
            ),
        ];
        for (doc, field) in cases {
            match Policy::from_toml(doc) {
                Err(PolicyError::Invalid { field: f, .. }) => assert_eq!(f, field, "{doc}"),
                other => panic!("{doc}: expected an error on {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn yaml_and_toml_give_the_same_policy() {
        let toml_doc = "version = 1\n[vulnerabilities]\nseverity_threshold = \"critical\"\nignore_unfixed = true\n\
                        [[exceptions]]\nadvisory = \"CVE-2021-44228\"\nreason = \"not reachable\"\nexpires = \"2030-01-31\"\n";
        let yaml_doc = "version: 1\nvulnerabilities:\n  severity_threshold: critical\n  ignore_unfixed: true\n\
                        exceptions:\n  - advisory: CVE-2021-44228\n    reason: not reachable\n    expires: \"2030-01-31\"\n";
        let a = Policy::from_document("p.toml", toml_doc).unwrap();
        let b = Policy::from_document("p.yaml", yaml_doc).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.vulnerabilities.severity_threshold, Severity::Critical);
    }

    #[test]
    fn malformed_yaml_is_a_parse_error_not_a_panic() {
        for doc in [
            "version: [1",
            "a: &a [*a]",
            "version: 1\nlimits: {max_depth: \"x\"}",
            "\u{0}\u{1}",
        ] {
            assert!(
                matches!(
                    Policy::from_yaml(doc),
                    Err(PolicyError::Parse { .. }) | Err(PolicyError::Invalid { .. })
                ),
                "{doc}"
            );
        }
    }

    #[test]
    fn exceptions_expire_after_their_last_day() {
        let p = Policy::from_toml(
            "version = 1\n[[exceptions]]\nadvisory = \"CVE-1\"\nreason = \"r\"\nexpires = \"2026-06-30\"\n",
        )
        .unwrap();
        let e = &p.exceptions[0];
        assert!(e.is_active(NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()));
        assert!(!e.is_active(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()));
    }
}
