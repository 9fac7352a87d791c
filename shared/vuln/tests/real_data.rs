//! The index built from all of `shared/data/osv` (PyPI, crates.io, Go, npm, partial Maven, harvested rest)
//! finds the known advisories of real package versions, and not those fixed before them. Each expected id
//! was checked to be in the data (ranges quoted in the comments). The index is built once per test binary.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::OnceLock;

use portcullis_core::model::{PackageRef, Severity};
use portcullis_vuln::db::{BuildStats, Database};

fn osv_dir() -> PathBuf {
    match std::env::var_os("PORTCULLIS_SHARED_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
    .join("osv")
}

fn db() -> &'static (Database, BuildStats) {
    static DB: OnceLock<(Database, BuildStats)> = OnceLock::new();
    DB.get_or_init(|| {
        let dir = osv_dir();
        assert!(dir.is_dir(), "OSV test data missing at {}", dir.display());
        let (db, stats) = Database::build(&[dir]).unwrap();
        // Round-trip through the file format so the tests exercise what the tool loads.
        let bytes = db.to_bytes().unwrap();
        (Database::from_bytes(&bytes).unwrap(), stats)
    })
}

fn ids(eco: &str, name: &str, version: &str) -> Vec<String> {
    let mut v: Vec<String> = db()
        .0
        .query(&PackageRef {
            ecosystem: eco.to_string(),
            name: name.to_string(),
            version: version.to_string(),
            purl: None,
        })
        .unwrap()
        .iter()
        .map(|m| m.advisory.id.clone())
        .collect();
    v.sort();
    v
}

fn assert_has(eco: &str, name: &str, version: &str, want: &[&str]) {
    let got = ids(eco, name, version);
    for w in want {
        assert!(
            got.iter().any(|g| g == w),
            "{eco} {name} {version}: expected {w}, got {got:?}"
        );
    }
}

fn assert_not(eco: &str, name: &str, version: &str, unwanted: &[&str]) {
    let got = ids(eco, name, version);
    for u in unwanted {
        assert!(
            !got.iter().any(|g| g == u),
            "{eco} {name} {version}: {u} should not match, got {got:?}"
        );
    }
}

#[test]
fn build_stats_cover_every_ecosystem() {
    let (db, stats) = db();
    let m = db.metadata();
    eprintln!(
        "indexed {} advisories ({} withdrawn skipped, {} duplicates merged, {} files skipped) in {:?}",
        stats.advisories,
        stats.withdrawn_skipped,
        stats.duplicates_merged,
        stats.skipped_count,
        stats.build_time
    );
    for (eco, c) in &m.ecosystems {
        eprintln!(
            "  {eco}: {} advisories, {} packages, {} affected entries",
            c.advisories, c.packages, c.affected
        );
    }
    // README: 2661 PyPI (10 withdrawn), 1206 crates.io (13), 4291 Go (17), 135 npm, 374 Maven, 48 other.
    assert!(stats.withdrawn_skipped >= 40, "{}", stats.withdrawn_skipped);
    assert!(stats.advisories > 8500, "{}", stats.advisories);
    for eco in [
        "PyPI",
        "crates.io",
        "Go",
        "npm",
        "Maven",
        "NuGet",
        "RubyGems",
    ] {
        assert!(
            m.ecosystems.contains_key(eco),
            "{eco} missing: {:?}",
            m.ecosystems.keys()
        );
    }
    // Only the provenance file is not an OSV record.
    assert_eq!(stats.skipped_count, 1, "{:?}", stats.skipped);
    assert_eq!(stats.malware, 1);
}

#[test]
fn pypi_jinja2() {
    // PYSEC-2019-217: introduced 0, fixed 2.10.1; PYSEC-2021-66: fixed 2.11.3; PYSEC-2019-220: fixed 2.8.1.
    assert_has(
        "PyPI",
        "jinja2",
        "2.10",
        &["PYSEC-2019-217", "PYSEC-2021-66"],
    );
    assert_has("PyPI", "Jinja2", "2.10", &["PYSEC-2019-217"]);
    assert_not(
        "PyPI",
        "jinja2",
        "2.10",
        &["PYSEC-2019-220", "PYSEC-2014-8"],
    );
    assert_not(
        "PyPI",
        "jinja2",
        "2.11.3",
        &["PYSEC-2019-217", "PYSEC-2021-66"],
    );
}

#[test]
fn crates_smallvec_and_time() {
    // RUSTSEC-2021-0003: [0.6.3, 0.6.14) and [1.0.0, 1.6.1).
    assert_has(
        "crates.io",
        "smallvec",
        "1.6.0",
        &["RUSTSEC-2021-0003", "GHSA-43w2-9j62-hq99"],
    );
    assert!(
        ids("crates.io", "smallvec", "1.6.1").is_empty(),
        "{:?}",
        ids("crates.io", "smallvec", "1.6.1")
    );
    // RUSTSEC-2020-0071: introduced 0.0.0-0, fixed 0.2.0 (and more); GHSA-wcg3-cvx6-7396: 0.1 ..= 0.2.
    assert_has(
        "crates.io",
        "time",
        "0.1.45",
        &["RUSTSEC-2020-0071", "GHSA-wcg3-cvx6-7396"],
    );
    assert_not(
        "crates.io",
        "time",
        "0.2.23",
        &["RUSTSEC-2020-0071", "GHSA-wcg3-cvx6-7396"],
    );
}

#[test]
fn go_x_net() {
    // GO-2023-1988: introduced 0, fixed 0.13.0; GO-2023-1571: fixed 0.7.0.
    assert_has("Go", "golang.org/x/net", "v0.7.0", &["GO-2023-1988"]);
    assert_not("Go", "golang.org/x/net", "v0.7.0", &["GO-2023-1571"]);
    // Pseudo-versions order by their timestamp prerelease: GO-2022-0197 fixed 0.0.0-20190125002852-4b62a64f59f7.
    assert_has(
        "Go",
        "golang.org/x/net",
        "v0.0.0-20180724234803-3673e40ba225",
        &["GO-2022-0197"],
    );
    assert_not(
        "Go",
        "golang.org/x/net",
        "v0.0.0-20190125002852-4b62a64f59f7",
        &["GO-2022-0197"],
    );
}

#[test]
fn npm_lodash() {
    // GHSA-p6mc-m468-83gw: [3.7.0, 4.17.19); GHSA-29mw-wpgm-hmr9 / GHSA-35jh-r3h4-6jhm: fixed 4.17.21;
    // GHSA-jf85-cpcp-j695: fixed 4.17.12.
    assert_has(
        "npm",
        "lodash",
        "4.17.15",
        &[
            "GHSA-p6mc-m468-83gw",
            "GHSA-29mw-wpgm-hmr9",
            "GHSA-35jh-r3h4-6jhm",
        ],
    );
    assert_not("npm", "lodash", "4.17.15", &["GHSA-jf85-cpcp-j695"]);
    assert!(
        ids("npm", "lodash", "4.17.21").is_empty(),
        "{:?}",
        ids("npm", "lodash", "4.17.21")
    );
}

#[test]
fn maven_partial_data() {
    // log4j-core is not in the partial Maven data; jackson-databind and log4j 1.x are.
    assert!(
        db().0
            .affected_entries("Maven", "org.apache.logging.log4j:log4j-core")
            .unwrap()
            .is_empty()
    );
    // GHSA-6fpp-rgj9-8rwc: [2.9.0, 2.9.9.2), CVSS 3.1 9.8.
    assert_has(
        "Maven",
        "com.fasterxml.jackson.core:jackson-databind",
        "2.9.8",
        &["GHSA-6fpp-rgj9-8rwc"],
    );
    assert_not(
        "Maven",
        "com.fasterxml.jackson.core:jackson-databind",
        "2.9.9.2",
        &["GHSA-6fpp-rgj9-8rwc"],
    );
    let a = db().0.advisory("GHSA-6fpp-rgj9-8rwc").unwrap().unwrap();
    assert_eq!(a.cvss_score, Some(9.8));
    assert_eq!(a.severity, Severity::Critical);
    // GHSA-f7vh-qwp3-x37m: introduced 0, last_affected 1.2.17 (inclusive).
    assert_has("Maven", "log4j:log4j", "1.2.17", &["GHSA-f7vh-qwp3-x37m"]);
}

#[test]
fn malware_advisory_flagged() {
    let a = db().0.advisory("MAL-2023-462").unwrap().unwrap();
    assert!(a.malware);
    assert_eq!(a.severity, Severity::Critical);
}

#[test]
fn every_cvss_vector_in_the_data_is_scored() {
    let advisories = db().0.advisories().unwrap();
    let unscored: Vec<(&str, &str)> = advisories
        .iter()
        .filter(|a| a.cvss_score.is_none())
        .filter_map(|a| a.cvss_vector.as_deref().map(|v| (a.id.as_str(), v)))
        .collect();
    let v4 = advisories
        .iter()
        .filter(|a| {
            a.cvss_vector
                .as_deref()
                .is_some_and(|v| v.starts_with("CVSS:4.0/"))
        })
        .count();
    let scored = advisories.iter().filter(|a| a.cvss_score.is_some()).count();
    eprintln!("{scored} advisories scored from CVSS vectors ({v4} from v4.0 alone)");
    assert!(unscored.is_empty(), "{unscored:?}");
    assert!(v4 > 0);
}

#[tokio::test]
async fn tool_on_a_lockfile_with_the_real_database() {
    use std::sync::Arc;

    use portcullis_core::model::{ArtifactRef, FindingDetail, LocalFileRef};
    use portcullis_core::policy::Policy;
    use portcullis_core::tool::{LocalFile, SecurityTool, ToolConfiguration, ToolContext};
    use portcullis_vuln::VulnTool;

    // GIVEN an npm lockfile with lodash 4.17.15 (vulnerable) and 4.17.21 nested (fixed)
    let tmp = tempfile::tempdir().unwrap();
    let lock = tmp.path().join("package-lock.json");
    let doc = serde_json::json!({
        "name": "app", "version": "1.0.0", "lockfileVersion": 3,
        "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/lodash": {"version": "4.17.15"},
            "node_modules/other/node_modules/lodash": {"version": "4.17.21"}
        }
    });
    std::fs::write(&lock, serde_json::to_vec(&doc).unwrap()).unwrap();
    let bytes = db().0.to_bytes().unwrap();
    let tool = VulnTool::new(Arc::new(Database::from_bytes(&bytes).unwrap()));
    let artifact = ArtifactRef::Local(LocalFileRef {
        path: lock.display().to_string(),
        size: None,
    });
    let ctx = ToolContext::new(artifact, Arc::new(Policy::default_policy()), None);
    let config = ToolConfiguration {
        enabled: true,
        settings: serde_json::Value::Null,
    };
    // WHEN the tool scans it
    let result = tool
        .analyze(Arc::new(LocalFile::new(&lock)), &config, &ctx)
        .await
        .unwrap();
    // THEN every finding is about 4.17.15, and the prototype-pollution advisory is there with its CVSS data
    let vulns: Vec<_> = result
        .findings
        .iter()
        .filter_map(|f| match &f.detail {
            FindingDetail::Vulnerability(v) => Some((f, v)),
            _ => None,
        })
        .collect();
    assert!(vulns.len() >= 3, "{:#?}", result.findings);
    assert!(vulns.iter().all(|(_, v)| v.package.version == "4.17.15"));
    let (f, v) = vulns
        .iter()
        .find(|(_, v)| v.advisory_id == "GHSA-p6mc-m468-83gw")
        .unwrap();
    assert_eq!(v.fixed_versions, ["4.17.19"]);
    assert!(v.cvss_vector.is_some() && v.cvss_score.is_some(), "{v:?}");
    assert_eq!(f.severity, Severity::from_cvss(v.cvss_score.unwrap()));
    assert!(
        v.aliases.iter().any(|a| a.starts_with("CVE-")),
        "{:?}",
        v.aliases
    );
    let inv = result.inventory.unwrap();
    assert_eq!(
        inv.packages
            .iter()
            .filter(|p| p.package.name == "lodash")
            .count(),
        2
    );
}

#[test]
fn lookup_table_agrees_with_entry_by_entry_evaluation() {
    use portcullis_vuln::db::Event;
    // GIVEN every indexed package and versions around each of its range events and explicit versions
    // (the event itself, just below and above it in the common schemes, prereleases, odd spellings)
    let db = &db().0;
    let names: Vec<(String, String)> = db
        .package_names()
        .map(|(e, n)| (e.to_string(), n.to_string()))
        .collect();
    let mut checked = 0usize;
    let mut mismatches: Vec<String> = Vec::new();
    for (eco, name) in &names {
        let mut versions: Vec<String> =
            ["", "0", "0.0.0", "1", "999999", "v1.2.3", "not a version"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let mut releases: Vec<Option<String>> = vec![None];
        for a in db.affected_entries(eco, name).unwrap() {
            if !releases.contains(&a.release) {
                releases.push(a.release.clone());
            }
            let events = a.ranges.iter().flat_map(|r| &r.events).map(|e| match e {
                Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) => v,
            });
            for v in events.chain(a.versions.iter()) {
                for s in [
                    "", ".0", ".1", "-1", "-rc1", "rc1", "a0", ".post1", "+local", "~deb1", "-0",
                ] {
                    versions.push(format!("{v}{s}"));
                }
                if let Some(p) = v.rsplit_once('.').map(|(p, _)| p) {
                    versions.push(p.to_string());
                }
            }
        }
        versions.sort();
        versions.dedup();
        for rel in &releases {
            let eco_q = match rel {
                Some(r) => format!("{eco}:{r}"),
                None => eco.clone(),
            };
            for v in &versions {
                // WHEN both evaluations answer THEN they agree on every advisory and matching entry
                let key = |ms: Vec<portcullis_vuln::Match<'_>>| -> Vec<(String, usize)> {
                    ms.iter()
                        .map(|m| {
                            (
                                m.advisory.id.clone(),
                                std::ptr::from_ref(m.affected) as usize,
                            )
                        })
                        .collect()
                };
                let fast = key(db.query_parts(&eco_q, name, v).unwrap());
                let slow = key(db.query_parts_linear(&eco_q, name, v).unwrap());
                if fast != slow {
                    mismatches.push(format!("{eco_q} {name} {v:?}: {fast:?} vs {slow:?}"));
                }
                checked += 1;
            }
        }
    }
    eprintln!("{checked} lookups, {} mismatches", mismatches.len());
    for m in mismatches.iter().take(40) {
        eprintln!("{m}");
    }
    assert!(mismatches.is_empty());
    assert!(checked > 100_000, "{checked}");
}

#[test]
fn real_withdrawn_prerelease_and_epoch_edge_cases() {
    let (db, _) = db();
    // Withdrawn records are not indexed: RUSTSEC-2025-0014 (humantime, introduced 0.0.0-0, no fix) and
    // PYSEC-2023-73 (redis, introduced 0) would otherwise match every version.
    for id in ["RUSTSEC-2025-0014", "PYSEC-2023-73", "GO-2024-2730"] {
        assert!(db.advisory(id).unwrap().is_none(), "{id} is withdrawn");
    }
    assert_not("crates.io", "humantime", "2.1.0", &["RUSTSEC-2025-0014"]);
    assert_not("PyPI", "redis", "4.5.3", &["PYSEC-2023-73"]);
    assert_not(
        "Go",
        "github.com/gorilla/sessions",
        "v1.2.1",
        &["GO-2024-2730"],
    );

    // Prereleases sort below their release. RUSTSEC-2020-0071 (time): introduced 0.0.0-0 fixed 0.2.0, then
    // introduced 0.2.1-0 fixed 0.2.1 (one window per patch release up to 0.2.6), then 0.2.7-0 → 0.2.23.
    assert_has("crates.io", "time", "0.2.0-rc.1", &["RUSTSEC-2020-0071"]);
    assert_not("crates.io", "time", "0.2.0", &["RUSTSEC-2020-0071"]);
    assert_has("crates.io", "time", "0.2.1-beta", &["RUSTSEC-2020-0071"]);
    assert_not("crates.io", "time", "0.2.1", &["RUSTSEC-2020-0071"]);
    assert_has("crates.io", "time", "0.2.23-alpha", &["RUSTSEC-2020-0071"]);
    assert_not("crates.io", "time", "0.2.23", &["RUSTSEC-2020-0071"]);
    // PYSEC-2020-176 (PyYAML 5.1 → 5.2b1): 5.2a1 is affected, the fixing beta and the release are not.
    assert_has(
        "PyPI",
        "PyYAML",
        "5.2a1",
        &["PYSEC-2020-176", "PYSEC-2020-96"],
    );
    assert_not("PyPI", "PyYAML", "5.2b1", &["PYSEC-2020-176"]);
    assert_not("PyPI", "pyyaml", "5.2", &["PYSEC-2020-176"]);
    // PYSEC-2014-19 (Django 1.7a0 → 1.7b4 among its ranges): dev/alpha/beta spellings.
    assert_has("PyPI", "Django", "1.7b3", &["PYSEC-2014-19"]);
    assert_has("PyPI", "django", "1.7.0a1", &["PYSEC-2014-19"]);
    assert_not("PyPI", "django", "1.7b4", &["PYSEC-2014-19"]);
    assert_not("PyPI", "django", "1.7rc1", &["PYSEC-2014-19"]);

    // PEP 440 epochs: an explicit epoch 0 is the version itself; epoch 1 sorts after every epoch-0 fix.
    assert_eq!(
        ids("PyPI", "jinja2", "0!2.10"),
        ids("PyPI", "jinja2", "2.10")
    );
    assert_has(
        "PyPI",
        "jinja2",
        "0!2.10",
        &["PYSEC-2019-217", "PYSEC-2021-66"],
    );
    assert_eq!(ids("PyPI", "jinja2", "1!2.10"), Vec::<String>::new());
}
