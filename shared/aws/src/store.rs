//! The results bucket: per-tool results, chains and SBOMs, each written once.
//!
//! Layout (all JSON):
//! - `results/<artifact-id>/<slot>.json`: a [`StoredResult`] — the artifact identity plus either a
//!   `ToolResult` (`"outcome": "result"`) or a `ToolError` (`"outcome": "error"`). Written with
//!   `If-None-Match: *`: the first result for a slot wins, duplicates are no-ops.
//! - `chains/<artifact-id>.json`: the finalized `ToolChainResult`, `If-None-Match: *` (exactly one winner).
//! - `sboms/<artifact-id>.json`: the artifact's packages as CycloneDX 1.6 JSON ([`portcullis_core::cyclonedx`]).

use aws_sdk_s3::Client;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use portcullis_core::{
    ArtifactId, ArtifactRef, Package, SCHEMA_VERSION, ToolChainResult, ToolError, ToolResult,
};

use crate::error::S3Error;
use crate::events::{CHAINS_PREFIX, RESULTS_PREFIX, SBOMS_PREFIX};
use crate::s3::{Created, get_bytes, list_keys, put_if_absent};

/// A tool's outcome: its result, or the error that prevented one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "value", rename_all = "snake_case")]
pub enum Outcome {
    /// The tool produced a result (possibly failed/partial, with findings).
    Result(Box<ToolResult>),
    /// The tool could not produce a result.
    Error(ToolError),
}

/// What a scanner stores for one slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResult {
    /// Contract version.
    pub schema_version: u32,
    /// Artifact id.
    pub artifact_id: ArtifactId,
    /// The artifact (the fan-in builds the chain from it).
    pub artifact: ArtifactRef,
    /// Tool slot.
    pub slot: String,
    /// When it was stored.
    pub stored_at: DateTime<Utc>,
    /// Result or error.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl StoredResult {
    /// Wraps an outcome.
    pub fn new(artifact: ArtifactRef, slot: &str, outcome: Outcome) -> StoredResult {
        StoredResult {
            schema_version: SCHEMA_VERSION,
            artifact_id: artifact.artifact_id(),
            artifact,
            slot: slot.to_string(),
            stored_at: Utc::now(),
            outcome,
        }
    }
}

/// Format label of the SBOMs fan-in wrote before they were CycloneDX (`{"format": …, "packages": […]}`);
/// `rescan` still reads them.
pub const LEGACY_SBOM_FORMAT: &str = "portcullis-packages/1";

/// The legacy SBOM document (see [`LEGACY_SBOM_FORMAT`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegacySbomDocument {
    /// [`LEGACY_SBOM_FORMAT`].
    pub format: String,
    /// Artifact id.
    pub artifact_id: ArtifactId,
    /// Artifact identity.
    pub artifact: ArtifactRef,
    /// Packages, deduplicated and sorted.
    pub packages: Vec<Package>,
}

/// Key of a tool result.
pub fn result_key(id: &ArtifactId, slot: &str) -> String {
    format!("{RESULTS_PREFIX}{id}/{slot}.json")
}

/// Key of a chain.
pub fn chain_key(id: &ArtifactId) -> String {
    format!("{CHAINS_PREFIX}{id}.json")
}

/// Key of an SBOM.
pub fn sbom_key(id: &ArtifactId) -> String {
    format!("{SBOMS_PREFIX}{id}.json")
}

/// The results bucket.
#[derive(Debug, Clone)]
pub struct ResultStore {
    s3: Client,
    bucket: String,
}

fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    // Serializing our own plain data types cannot fail (no maps with non-string keys, no custom errors).
    serde_json::to_vec_pretty(v)
        .unwrap_or_else(|e| format!("{{\"serialization_error\":\"{e}\"}}").into_bytes())
}

impl ResultStore {
    /// A store over `bucket`.
    pub fn new(s3: Client, bucket: impl Into<String>) -> ResultStore {
        ResultStore {
            s3,
            bucket: bucket.into(),
        }
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Whether a result for `slot` exists already (duplicate events skip the scan).
    pub async fn has_result(&self, id: &ArtifactId, slot: &str) -> Result<bool, S3Error> {
        crate::s3::exists(&self.s3, &self.bucket, &result_key(id, slot), None).await
    }

    /// Stores a result; a second write for the same slot is a no-op ([`Created::AlreadyExists`]).
    pub async fn put_result(&self, r: &StoredResult) -> Result<Created, S3Error> {
        put_if_absent(
            &self.s3,
            &self.bucket,
            &result_key(&r.artifact_id, &r.slot),
            to_json(r),
            "application/json",
        )
        .await
    }

    /// Every stored result of an artifact, in key order: one LIST, then one concurrent round of GETs.
    pub async fn results(&self, id: &ArtifactId) -> Result<Vec<StoredResult>, S3Error> {
        let prefix = format!("{RESULTS_PREFIX}{id}/");
        let keys: Vec<String> = list_keys(&self.s3, &self.bucket, &prefix)
            .await?
            .into_iter()
            .filter(|k| k.ends_with(".json"))
            .collect();
        let fetched = futures::future::try_join_all(
            keys.iter()
                .map(|key| get_bytes(&self.s3, &self.bucket, key)),
        )
        .await?;
        // listed, then deleted before the GET (a lifecycle rule): as if it had not been listed
        self.parse_results(keys.into_iter().zip(fetched))
    }

    /// The stored results of the `expected` slots (the tools the policy requires), in key order: one
    /// concurrent round of GETs by their deterministic keys, no LIST. Results of other slots (a tool the
    /// policy does not require, stored under an older policy) are not part of a decision. With no expected
    /// slot, every stored result ([`ResultStore::results`]).
    pub async fn results_expecting(
        &self,
        id: &ArtifactId,
        expected: &[String],
    ) -> Result<Vec<StoredResult>, S3Error> {
        if expected.is_empty() {
            return self.results(id).await;
        }
        let mut keys: Vec<String> = expected.iter().map(|slot| result_key(id, slot)).collect();
        keys.sort();
        keys.dedup();
        let fetched = futures::future::try_join_all(
            keys.iter()
                .map(|key| get_bytes(&self.s3, &self.bucket, key)),
        )
        .await?;
        self.parse_results(keys.into_iter().zip(fetched))
    }

    /// Parses fetched result objects; `None` bodies (not found) are skipped.
    fn parse_results(
        &self,
        fetched: impl Iterator<Item = (String, Option<Vec<u8>>)>,
    ) -> Result<Vec<StoredResult>, S3Error> {
        let mut out = Vec::new();
        for (key, bytes) in fetched {
            let Some(bytes) = bytes else {
                continue;
            };
            let r: StoredResult = serde_json::from_slice(&bytes).map_err(|e| S3Error::Corrupt {
                bucket: self.bucket.clone(),
                key,
                what: "stored tool result",
                message: e.to_string(),
            })?;
            out.push(r);
        }
        Ok(out)
    }

    /// Stores the chain; exactly one writer wins.
    pub async fn put_chain(&self, chain: &ToolChainResult) -> Result<Created, S3Error> {
        put_if_absent(
            &self.s3,
            &self.bucket,
            &chain_key(&chain.artifact_id),
            to_json(chain),
            "application/json",
        )
        .await
    }

    /// The stored chain, if any.
    pub async fn chain(&self, id: &ArtifactId) -> Result<Option<ToolChainResult>, S3Error> {
        let key = chain_key(id);
        let Some(bytes) = get_bytes(&self.s3, &self.bucket, &key).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| S3Error::Corrupt {
                bucket: self.bucket.clone(),
                key,
                what: "tool chain result",
                message: e.to_string(),
            })
    }

    /// Stores the SBOM of a chain as CycloneDX 1.6 JSON (packages from every tool's inventory, with purls
    /// and `portcullis:*` properties for location and layer); `None` when no tool produced an inventory.
    pub async fn put_sbom(&self, chain: &ToolChainResult) -> Result<Option<Created>, S3Error> {
        let Some(doc) = portcullis_core::cyclonedx::chain_cyclonedx(chain) else {
            return Ok(None);
        };
        put_if_absent(
            &self.s3,
            &self.bucket,
            &sbom_key(&chain.artifact_id),
            to_json(&doc),
            "application/vnd.cyclonedx+json",
        )
        .await
        .map(Some)
    }
}
