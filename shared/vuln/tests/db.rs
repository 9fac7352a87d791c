//! OSV index behaviour on hand-written records: range evaluation edge cases (prerelease, epochs,
//! last_affected, multiple ranges, GIT ranges, explicit versions, empty version), withdrawn and malware
//! records, severity, name normalization, zip sources, the file format (round trip, corruption → typed
//! errors, never a panic), staleness, and the `vuln/osv` tool end to end on a lockfile.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use portcullis_core::model::{
    ArtifactRef, FindingDetail, LocalFileRef, Package, PackageRef, Severity, UnscannableReason,
};
use portcullis_core::policy::Policy;
use portcullis_core::tool::{LocalFile, SecurityTool, ToolConfiguration, ToolContext};
use portcullis_vuln::db::{Database, DbError};
use portcullis_vuln::{TOOL_NAME, VulnTool, rescan};
use serde_json::json;

fn record(
    id: &str,
    eco: &str,
    name: &str,
    ranges: serde_json::Value,
    versions: serde_json::Value,
) -> serde_json::Value {
    json!({
        "id": id,
        "modified": "2026-01-01T00:00:00Z",
        "aliases": [format!("CVE-{id}")],
        "summary": format!("summary of {id}"),
        "affected": [{
            "package": {"ecosystem": eco, "name": name},
            "ranges": ranges,
            "versions": versions,
        }]
    })
}

fn fixtures() -> Vec<serde_json::Value> {
    let mut recs = vec![
        record(
            "NPM-1",
            "npm",
            "left-pad",
            json!([{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}]),
            json!([]),
        ),
        record(
            "PY-EPOCH",
            "PyPI",
            "Foo_Bar.baz",
            json!([{"type": "ECOSYSTEM", "events": [{"introduced": "1!1.0"}, {"fixed": "1!3.0"}]}]),
            json!([]),
        ),
        record(
            "DEB-1",
            "Debian:12",
            "openssl",
            json!([{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:2.0-1"}]}]),
            json!([]),
        ),
        record(
            "LAST-1",
            "crates.io",
            "lastcrate",
            json!([{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"last_affected": "1.5.0"}]}]),
            json!([]),
        ),
        record(
            "MULTI-1",
            "Go",
            "example.com/multi",
            json!([
                {"type": "SEMVER", "events": [{"fixed": "1.2.0"}, {"introduced": "1.0.0"}]},
                {"type": "SEMVER", "events": [{"introduced": "2.0.0"}, {"fixed": "2.3.0"}]}
            ]),
            json!([]),
        ),
        record(
            "GIT-1",
            "PyPI",
            "gitonly",
            json!([{"type": "GIT", "repo": "https://example.com/x.git", "events": [{"introduced": "0"}, {"fixed": "abc123"}]}]),
            json!(["0.9"]),
        ),
        record(
            "WITHDRAWN-1",
            "npm",
            "left-pad",
            json!([{"type": "SEMVER", "events": [{"introduced": "0"}]}]),
            json!([]),
        ),
        record(
            "MAL-2026-1",
            "npm",
            "evil-pkg",
            json!([{"type": "SEMVER", "events": [{"introduced": "0"}]}]),
            json!([]),
        ),
        record(
            "GO-STD",
            "Go",
            "stdlib",
            json!([{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.21.1"}]}]),
            json!([]),
        ),
    ];
    recs[6]["withdrawn"] = json!("2026-02-01T00:00:00Z");
    recs[0]["severity"] =
        json!([{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]);
    recs[1]["database_specific"] = json!({"severity": "MODERATE"});
    recs[2]["severity"] = json!([{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]);
    recs
}

fn write_fixtures(dir: &Path) {
    std::fs::create_dir_all(dir.join("nested/deeper")).unwrap();
    for (i, r) in fixtures().iter().enumerate() {
        let sub = if i % 2 == 0 {
            dir.to_path_buf()
        } else {
            dir.join("nested/deeper")
        };
        let id = r["id"].as_str().unwrap();
        std::fs::write(
            sub.join(format!("{id}.json")),
            serde_json::to_vec_pretty(r).unwrap(),
        )
        .unwrap();
    }
    // Not OSV records: skipped with a reason, not fatal.
    std::fs::write(dir.join("provenance.json"), b"{\"files\": []}").unwrap();
    std::fs::write(dir.join("README.md"), b"# not json").unwrap();
}

fn build_dir() -> (tempfile::TempDir, Database, portcullis_vuln::BuildStats) {
    let tmp = tempfile::tempdir().unwrap();
    write_fixtures(tmp.path());
    let (db, stats) = Database::build(&[tmp.path().to_path_buf()]).unwrap();
    (tmp, db, stats)
}

fn ids(db: &Database, eco: &str, name: &str, version: &str) -> Vec<String> {
    db.query(&PackageRef {
        ecosystem: eco.to_string(),
        name: name.to_string(),
        version: version.to_string(),
        purl: None,
    })
    .unwrap()
    .iter()
    .map(|m| m.advisory.id.clone())
    .collect()
}

#[test]
fn build_counts_and_skips() {
    let (_tmp, db, stats) = build_dir();
    assert_eq!(stats.advisories, 8);
    assert_eq!(stats.withdrawn_skipped, 1);
    assert_eq!(stats.malware, 1);
    assert_eq!(stats.skipped_count, 1, "{:?}", stats.skipped);
    assert!(stats.skipped[0].path.ends_with("provenance.json"));
    let m = db.metadata();
    assert_eq!(m.advisories, 8);
    assert_eq!(m.ecosystems["npm"].advisories, 2);
    assert_eq!(m.ecosystems["Debian"].packages, 1);
    assert_eq!(m.data_modified.as_deref(), Some("2026-01-01T00:00:00Z"));
    assert!(db.advisory("WITHDRAWN-1").unwrap().is_none());
}

#[test]
fn prerelease_is_below_its_release() {
    let (_tmp, db, _) = build_dir();
    // GIVEN introduced 0, fixed 1.0.0 WHEN 1.0.0-beta THEN affected (prerelease < release)
    assert_eq!(ids(&db, "npm", "left-pad", "1.0.0-beta"), ["NPM-1"]);
    assert_eq!(ids(&db, "npm", "left-pad", "0.9.9"), ["NPM-1"]);
    assert!(ids(&db, "npm", "left-pad", "1.0.0").is_empty());
    assert!(ids(&db, "npm", "left-pad", "1.0.1-rc.1").is_empty());
    // The withdrawn record (introduced 0, no fix) must not match anything.
    assert!(ids(&db, "npm", "left-pad", "5.0.0").is_empty());
}

#[test]
fn pypi_epochs_and_name_normalization() {
    let (_tmp, db, _) = build_dir();
    assert_eq!(ids(&db, "PyPI", "foo-bar-baz", "1!2.0"), ["PY-EPOCH"]);
    assert_eq!(
        ids(&db, "PyPI", "FOO__bar-.Baz", "1!2.0.post1"),
        ["PY-EPOCH"]
    );
    // Epoch 0 sorts before every epoch-1 version.
    assert!(ids(&db, "PyPI", "foo-bar-baz", "2.0").is_empty());
    assert!(ids(&db, "PyPI", "foo-bar-baz", "1!3.0").is_empty());
    assert_eq!(ids(&db, "PyPI", "foo-bar-baz", "1!3.0rc1"), ["PY-EPOCH"]);
}

#[test]
fn debian_epochs_and_release_suffix() {
    let (_tmp, db, _) = build_dir();
    // 2.5-1 has epoch 0 < 1:2.0-1
    assert_eq!(ids(&db, "Debian:12", "openssl", "2.5-1"), ["DEB-1"]);
    assert_eq!(ids(&db, "Debian", "openssl", "1:1.9-3"), ["DEB-1"]);
    assert!(ids(&db, "Debian:12", "openssl", "1:2.0-1").is_empty());
    assert!(ids(&db, "Debian:12", "openssl", "1:2.0-1+deb12u1").is_empty());
    // Another release's advisory does not apply.
    assert!(ids(&db, "Debian:11", "openssl", "2.5-1").is_empty());
}

#[test]
fn last_affected_is_inclusive() {
    let (_tmp, db, _) = build_dir();
    assert_eq!(ids(&db, "crates.io", "lastcrate", "1.5.0"), ["LAST-1"]);
    assert_eq!(ids(&db, "crates.io", "LastCrate", "1.0.0"), ["LAST-1"]);
    assert!(ids(&db, "crates.io", "lastcrate", "1.5.1").is_empty());
    assert!(ids(&db, "crates.io", "lastcrate", "0.9.0").is_empty());
}

#[test]
fn multiple_ranges_and_unsorted_events() {
    let (_tmp, db, _) = build_dir();
    assert_eq!(ids(&db, "Go", "example.com/multi", "v1.1.0"), ["MULTI-1"]);
    assert!(ids(&db, "Go", "example.com/multi", "v1.5.0").is_empty());
    assert_eq!(ids(&db, "Go", "example.com/multi", "2.2.9"), ["MULTI-1"]);
    assert!(ids(&db, "Go", "example.com/multi", "2.3.0").is_empty());
    assert!(ids(&db, "Go", "example.com/multi", "0.9.0").is_empty());
    // Go toolchain spelled `go` matches `stdlib`.
    assert_eq!(ids(&db, "Go", "go", "1.21.0"), ["GO-STD"]);
}

#[test]
fn git_ranges_ignored_explicit_versions_used() {
    let (_tmp, db, _) = build_dir();
    assert!(ids(&db, "PyPI", "gitonly", "1.0").is_empty());
    assert_eq!(ids(&db, "PyPI", "gitonly", "0.9"), ["GIT-1"]);
}

#[test]
fn empty_version_is_affected() {
    let (_tmp, db, _) = build_dir();
    assert_eq!(ids(&db, "crates.io", "lastcrate", ""), ["LAST-1"]);
}

#[test]
fn severity_cvss_and_malware() {
    let (_tmp, db, _) = build_dir();
    let a = db.advisory("NPM-1").unwrap().unwrap();
    assert_eq!(a.cvss_score, Some(9.8));
    assert_eq!(a.severity, Severity::Critical);
    let p = db.advisory("PY-EPOCH").unwrap().unwrap();
    assert_eq!(p.severity, Severity::Medium);
    assert_eq!(p.cvss_score, None);
    let d = db.advisory("DEB-1").unwrap().unwrap();
    assert!(d.cvss_vector.as_deref().unwrap().starts_with("CVSS:4.0/"));
    // v4 base score computed from the vector: 9.3, critical.
    assert_eq!(d.cvss_score, Some(9.3));
    assert_eq!(d.severity, Severity::Critical);
    let m = db.advisory("MAL-2026-1").unwrap().unwrap();
    assert!(m.malware);
    assert_eq!(m.severity, Severity::Critical);
    assert_eq!(a.aliases, ["CVE-NPM-1"]);
}

#[test]
fn zip_export_gives_the_same_index() {
    let tmp = tempfile::tempdir().unwrap();
    let zip_path = tmp.path().join("all.zip");
    let f = std::fs::File::create(&zip_path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    for r in fixtures() {
        let id = r["id"].as_str().unwrap().to_string();
        z.start_file(
            format!("{id}.json"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        z.write_all(&serde_json::to_vec(&r).unwrap()).unwrap();
    }
    z.finish().unwrap();
    let (db, stats) = Database::build(std::slice::from_ref(&zip_path)).unwrap();
    assert_eq!(stats.advisories, 8);
    assert_eq!(stats.withdrawn_skipped, 1);
    assert_eq!(ids(&db, "npm", "left-pad", "1.0.0-beta"), ["NPM-1"]);
    assert_eq!(ids(&db, "Debian:12", "openssl", "2.5-1"), ["DEB-1"]);
    // A zip inside a directory source is read too.
    let (db2, _) = Database::build(&[tmp.path().to_path_buf()]).unwrap();
    assert_eq!(ids(&db2, "PyPI", "foo-bar-baz", "1!2.0"), ["PY-EPOCH"]);
    // Not a zip: typed error.
    let bad = tmp.path().join("bad.zip");
    std::fs::write(&bad, b"PK\x03\x04 not really").unwrap();
    assert!(matches!(Database::build(&[bad]), Err(DbError::Zip { .. })));
}

#[test]
fn missing_source_and_no_records_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(
        Database::build(&[tmp.path().join("nope")]),
        Err(DbError::MissingSource(_))
    ));
    assert!(matches!(
        Database::build(&[tmp.path().to_path_buf()]),
        Err(DbError::NoRecords(_))
    ));
}

#[test]
fn file_round_trip() {
    let (tmp, db, _) = build_dir();
    let path = tmp.path().join("out/db.bin");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let size = db.write(&path).unwrap();
    assert_eq!(size, std::fs::metadata(&path).unwrap().len());
    let back = Database::open(&path).unwrap();
    assert_eq!(back.metadata(), db.metadata());
    assert_eq!(back.advisories().unwrap(), db.advisories().unwrap());
    // a load prepares no package's lookup; a query prepares its package's, once
    assert_eq!(back.prepared_packages(), 0);
    assert_eq!(ids(&back, "Debian:12", "openssl", "2.5-1"), ["DEB-1"]);
    assert_eq!(back.prepared_packages(), 1);
    assert_eq!(ids(&back, "Debian:12", "openssl", "2.5-1"), ["DEB-1"]);
    assert_eq!(
        ids(&back, "Debian:12", "openssl", "9.9-1"),
        ids(&db, "Debian:12", "openssl", "9.9-1")
    );
    assert_eq!(back.prepared_packages(), 1);
    assert_eq!(ids(&back, "PyPI", "foo-bar-baz", "1!2.0"), ["PY-EPOCH"]);
    assert_eq!(back.prepared_packages(), 2);
}

#[test]
fn corrupted_files_give_typed_errors_never_panics() {
    let (_tmp, db, _) = build_dir();
    let good = db.to_bytes().unwrap();
    // Every truncation.
    for len in 0..good.len() {
        assert!(
            Database::from_bytes(&good[..len]).is_err(),
            "truncated to {len} bytes loaded"
        );
    }
    // Bit flips everywhere (deterministic pseudo-random positions plus every header byte).
    let mut positions: Vec<usize> = (0..64).collect();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        positions.push((x % good.len() as u64) as usize);
    }
    for pos in positions {
        let mut bad = good.clone();
        bad[pos] ^= 0x5A;
        match Database::from_bytes(&bad) {
            Err(_) => {}
            Ok(_) => panic!("flipped byte {pos} still loaded"),
        }
    }
    // Specific kinds.
    assert!(matches!(
        Database::from_bytes(b"garbage!"),
        Err(DbError::BadMagic)
    ));
    let mut v = good.clone();
    v[8] = 99;
    assert!(matches!(
        Database::from_bytes(&v),
        Err(DbError::UnsupportedFormat { found: 99, .. })
    ));
    let mut v = good.clone();
    let last = v.len() - 1;
    v[last] ^= 1;
    assert!(matches!(Database::from_bytes(&v), Err(DbError::Checksum)));
    let mut v = good.clone();
    v.push(0);
    assert!(matches!(
        Database::from_bytes(&v),
        Err(DbError::Truncated(_))
    ));
}

fn with_checksum(header_from: &[u8], payload: &[u8], raw_len: u64) -> Vec<u8> {
    use sha2::Digest;
    let mut v = header_from[..16].to_vec();
    v.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    v.extend_from_slice(&raw_len.to_le_bytes());
    let digest = sha2::Sha256::new()
        .chain_update(&v[..32])
        .chain_update(payload)
        .finalize();
    v.extend_from_slice(&digest);
    v.extend_from_slice(payload);
    v
}

#[test]
fn valid_checksum_over_garbage_is_still_a_typed_error() {
    let (_tmp, db, _) = build_dir();
    let good = db.to_bytes().unwrap();
    // Not zstd.
    let v = with_checksum(&good, b"definitely not zstd", 100);
    assert!(matches!(
        Database::from_bytes(&v),
        Err(DbError::Decompress(_))
    ));
    // zstd, but not a postcard body.
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let z = zstd::bulk::compress(&junk, 3).unwrap();
    let v = with_checksum(&good, &z, junk.len() as u64);
    assert!(matches!(
        Database::from_bytes(&v),
        Err(DbError::Decode(_) | DbError::Inconsistent(_))
    ));
    // Declared size larger than the limit.
    let v = with_checksum(&good, &z, u64::MAX);
    assert!(matches!(
        Database::from_bytes(&v),
        Err(DbError::Truncated(_))
    ));
    // Declared size smaller than the real one.
    let v = with_checksum(&good, &z, 10);
    assert!(Database::from_bytes(&v).is_err());
}

#[test]
fn staleness_against_policy() {
    let tmp = tempfile::tempdir().unwrap();
    write_fixtures(tmp.path());
    let built = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let (db, _) = Database::build_at(&[tmp.path().to_path_buf()], built).unwrap();
    assert_eq!(db.metadata().built_at, built);
    let now = built + chrono::Duration::hours(48);
    let err = db
        .check_age(Some(Duration::from_secs(24 * 3600)), now)
        .unwrap_err();
    assert_eq!(err.age_hours, 48);
    assert_eq!(err.max_age_hours, 24);
    assert!(
        db.check_age(Some(Duration::from_secs(72 * 3600)), now)
            .is_ok()
    );
    assert!(db.check_age(None, now).is_ok());
}

fn lockfile(dir: &Path) -> PathBuf {
    let p = dir.join("package-lock.json");
    let lock = json!({
        "name": "app", "version": "1.0.0", "lockfileVersion": 3,
        "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/left-pad": {"version": "0.9.0"},
            "node_modules/evil-pkg": {"version": "1.2.3"},
            "node_modules/safe-pkg": {"version": "1.0.0"}
        }
    });
    std::fs::write(&p, serde_json::to_vec_pretty(&lock).unwrap()).unwrap();
    p
}

async fn scan(db: Database, max_age_hours: Option<u64>) -> portcullis_core::model::ToolResult {
    let tmp = tempfile::tempdir().unwrap();
    let lock = lockfile(tmp.path());
    let tool = VulnTool::new(Arc::new(db));
    let mut policy = Policy::default_policy();
    policy.vulnerabilities.max_db_age = max_age_hours.map(|h| Duration::from_secs(h * 3600));
    let artifact = ArtifactRef::Local(LocalFileRef {
        path: lock.display().to_string(),
        size: None,
    });
    let ctx = ToolContext::new(artifact, Arc::new(policy), None);
    let config = ToolConfiguration {
        enabled: true,
        settings: serde_json::Value::Null,
    };
    tool.analyze(Arc::new(LocalFile::new(&lock)), &config, &ctx)
        .await
        .unwrap()
}

#[tokio::test]
async fn tool_reports_vulnerabilities_malware_and_inventory() {
    let (_tmp, db, _) = build_dir();
    let version = VulnTool::new(Arc::new(
        Database::from_bytes(&db.to_bytes().unwrap()).unwrap(),
    ))
    .version();
    assert!(
        version.starts_with(concat!(env!("CARGO_PKG_VERSION"), "+db.")),
        "{version}"
    );
    let result = scan(db, None).await;
    assert_eq!(result.tool, TOOL_NAME);
    let inv = result.inventory.as_ref().unwrap();
    let names: Vec<&str> = inv
        .packages
        .iter()
        .map(|p| p.package.name.as_str())
        .collect();
    assert!(
        names.contains(&"left-pad") && names.contains(&"safe-pkg"),
        "{names:?}"
    );
    let vulns: Vec<_> = result
        .findings
        .iter()
        .filter_map(|f| match &f.detail {
            FindingDetail::Vulnerability(v) => Some((f, v)),
            _ => None,
        })
        .collect();
    assert_eq!(vulns.len(), 1, "{:#?}", result.findings);
    let (f, v) = vulns[0];
    assert_eq!(v.advisory_id, "NPM-1");
    assert_eq!(v.package.name, "left-pad");
    assert_eq!(v.fixed_versions, ["1.0.0"]);
    assert_eq!(v.cvss_score, Some(9.8));
    assert_eq!(f.severity, Severity::Critical);
    assert!(
        f.location
            .as_deref()
            .unwrap()
            .ends_with("package-lock.json")
    );
    let mal: Vec<_> = result
        .findings
        .iter()
        .filter_map(|f| match &f.detail {
            FindingDetail::Malware(m) => Some((f, m)),
            _ => None,
        })
        .collect();
    assert_eq!(mal.len(), 1);
    assert_eq!(mal[0].1.engine, "osv-mal");
    assert_eq!(mal[0].1.rule, "MAL-2026-1");
    assert_eq!(mal[0].0.severity, Severity::Critical);
    assert!(
        !result
            .findings
            .iter()
            .any(|f| matches!(f.detail, FindingDetail::Unscannable(_)))
    );
}

#[tokio::test]
async fn stale_database_is_never_clean() {
    let tmp = tempfile::tempdir().unwrap();
    write_fixtures(tmp.path());
    let built = Utc::now() - chrono::Duration::hours(100);
    let (db, _) = Database::build_at(&[tmp.path().to_path_buf()], built).unwrap();
    let result = scan(db, Some(24)).await;
    let stale: Vec<_> = result
        .findings
        .iter()
        .filter_map(|f| match &f.detail {
            FindingDetail::Unscannable(u) => Some(u),
            _ => None,
        })
        .collect();
    assert_eq!(stale.len(), 1, "{:#?}", result.findings);
    assert_eq!(stale[0].reason, UnscannableReason::ToolInputUnavailable);
    assert_ne!(result.status, portcullis_core::model::ToolStatus::Succeeded);
}

#[test]
fn rescan_matches_sbom_packages_by_source_name() {
    let (_tmp, db, _) = build_dir();
    let pkg = |eco: &str, name: &str, version: &str, source: Option<&str>| Package {
        package: PackageRef {
            ecosystem: eco.to_string(),
            name: name.to_string(),
            version: version.to_string(),
            purl: None,
        },
        location: "img.tar!/var/lib/dpkg/status".to_string(),
        layer: Some("sha256:abc".to_string()),
        source_name: source.map(str::to_string),
        license: None,
        found_by: "test".to_string(),
        inferred: false,
    };
    let findings = rescan(
        &[
            pkg("Debian:12", "libssl3", "2.5-1", Some("openssl")),
            pkg("npm", "left-pad", "1.0.0", None),
        ],
        &db,
    )
    .unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].layer.as_deref(), Some("sha256:abc"));
    match &findings[0].detail {
        FindingDetail::Vulnerability(v) => {
            assert_eq!(v.advisory_id, "DEB-1");
            assert_eq!(v.package.name, "libssl3");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn build_command_writes_a_loadable_file() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("osv");
    write_fixtures(&src);
    let out = tmp.path().join("osv.db");
    let stats = portcullis_vuln::build_command(&[src], &out).unwrap();
    assert_eq!(
        stats.file_size,
        Some(std::fs::metadata(&out).unwrap().len())
    );
    assert_eq!(stats.advisories, 8);
    let db = Database::open(&out).unwrap();
    assert_eq!(db.metadata().advisories, 8);
    assert_eq!(ids(&db, "npm", "left-pad", "0.1.0"), ["NPM-1"]);
    // A missing output directory is a typed I/O error naming the path.
    let err = portcullis_vuln::build_command(
        &[tmp.path().join("osv")],
        &tmp.path().join("no/such/dir/x.db"),
    )
    .unwrap_err();
    assert!(matches!(err, DbError::Io { .. }), "{err}");
}
