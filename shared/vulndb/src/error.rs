//! Typed errors of the database plumbing, with stable Lambda error types.

use std::path::PathBuf;

use portcullis_aws::{ConfigError, HandlerError, S3Error};
use portcullis_vuln::{DbError, StaleDatabase};

/// Errors of loading, syncing and rescanning.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VulnDbError {
    /// Misconfiguration (cold start).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An S3 call failed.
    #[error(transparent)]
    S3(#[from] S3Error),
    /// The database object does not exist.
    #[error("vulnerability database {0} not found")]
    DbMissing(String),
    /// The database file failed its own checks (magic, version, checksum, decoding).
    #[error("vulnerability database {location}: {source}")]
    Db {
        /// Where it came from.
        location: String,
        /// The check that failed.
        source: DbError,
    },
    /// The object's SHA-256 (`x-amz-meta-sha256`, written by the sync) does not match its bytes.
    #[error(
        "vulnerability database {location}: SHA-256 {actual} does not match the published {expected}"
    )]
    Sha256Mismatch {
        /// Where it came from.
        location: String,
        /// Published digest.
        expected: String,
        /// Digest of the downloaded bytes.
        actual: String,
    },
    /// The database is older than the policy allows (rescans refuse it).
    #[error(transparent)]
    Stale(#[from] StaleDatabase),
    /// Local file I/O.
    #[error("I/O on {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Fetching an OSV export failed.
    #[error("fetching {url}: {message}")]
    Fetch {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A stored SBOM could not be read.
    #[error("SBOM s3://{bucket}/{key}: {message}")]
    Sbom {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A conditional chain rewrite kept losing to concurrent writers.
    #[error("chain s3://{bucket}/{key} changed concurrently {attempts} times; giving up")]
    Conflict {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A background task panicked or was cancelled.
    #[error("internal: {0}")]
    Internal(String),
}

impl VulnDbError {
    /// The stable Lambda error type.
    pub fn error_type(&self) -> &'static str {
        match self {
            VulnDbError::Config(_) => "ConfigError",
            VulnDbError::S3(S3Error::Corrupt { .. }) => "CorruptDocument",
            VulnDbError::S3(_) => "Retryable",
            VulnDbError::DbMissing(_) => "DatabaseMissing",
            VulnDbError::Db { .. } | VulnDbError::Sha256Mismatch { .. } => "DatabaseCorrupt",
            VulnDbError::Stale(_) => "DatabaseStale",
            VulnDbError::Io { .. } => "Io",
            VulnDbError::Fetch { .. } => "FetchFailed",
            VulnDbError::Sbom { .. } => "CorruptDocument",
            VulnDbError::Conflict { .. } => "Retryable",
            VulnDbError::Internal(_) => "Internal",
        }
    }
}

impl From<VulnDbError> for lambda_runtime::Diagnostic {
    fn from(e: VulnDbError) -> lambda_runtime::Diagnostic {
        lambda_runtime::Diagnostic {
            error_type: e.error_type().to_string(),
            error_message: portcullis_aws::error_chain(&e),
        }
    }
}

impl From<VulnDbError> for HandlerError {
    fn from(e: VulnDbError) -> HandlerError {
        match e {
            VulnDbError::Config(c) => HandlerError::Config(c),
            VulnDbError::S3(s) => HandlerError::Retryable(s),
            other => HandlerError::Internal(portcullis_aws::error_chain(&other)),
        }
    }
}

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> VulnDbError {
    let path = path.into();
    move |source| VulnDbError::Io { path, source }
}
