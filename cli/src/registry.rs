//! The one explicit list of tools built into the CLI.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use portcullis_core::SecurityTool;
use portcullis_core::tools::inventory::EntryInventory;

/// Options that tools need at construction.
#[derive(Debug, Default, Clone)]
pub struct ToolOptions {
    /// Vulnerability database file.
    pub db: Option<PathBuf>,
}

/// Every tool available in this build.
pub fn all_tools(_opts: &ToolOptions) -> Result<Vec<Arc<dyn SecurityTool>>> {
    let tools: Vec<Arc<dyn SecurityTool>> = vec![Arc::new(EntryInventory)];
    Ok(tools)
}

/// Comma-separated slots of `tools`.
pub fn slots(tools: &[Arc<dyn SecurityTool>]) -> String {
    tools
        .iter()
        .map(|t| t.slot())
        .collect::<Vec<_>>()
        .join(", ")
}
