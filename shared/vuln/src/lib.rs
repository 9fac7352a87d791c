//! OSV vulnerability matching for Portcullis: per-ecosystem version ordering ([`version`]), a compact OSV
//! database index ([`db`]) with CVSS scoring ([`cvss`]), and the `vuln/osv` tool ([`tool`]). The CLI hooks
//! are [`build_command`] (`portcullis db build --from … --out FILE`) and [`rescan`].
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::path::{Path, PathBuf};

pub mod cvss;
pub mod db;
pub mod osv;
pub mod tool;
pub mod version;

pub use db::{Advisory, BuildStats, Database, DbError, Match, Metadata, StaleDatabase};
pub use tool::{TOOL_NAME, VulnTool, rescan};

/// Builds the index from `sources` (OSV directories, `all.zip` exports, JSON files) and writes it to `out`.
/// The returned stats carry the written file size.
pub fn build_command(sources: &[PathBuf], out: &Path) -> Result<BuildStats, DbError> {
    let (db, mut stats) = Database::build(sources)?;
    stats.file_size = Some(db.write(out)?);
    Ok(stats)
}
