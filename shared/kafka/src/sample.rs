//! Sample finalized chains for tests and the benchmark (feature `test-util`): an S3 artifact with
//! `vulns` vulnerability findings (one advisory each), one licence violation and a quarantine verdict, built
//! through the core's own `ToolChainResult` / `finalize` so the events are the real ones.

use chrono::{DateTime, TimeZone, Utc};
use portcullis_core::model::{
    FindingDetail, LicenseDetail, LicensePolicy, LicenseRule, LicenseSource, PackageRef,
    S3ObjectRef, ToolStats, ToolStatus, VulnerabilityDetail,
};
use portcullis_core::{
    ArtifactRef, Finding, Policy, SCHEMA_VERSION, Severity, ToolChainResult, ToolResult,
};

/// A fixed completion time (so events are byte-identical across runs).
pub fn fixed_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
        .single()
        .unwrap_or_default()
}

/// A chain for `s3://bucket/key` with `vulns` vulnerabilities and one licence violation.
pub fn chain(bucket: &str, key: &str, vulns: usize) -> ToolChainResult {
    let artifact = ArtifactRef::S3(S3ObjectRef {
        bucket: bucket.to_string(),
        key: key.to_string(),
        version_id: Some("v1".to_string()),
        etag: Some("0123456789abcdef".to_string()),
        size: Some(4096),
        sequencer: None,
    });
    let started = fixed_time();
    let mut chain = ToolChainResult::new(artifact.clone(), started);
    let findings = (0..vulns)
        .map(|i| {
            let pkg_name = format!("left-pad-{i}");
            let pkg = PackageRef {
                ecosystem: "npm".into(),
                name: pkg_name.clone(),
                version: "1.0.0".into(),
                purl: Some(format!("pkg:npm/left-pad-{i}@1.0.0")),
            };
            let advisory = format!("GHSA-test-{i:04}");
            Finding::new(
                "vuln/osv",
                Severity::High,
                advisory.clone(),
                Some(format!("node_modules/left-pad-{i}/package.json")),
                FindingDetail::Vulnerability(VulnerabilityDetail {
                    advisory_id: advisory.clone(),
                    aliases: vec![format!("CVE-2026-{i:05}")],
                    package: pkg,
                    fixed_versions: vec!["1.0.1".into()],
                    cvss_score: Some(8.1),
                    cvss_vector: None,
                    summary: Some("sample advisory".into()),
                }),
                &[advisory.as_str(), pkg_name.as_str()],
            )
        })
        .collect();
    chain.add_tool_result(result(&chain, "vuln/osv", findings, started));
    let lic = Finding::new(
        "license/spdx",
        Severity::Medium,
        "GPL-3.0-only",
        Some("LICENSE".into()),
        FindingDetail::License(LicenseDetail {
            expression: "GPL-3.0-only".into(),
            package: None,
            source: LicenseSource::Detected,
            confidence: Some(0.98),
            violation: Some(LicensePolicy {
                rule: LicenseRule::Denied,
                matched: vec!["GPL-3.0-only".into()],
            }),
        }),
        &["GPL-3.0-only"],
    );
    chain.add_tool_result(result(&chain, "license/spdx", vec![lic], started));
    chain.finalize(&Policy::default_policy(), fixed_time());
    chain
}

fn result(
    chain: &ToolChainResult,
    tool: &str,
    findings: Vec<Finding>,
    started: DateTime<Utc>,
) -> ToolResult {
    let mut r = ToolResult {
        schema_version: SCHEMA_VERSION,
        tool: tool.to_string(),
        tool_version: "test".into(),
        artifact_id: chain.artifact_id.clone(),
        status: ToolStatus::Succeeded,
        failure_reason: None,
        findings,
        errors: Vec::new(),
        stats: ToolStats::default(),
        artifact: None,
        inventory: None,
        started_at: started,
    };
    r.normalize();
    r
}
