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

use crate::model::{
    Finding, FindingDetail, LicenseRule, Severity, ToolError, ToolResult, ToolStatus,
};
use crate::policy::{Exception, FindingAction, OnToolError, Policy, UnknownLicense};

/// The single verdict that gates an artifact.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
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
            if l.violation
                .as_ref()
                .is_some_and(|v| v.rule != LicenseRule::Unknown)
            {
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
    let Some(&max) = scores.first() else {
        return 0.0;
    };
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
            Some(loc)
                if g.is_match(loc)
                    || loc
                        .rsplit("!/")
                        .next()
                        .is_some_and(|inner| g.is_match(inner)) => {}
            _ => return false,
        }
    }
    if let Some(adv) = &e.advisory {
        let FindingDetail::Vulnerability(v) = &f.detail else {
            return false;
        };
        if !(v.advisory_id.eq_ignore_ascii_case(adv)
            || v.aliases.iter().any(|a| a.eq_ignore_ascii_case(adv)))
        {
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
        let Some(p) = pkg.and_then(|p| p.purl.as_deref()) else {
            return false;
        };
        // A purl without a version matches every version; with one, exactly.
        let base = p.split(['@', '?', '#']).next().unwrap_or(p);
        if !(p == purl || base == purl) {
            return false;
        }
    }
    if let Some(lic) = &e.license {
        let FindingDetail::License(l) = &f.detail else {
            return false;
        };
        if !l
            .expression
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
            .any(|t| t.eq_ignore_ascii_case(lic))
        {
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
        FindingDetail::Malware(_) => {
            (policy.malware == FindingAction::Quarantine).then_some(QuarantineReason::Malware)
        }
        FindingDetail::Secret(_) => {
            (policy.secrets == FindingAction::Quarantine).then_some(QuarantineReason::Secret)
        }
        FindingDetail::Vulnerability(v) => {
            let vp = &policy.vulnerabilities;
            if vp.ignore_unfixed && v.fixed_versions.is_empty() {
                return None;
            }
            let severity = match f.severity {
                Severity::Unknown => vp.unknown_severity,
                known => known,
            };
            let by_sev = severity >= vp.severity_threshold;
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
    let (mut quarantine, mut unscannable, mut error, mut waived_blocker) =
        (false, false, false, false);

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
            let loc = f
                .location
                .as_deref()
                .map(|l| format!(" at {l}"))
                .unwrap_or_default();
            reasons.push(VerdictReason {
                code,
                tool: Some(slot.clone()),
                finding_id: Some(f.id.clone()),
                message: format!("{}{loc}", f.title),
            });
        }
        if result.status == ToolStatus::Failed
            && !result
                .findings
                .iter()
                .any(|f| matches!(f.detail, FindingDetail::Unscannable(_)))
        {
            error |= policy.tools.on_error == OnToolError::FailClosed;
            reasons.push(VerdictReason {
                code: QuarantineReason::ToolError,
                tool: Some(slot.clone()),
                finding_id: None,
                message: format!(
                    "{} failed: {}",
                    result.tool,
                    result
                        .failure_reason
                        .as_deref()
                        .unwrap_or("no reason given")
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
            message: format!(
                "risk score {risk:.1} ≥ threshold {:.1}",
                policy.risk_threshold
            ),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::*;
    use chrono::{TimeZone, Utc};

    fn vuln(sev: Severity, cvss: Option<f32>, fixed: &[&str], adv: &str) -> Finding {
        Finding::new(
            "vuln/osv",
            sev,
            format!("{adv} in lodash 4.17.15"),
            Some("app.tgz!/package/package-lock.json".into()),
            FindingDetail::Vulnerability(VulnerabilityDetail {
                advisory_id: adv.into(),
                aliases: vec![format!("CVE-{adv}")],
                package: PackageRef {
                    ecosystem: "npm".into(),
                    name: "lodash".into(),
                    version: "4.17.15".into(),
                    purl: Some("pkg:npm/lodash@4.17.15".into()),
                },
                fixed_versions: fixed.iter().map(|s| s.to_string()).collect(),
                cvss_score: cvss,
                cvss_vector: None,
                summary: None,
            }),
            &[adv],
        )
    }
    fn malware() -> Finding {
        Finding::new(
            "malware/yara",
            Severity::Critical,
            "EICAR test file",
            Some("a.zip!/eicar.com".into()),
            FindingDetail::Malware(MalwareDetail {
                rule: "portcullis/eicar".into(),
                engine: "yara".into(),
                namespace: None,
                package: None,
            }),
            &["eicar"],
        )
    }
    fn secret() -> Finding {
        Finding::new(
            "secrets/regex",
            Severity::High,
            "AWS access key id",
            Some("a.tgz!/config.env".into()),
            FindingDetail::Secret(SecretDetail {
                rule_id: "aws-access-key-id".into(),
                line: 3,
                fingerprint: "sha256:0011223344556677".into(),
            }),
            &["aws"],
        )
    }
    fn license(rule: Option<LicenseRule>) -> Finding {
        Finding::new(
            "license/spdx",
            Severity::Medium,
            "AGPL-3.0-only",
            Some("x/LICENSE".into()),
            FindingDetail::License(LicenseDetail {
                expression: "AGPL-3.0-only".into(),
                package: None,
                source: LicenseSource::Detected,
                confidence: Some(0.99),
                violation: rule.map(|rule| LicensePolicy {
                    rule,
                    matched: vec!["AGPL-3.0-only".into()],
                }),
            }),
            &["agpl"],
        )
    }
    fn result(slot: &str, findings: Vec<Finding>, status: ToolStatus) -> (String, ToolResult) {
        (
            slot.to_string(),
            ToolResult {
                schema_version: SCHEMA_VERSION,
                tool: format!("{slot}/x"),
                tool_version: "1".into(),
                artifact_id: ArtifactId("a0".into()),
                status,
                failure_reason: None,
                findings,
                errors: vec![],
                stats: ToolStats::default(),
                artifact: None,
                inventory: None,
                started_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            },
        )
    }
    fn all_ok(extra: Vec<(String, ToolResult)>) -> BTreeMap<String, ToolResult> {
        let mut m: BTreeMap<String, ToolResult> = ["vuln", "license", "malware", "secrets"]
            .iter()
            .map(|s| result(s, vec![], ToolStatus::Succeeded))
            .collect();
        m.extend(extra);
        m
    }
    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }
    fn eval_with(
        policy: &Policy,
        results: BTreeMap<String, ToolResult>,
        errors: BTreeMap<String, ToolError>,
    ) -> Evaluation {
        evaluate(&results, &errors, policy, "releases/app-1.0.tgz", today())
    }

    #[test]
    fn verdict_table() {
        let p = Policy::default_policy();
        let unscannable = Finding::unscannable(
            "vuln/osv",
            UnscannableReason::CompressionRatioExceeded,
            "bomb".into(),
            None,
        );
        type Case = (&'static str, Vec<(String, ToolResult)>, Verdict, f32);
        let cases: Vec<Case> = vec![
            ("nothing found", vec![], Verdict::Clean, 0.0),
            (
                "malware",
                vec![result("malware", vec![malware()], ToolStatus::Succeeded)],
                Verdict::Quarantined,
                10.0,
            ),
            (
                "secret",
                vec![result("secrets", vec![secret()], ToolStatus::Succeeded)],
                Verdict::Quarantined,
                8.0,
            ),
            (
                "high vuln",
                vec![result(
                    "vuln",
                    vec![vuln(Severity::High, None, &["4.17.21"], "GHSA-1")],
                    ToolStatus::Succeeded,
                )],
                Verdict::Quarantined,
                7.5,
            ),
            (
                "medium vuln",
                vec![result(
                    "vuln",
                    vec![vuln(Severity::Medium, Some(5.3), &["4.17.21"], "GHSA-2")],
                    ToolStatus::Succeeded,
                )],
                Verdict::Clean,
                5.3,
            ),
            (
                "denied licence",
                vec![result(
                    "license",
                    vec![license(Some(LicenseRule::Denied))],
                    ToolStatus::Succeeded,
                )],
                Verdict::Quarantined,
                6.0,
            ),
            (
                "unknown licence under warn",
                vec![result(
                    "license",
                    vec![license(Some(LicenseRule::Unknown))],
                    ToolStatus::Succeeded,
                )],
                Verdict::Clean,
                0.0,
            ),
            (
                "informational licence",
                vec![result(
                    "license",
                    vec![license(None)],
                    ToolStatus::Succeeded,
                )],
                Verdict::Clean,
                0.0,
            ),
            (
                "bomb",
                vec![result(
                    "malware",
                    vec![unscannable.clone()],
                    ToolStatus::PartiallySucceeded,
                )],
                Verdict::Unscannable,
                0.0,
            ),
            (
                "bomb + malware",
                vec![result(
                    "malware",
                    vec![unscannable, malware()],
                    ToolStatus::PartiallySucceeded,
                )],
                Verdict::Quarantined,
                10.0,
            ),
            (
                "tool failed without reason",
                vec![result("secrets", vec![], ToolStatus::Failed)],
                Verdict::Error,
                0.0,
            ),
        ];
        for (name, extra, verdict, risk) in cases {
            let e = eval_with(&p, all_ok(extra), BTreeMap::new());
            assert_eq!(e.verdict, verdict, "{name}: {:?}", e.reasons);
            assert!(
                (e.risk_score - risk).abs() < 0.05,
                "{name}: risk {}",
                e.risk_score
            );
        }
    }

    #[test]
    fn tool_errors_fail_closed_by_default_and_open_when_asked() {
        let err = crate::tool::tool_error(
            "malware/yara",
            &ArtifactId("a0".into()),
            ToolErrorKind::TimedOut,
            "slow",
        );
        let mut results = all_ok(vec![]);
        results.remove("malware");
        let errors: BTreeMap<String, ToolError> = [("malware".to_string(), err)].into();
        let closed = eval_with(&Policy::default_policy(), results.clone(), errors.clone());
        assert_eq!(closed.verdict, Verdict::Error);
        let open = Policy::from_toml("version = 1\n[tools]\non_error = \"fail_open\"\n").unwrap();
        assert_eq!(eval_with(&open, results, errors).verdict, Verdict::Clean);
    }

    #[test]
    fn a_missing_tool_is_never_clean() {
        let mut results = all_ok(vec![]);
        results.remove("vuln");
        let open = Policy::from_toml("version = 1\n[tools]\non_error = \"fail_open\"\n").unwrap();
        let e = eval_with(&open, results, BTreeMap::new());
        assert_eq!(e.verdict, Verdict::Error);
        assert_eq!(e.reasons[0].code, QuarantineReason::MissingTool);
    }

    #[test]
    fn unknown_severity_is_gated_as_the_policy_assumes() {
        // An advisory without severity or CVSS (most PYSEC records): reported, gated as `unknown_severity`.
        let unknown = || {
            all_ok(vec![result(
                "vuln",
                vec![vuln(Severity::Unknown, None, &["2.10.1"], "PYSEC-2019-217")],
                ToolStatus::Succeeded,
            )])
        };
        let cases: [(&str, Verdict); 4] = [
            ("", Verdict::Clean), // default: medium, below the default threshold high
            ("unknown_severity = \"medium\"\n", Verdict::Clean),
            ("unknown_severity = \"high\"\n", Verdict::Quarantined),
            (
                "unknown_severity = \"low\"\nseverity_threshold = \"medium\"\n",
                Verdict::Clean,
            ),
        ];
        for (section, want) in cases {
            let p =
                Policy::from_toml(&format!("version = 1\n[vulnerabilities]\n{section}")).unwrap();
            let e = eval_with(&p, unknown(), BTreeMap::new());
            assert_eq!(e.verdict, want, "{section:?}");
            assert_eq!(e.risk_score, 5.0, "{section:?}: the score does not change");
        }
        let err =
            Policy::from_toml("version = 1\n[vulnerabilities]\nunknown_severity = \"unknown\"\n")
                .unwrap_err();
        assert!(
            err.to_string().contains("vulnerabilities.unknown_severity"),
            "{err}"
        );
    }

    #[test]
    fn thresholds_and_ignore_unfixed() {
        let medium = vuln(Severity::Medium, Some(6.5), &[], "GHSA-3");
        let p =
            Policy::from_toml("version = 1\n[vulnerabilities]\nseverity_threshold = \"medium\"\n")
                .unwrap();
        assert_eq!(
            eval_with(
                &p,
                all_ok(vec![result(
                    "vuln",
                    vec![medium.clone()],
                    ToolStatus::Succeeded
                )]),
                BTreeMap::new()
            )
            .verdict,
            Verdict::Quarantined
        );
        let p = Policy::from_toml("version = 1\n[vulnerabilities]\nseverity_threshold = \"critical\"\ncvss_threshold = 6.0\n").unwrap();
        assert_eq!(
            eval_with(
                &p,
                all_ok(vec![result(
                    "vuln",
                    vec![medium.clone()],
                    ToolStatus::Succeeded
                )]),
                BTreeMap::new()
            )
            .verdict,
            Verdict::Quarantined
        );
        let p = Policy::from_toml("version = 1\n[vulnerabilities]\nseverity_threshold = \"medium\"\nignore_unfixed = true\n").unwrap();
        let e = eval_with(
            &p,
            all_ok(vec![result("vuln", vec![medium], ToolStatus::Succeeded)]),
            BTreeMap::new(),
        );
        assert_eq!(e.verdict, Verdict::Clean);
        assert_eq!(e.risk_score, 0.0);
    }

    #[test]
    fn risk_threshold_quarantines_many_mediums() {
        // GIVEN eleven medium (5.0) findings WHEN scored THEN 5.0 + 1.0 = 6.0; a threshold of 6 quarantines.
        let findings: Vec<Finding> = (0..11)
            .map(|i| vuln(Severity::Medium, None, &["9"], &format!("GHSA-m{i}")))
            .collect();
        assert_eq!(risk_score(&findings), 6.0);
        let p = Policy::from_toml("version = 1\n[risk]\nquarantine_threshold = 6.0\n").unwrap();
        let e = eval_with(
            &p,
            all_ok(vec![result("vuln", findings, ToolStatus::Succeeded)]),
            BTreeMap::new(),
        );
        assert_eq!(e.verdict, Verdict::Quarantined);
        assert!(
            e.reasons
                .iter()
                .any(|r| r.code == QuarantineReason::RiskThreshold)
        );
    }

    #[test]
    fn exceptions_waive_until_they_expire() {
        let doc = |expires: &str| {
            format!(
                "version = 1\n[[exceptions]]\nadvisory = \"CVE-GHSA-1\"\nreason = \"not reachable\"\nexpires = \"{expires}\"\n"
            )
        };
        let finding = vuln(Severity::Critical, Some(9.8), &["4.17.21"], "GHSA-1");
        let results = all_ok(vec![result(
            "vuln",
            vec![finding.clone()],
            ToolStatus::Succeeded,
        )]);
        let active = Policy::from_toml(&doc("2026-11-28")).unwrap();
        let e = eval_with(&active, results.clone(), BTreeMap::new());
        assert_eq!(e.verdict, Verdict::Allowed);
        assert_eq!(e.waivers.len(), 1);
        assert_eq!(e.risk_score, 0.0);
        let expired = Policy::from_toml(&doc("2026-11-27")).unwrap();
        assert_eq!(
            eval_with(&expired, results, BTreeMap::new()).verdict,
            Verdict::Quarantined
        );
    }

    #[test]
    fn exception_selectors() {
        let mk = |sel: &str| {
            Policy::from_toml(&format!(
                "version = 1\n[[exceptions]]\n{sel}\nreason = \"r\"\nexpires = \"2099-01-01\"\n"
            ))
            .unwrap()
            .exceptions
            .remove(0)
        };
        let v = vuln(Severity::High, None, &[], "GHSA-1");
        assert!(exception_matches(&mk("purl = \"pkg:npm/lodash\""), &v, "k"));
        assert!(exception_matches(
            &mk("purl = \"pkg:npm/lodash@4.17.15\""),
            &v,
            "k"
        ));
        assert!(!exception_matches(
            &mk("purl = \"pkg:npm/lodash@4.17.14\""),
            &v,
            "k"
        ));
        assert!(exception_matches(
            &mk("path = \"**/package-lock.json\""),
            &v,
            "k"
        ));
        assert!(exception_matches(
            &mk("artifact_key = \"releases/*.tgz\""),
            &v,
            "releases/app.tgz"
        ));
        assert!(!exception_matches(
            &mk("artifact_key = \"releases/*.tgz\""),
            &v,
            "other/app.tgz"
        ));
        assert!(exception_matches(
            &mk("rule = \"portcullis/eicar\""),
            &malware(),
            "k"
        ));
        assert!(!exception_matches(
            &mk("rule = \"portcullis/eicar\""),
            &v,
            "k"
        ));
        assert!(exception_matches(
            &mk("license = \"AGPL-3.0-only\""),
            &license(Some(LicenseRule::Denied)),
            "k"
        ));
    }
}
