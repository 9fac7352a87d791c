//! Cold load of an OSV index file, one fresh process per measurement (BENCHMARKS.md "Pipeline"):
//!
//!   cargo run --release -p portcullis-vuln --example dbopen -- INDEX
//!
//! Prints the read, and the decode (`Database::from_bytes`: checksum, zstd, postcard, index checks) in ms.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: dbopen INDEX");
    let t = Instant::now();
    let bytes = std::fs::read(&path).unwrap();
    let read = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let db = portcullis_vuln::Database::from_bytes(&bytes).unwrap();
    let decode = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "{} bytes, {} advisories: read {read:.1} ms, decode {decode:.1} ms",
        bytes.len(),
        db.metadata().advisories
    );
}
