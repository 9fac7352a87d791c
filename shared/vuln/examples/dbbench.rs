//! Benchmark of the OSV index: build time and file size for a set of OSV sources (default: all of
//! `shared/data/osv`), load time, lookups per second on real package names and versions taken from the data,
//! and peak RSS. Run with `cargo run --release -p portcullis-vuln --example dbbench [SOURCE…]`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use portcullis_vuln::db::{Database, Event};

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> anyhow::Result<()> {
    let mut sources: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if sources.is_empty() {
        let data = match std::env::var_os("PORTCULLIS_SHARED_DATA") {
            Some(d) => PathBuf::from(d),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        };
        sources.push(data.join("osv"));
    }
    let tmp = tempfile::tempdir()?;
    let out = tmp.path().join("osv.db");

    let t = Instant::now();
    let (db, stats) = Database::build(&sources)?;
    let build = t.elapsed();
    let t = Instant::now();
    let size = db.write(&out)?;
    let write = t.elapsed();
    drop(db);

    let t = Instant::now();
    let db = Database::open(&out)?;
    let load = t.elapsed();

    // Queries: every indexed package with versions taken from its own events and explicit versions.
    let mut queries: Vec<(String, String, String)> = Vec::new();
    let names: Vec<(String, String)> = db
        .package_names()
        .map(|(e, n)| (e.to_string(), n.to_string()))
        .collect();
    for (eco, name) in &names {
        let mut versions: Vec<String> = Vec::new();
        for a in db.affected_entries(eco, name) {
            for r in &a.ranges {
                for e in &r.events {
                    let v = match e {
                        Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) => v,
                    };
                    if v != "0" && !versions.contains(v) {
                        versions.push(v.clone());
                    }
                }
            }
            versions.extend(a.versions.iter().take(3).cloned());
        }
        if versions.is_empty() {
            versions.push("1.0.0".to_string());
        }
        for v in versions.into_iter().take(8) {
            queries.push((eco.clone(), name.clone(), v));
        }
    }
    // Shuffle deterministically (xorshift).
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for i in (1..queries.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        queries.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let misses: Vec<(String, String, String)> = names
        .iter()
        .map(|(e, n)| (e.clone(), format!("{n}-not-indexed"), "1.0.0".to_string()))
        .collect();

    let n_lookups = 2_000_000usize;
    let mut matches = 0usize;
    let t = Instant::now();
    for i in 0..n_lookups {
        let (e, n, v) = &queries[i % queries.len()];
        matches += black_box(db.query_parts(e, n, v)).len();
    }
    let hit_time = t.elapsed();
    let t = Instant::now();
    for i in 0..n_lookups {
        let (e, n, v) = &misses[i % misses.len()];
        black_box(db.query_parts(e, n, v));
    }
    let miss_time = t.elapsed();

    let hit_rate = n_lookups as f64 / hit_time.as_secs_f64();
    let miss_rate = n_lookups as f64 / miss_time.as_secs_f64();
    println!("| metric | value |");
    println!("|---|---|");
    println!(
        "| sources | {} |",
        sources
            .iter()
            .map(|s| s.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "| advisories indexed | {} ({} withdrawn skipped, {} duplicate records merged) |",
        stats.advisories, stats.withdrawn_skipped, stats.duplicates_merged
    );
    println!(
        "| index build (read + parse + index) | {:.0} ms |",
        build.as_secs_f64() * 1e3
    );
    println!("| encode + write | {:.0} ms |", write.as_secs_f64() * 1e3);
    println!(
        "| file size | {} bytes ({:.2} MiB) |",
        size,
        size as f64 / (1024.0 * 1024.0)
    );
    println!(
        "| load (read + checksum + decompress + decode + index) | {:.0} ms |",
        load.as_secs_f64() * 1e3
    );
    println!(
        "| lookups, indexed packages ({} distinct queries, {} matches) | {:.2} M/s ({:.0} ns each) |",
        queries.len(),
        matches,
        hit_rate / 1e6,
        1e9 / hit_rate
    );
    println!(
        "| lookups, names not in the index | {:.2} M/s |",
        miss_rate / 1e6
    );
    println!(
        "| peak RSS | {} MiB |",
        peak_rss_kib().map_or("?".to_string(), |k| format!("{:.1}", k as f64 / 1024.0))
    );
    Ok(())
}
