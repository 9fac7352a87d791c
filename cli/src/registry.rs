//! The one explicit list of tools built into the CLI, constructed with embedded defaults.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use portcullis_core::SecurityTool;
use portcullis_core::tools::inventory::EntryInventory;

/// Options that tools need at construction.
#[derive(Debug, Default, Clone)]
pub struct ToolOptions {
    /// Vulnerability database file (`--db`); default `$PORTCULLIS_DB`, then the cache file.
    pub db: Option<PathBuf>,
    /// The slots that will run (tools not selected are not constructed, so e.g. no database is needed
    /// when `vuln` is not enabled).
    pub slots: Vec<String>,
    /// `[tools.settings.malware]` from the policy (user rule directories, timeouts).
    pub malware_settings: Option<serde_json::Value>,
}

/// Default database location: `$PORTCULLIS_DB`, else `~/.cache/portcullis/osv.db`.
pub fn default_db_path() -> PathBuf {
    if let Some(p) = std::env::var_os("PORTCULLIS_DB") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache/portcullis/osv.db")
}

fn wanted(opts: &ToolOptions, slot: &str) -> bool {
    opts.slots.is_empty() || opts.slots.iter().any(|s| s == slot)
}

/// The tools for the selected slots.
pub fn all_tools(opts: &ToolOptions) -> Result<Vec<Arc<dyn SecurityTool>>> {
    let mut tools: Vec<Arc<dyn SecurityTool>> = vec![Arc::new(EntryInventory)];
    if wanted(opts, "vuln") {
        let path = opts.db.clone().unwrap_or_else(default_db_path);
        if !path.exists() {
            bail!(
                "no vulnerability database at {} — build one with `portcullis db build --from <osv dir or all.zip> --out {}` \
                 or pass --db (or run with --tools without vuln)",
                path.display(),
                path.display()
            );
        }
        let db = portcullis_vuln::Database::open(&path)
            .with_context(|| format!("loading the vulnerability database {}", path.display()))?;
        tools.push(Arc::new(portcullis_vuln::VulnTool::new(Arc::new(db))));
    }
    if wanted(opts, "secrets") {
        tools.push(Arc::new(
            portcullis_secrets::SecretTool::new().context("loading the secret rules")?,
        ));
    }
    if wanted(opts, "malware") {
        let tool = match &opts.malware_settings {
            Some(settings) => portcullis_malware::MalwareTool::from_settings(settings),
            None => portcullis_malware::MalwareTool::embedded(),
        };
        tools.push(Arc::new(tool.context("loading the malware rules")?));
    }
    if wanted(opts, "license") {
        tools.push(Arc::new(portcullis_license::LicenseTool::new()));
    }
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
