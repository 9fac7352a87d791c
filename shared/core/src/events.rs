//! SecurityEvents: what the publisher writes to Kafka for each finished chain. Every event carries the
//! artifact identity, a deterministic `event_id` (hash of artifact id, event type and the finding key) so
//! consumers can dedupe, and `occurred_at` = the chain's completion time (replays are byte-identical).
//! Consumers must ignore `event_type`s they do not know; new types may be added.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chain::ToolChainResult;
use crate::model::{
    ArtifactId, ArtifactRef, FindingDetail, FindingKind, LicensePolicy, MalwareDetail, PackageRef,
    SCHEMA_VERSION, Severity, VulnerabilityDetail,
};
use crate::verdict::{QuarantineReason, Verdict, VerdictReason};

/// Artifact identity repeated in every event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ArtifactIdentity {
    /// Artifact id.
    pub artifact_id: ArtifactId,
    /// Bucket (S3 artifacts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Key (S3) or path (local).
    pub key: String,
    /// Version id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// ETag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// SHA-256 of the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// A security event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecurityEvent {
    /// Contract version.
    pub schema_version: u32,
    /// Deterministic id.
    pub event_id: String,
    /// When the chain completed.
    pub occurred_at: DateTime<Utc>,
    /// Artifact identity.
    pub artifact: ArtifactIdentity,
    /// Type-specific payload; `event_type` is the tag.
    #[serde(flatten)]
    pub payload: EventPayload,
}

/// Event payloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "event_type", rename_all = "snake_case")]
pub enum EventPayload {
    /// One advisory affecting one package (all locations listed).
    VulnerabilityDetected {
        /// The advisory and package.
        vulnerability: VulnerabilityDetail,
        /// Severity.
        severity: Severity,
        /// Where the package was found.
        locations: Vec<String>,
        /// Waived by an exception.
        waived: bool,
    },
    /// The artifact was quarantined.
    ArtifactQuarantined {
        /// Primary reason.
        reason: QuarantineReason,
        /// Risk score 0–10.
        risk_score: f32,
        /// All reasons.
        reasons: Vec<VerdictReason>,
    },
    /// A licence the policy rejects.
    LicenseViolation {
        /// The licence expression.
        license: String,
        /// The rule it violates.
        policy: LicensePolicy,
        /// The package, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        package: Option<PackageRef>,
        /// Where.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<String>,
        /// Waived by an exception.
        waived: bool,
    },
    /// Malware found.
    MalwareDetected {
        /// Rule and engine.
        malware: MalwareDetail,
        /// Where.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<String>,
        /// Waived by an exception.
        waived: bool,
    },
    /// An exposed secret: rule, location and fingerprint only — never the value.
    SecretExposed {
        /// Rule id.
        rule_id: String,
        /// Where.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<String>,
        /// Line.
        line: u64,
        /// Fingerprint of the value.
        fingerprint: String,
        /// Waived by an exception.
        waived: bool,
    },
    /// The scan finished (always emitted, last).
    SecurityScanCompleted {
        /// Summary.
        scan_result: ScanResult,
        /// Chain duration in milliseconds.
        duration_ms: u64,
    },
}

impl EventPayload {
    /// The `event_type` string.
    pub fn event_type(&self) -> &'static str {
        match self {
            EventPayload::VulnerabilityDetected { .. } => "vulnerability_detected",
            EventPayload::ArtifactQuarantined { .. } => "artifact_quarantined",
            EventPayload::LicenseViolation { .. } => "license_violation",
            EventPayload::MalwareDetected { .. } => "malware_detected",
            EventPayload::SecretExposed { .. } => "secret_exposed",
            EventPayload::SecurityScanCompleted { .. } => "security_scan_completed",
        }
    }
}

/// Summary of a scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScanResult {
    /// Verdict.
    pub verdict: Verdict,
    /// Risk 0–10.
    pub risk_score: f32,
    /// Status per tool slot (`succeeded`, `partially_succeeded`, `failed`, or `error` for tool errors).
    pub tools: BTreeMap<String, String>,
    /// Findings per kind (waived included).
    pub finding_counts: BTreeMap<FindingKind, u64>,
    /// Reasons behind the verdict.
    pub reasons: Vec<VerdictReason>,
}

/// (advisory, ecosystem, name, version).
type VulnKey = (String, String, String, String);
/// (detail, severity, locations, all waived).
type VulnGroup = (VulnerabilityDetail, Severity, Vec<String>, bool);

fn event_id(artifact: &ArtifactId, event_type: &str, key: &str) -> String {
    let mut h = Sha256::new();
    h.update(artifact.0.as_bytes());
    h.update(b"\0");
    h.update(event_type.as_bytes());
    h.update(b"\0");
    h.update(key.as_bytes());
    format!("e{}", hex::encode(&h.finalize()[..16]))
}

/// The identity block of a chain's artifact.
pub fn identity(chain: &ToolChainResult) -> ArtifactIdentity {
    let sha256 = chain.metadata.as_ref().and_then(|m| m.sha256.clone());
    match &chain.artifact {
        ArtifactRef::S3(o) => ArtifactIdentity {
            artifact_id: chain.artifact_id.clone(),
            bucket: Some(o.bucket.clone()),
            key: o.key.clone(),
            version_id: o.version_id.clone(),
            etag: o.etag.clone(),
            sha256,
            size: o.size.or(chain.metadata.as_ref().map(|m| m.size)),
        },
        ArtifactRef::Local(l) => ArtifactIdentity {
            artifact_id: chain.artifact_id.clone(),
            bucket: None,
            key: l.path.clone(),
            version_id: None,
            etag: None,
            sha256,
            size: l.size.or(chain.metadata.as_ref().map(|m| m.size)),
        },
    }
}

/// Builds the events of a finalized chain, in a deterministic order: findings (vulnerabilities grouped per
/// advisory × package), then ArtifactQuarantined when quarantined, then SecurityScanCompleted.
pub fn build_events(chain: &ToolChainResult) -> Vec<SecurityEvent> {
    let ident = identity(chain);
    let mut out: Vec<SecurityEvent> = Vec::new();
    let mut push = |payload: EventPayload, key: String| {
        out.push(SecurityEvent {
            schema_version: SCHEMA_VERSION,
            event_id: event_id(&chain.artifact_id, payload.event_type(), &key),
            occurred_at: chain.completed_at,
            artifact: ident.clone(),
            payload,
        });
    };

    // Vulnerabilities: one event per advisory × package.
    let mut vulns: BTreeMap<VulnKey, VulnGroup> = BTreeMap::new();
    let mut counts: BTreeMap<FindingKind, u64> = BTreeMap::new();
    let mut others = Vec::new();
    for (_slot, f) in chain.findings() {
        *counts.entry(f.kind()).or_default() += 1;
        let waived = chain.is_waived(&f.id);
        match &f.detail {
            FindingDetail::Vulnerability(v) => {
                let key = (
                    v.advisory_id.clone(),
                    v.package.ecosystem.clone(),
                    v.package.name.clone(),
                    v.package.version.clone(),
                );
                let e = vulns
                    .entry(key)
                    .or_insert_with(|| (v.clone(), f.severity, Vec::new(), true));
                if let Some(l) = &f.location {
                    e.2.push(l.clone());
                }
                e.3 &= waived;
            }
            _ => others.push((f, waived)),
        }
    }
    for ((adv, eco, name, ver), (detail, severity, mut locations, waived)) in vulns {
        locations.sort();
        locations.dedup();
        push(
            EventPayload::VulnerabilityDetected {
                vulnerability: detail,
                severity,
                locations,
                waived,
            },
            format!("{adv}\0{eco}\0{name}\0{ver}"),
        );
    }
    others.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    for (f, waived) in others {
        match &f.detail {
            FindingDetail::License(l) => {
                if let Some(policy) = &l.violation {
                    push(
                        EventPayload::LicenseViolation {
                            license: l.expression.clone(),
                            policy: policy.clone(),
                            package: l.package.clone(),
                            location: f.location.clone(),
                            waived,
                        },
                        f.id.clone(),
                    );
                }
            }
            FindingDetail::Malware(m) => push(
                EventPayload::MalwareDetected {
                    malware: m.clone(),
                    location: f.location.clone(),
                    waived,
                },
                f.id.clone(),
            ),
            FindingDetail::Secret(s) => push(
                EventPayload::SecretExposed {
                    rule_id: s.rule_id.clone(),
                    location: f.location.clone(),
                    line: s.line,
                    fingerprint: s.fingerprint.clone(),
                    waived,
                },
                f.id.clone(),
            ),
            FindingDetail::Vulnerability(_) | FindingDetail::Unscannable(_) => {}
        }
    }

    // Chain-level events are keyed by the chain's completion time: a replay of the same chain gives the same
    // ids, a rescan (a new evaluation) gives new ones.
    let generation = chain
        .completed_at
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    if chain.verdict == Verdict::Quarantined {
        let primary = chain
            .reasons
            .iter()
            .map(|r| r.code)
            .find(|c| {
                !matches!(
                    c,
                    QuarantineReason::Unscannable
                        | QuarantineReason::ToolError
                        | QuarantineReason::MissingTool
                )
            })
            .unwrap_or(QuarantineReason::RiskThreshold);
        push(
            EventPayload::ArtifactQuarantined {
                reason: primary,
                risk_score: chain.risk_score,
                reasons: chain.reasons.clone(),
            },
            generation.clone(),
        );
    }

    let mut tools: BTreeMap<String, String> = chain
        .results
        .iter()
        .map(|(slot, r)| {
            let s = serde_json::to_value(r.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            (slot.clone(), s)
        })
        .collect();
    for slot in chain.errors.keys() {
        tools.insert(slot.clone(), "error".to_string());
    }
    push(
        EventPayload::SecurityScanCompleted {
            scan_result: ScanResult {
                verdict: chain.verdict,
                risk_score: chain.risk_score,
                tools,
                finding_counts: counts,
                reasons: chain.reasons.clone(),
            },
            duration_ms: chain.duration_ms,
        },
        generation,
    );
    out
}

/// The events of `after` that `before` did not already produce (by event id): what a rescan publishes.
/// Findings seen before keep their ids, so only new matches (and the new evaluation) are emitted.
pub fn new_events(before: &ToolChainResult, after: &ToolChainResult) -> Vec<SecurityEvent> {
    let seen: std::collections::HashSet<String> = build_events(before)
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    build_events(after)
        .into_iter()
        .filter(|e| !seen.contains(&e.event_id))
        .collect()
}
