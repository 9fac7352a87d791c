//! Extracts askalono's licence store from the `spdx` crate's package (`src/detection/cache.bin.zstd`, the
//! file behind `spdx::detection::Store::load_inline`) and writes it decompressed to
//! `$OUT_DIR/licence-store.bin`, which `src/askalono/store_bin.rs` reads in place at run time (see
//! `src/askalono/mod.rs` for why). The package is found with `cargo metadata` (registry, git or vendored
//! sources alike); the version is pinned in Cargo.toml so the layout is known.

use std::path::PathBuf;
use std::process::Command;

const SPDX_VERSION: &str = "0.13.6";
const CACHE_HEADER: &[u8] = b"spdx-crate-01";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"))
            .join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = std::env::var("TARGET").expect("TARGET");
    // --filter-platform: only this target's packages. --offline first: a workspace build has them all; a
    // build of one package in a fresh CARGO_HOME (cargo lambda build -p …) may not have the other members'
    // packages yet, and then cargo metadata may fetch them.
    let run = |offline: bool| {
        let mut c = Command::new(&cargo);
        c.args(["metadata", "--format-version", "1", "--filter-platform"])
            .arg(&target)
            .arg("--manifest-path")
            .arg(&manifest);
        if offline {
            c.arg("--offline");
        }
        c.output()
            .unwrap_or_else(|e| panic!("running cargo metadata: {e}"))
    };
    let mut meta = run(true);
    if !meta.status.success() {
        meta = run(false);
    }
    assert!(
        meta.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&meta.stderr)
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&meta.stdout).expect("cargo metadata JSON");
    let spdx_manifest = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "spdx" && p["version"] == SPDX_VERSION)
        .and_then(|p| p["manifest_path"].as_str())
        .unwrap_or_else(|| panic!("spdx {SPDX_VERSION} is not in the dependency graph"));
    let cache_path = PathBuf::from(spdx_manifest)
        .parent()
        .expect("spdx package dir")
        .join("src/detection/cache.bin.zstd");
    println!("cargo:rerun-if-changed={}", cache_path.display());
    let cache = std::fs::read(&cache_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", cache_path.display()));
    assert!(
        cache.starts_with(CACHE_HEADER),
        "{} does not start with the cache version {:?}",
        cache_path.display(),
        std::str::from_utf8(CACHE_HEADER)
    );
    let body = zstd::decode_all(&cache[CACHE_HEADER.len()..])
        .unwrap_or_else(|e| panic!("decompressing {}: {e}", cache_path.display()));
    std::fs::write(out.join("licence-store.bin"), body).expect("writing licence-store.bin");
}
