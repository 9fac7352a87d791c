//! The JSON contracts between functions: snapshots of ToolResult / ToolChainResult / SecurityEvent, schema
//! drift (schemas/ must equal what the types generate), round trips, and schema validation of produced JSON.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use portcullis_core::events::EventPayload;
use portcullis_core::model::*;
use portcullis_core::{Policy, ToolChainResult, Verdict, build_events};

fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn s3_artifact() -> ArtifactRef {
    ArtifactRef::S3(S3ObjectRef {
        bucket: "artifacts".into(),
        key: "releases/app 1.0.tgz".into(),
        version_id: Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY".into()),
        etag: Some("d41d8cd98f00b204e9800998ecf8427e".into()),
        size: Some(1234),
        sequencer: Some("0055AED6DCD90281E5".into()),
    })
}

fn sample_chain() -> ToolChainResult {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
    let artifact = s3_artifact();
    let id = artifact.artifact_id();
    let meta = ArtifactMetadata {
        sha256: Some("ab".repeat(32)),
        size: 1234,
        format: Format::Gzip,
    };
    let result = |tool: &str, findings: Vec<Finding>| ToolResult {
        schema_version: SCHEMA_VERSION,
        tool: tool.into(),
        tool_version: "0.1.0".into(),
        artifact_id: id.clone(),
        status: ToolStatus::Succeeded,
        failure_reason: None,
        findings,
        errors: vec![],
        stats: ToolStats {
            bytes_scanned: 4096,
            entries_scanned: 3,
            duration_ms: 12,
        },
        artifact: Some(meta.clone()),
        inventory: None,
        started_at: t0,
    };
    let vuln = Finding::new(
        "vuln/osv",
        Severity::High,
        "GHSA-jf85-cpcp-j695 in lodash 4.17.15",
        Some("app 1.0.tgz!/package/package-lock.json".into()),
        FindingDetail::Vulnerability(VulnerabilityDetail {
            advisory_id: "GHSA-jf85-cpcp-j695".into(),
            aliases: vec!["CVE-2019-10744".into()],
            package: PackageRef {
                ecosystem: "npm".into(),
                name: "lodash".into(),
                version: "4.17.15".into(),
                purl: Some("pkg:npm/lodash@4.17.15".into()),
            },
            fixed_versions: vec!["4.17.12".into()],
            cvss_score: Some(9.1),
            cvss_vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:H".into()),
            summary: Some("Prototype Pollution in lodash".into()),
        }),
        &["GHSA-jf85-cpcp-j695", "pkg:npm/lodash@4.17.15"],
    );
    let secret = Finding::new(
        "secrets/regex",
        Severity::Critical,
        "AWS access key id",
        Some("app 1.0.tgz!/package/.env".into()),
        FindingDetail::Secret(SecretDetail {
            rule_id: "aws-access-key-id".into(),
            line: 2,
            fingerprint: "sha256:1f2e3d4c5b6a7988".into(),
        }),
        &["aws-access-key-id", "sha256:1f2e3d4c5b6a7988"],
    );
    let lic = Finding::new(
        "license/spdx",
        Severity::Medium,
        "AGPL-3.0-only is denied",
        Some("app 1.0.tgz!/package/LICENSE".into()),
        FindingDetail::License(LicenseDetail {
            expression: "AGPL-3.0-only".into(),
            package: None,
            source: LicenseSource::Detected,
            confidence: Some(0.98),
            violation: Some(LicensePolicy {
                rule: LicenseRule::Denied,
                matched: vec!["AGPL-3.0-only".into()],
            }),
        }),
        &["AGPL-3.0-only"],
    );
    let mal = Finding::new(
        "malware/yara",
        Severity::Critical,
        "EICAR test file",
        Some("app 1.0.tgz!/package/eicar.com".into()),
        FindingDetail::Malware(MalwareDetail {
            rule: "portcullis/eicar_test_file".into(),
            engine: "yara".into(),
            namespace: Some("portcullis".into()),
            package: None,
        }),
        &["portcullis/eicar_test_file"],
    );
    let mut chain = ToolChainResult::new(artifact, t0);
    chain.add_tool_result(result("vuln/osv", vec![vuln]));
    chain.add_tool_result(result("secrets/regex", vec![secret]));
    chain.add_tool_result(result("license/spdx", vec![lic]));
    chain.add_tool_result(result("malware/yara", vec![mal]));
    chain.finalize(
        &Policy::default_policy(),
        t0 + chrono::Duration::milliseconds(250),
    );
    chain
}

#[test]
fn tool_chain_result_snapshot() {
    let chain = sample_chain();
    assert_eq!(chain.verdict, Verdict::Quarantined);
    insta::assert_json_snapshot!("tool_chain_result", chain);
}

#[test]
fn security_events_snapshot() {
    let events = build_events(&sample_chain());
    let types: Vec<&str> = events.iter().map(|e| e.payload.event_type()).collect();
    assert_eq!(types.first(), Some(&"vulnerability_detected"));
    assert_eq!(
        &types[types.len() - 2..],
        ["artifact_quarantined", "security_scan_completed"]
    );
    let mut middle: Vec<&str> = types[1..types.len() - 2].to_vec();
    middle.sort();
    assert_eq!(
        middle,
        ["license_violation", "malware_detected", "secret_exposed"]
    );
    insta::assert_json_snapshot!("security_events", events);
}

#[test]
fn every_seed_event_type_is_produced_and_ids_are_deterministic_and_unique() {
    let a = build_events(&sample_chain());
    let b = build_events(&sample_chain());
    assert_eq!(a, b, "same chain, same events");
    let mut ids: Vec<&str> = a.iter().map(|e| e.event_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), a.len(), "event ids are unique");
    for t in [
        "vulnerability_detected",
        "artifact_quarantined",
        "license_violation",
        "security_scan_completed",
    ] {
        assert!(a.iter().any(|e| e.payload.event_type() == t), "missing {t}");
    }
    assert!(matches!(
        a.last().unwrap().payload,
        EventPayload::SecurityScanCompleted { .. }
    ));
    for e in &a {
        assert_eq!(e.artifact.artifact_id, sample_chain().artifact_id);
        assert_eq!(e.artifact.bucket.as_deref(), Some("artifacts"));
    }
}

#[test]
fn json_round_trips() {
    let chain = sample_chain();
    let text = serde_json::to_string(&chain).unwrap();
    let back: ToolChainResult = serde_json::from_str(&text).unwrap();
    assert_eq!(back, chain);
    for e in build_events(&chain) {
        let t = serde_json::to_string(&e).unwrap();
        let back: portcullis_core::SecurityEvent = serde_json::from_str(&t).unwrap();
        assert_eq!(back, e);
    }
}

#[test]
fn verdict_strings_are_the_contract() {
    for (v, s) in [
        (Verdict::Clean, "CLEAN"),
        (Verdict::Quarantined, "QUARANTINED"),
        (Verdict::Unscannable, "UNSCANNABLE"),
        (Verdict::Error, "ERROR"),
        (Verdict::Allowed, "ALLOWED"),
    ] {
        assert_eq!(
            serde_json::to_value(v).unwrap(),
            serde_json::Value::String(s.into())
        );
        assert_eq!(Verdict::parse(s), Some(v));
    }
}

#[test]
fn artifact_ids_are_stable_and_identity_based() {
    let a = s3_artifact();
    assert_eq!(a.artifact_id().0, a.artifact_id().0);
    assert!(ArtifactId::parse(&a.artifact_id().0).is_some());
    let ArtifactRef::S3(mut o) = a.clone() else {
        unreachable!()
    };
    o.version_id = Some("other".into());
    assert_ne!(ArtifactRef::S3(o.clone()).artifact_id(), a.artifact_id());
    // size and sequencer are not identity
    o.version_id = match &a {
        ArtifactRef::S3(x) => x.version_id.clone(),
        _ => None,
    };
    o.size = Some(1);
    o.sequencer = None;
    assert_eq!(ArtifactRef::S3(o).artifact_id(), a.artifact_id());
    assert!(ArtifactId::parse("a../../etc").is_none());
}

#[test]
fn schemas_have_not_drifted() {
    let dir = schemas_dir();
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut drifted = Vec::new();
    for (name, schema) in portcullis_core::schema::all() {
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        let path = dir.join(name);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        // Compared as JSON values: key order depends on serde_json's `preserve_order` feature, which other
        // crates in a workspace build may switch on.
        let on_disk: Option<serde_json::Value> = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        if on_disk.as_ref() != Some(&schema) {
            drifted.push(name);
        }
    }
    assert!(
        drifted.is_empty(),
        "schemas drifted from the types: {drifted:?}; run `UPDATE_SCHEMAS=1 cargo test -p portcullis-core --test contracts` and review the diff"
    );
}

#[test]
fn produced_json_validates_against_the_committed_schemas() {
    let chain = sample_chain();
    let load = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(schemas_dir().join(name)).unwrap()).unwrap()
    };
    let chain_schema = jsonschema::validator_for(&load("tool-chain-result.schema.json")).unwrap();
    let chain_json = serde_json::to_value(&chain).unwrap();
    let errors: Vec<String> = chain_schema
        .iter_errors(&chain_json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let event_schema = jsonschema::validator_for(&load("security-event.schema.json")).unwrap();
    for e in build_events(&chain) {
        let v = serde_json::to_value(&e).unwrap();
        let errors: Vec<String> = event_schema
            .iter_errors(&v)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", e.payload.event_type());
    }
    // and a wrong document is rejected
    let mut bad = serde_json::to_value(build_events(&chain).pop().unwrap()).unwrap();
    bad["event_type"] = "no_such_event".into();
    assert!(!event_schema.is_valid(&bad));
}

#[test]
fn policy_validation_errors_snapshot() {
    let docs = [
        "version = 1\n[vulnerabilities]\nseverity_threshold = \"urgent\"\n",
        "version = 1\n[limits]\nmax_dept = 3\n",
        "version = 1\n[[exceptions]]\nadvisory = \"CVE-2021-44228\"\nexpires = \"2027-01-01\"\n",
        "version = 1\n[[exceptions]]\nadvisory = \"CVE-2021-44228\"\nreason = \"r\"\nexpires = \"next year\"\n",
    ];
    let messages: Vec<String> = docs
        .iter()
        .map(|d| Policy::from_toml(d).unwrap_err().to_string())
        .collect();
    insta::assert_json_snapshot!("policy_errors", messages);
}

#[test]
fn rescan_emits_only_new_matches_and_the_new_evaluation() {
    // GIVEN a finished chain WHEN it is re-evaluated with one extra advisory THEN only that advisory's event
    // and the new chain-level events are new; re-evaluating nothing at the same instant emits nothing.
    let before = sample_chain();
    assert!(portcullis_core::events::new_events(&before, &before).is_empty());
    let mut findings: Vec<Finding> = before.results["vuln"].findings.clone();
    let mut extra = findings[0].clone();
    if let FindingDetail::Vulnerability(v) = &mut extra.detail {
        v.advisory_id = "GHSA-p6mc-m468-83gw".into();
    }
    extra.id = "f-new".into();
    findings.push(extra);
    let mut after = before.clone();
    let later = before.completed_at + chrono::Duration::days(1);
    assert!(after.replace_findings("vuln", findings, &Policy::default_policy(), later));
    let fresh = portcullis_core::events::new_events(&before, &after);
    let types: Vec<&str> = fresh.iter().map(|e| e.payload.event_type()).collect();
    assert_eq!(
        types,
        [
            "vulnerability_detected",
            "artifact_quarantined",
            "security_scan_completed"
        ]
    );
    assert!(!after.replace_findings("nope", vec![], &Policy::default_policy(), later));
}
