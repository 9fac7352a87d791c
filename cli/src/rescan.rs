//! `portcullis rescan`: re-match an artifact's stored SBOM against a newer vulnerability database and
//! re-evaluate its verdict, without downloading the artifact again. Prints the new events as JSON lines.

use std::path::PathBuf;

use anyhow::{Context, Result};
use portcullis_core::events::new_events;
use portcullis_core::{Policy, ToolChainResult};

/// Runs the rescan; the exit code is the new verdict's.
pub fn run(
    chain_path: PathBuf,
    sbom_path: PathBuf,
    db_path: PathBuf,
    policy: Option<PathBuf>,
    out: Option<PathBuf>,
) -> Result<u8> {
    let text = std::fs::read_to_string(&chain_path)
        .with_context(|| format!("reading {}", chain_path.display()))?;
    let before: ToolChainResult = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a ToolChainResult", chain_path.display()))?;
    let sbom =
        std::fs::read(&sbom_path).with_context(|| format!("reading {}", sbom_path.display()))?;
    let packages = portcullis_inventory::packages_from_sbom(&sbom)
        .with_context(|| format!("{} is not a CycloneDX/SPDX SBOM", sbom_path.display()))?;
    let db = portcullis_vuln::Database::open(&db_path)
        .with_context(|| format!("opening {}", db_path.display()))?;
    let policy = match policy {
        None => Policy::default_policy(),
        Some(p) => {
            let t =
                std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            Policy::from_document(&p.to_string_lossy(), &t)?
        }
    };
    let findings = portcullis_vuln::rescan(&packages, &db)
        .with_context(|| format!("matching against {}", db_path.display()))?;
    let mut after = before.clone();
    if !after.replace_findings("vuln", findings, &policy, chrono::Utc::now()) {
        anyhow::bail!("the chain has no `vuln` result to rescan");
    }
    let mut lines = String::new();
    for e in new_events(&before, &after) {
        lines.push_str(&serde_json::to_string(&e)?);
        lines.push('\n');
    }
    crate::write_stdout(&lines)?;
    eprintln!(
        "rescanned {} packages against {}: verdict {} → {}",
        packages.len(),
        db_path.display(),
        before.verdict,
        after.verdict
    );
    if let Some(out) = out {
        std::fs::write(&out, serde_json::to_string_pretty(&after)? + "\n")
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(after.verdict.exit_code() as u8)
}
