//! The domain model: what an artifact is, what a tool reports about it, and the identifiers that make every
//! step idempotent. Everything here is serialized as JSON between the Lambda functions, so it is a public
//! contract: snake_case fields, a `schema_version`, JSON Schemas in `schemas/` (checked for drift by tests).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of the JSON contracts produced by this crate. Bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Where an artifact lives. The identity of an S3 artifact is bucket + key + version (or ETag when the bucket
/// is unversioned); the content digest is recorded separately and is *not* identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum ArtifactRef {
    /// An object in S3 (or an S3-compatible store).
    S3(S3ObjectRef),
    /// A file on the local filesystem (CLI scans).
    Local(LocalFileRef),
}

/// An S3 object as named by an upload notification. `key` is always URL-decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct S3ObjectRef {
    /// Bucket name.
    pub bucket: String,
    /// Object key, URL-decoded.
    pub key: String,
    /// Version id when the bucket is versioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// ETag without quotes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Size in bytes, when known from the notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// S3 event sequencer (orders events for one key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequencer: Option<String>,
}

/// A local file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LocalFileRef {
    /// Path as given by the user.
    pub path: String,
    /// Size in bytes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

impl ArtifactRef {
    /// Stable identifier: `a` + 32 hex chars of SHA-256 over the identity fields. The same object version
    /// always maps to the same id; the same bytes at two keys are two artifacts.
    pub fn artifact_id(&self) -> ArtifactId {
        let mut h = Sha256::new();
        match self {
            ArtifactRef::S3(o) => {
                h.update(b"s3\0");
                h.update(o.bucket.as_bytes());
                h.update(b"\0");
                h.update(o.key.as_bytes());
                h.update(b"\0");
                // version id when versioned, else the ETag, else nothing (the key alone)
                let v = o.version_id.as_deref().or(o.etag.as_deref()).unwrap_or("");
                h.update(v.as_bytes());
            }
            ArtifactRef::Local(l) => {
                h.update(b"local\0");
                h.update(l.path.as_bytes());
            }
        }
        let d = h.finalize();
        ArtifactId(format!("a{}", hex::encode(&d[..16])))
    }

    /// Human readable location (`s3://bucket/key` or the path).
    pub fn display_name(&self) -> String {
        match self {
            ArtifactRef::S3(o) => format!("s3://{}/{}", o.bucket, o.key),
            ArtifactRef::Local(l) => l.path.clone(),
        }
    }

    /// The object key (S3) or the file name (local): used for exception globs and format hints.
    pub fn key(&self) -> &str {
        match self {
            ArtifactRef::S3(o) => &o.key,
            ArtifactRef::Local(l) => &l.path,
        }
    }

    /// Size in bytes when the reference knows it.
    pub fn size(&self) -> Option<u64> {
        match self {
            ArtifactRef::S3(o) => o.size,
            ArtifactRef::Local(l) => l.size,
        }
    }
}

/// Stable artifact identifier (see [`ArtifactRef::artifact_id`]).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct ArtifactId(pub String);

impl fmt::Display for ArtifactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ArtifactId {
    /// Checks the shape of an id received from outside (S3 keys, events): `a` + 32 lowercase hex.
    pub fn parse(s: &str) -> Option<ArtifactId> {
        let ok = s.len() == 33
            && s.starts_with('a')
            && s[1..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| ArtifactId(s.to_string()))
    }
}

/// What the reader learned about the artifact's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ArtifactMetadata {
    /// SHA-256 of the artifact bytes, lowercase hex. Absent when the bytes could not be read to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Size in bytes actually read.
    pub size: u64,
    /// Format detected from the content (not the name).
    pub format: Format,
}

/// Formats detected by content.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Zero bytes.
    Empty,
    /// Zip family (zip, jar, war, ear, whl, nupkg, apk-android …).
    Zip,
    /// POSIX/GNU tar.
    Tar,
    /// gzip (possibly multi-member).
    Gzip,
    /// bzip2.
    Bzip2,
    /// xz.
    Xz,
    /// zstd.
    Zstd,
    /// Unix `ar` archive (.deb outer layer, static libraries).
    Ar,
    /// RPM package.
    Rpm,
    /// cpio (newc/odc) archive, e.g. an RPM payload.
    Cpio,
    /// `docker save` tarball.
    DockerArchive,
    /// OCI image layout tarball.
    OciLayout,
    /// 7-Zip (recognized, not unpacked).
    SevenZip,
    /// RAR (recognized, not unpacked).
    Rar,
    /// ELF executable or library.
    Elf,
    /// PE (Windows) executable.
    Pe,
    /// Mach-O executable.
    MachO,
    /// WebAssembly module.
    Wasm,
    /// PDF document.
    Pdf,
    /// JSON document.
    Json,
    /// Text (UTF-8 or ASCII).
    Text,
    /// Anything else.
    Binary,
}

impl Format {
    /// Formats the reader unpacks.
    pub fn is_container(self) -> bool {
        matches!(
            self,
            Format::Zip
                | Format::Tar
                | Format::Gzip
                | Format::Bzip2
                | Format::Xz
                | Format::Zstd
                | Format::Ar
                | Format::Rpm
                | Format::Cpio
                | Format::DockerArchive
                | Format::OciLayout
        )
    }

    /// Snake-case name as used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Empty => "empty",
            Format::Zip => "zip",
            Format::Tar => "tar",
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
            Format::Xz => "xz",
            Format::Zstd => "zstd",
            Format::Ar => "ar",
            Format::Rpm => "rpm",
            Format::Cpio => "cpio",
            Format::DockerArchive => "docker_archive",
            Format::OciLayout => "oci_layout",
            Format::SevenZip => "seven_zip",
            Format::Rar => "rar",
            Format::Elf => "elf",
            Format::Pe => "pe",
            Format::MachO => "mach_o",
            Format::Wasm => "wasm",
            Format::Pdf => "pdf",
            Format::Json => "json",
            Format::Text => "text",
            Format::Binary => "binary",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Severity of a finding, ordered from least to most severe.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    Default,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// No severity information.
    #[default]
    Unknown,
    /// Informational only.
    Info,
    /// Low.
    Low,
    /// Medium / moderate.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Severity band for a CVSS base score (CVSS v3/v4 qualitative rating scale).
    pub fn from_cvss(score: f32) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::Info
        }
    }

    /// Parses common spellings (`moderate` = medium, case-insensitive).
    pub fn parse_loose(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "unknown" => Some(Severity::Unknown),
            "info" | "informational" | "none" => Some(Severity::Info),
            "low" => Some(Severity::Low),
            "medium" | "moderate" => Some(Severity::Medium),
            "high" | "important" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// Upper-case name as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "UNKNOWN",
            Severity::Info => "INFO",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A package found inside an artifact.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct PackageRef {
    /// OSV ecosystem name (`npm`, `PyPI`, `crates.io`, `Maven`, `Go`, `Debian`, `Alpine`, …).
    pub ecosystem: String,
    /// Package name as the ecosystem spells it (Maven: `group:artifact`).
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Package URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// A package in the artifact's inventory (SBOM component).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Package {
    /// Identity of the package.
    #[serde(flatten)]
    pub package: PackageRef,
    /// Path of the file it was found in (`a.tar!/usr/lib/x.jar!/META-INF/…`).
    pub location: String,
    /// Image layer that last wrote the file, for container images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Source package / origin name where the ecosystem matches advisories on it (Debian source, apk origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Declared licence expression from the package metadata, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Which extractor found it (`npm/package-lock`, `java/pom-properties`, …).
    pub found_by: String,
    /// True when the identity is a guess (e.g. a jar's file name without metadata).
    #[serde(default, skip_serializing_if = "is_false")]
    pub inferred: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One finding, with a deterministic id (hash of tool, kind and identifying fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// Deterministic id: the same finding on the same artifact always has the same id.
    pub id: String,
    /// Severity.
    pub severity: Severity,
    /// Short human-readable title.
    pub title: String,
    /// Path inside the artifact, when the finding has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Image layer, for container images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Kind-specific details.
    #[serde(flatten)]
    pub detail: FindingDetail,
}

/// Kind-specific part of a finding; `kind` is the tag in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FindingDetail {
    /// A known advisory affects a package in the artifact.
    Vulnerability(VulnerabilityDetail),
    /// A licence was identified; `violation` is set when the policy rejects it.
    License(LicenseDetail),
    /// Malicious content.
    Malware(MalwareDetail),
    /// An exposed credential (never the value: fingerprint + location only).
    Secret(SecretDetail),
    /// Part or all of the artifact could not be scanned.
    Unscannable(UnscannableDetail),
}

impl FindingDetail {
    /// The finding kind.
    pub fn kind(&self) -> FindingKind {
        match self {
            FindingDetail::Vulnerability(_) => FindingKind::Vulnerability,
            FindingDetail::License(_) => FindingKind::License,
            FindingDetail::Malware(_) => FindingKind::Malware,
            FindingDetail::Secret(_) => FindingKind::Secret,
            FindingDetail::Unscannable(_) => FindingKind::Unscannable,
        }
    }
}

/// Finding kinds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// See [`VulnerabilityDetail`].
    Vulnerability,
    /// See [`LicenseDetail`].
    License,
    /// See [`MalwareDetail`].
    Malware,
    /// See [`SecretDetail`].
    Secret,
    /// See [`UnscannableDetail`].
    Unscannable,
}

impl FindingKind {
    /// Snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Vulnerability => "vulnerability",
            FindingKind::License => "license",
            FindingKind::Malware => "malware",
            FindingKind::Secret => "secret",
            FindingKind::Unscannable => "unscannable",
        }
    }
}

/// A vulnerability: advisory × package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VulnerabilityDetail {
    /// Advisory id (`GHSA-…`, `RUSTSEC-…`, `PYSEC-…`, `GO-…`, `CVE-…`).
    pub advisory_id: String,
    /// Other ids of the same advisory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The affected package.
    pub package: PackageRef,
    /// Versions that fix it (empty: no fix known).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_versions: Vec<String>,
    /// CVSS base score, computed from the vector when one is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_score: Option<f32>,
    /// CVSS vector string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_vector: Option<String>,
    /// Advisory summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// A licence observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LicenseDetail {
    /// SPDX expression (normalized when it parsed).
    pub expression: String,
    /// Package the licence belongs to, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageRef>,
    /// How it was identified: `declared` (package metadata) or `detected` (licence text).
    pub source: LicenseSource,
    /// Detection confidence 0–1, for detected texts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// Set when the policy rejects this licence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation: Option<LicensePolicy>,
}

/// Where a licence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LicenseSource {
    /// Declared in package metadata.
    Declared,
    /// Detected from a licence text.
    Detected,
}

/// The policy rule a licence violates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LicensePolicy {
    /// `denied`, `not_allowed` or `unknown`.
    pub rule: LicenseRule,
    /// The licence ids from the policy that caused the decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<String>,
}

/// Licence rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LicenseRule {
    /// On the deny list.
    Denied,
    /// Not on the allow list (when an allow list is set).
    NotAllowed,
    /// Not identifiable and the policy rejects unknown licences.
    Unknown,
}

/// Malicious content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MalwareDetail {
    /// Rule or advisory that matched (`eicar/test-file`, `MAL-2024-1234`).
    pub rule: String,
    /// Engine or source (`yara`, `osv-mal`).
    pub engine: String,
    /// Rule namespace / rule set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Package, for MAL- advisories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageRef>,
}

/// An exposed secret. The value never leaves the secret tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecretDetail {
    /// Rule id (`aws-access-key-id`, …).
    pub rule_id: String,
    /// 1-based line number.
    pub line: u64,
    /// Keyed fingerprint of the value (`sha256:` + 16 hex), for dedupe and allowlisting.
    pub fingerprint: String,
}

/// Why something could not be scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UnscannableDetail {
    /// Typed reason.
    pub reason: UnscannableReason,
    /// Human readable detail (limit values, where it broke).
    pub detail: String,
}

/// Typed reasons for "not scanned". Never CLEAN.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UnscannableReason {
    /// The artifact is larger than the policy allows.
    ArtifactTooLarge,
    /// One entry is larger than the policy allows.
    EntryTooLarge,
    /// Total uncompressed bytes over the limit.
    TotalSizeExceeded,
    /// Compression ratio over the limit (decompression bomb).
    CompressionRatioExceeded,
    /// Too many entries.
    TooManyEntries,
    /// Archives nested deeper than allowed.
    DepthExceeded,
    /// Wall-time budget exhausted (or the Lambda deadline is near).
    Timeout,
    /// Encrypted or password-protected content.
    Encrypted,
    /// Entry names with `..`, absolute paths or links escaping the archive.
    UnsafeEntryName,
    /// Zip entries overlapping each other (non-recursive zip bomb).
    OverlappingEntries,
    /// Declared and actual sizes disagree.
    LyingSize,
    /// Truncated or corrupt data.
    Corrupt,
    /// A format that is recognized but not unpacked (7z, rar, …).
    UnsupportedFormat,
    /// The object does not exist (deleted before its scan).
    Missing,
    /// The tool's own input (rules, database) was unusable, e.g. a stale database refused by policy.
    ToolInputUnavailable,
}

impl UnscannableReason {
    /// Snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            UnscannableReason::ArtifactTooLarge => "artifact_too_large",
            UnscannableReason::EntryTooLarge => "entry_too_large",
            UnscannableReason::TotalSizeExceeded => "total_size_exceeded",
            UnscannableReason::CompressionRatioExceeded => "compression_ratio_exceeded",
            UnscannableReason::TooManyEntries => "too_many_entries",
            UnscannableReason::DepthExceeded => "depth_exceeded",
            UnscannableReason::Timeout => "timeout",
            UnscannableReason::Encrypted => "encrypted",
            UnscannableReason::UnsafeEntryName => "unsafe_entry_name",
            UnscannableReason::OverlappingEntries => "overlapping_entries",
            UnscannableReason::LyingSize => "lying_size",
            UnscannableReason::Corrupt => "corrupt",
            UnscannableReason::UnsupportedFormat => "unsupported_format",
            UnscannableReason::Missing => "missing",
            UnscannableReason::ToolInputUnavailable => "tool_input_unavailable",
        }
    }
}

impl fmt::Display for UnscannableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Finding {
    /// Builds a finding whose id is a hash of the tool name, the kind and `identity` parts.
    pub fn new(
        tool: &str,
        severity: Severity,
        title: impl Into<String>,
        location: Option<String>,
        detail: FindingDetail,
        identity: &[&str],
    ) -> Finding {
        let mut h = Sha256::new();
        h.update(tool.as_bytes());
        h.update(b"\0");
        h.update(detail.kind().as_str().as_bytes());
        for part in identity {
            h.update(b"\0");
            h.update(part.as_bytes());
        }
        if let Some(loc) = &location {
            h.update(b"\0@");
            h.update(loc.as_bytes());
        }
        let d = h.finalize();
        Finding {
            id: format!("f{}", hex::encode(&d[..12])),
            severity,
            title: title.into(),
            location,
            layer: None,
            detail,
        }
    }

    /// An unscannable finding.
    pub fn unscannable(
        tool: &str,
        reason: UnscannableReason,
        detail: String,
        location: Option<String>,
    ) -> Finding {
        Finding::new(
            tool,
            Severity::High,
            format!("not scanned: {reason}"),
            location,
            FindingDetail::Unscannable(UnscannableDetail { reason, detail }),
            &[reason.as_str()],
        )
    }

    /// The finding kind.
    pub fn kind(&self) -> FindingKind {
        self.detail.kind()
    }
}

/// Outcome status of one tool run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    /// Everything was scanned.
    Succeeded,
    /// Some entries could not be scanned (see `errors` and unscannable findings); the rest was.
    PartiallySucceeded,
    /// The tool could not scan the artifact.
    Failed,
}

/// An error attached to one entry of the artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EntryError {
    /// Path inside the artifact.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// Counters of a tool run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ToolStats {
    /// Uncompressed bytes examined.
    pub bytes_scanned: u64,
    /// Entries (files) examined.
    pub entries_scanned: u64,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// One file inside the artifact, as listed by the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EntryRecord {
    /// Full path (`outer!/inner`).
    pub path: String,
    /// Size in bytes (actual, as read).
    pub size: u64,
    /// Detected format.
    pub format: Format,
    /// SHA-256 of the entry bytes.
    pub sha256: String,
    /// Image layer that wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
}

/// What is inside the artifact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Inventory {
    /// Files (capped; `entries_truncated` tells when the list is cut).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<EntryRecord>,
    /// True when more files exist than listed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub entries_truncated: bool,
    /// Count of files per detected format.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub formats: BTreeMap<Format, u64>,
    /// Packages found (SBOM components).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<Package>,
}

/// The result of one tool on one artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolResult {
    /// Contract version.
    pub schema_version: u32,
    /// Path-like tool name (`vuln/osv`).
    pub tool: String,
    /// Tool version (engine + rules/database version).
    pub tool_version: String,
    /// Artifact id.
    pub artifact_id: ArtifactId,
    /// Outcome.
    pub status: ToolStatus,
    /// Why the tool failed or only partially succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Findings, sorted by id.
    pub findings: Vec<Finding>,
    /// Per-entry errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<EntryError>,
    /// Counters.
    pub stats: ToolStats,
    /// Metadata of the artifact bytes as the tool read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<ArtifactMetadata>,
    /// Inventory (entries, packages) for tools that produce one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Inventory>,
    /// When the tool started.
    pub started_at: DateTime<Utc>,
}

impl ToolResult {
    /// Sorts findings and errors so the same input gives byte-identical JSON.
    pub fn normalize(&mut self) {
        self.findings.sort_by(|a, b| a.id.cmp(&b.id));
        self.findings.dedup_by(|a, b| a.id == b.id);
        self.errors
            .sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
        self.errors.dedup();
        if let Some(inv) = &mut self.inventory {
            inv.packages.sort();
            inv.packages.dedup();
        }
    }
}

/// A tool that could not produce a result at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ToolError {
    /// Contract version.
    pub schema_version: u32,
    /// Tool name.
    pub tool: String,
    /// Artifact id.
    pub artifact_id: ArtifactId,
    /// Typed kind.
    pub kind: ToolErrorKind,
    /// Message (never contains secret values).
    pub message: String,
}

/// Kinds of tool failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToolErrorKind {
    /// The tool returned an error.
    Failed,
    /// The tool panicked.
    Panicked,
    /// The tool exceeded its time budget.
    TimedOut,
    /// The tool's function crashed or timed out after its retries (dead-letter message).
    DeadLettered,
    /// The tool was misconfigured.
    Misconfigured,
    /// The artifact could not be fetched.
    ArtifactUnavailable,
}
