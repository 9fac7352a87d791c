//! Risk scoring and the verdict: pure functions of (tool results, tool errors, policy, today).
//!
//! Risk score (0–10): the highest finding score plus 0.1 for every further significant finding (score ≥ 4),
//! capped at 1.0 extra and 10 overall. Finding scores: malware 10, secret 8, vulnerability = its CVSS base
//! score or by severity (critical 9.5, high 7.5, medium/unknown 5, low 2.5, info 0), licence violation 6.
//! Waived findings do not count.
//!
//! Verdict precedence: QUARANTINED (a blocking finding or risk ≥ threshold) > UNSCANNABLE (anything not
//! scanned) > ERROR (a tool failed and the policy is fail-closed, or a tool never reported) > ALLOWED (only
//! waived blockers) > CLEAN.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{Finding, FindingDetail, LicenseRule, Severity, ToolError, ToolResult, ToolStatus};
use crate::policy::{Exception, FindingAction, OnToolError, Policy, UnknownLicense};

/// The single verdict that gates an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Scanned completely, nothing blocking.
    Clean,
    /// Blocked: a finding or the risk score says so.
    Quarantined,
    /// Blocked: not (fully) scanned.
    Unscannable,
    /// Blocked: a tool failed (fail-closed).
    Error,
    /// Blocking findings exist but every one is waived by an active exception.
    Allowed,
}

impl Verdict {
    /// The tag value (`CLEAN`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Clean => "CLEAN",
            Verdict::Quarantined => "QUARANTINED",
            Verdict::Unscannable => "UNSCANNABLE",
            Verdict::Error => "ERROR",
            Verdict::Allowed => "ALLOWED",
        }
    }

    /// Parses a tag value.
    pub fn parse(s: &str) -> Option<Verdict> {
        Some(match s {
            "CLEAN" => Verdict::Clean,
            "QUARANTINED" => Verdict::Quarantined,
            "UNSCANNABLE" => Verdict::Unscannable,
            "ERROR" => Verdict::Error,
            "ALLOWED" => Verdict::Allowed,
            _ => return None,
        })
    }

    /// Whether the artifact may be served (CLEAN or ALLOWED).
    pub fn is_servable(self) -> bool {
        matches!(self, Verdict::Clean | Verdict::Allowed)
    }

    /// CLI exit code: 0 servable, 1 quarantined, 2 unscannable/error.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Clean | Verdict::Allowed => 0,
            Verdict::Quarantined => 1,
            Verdict::Unscannable | Verdict::Error => 2,
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the verdict is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineReason {
    /// Malware found.
    Malware,
    /// A vulnerability at or above the threshold.
    Vulnerability,
    /// A licence the policy rejects.
    LicenseViolation,
    /// An exposed secret.
    Secret,
    /// The risk score reached the threshold.
    RiskThreshold,
    /// Not (fully) scanned.
    Unscannable,
    /// A tool failed.
    ToolError,
    /// An enabled tool never reported.
    MissingTool,
}

/// One reason behind the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerdictReason {
    /// Reason code.
    pub code: QuarantineReason,
    /// The tool slot involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The finding, when one is the cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    /// Human-readable explanation (names the rule, threshold and location).
    pub message: String,
}

/// A finding waived by an exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Waiver {
    /// The waived finding.
    pub finding_id: String,
    /// Index of the exception in the policy.
    pub exception: usize,
    /// The exception's reason.
    pub reason: String,
    /// The exception's expiry (inclusive).
    pub expires: NaiveDate,
}

/// The evaluation of a chain under a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Verdict.
    pub verdict: Verdict,
    /// Risk score 0–10.
    pub risk_score: f32,
    /// Reasons (blocking ones first).
    pub reasons: Vec<VerdictReason>,
    /// Waived findings.
    pub waivers: Vec<Waiver>,
}

/// Score of one finding (see module docs).
pub fn finding_score(f: &Finding) -> f32 {
    match &f.detail {
        FindingDetail::Malware(_) => 10.0,
        FindingDetail::Secret(_) => 8.0,
        FindingDetail::Vulnerability(v) => v.cvss_score.unwrap_or(match f.severity {
            Severity::Critical => 9.5,
            Severity::High => 7.5,
            Severity::Medium | Severity::Unknown => 5.0,
            Severity::Low => 2.5,
            Severity::Info => 0.0,
        }),
        FindingDetail::License(l) => {
            if l.violation.as_ref().is_some_and(|v| v.rule != LicenseRule::Unknown) {
                6.0
            } else {
                0.0
            }
        }
        FindingDetail::Unscannable(_) => 0.0,
    }
}

/// Risk score of a set of (non-waived) findings.
pub fn risk_score<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> f32 {
    let mut scores: Vec<f32> = findings.into_iter().map(finding_score).collect();
    scores.sort_by(|a, b| b.total_cmp(a));
    let Some(&max) = scores.first() else { return 0.0 };
    let significant = scores.iter().filter(|&&s| s >= 4.0).count();
    let extra = (0.1 * significant.saturating_sub(1) as f32).min(1.0);
    let r = (max + extra).min(10.0);
    (r * 10.0).round() / 10.0
}

/// Does an exception match this finding (for an artifact with this key)?
pub fn exception_matches(e: &Exception, f: &Finding, artifact_key: &str) -> bool {
    if let Some(g) = &e.artifact_key
        && !g.is_match(artifact_key)
    {
        return false;
    }
    if let Some(g) = &e.path {
        match &f.location {
            Some(loc) if g.is_match(loc) || loc.rsplit("!/").next().is_some_and(|inner| g.is_match(inner)) => {}
            _ => return false,
        }
    }
    if let Some(adv) = &e.advisory {
        let FindingDetail::Vulnerability(v) = &f.detail else { return false };
        if !(v.advisory_id.eq_ignore_ascii_case(adv) || v.aliases.iter().any(|a| a.eq_ignore_ascii_case(adv))) {
            return false;
        }
    }
    if let Some(purl) = &e.purl {
        let pkg = match &f.detail {
            FindingDetail::Vulnerability(v) => Some(&v.package),
            FindingDetail::License(l) => l.package.as_ref(),
            FindingDetail::Malware(m) => m.package.as_ref(),
            _ => None,
        };
        let Some(p) = pkg.and_then(|p| p.purl.as_deref()) else { return false };
        // A purl without a version matches every version; with one, exactly.
        let base = p.split(['@', '?', '#']).next().unwrap_or(p);
        if !(p == purl || base == purl) {
            return false;
        }
    }
    if let Some(lic) = &e.license {
        let FindingDetail::License(l) = &f.detail else { return false };
        if !l.expression.split(|c: char| c.is_whitespace() || c == '(' || c == ')').any(|t| t.eq_ignore_ascii_case(lic)) {
            return false;
        }
    }
    if let Some(rule) = &e.rule {
        let id = match &f.detail {
            FindingDetail::Malware(m) => &m.rule,
            FindingDetail::Secret(s) => &s.rule_id,
            _ => return false,
        };
        if id != rule {
            return false;
        }
    }
    true
}

/// Which blocking class (if any) a finding falls in under the policy.
fn blocking(f: &Finding, policy: &Policy) -> Option<QuarantineReason> {
    match &f.detail {
        FindingDetail::Malware(_) => (policy.malware == FindingAction::Quarantine).then_some(QuarantineReason::Malware),
        FindingDetail::Secret(_) => (policy.secrets == FindingAction::Quarantine).then_some(QuarantineReason::Secret),
        FindingDetail::Vulnerability(v) => {
            let vp = &policy.vulnerabilities;
            if vp.ignore_unfixed && v.fixed_versions.is_empty() {
                return None;
            }
            let by_sev = f.severity != Severity::Unknown && f.severity >= vp.severity_threshold;
            let by_cvss = matches!((vp.cvss_threshold, v.cvss_score), (Some(t), Some(s)) if s >= t);
            (by_sev || by_cvss).then_some(QuarantineReason::Vulnerability)
        }
        FindingDetail::License(l) => match l.violation.as_ref().map(|v| v.rule) {
            None => None,
            Some(LicenseRule::Unknown) => (policy.licenses.unknown == UnknownLicense::Deny)
                .then_some(QuarantineReason::LicenseViolation),
            Some(_) => (policy.license_violations == FindingAction::Quarantine)
                .then_some(QuarantineReason::LicenseViolation),
        },
        FindingDetail::Unscannable(_) => Some(QuarantineReason::Unscannable),
    }
}

fn ignored_vuln(f: &Finding, policy: &Policy) -> bool {
    matches!(&f.detail, FindingDetail::Vulnerability(v) if policy.vulnerabilities.ignore_unfixed && v.fixed_versions.is_empty())
}

/// Evaluates results and errors (keyed by tool slot) under `policy` on `today`.
pub fn evaluate(
    results: &BTreeMap<String, ToolResult>,
    errors: &BTreeMap<String, ToolError>,
    policy: &Policy,
    artifact_key: &str,
    today: NaiveDate,
) -> Evaluation {
    let mut reasons: Vec<VerdictReason> = Vec::new();
    let mut waivers = Vec::new();
    let mut counted: Vec<&Finding> = Vec::new();
    let (mut quarantine, mut unscannable, mut error, mut waived_blocker) = (false, false, false, false);

    for (slot, result) in results {
        for f in &result.findings {
            let block = blocking(f, policy);
            let waiver = policy
                .exceptions
                .iter()
                .filter(|e| e.is_active(today))
                .find(|e| exception_matches(e, f, artifact_key));
            if let Some(e) = waiver {
                waivers.push(Waiver {
                    finding_id: f.id.clone(),
                    exception: e.index,
                    reason: e.reason.clone(),
                    expires: e.expires,
                });
                if block.is_some() {
                    waived_blocker = true;
                }
                continue;
            }
            if ignored_vuln(f, policy) {
                continue;
            }
            counted.push(f);
            let Some(code) = block else { continue };
            match code {
                QuarantineReason::Unscannable => unscannable = true,
                _ => quarantine = true,
            }
            let loc = f.location.as_deref().map(|l| format!(" at {l}")).unwrap_or_default();
            reasons.push(VerdictReason {
                code,
                tool: Some(slot.clone()),
                finding_id: Some(f.id.clone()),
                message: format!("{}{loc}", f.title),
            });
        }
        if result.status == ToolStatus::Failed
            && !result.findings.iter().any(|f| matches!(f.detail, FindingDetail::Unscannable(_)))
        {
            error |= policy.tools.on_error == OnToolError::FailClosed;
            reasons.push(VerdictReason {
                code: QuarantineReason::ToolError,
                tool: Some(slot.clone()),
                finding_id: None,
                message: format!(
                    "{} failed: {}",
                    result.tool,
                    result.failure_reason.as_deref().unwrap_or("no reason given")
                ),
            });
        }
    }
    for (slot, e) in errors {
        error |= policy.tools.on_error == OnToolError::FailClosed;
        reasons.push(VerdictReason {
            code: QuarantineReason::ToolError,
            tool: Some(slot.clone()),
            finding_id: None,
            message: format!("{} {:?}: {}", e.tool, e.kind, e.message),
        });
    }
    for slot in &policy.tools.enabled {
        if !results.contains_key(slot) && !errors.contains_key(slot) {
            error = true; // a verdict without a required tool is never CLEAN, whatever on_error says
            reasons.push(VerdictReason {
                code: QuarantineReason::MissingTool,
                tool: Some(slot.clone()),
                finding_id: None,
                message: format!("enabled tool `{slot}` did not report"),
            });
        }
    }

    let risk = risk_score(counted.iter().copied());
    if risk >= policy.risk_threshold && risk > 0.0 {
        quarantine = true;
        reasons.push(VerdictReason {
            code: QuarantineReason::RiskThreshold,
            tool: None,
            finding_id: None,
            message: format!("risk score {risk:.1} ≥ threshold {:.1}", policy.risk_threshold),
        });
    }

    let verdict = if quarantine {
        Verdict::Quarantined
    } else if unscannable {
        Verdict::Unscannable
    } else if error {
        Verdict::Error
    } else if waived_blocker {
        Verdict::Allowed
    } else {
        Verdict::Clean
    };
    reasons.sort_by_key(|r| r.code);
    Evaluation {
        verdict,
        risk_score: risk,
        reasons,
        waivers,
    }
}
