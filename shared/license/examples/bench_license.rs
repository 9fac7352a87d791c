//! Benchmark driver: scans one artifact with `license/spdx` under the default policy and prints a JSON summary
//! (seconds, licence findings by source, distinct expressions, violations). Used by `scripts/bench-license.sh`.
//!
//! Usage: `bench_license <artifact>`

#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use portcullis_core::model::{FindingDetail, LicenseSource};
use portcullis_core::{LocalFile, Policy, ToolConfiguration, ToolContext};
use portcullis_license::LicenseTool;

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .context("usage: bench_license <artifact>")?;
    let ctx = ToolContext::for_local_file(
        std::path::Path::new(&path),
        Arc::new(Policy::default_policy()),
    );
    let config = ToolConfiguration {
        enabled: true,
        settings: serde_json::Value::Null,
    };
    let started = Instant::now();
    let result = LicenseTool::new()
        .analyze_blocking(&LocalFile::new(&path), &config, &ctx)
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let secs = started.elapsed().as_secs_f64();
    let (mut declared, mut detected, mut violations) = (0u64, 0u64, 0u64);
    let mut expressions: BTreeMap<String, u64> = BTreeMap::new();
    let mut rules: BTreeMap<String, u64> = BTreeMap::new();
    for f in &result.findings {
        if let FindingDetail::License(l) = &f.detail {
            match l.source {
                LicenseSource::Declared => declared += 1,
                LicenseSource::Detected => detected += 1,
            }
            *expressions.entry(l.expression.clone()).or_default() += 1;
            if let Some(v) = &l.violation {
                if std::env::var_os("BENCH_LIST").is_some() {
                    eprintln!(
                        "{:?}\t{}\t{}",
                        v.rule,
                        f.title,
                        f.location.clone().unwrap_or_default()
                    );
                }
                violations += 1;
                *rules.entry(format!("{:?}", v.rule)).or_default() += 1;
            }
        }
    }
    let summary = serde_json::json!({
        "artifact": path,
        "seconds": secs,
        "entries": result.stats.entries_scanned,
        "licence_findings": declared + detected,
        "declared": declared,
        "detected": detected,
        "distinct_expressions": expressions.len(),
        "violations": violations,
        "violations_by_rule": rules,
        "top_expressions": expressions.iter().filter(|(_, n)| **n >= 5).collect::<BTreeMap<_, _>>(),
        "status": result.status,
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
