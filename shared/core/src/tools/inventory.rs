//! `inventory/entries`: lists every file inside the artifact with its full path, detected format, size and
//! SHA-256 (and image layer). It exercises the reader end to end and gives users a manifest of what was
//! scanned; tools that find packages add them to the same inventory.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::Arc;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::model::{EntryRecord, Format, Inventory, ToolError, ToolErrorKind, ToolResult};
use crate::reader::{EntryInfo, Visitor};
use crate::tool::{
    ArtifactSource, SecurityTool, ToolConfiguration, ToolContext, VisitorOutput, run_walk,
    tool_error,
};

/// Most entries listed in one result (the counts cover all).
pub const MAX_LISTED: usize = 10_000;

/// The entry inventory tool.
#[derive(Debug, Default, Clone)]
pub struct EntryInventory;

/// Visitor that hashes every file.
#[derive(Debug, Default)]
pub struct InventoryVisitor {
    entries: Vec<EntryRecord>,
    truncated: bool,
    formats: BTreeMap<Format, u64>,
    buf: Vec<u8>,
}

impl Visitor for InventoryVisitor {
    fn file(&mut self, entry: &EntryInfo, content: &mut dyn Read) -> io::Result<()> {
        if self.buf.is_empty() {
            self.buf = vec![0u8; 256 * 1024];
        }
        let mut h = Sha256::new();
        let mut size = 0u64;
        loop {
            let n = content.read(&mut self.buf)?;
            if n == 0 {
                break;
            }
            h.update(&self.buf[..n]);
            size += n as u64;
        }
        *self.formats.entry(entry.format).or_default() += 1;
        if self.entries.len() < MAX_LISTED {
            self.entries.push(EntryRecord {
                path: entry.path.clone(),
                size,
                format: entry.format,
                sha256: hex::encode(h.finalize()),
                layer: entry.layer.clone(),
            });
        } else {
            self.truncated = true;
        }
        Ok(())
    }
}

impl InventoryVisitor {
    /// The inventory collected so far.
    pub fn into_inventory(self) -> Inventory {
        let mut entries = self.entries;
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Inventory {
            entries,
            entries_truncated: self.truncated,
            formats: self.formats,
            packages: Vec::new(),
        }
    }
}

#[async_trait]
impl SecurityTool for EntryInventory {
    fn name(&self) -> &'static str {
        "inventory/entries"
    }

    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    async fn analyze(
        &self,
        source: Arc<dyn ArtifactSource>,
        _config: &ToolConfiguration,
        ctx: &ToolContext,
    ) -> Result<ToolResult, ToolError> {
        let ctx2 = ctx.clone();
        let name = self.name();
        let version = self.version();
        tokio::task::spawn_blocking(move || {
            run_walk(
                name,
                version,
                source.as_ref(),
                &ctx2,
                InventoryVisitor::default(),
                |v, _| VisitorOutput {
                    inventory: Some(v.into_inventory()),
                    ..VisitorOutput::default()
                },
            )
        })
        .await
        .map_err(|e| {
            tool_error(
                name,
                &ctx.artifact_id,
                ToolErrorKind::Panicked,
                e.to_string(),
            )
        })
    }
}
