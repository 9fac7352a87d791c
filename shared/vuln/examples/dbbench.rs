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

/// CPU time of this thread in nanoseconds (`/proc/thread-self/schedstat`), to report rates that do not depend
/// on how busy the shared machine is.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

struct Timed {
    wall: f64,
    cpu: f64,
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Timed) {
    let (c, t) = (cpu_ns(), Instant::now());
    let r = f();
    let wall = t.elapsed().as_secs_f64();
    let cpu = (cpu_ns().saturating_sub(c)) as f64 / 1e9;
    (r, Timed { wall, cpu })
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

    let (built, build) = timed(|| Database::build(&sources));
    let (db, stats) = built?;
    let (size, write) = timed(|| db.write(&out));
    let size = size?;
    drop(db);
    let (db, load) = timed(|| Database::open(&out));
    let db = db?;

    // Queries: every indexed package with versions taken from its own events and explicit versions.
    let mut queries: Vec<(String, String, String)> = Vec::new();
    let names: Vec<(String, String)> = db
        .package_names()
        .map(|(e, n)| (e.to_string(), n.to_string()))
        .collect();
    for (eco, name) in &names {
        let mut versions: Vec<String> = Vec::new();
        for a in db.affected_entries(eco, name).unwrap() {
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
    let (matches, hit_time) = timed(|| {
        let mut matches = 0usize;
        for i in 0..n_lookups {
            let (e, n, v) = &queries[i % queries.len()];
            matches += black_box(db.query_parts(e, n, v).unwrap()).len();
        }
        matches
    });
    // The same queries evaluated entry by entry (every affected entry's ranges walked, no lookup table):
    // the algorithm before the table, measured in the same run.
    let (lin_matches, lin_time) = timed(|| {
        let mut matches = 0usize;
        for i in 0..n_lookups {
            let (e, n, v) = &queries[i % queries.len()];
            matches += black_box(db.query_parts_linear(e, n, v).unwrap()).len();
        }
        matches
    });
    assert_eq!(
        lin_matches, matches,
        "table and entry-by-entry evaluation disagree"
    );
    let ((), miss_time) = timed(|| {
        for i in 0..n_lookups {
            let (e, n, v) = &misses[i % misses.len()];
            black_box(db.query_parts(e, n, v).unwrap());
        }
    });
    let rate = |t: f64| n_lookups as f64 / t / 1e6;
    let ms = |t: &Timed| format!("{:.0} ms wall, {:.0} ms CPU", t.wall * 1e3, t.cpu * 1e3);
    println!("| metric | value |");
    println!("|---|---|");
    let srcs: Vec<String> = sources.iter().map(|s| s.display().to_string()).collect();
    println!("| sources | {} |", srcs.join(", "));
    println!(
        "| advisories indexed | {} ({} withdrawn skipped, {} duplicate records merged) |",
        stats.advisories, stats.withdrawn_skipped, stats.duplicates_merged
    );
    println!("| index build (read + parse + index) | {} |", ms(&build));
    println!("| encode + write | {} |", ms(&write));
    println!(
        "| file size | {} bytes ({:.2} MiB) |",
        size,
        size as f64 / (1024.0 * 1024.0)
    );
    println!(
        "| load (read + checksum + decompress + decode + index + lookup tables) | {} |",
        ms(&load)
    );
    println!(
        "| lookups, indexed packages ({} distinct queries, {:.1} matches each) | {:.2} M/s wall, {:.2} M/s per CPU second |",
        queries.len(),
        matches as f64 / n_lookups as f64,
        rate(hit_time.wall),
        rate(hit_time.cpu)
    );
    println!(
        "| lookups, same queries evaluated entry by entry (no table) | {:.2} M/s wall, {:.2} M/s per CPU second |",
        rate(lin_time.wall),
        rate(lin_time.cpu)
    );
    println!(
        "| lookups, names not in the index | {:.2} M/s wall, {:.2} M/s per CPU second |",
        rate(miss_time.wall),
        rate(miss_time.cpu)
    );
    let mut ecos: Vec<&str> = queries.iter().map(|q| q.0.as_str()).collect();
    ecos.sort_unstable();
    ecos.dedup();
    for eco in ecos {
        let qs: Vec<&(String, String, String)> = queries.iter().filter(|q| q.0 == eco).collect();
        let n = 200_000usize;
        let (m, t) = timed(|| {
            let mut m = 0usize;
            for i in 0..n {
                let (e, nm, v) = qs[i % qs.len()];
                m += black_box(db.query_parts(e, nm, v).unwrap()).len();
            }
            m
        });
        println!(
            "| lookups, {eco} only ({} queries, {:.1} matches each) | {:.2} M/s wall, {:.2} M/s per CPU second |",
            qs.len(),
            m as f64 / n as f64,
            n as f64 / t.wall / 1e6,
            n as f64 / t.cpu / 1e6
        );
    }
    let rss = peak_rss_kib().map_or("?".to_string(), |k| format!("{:.1}", k as f64 / 1024.0));
    println!("| peak RSS | {rss} MiB |");
    Ok(())
}
