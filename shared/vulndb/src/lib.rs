//! Portcullis OSV database plumbing for Lambda:
//!
//! - [`cache`]: the per-container index cache (`VULN_DB_URI`, ETag-checked, SHA-256-verified);
//! - [`scan`]: the `vuln-scan` function (the shared scanner handler with [`scan::CachedVulnTool`]);
//! - [`sync`] (+ [`http`]): the scheduled OSV export sync that publishes `osv/index.db` and its sidecar;
//! - [`rescan`]: re-matching stored SBOMs against a new index, rewriting chains with `If-Match`;
//! - [`handlers`]: the `vulndb-sync` handler;
//! - [`error`]: typed errors with stable Lambda error types.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod cache;
pub mod error;
pub mod handlers;
pub mod http;
pub mod rescan;
pub mod s3util;
pub mod scan;
pub mod sync;

pub use cache::{CacheConfig, DbCache, DbLocation};
pub use error::VulnDbError;
pub use handlers::{SyncState, handle_sync};
pub use rescan::{RescanRequest, RescanResponse, RescanState, handle_rescan};
pub use scan::{CachedVulnTool, run_vuln_scan_function, vuln_scan_state};
pub use sync::{SyncConfig, SyncReport, sync};
