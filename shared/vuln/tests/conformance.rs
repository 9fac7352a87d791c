//! `vuln/osv` through the shared conformance harness (`portcullis_core::conformance`), over an index built in
//! the test from a few real npm advisories of the shared OSV data (`osv/npm`), with a `package-lock.json`
//! pinning an affected version as payload: deterministic across runs, streams and instances, explicit on
//! empty/random/truncated/corrupt/over-limit/nested artifacts, stable name and version.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use portcullis_core::conformance::Conformance;
use portcullis_vuln::VulnTool;
use portcullis_vuln::db::Database;
use serde_json::json;

fn shared_data() -> PathBuf {
    match std::env::var_os("PORTCULLIS_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// Real advisories: lodash < 4.17.21 (GHSA-29mw-wpgm-hmr9), jquery < 3.5.0 (GHSA-257q-pv89-v3xv) and
/// js-yaml < 3.13.0 (GHSA-2pr6-76vf-7546), copied into a source directory.
const RECORDS: &[&str] = &[
    "GHSA-29mw-wpgm-hmr9.json",
    "GHSA-257q-pv89-v3xv.json",
    "GHSA-2pr6-76vf-7546.json",
];

fn database(dir: &std::path::Path) -> Database {
    for r in RECORDS {
        let from = shared_data().join("osv/npm").join(r);
        std::fs::copy(&from, dir.join(r)).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
    // A fixed build time: the tool version carries it.
    let built = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| Utc.from_utc_datetime(&t))
        .unwrap();
    let (db, stats) = Database::build_at(&[dir.to_path_buf()], built).unwrap();
    assert_eq!(stats.advisories, RECORDS.len() as u64, "{stats:?}");
    db
}

fn lockfile() -> Vec<u8> {
    let lock = json!({
        "name": "app", "version": "1.0.0", "lockfileVersion": 3,
        "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/lodash": {"version": "4.17.15"},
            "node_modules/js-yaml": {"version": "3.12.0"},
            "node_modules/left-pad": {"version": "1.3.0"}
        }
    });
    serde_json::to_vec_pretty(&lock).unwrap()
}

#[tokio::test]
async fn vuln_tool_conforms() {
    let src = tempfile::tempdir().unwrap();
    let tool = VulnTool::new(Arc::new(database(src.path())));
    // An independently built index from the same records.
    let src2 = tempfile::tempdir().unwrap();
    let second = VulnTool::new(Arc::new(database(src2.path())));
    let report = Conformance::new(&tool)
        .second_instance(&second)
        .payload("package-lock.json", lockfile())
        .run()
        .await;
    println!("{report}");
}
