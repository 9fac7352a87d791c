//! The subset of the OSV schema the index reads. Ecosystems are plain strings (an unknown ecosystem must not
//! fail a record), every field is optional, and unknown fields are ignored.

use serde::Deserialize;

/// One OSV record.
#[derive(Debug, Clone, Deserialize)]
pub struct OsvRecord {
    /// Advisory id.
    pub id: String,
    /// Last modification time (RFC 3339).
    #[serde(default)]
    pub modified: Option<String>,
    /// Set when the advisory was withdrawn.
    #[serde(default)]
    pub withdrawn: Option<String>,
    /// Other ids.
    #[serde(default)]
    pub aliases: Option<Vec<String>>,
    /// One-line summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Long description (used for a summary when there is none).
    #[serde(default)]
    pub details: Option<String>,
    /// Severity scores.
    #[serde(default)]
    pub severity: Option<Vec<OsvSeverity>>,
    /// Affected packages.
    #[serde(default)]
    pub affected: Option<Vec<OsvAffected>>,
    /// Database-specific data (GHSA puts `severity` here).
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

/// A severity entry.
#[derive(Debug, Clone, Deserialize)]
pub struct OsvSeverity {
    /// `CVSS_V3`, `CVSS_V4`, `CVSS_V2`, `Ubuntu`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Vector or value.
    pub score: String,
}

/// One affected package.
#[derive(Debug, Clone, Deserialize)]
pub struct OsvAffected {
    /// The package.
    #[serde(default)]
    pub package: Option<OsvPackage>,
    /// Per-package severity.
    #[serde(default)]
    pub severity: Option<Vec<OsvSeverity>>,
    /// Version ranges.
    #[serde(default)]
    pub ranges: Option<Vec<OsvRange>>,
    /// Explicit versions.
    #[serde(default)]
    pub versions: Option<Vec<String>>,
    /// Database-specific data (RustSec: `informational`).
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

/// A package identity.
#[derive(Debug, Clone, Deserialize)]
pub struct OsvPackage {
    /// Ecosystem, possibly with a `:suffix`.
    #[serde(default)]
    pub ecosystem: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Package URL.
    #[serde(default)]
    pub purl: Option<String>,
}

/// A range.
#[derive(Debug, Clone, Deserialize)]
pub struct OsvRange {
    /// `SEMVER`, `ECOSYSTEM` or `GIT`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Events.
    #[serde(default)]
    pub events: Vec<OsvEvent>,
}

/// One event: exactly one field is normally set.
#[derive(Debug, Clone, Deserialize)]
pub struct OsvEvent {
    /// Introduced at.
    #[serde(default)]
    pub introduced: Option<String>,
    /// Fixed at.
    #[serde(default)]
    pub fixed: Option<String>,
    /// Last affected version.
    #[serde(default)]
    pub last_affected: Option<String>,
    /// Limit (not used by the walk).
    #[serde(default)]
    pub limit: Option<String>,
}
