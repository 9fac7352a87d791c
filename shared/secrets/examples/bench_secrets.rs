//! Benchmark driver: scans one artifact (a file: tar, zip, text …) with `secrets/regex` and prints a JSON
//! summary (bytes, seconds, MB/s, findings per rule). Used by `scripts/bench-secrets.sh`.
//!
//! Usage: `bench_secrets <artifact> [<rules.toml>]`

#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use portcullis_core::model::FindingDetail;
use portcullis_core::{LocalFile, Policy, ToolConfiguration, ToolContext};
use portcullis_secrets::SecretTool;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .context("usage: bench_secrets <artifact> [rules.toml]")?;
    let tool = match args.next() {
        Some(rules) => SecretTool::with_user_rules(&std::fs::read_to_string(&rules)?)?,
        None => SecretTool::new()?,
    };
    let ctx = ToolContext::for_local_file(
        std::path::Path::new(&path),
        Arc::new(Policy::default_policy()),
    );
    let config = ToolConfiguration {
        enabled: true,
        settings: serde_json::Value::Null,
    };
    let started = Instant::now();
    let result = tool
        .analyze_blocking(&LocalFile::new(&path), &config, &ctx)
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let secs = started.elapsed().as_secs_f64();
    let mut per_rule: BTreeMap<String, u64> = BTreeMap::new();
    let mut files = std::collections::BTreeSet::new();
    for f in &result.findings {
        if let FindingDetail::Secret(s) = &f.detail {
            *per_rule.entry(s.rule_id.clone()).or_default() += 1;
            files.insert(f.location.clone().unwrap_or_default());
        }
    }
    let artifact_bytes = std::fs::metadata(&path)?.len();
    let summary = serde_json::json!({
        "artifact": path,
        "artifact_bytes": artifact_bytes,
        "bytes_scanned": result.stats.bytes_scanned,
        "entries": result.stats.entries_scanned,
        "seconds": secs,
        "mb_per_s": artifact_bytes as f64 / 1e6 / secs,
        "findings": per_rule.values().sum::<u64>(),
        "files_with_findings": files.len(),
        "per_rule": per_rule,
        "status": result.status,
        "unscannable": result.findings.iter().filter(|f| matches!(f.detail, FindingDetail::Unscannable(_))).count(),
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    if std::env::var_os("BENCH_LIST").is_some() {
        for f in &result.findings {
            if let FindingDetail::Secret(s) = &f.detail {
                eprintln!(
                    "{}\t{}\t{}",
                    s.rule_id,
                    f.location.clone().unwrap_or_default(),
                    s.line
                );
            }
        }
    }
    Ok(())
}
