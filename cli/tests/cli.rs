//! The `portcullis` binary end to end: database build, scan verdict and exit code, CycloneDX SBOM output,
//! and usage errors (exit 64) that name what is wrong.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn portcullis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// An npm package tarball (`package/package.json`) of lodash 4.17.15, made with the system `tar`.
fn lodash_tgz(dir: &Path) -> String {
    let src = dir.join("src/package");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("package.json"),
        r#"{"name":"lodash","version":"4.17.15","license":"MIT"}"#,
    )
    .unwrap();
    let out = dir.join("lodash-4.17.15.tgz");
    let st = Command::new("tar")
        .arg("-czf")
        .arg(&out)
        .arg("-C")
        .arg(dir.join("src"))
        .arg("package")
        .status()
        .unwrap();
    assert!(st.success());
    out.display().to_string()
}

/// A one-advisory OSV database (a real advisory's shape: GHSA-p6mc-m468-83gw, lodash < 4.17.19, HIGH).
fn db(dir: &Path) -> String {
    let osv = dir.join("osv/npm");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::write(
        osv.join("GHSA-p6mc-m468-83gw.json"),
        r#"{"schema_version":"1.4.0","id":"GHSA-p6mc-m468-83gw","modified":"2024-01-01T00:00:00Z",
            "aliases":["CVE-2020-8203"],"summary":"Prototype pollution in lodash",
            "affected":[{"package":{"ecosystem":"npm","name":"lodash"},
              "ranges":[{"type":"SEMVER","events":[{"introduced":"3.7.0"},{"fixed":"4.17.19"}]}]}],
            "database_specific":{"severity":"HIGH"}}"#,
    )
    .unwrap();
    let out = dir.join("osv.db").display().to_string();
    let o = portcullis(&[
        "db",
        "build",
        "--from",
        &dir.join("osv").display().to_string(),
        "--out",
        &out,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    out
}

#[test]
fn scan_quarantines_a_vulnerable_package_and_writes_its_cyclonedx_sbom() {
    // GIVEN lodash 4.17.15 and a database with a HIGH advisory for it
    let dir = tempfile::tempdir().unwrap();
    let (tgz, db) = (lodash_tgz(dir.path()), db(dir.path()));
    let sbom = dir.path().join("sbom.cdx.json");
    // WHEN scanned with the vulnerability tool and --sbom
    let o = portcullis(&[
        "scan",
        "--tools",
        "vuln",
        "--db",
        &db,
        "--format",
        "json",
        "--sbom",
        &sbom.display().to_string(),
        &tgz,
    ]);
    // THEN exit 1 (QUARANTINED) with the advisory in the chain …
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let chain: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(chain["verdict"], "QUARANTINED");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("GHSA-p6mc-m468-83gw"),
        "{}",
        text(&o)
    );
    // … and the SBOM is CycloneDX 1.6 naming the package by purl and where it was found
    let bom: serde_json::Value = serde_json::from_slice(&std::fs::read(&sbom).unwrap()).unwrap();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.6");
    let lodash = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["purl"] == "pkg:npm/lodash@4.17.15")
        .unwrap_or_else(|| panic!("no lodash component in {bom}"));
    let location = lodash["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "portcullis:location")
        .unwrap();
    assert_eq!(
        location["value"],
        "lodash-4.17.15.tgz!/package/package.json"
    );
}

#[test]
fn usage_errors_exit_64_and_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let tgz = lodash_tgz(dir.path());
    // --sbom without the tool that makes the inventory
    let o = portcullis(&["scan", "--tools", "license", "--sbom", "x.json", &tgz]);
    assert_eq!(o.status.code(), Some(64), "{}", text(&o));
    assert!(
        text(&o).contains("--sbom needs the `vuln` tool"),
        "{}",
        text(&o)
    );
    // an unknown tool
    let o = portcullis(&["scan", "--tools", "antivirus", &tgz]);
    assert_eq!(o.status.code(), Some(64), "{}", text(&o));
    assert!(
        text(&o).contains("unknown tool `antivirus`"),
        "{}",
        text(&o)
    );
    // a policy whose value is wrong names the field
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        "version = 1\n[vulnerabilities]\nunknown_severity = \"urgent\"\n",
    )
    .unwrap();
    let o = portcullis(&["check-policy", &policy.display().to_string()]);
    assert_eq!(o.status.code(), Some(64), "{}", text(&o));
    assert!(
        text(&o).contains("vulnerabilities.unknown_severity"),
        "{}",
        text(&o)
    );
}
