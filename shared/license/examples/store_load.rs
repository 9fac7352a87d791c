//! Cold load of the licence store, one fresh process per measurement (BENCHMARKS.md "Licences"):
//!
//!   cargo run --release -p portcullis-license --example store_load -- ours|spdx
//!
//! `ours`: the vendored askalono store read in place from build.rs's bytes (what license-scan uses);
//! `spdx`: the spdx crate's `Store::load_inline` (what it used before). Prints `<which> <ms> <licences>`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "ours".into());
    let t = Instant::now();
    let n = match which.as_str() {
        "ours" => portcullis_license::detect::store().unwrap().len(),
        "spdx" => spdx::detection::Store::load_inline().unwrap().len(),
        other => panic!("ours or spdx, not {other}"),
    };
    println!("{which} {:.1} {n}", t.elapsed().as_secs_f64() * 1e3);
}
