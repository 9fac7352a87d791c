//! `license/spdx` through the shared conformance harness (`portcullis_core::conformance`): deterministic,
//! explicit on empty/random/truncated/corrupt/over-limit/nested artifacts, stable name and version — once with
//! a declared licence (a `package.json` declaring AGPL-3.0-only, denied by the default policy) and once with a
//! detected licence text (an AGPL-3.0 text named `COPYING`).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::PathBuf;

use portcullis_core::conformance::Conformance;
use portcullis_license::LicenseTool;

fn shared_data() -> PathBuf {
    match std::env::var_os("PORTCULLIS_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

#[tokio::test]
async fn license_tool_conforms_on_declared_licences() {
    let tool = LicenseTool::new();
    let second = LicenseTool::new();
    let package_json =
        br#"{"name":"copyleft-thing","version":"2.0.0","license":"AGPL-3.0-only"}"#.to_vec();
    let report = Conformance::new(&tool)
        .second_instance(&second)
        .payload("package.json", package_json)
        .run()
        .await;
    println!("{report}");
}

#[tokio::test]
async fn license_tool_conforms_on_licence_texts() {
    let p = shared_data()
        .join("licenses/spdx-license-list-XML/test/simpleTestForGenerator/AGPL-3.0-only.txt");
    let text = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let tool = LicenseTool::new();
    let report = Conformance::new(&tool).payload("COPYING", text).run().await;
    println!("{report}");
}
