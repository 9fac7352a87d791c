//! `inventory-bench FILE…`: runs the package inventory over each file with the core reader and prints one
//! tab-separated line per file (file, packages, entry errors, wall milliseconds, packages per ecosystem).
//! With `--purls`, also prints every package's purl (for comparisons with other tools).
#![allow(clippy::print_stdout)] // a command-line tool: stdout is its output

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use portcullis_core::reader::{WalkOptions, walk_path};
use portcullis_inventory::PackageVisitor;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut purls = false;
    let mut files = Vec::new();
    for a in std::env::args().skip(1) {
        if a == "--purls" {
            purls = true;
        } else {
            files.push(a);
        }
    }
    if files.is_empty() {
        return Err("usage: inventory-bench [--purls] FILE…".into());
    }
    for f in files {
        let start = Instant::now();
        let mut v = PackageVisitor::new();
        let report = walk_path(
            Path::new(&f),
            &f,
            &WalkOptions::new(Default::default()),
            &mut v,
        )?;
        let scan = v.finish();
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let mut by_eco: BTreeMap<&str, usize> = BTreeMap::new();
        for p in &scan.packages {
            *by_eco.entry(p.package.ecosystem.as_str()).or_default() += 1;
        }
        let eco: Vec<String> = by_eco.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "{f}\tpackages={}\terrors={}\tissues={}\tms={ms:.1}\t{}",
            scan.packages.len(),
            scan.errors.len(),
            report.issues.len(),
            eco.join(",")
        );
        if purls {
            for p in &scan.packages {
                println!(
                    "purl\t{}\t{}",
                    p.package.purl.as_deref().unwrap_or("-"),
                    p.location
                );
            }
            for e in &scan.errors {
                println!("error\t{}\t{}", e.path, e.message);
            }
        }
    }
    Ok(())
}
