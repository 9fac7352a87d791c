//! Typed errors of the AWS adapter and their stable Lambda error types (`Diagnostic.error_type`), so
//! CloudWatch metric filters and retry decisions can key on `Retryable`, `InvalidEvent`, … rather than on
//! Rust type names.

use crate::events::EventError;

/// Errors talking to S3.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum S3Error {
    /// The object (or that version of it) does not exist.
    #[error("s3://{bucket}/{key} not found")]
    NotFound {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// Any other S3 failure (throttling, network, permissions).
    #[error("S3 {operation} on s3://{bucket}/{key} failed: {message}")]
    Request {
        /// The S3 operation (`GetObject`, …).
        operation: &'static str,
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Error code and message, with the SDK error chain.
        message: String,
    },
    /// A stored document is not the JSON we wrote.
    #[error("s3://{bucket}/{key} is not a valid {what}: {message}")]
    Corrupt {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// What it should be.
        what: &'static str,
        /// Parser message.
        message: String,
    },
}

/// Configuration errors (cold start).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required environment variable is not set.
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    /// An environment variable has an invalid value.
    #[error("environment variable {name}: {message}")]
    Invalid {
        /// Variable name.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The policy could not be loaded or is invalid.
    #[error("policy {uri}: {message}")]
    Policy {
        /// Where it was loaded from.
        uri: String,
        /// What is wrong.
        message: String,
    },
}

/// Errors of a handler invocation. `Clone`: one failure of an artifact fails every batch item that was about
/// that artifact.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// The payload is not an accepted event (never retried usefully).
    #[error("invalid event: {0}")]
    InvalidEvent(#[from] EventError),
    /// A transient failure (S3, network); the invocation should be retried.
    #[error("retryable: {0}")]
    Retryable(#[from] S3Error),
    /// The artifact could not be fetched for a reason other than "missing".
    #[error("artifact unavailable: {0}")]
    ArtifactUnavailable(String),
    /// The function is misconfigured.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The tool cannot run now (e.g. its database could not be loaded): retried, then dead-lettered, and
    /// the fan-in records the tool error.
    #[error("tool unavailable: {0}")]
    ToolUnavailable(String),
    /// Some messages of an SQS batch failed (only for non-SQS invocations, which cannot report partially).
    #[error("{failed} of {total} items failed: {first}")]
    Items {
        /// Failed items.
        failed: usize,
        /// All items.
        total: usize,
        /// The first failure.
        first: String,
    },
    /// A background task panicked or was cancelled.
    #[error("internal: {0}")]
    Internal(String),
}

impl HandlerError {
    /// The stable Lambda error type.
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::InvalidEvent(_) => "InvalidEvent",
            HandlerError::Retryable(S3Error::Corrupt { .. }) => "CorruptDocument",
            HandlerError::Retryable(_) => "Retryable",
            HandlerError::ArtifactUnavailable(_) => "ArtifactUnavailable",
            HandlerError::Config(_) => "ConfigError",
            HandlerError::ToolUnavailable(_) => "ToolUnavailable",
            HandlerError::Items { .. } => "PartialFailure",
            HandlerError::Internal(_) => "Internal",
        }
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> lambda_runtime::Diagnostic {
        lambda_runtime::Diagnostic {
            error_type: e.error_type().to_string(),
            error_message: crate::error_chain(&e),
        }
    }
}

impl From<ConfigError> for lambda_runtime::Diagnostic {
    fn from(e: ConfigError) -> lambda_runtime::Diagnostic {
        HandlerError::Config(e).into()
    }
}
