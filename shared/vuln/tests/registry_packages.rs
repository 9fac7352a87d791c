//! Real packages fetched by name from PyPI, npm, crates.io and Debian (`scripts/fetch-test-packages.sh`, a
//! cache outside the repository) go through the whole path the CLI and the Lambda take — safe reader →
//! inventory extractors → the OSV index built from `shared/data/osv` (round-tripped through its file format)
//! → matching in the `vuln/osv` tool — and each package gets exactly the advisories that the data says
//! affect its version (each expected id and range was read from the data; ranges quoted below), and a fixed
//! version gets none.
//!
//! The directory comes from `PORTCULLIS_TEST_PACKAGES` (`scripts/test.sh` fetches and exports it). Unset: the
//! test prints SKIPPED and passes; set but missing a file: it fails.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use portcullis_core::model::{ArtifactRef, FindingDetail, LocalFileRef, Package, ToolStatus};
use portcullis_core::policy::Policy;
use portcullis_core::tool::{LocalFile, SecurityTool, ToolConfiguration, ToolContext};
use portcullis_vuln::{Database, VulnTool};

fn osv_dir() -> PathBuf {
    match std::env::var_os("PORTCULLIS_SHARED_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
    .join("osv")
}

/// The fetched packages, or `None` (after printing why) when the environment does not name them.
fn packages_dir() -> Option<PathBuf> {
    match std::env::var_os("PORTCULLIS_TEST_PACKAGES") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => {
            eprintln!(
                "SKIPPED: PORTCULLIS_TEST_PACKAGES is not set; run scripts/fetch-test-packages.sh \
                 (or scripts/test.sh, which fetches them and sets it)"
            );
            None
        }
    }
}

/// The index built from all of `shared/data/osv`, written to bytes and loaded back (what `portcullis db
/// build` writes and `--db` / the Lambda load). Built once per test binary.
fn tool() -> VulnTool {
    static DB: OnceLock<Arc<Database>> = OnceLock::new();
    let db = DB.get_or_init(|| {
        let dir = osv_dir();
        assert!(dir.is_dir(), "OSV test data missing at {}", dir.display());
        let (db, _) = Database::build(&[dir]).unwrap();
        Arc::new(Database::from_bytes(&db.to_bytes().unwrap()).unwrap())
    });
    VulnTool::new(Arc::clone(db))
}

/// What the tool reported for one artifact file.
struct Scan {
    packages: Vec<Package>,
    /// (ecosystem, name, version, advisory id) of every vulnerability finding.
    vulns: BTreeSet<(String, String, String, String)>,
}

impl Scan {
    /// The advisory ids reported for one package version.
    fn ids(&self, ecosystem: &str, name: &str, version: &str) -> BTreeSet<String> {
        self.vulns
            .iter()
            .filter(|(e, n, v, _)| e == ecosystem && n == name && v == version)
            .map(|(_, _, _, id)| id.clone())
            .collect()
    }

    fn all_ids(&self) -> BTreeSet<String> {
        self.vulns.iter().map(|(_, _, _, id)| id.clone()).collect()
    }

    fn has_package(&self, ecosystem: &str, name: &str, version: &str) -> bool {
        self.packages.iter().any(|p| {
            p.package.ecosystem == ecosystem
                && p.package.name == name
                && p.package.version == version
        })
    }
}

async fn scan(dir: &Path, rel: &str) -> Scan {
    let path = dir.join(rel);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/fetch-test-packages.sh (it fetches every file this test reads)",
        path.display()
    );
    let artifact = ArtifactRef::Local(LocalFileRef {
        path: path.display().to_string(),
        size: None,
    });
    let ctx = ToolContext::new(artifact, Arc::new(Policy::default_policy()), None);
    let config = ToolConfiguration {
        enabled: true,
        settings: serde_json::Value::Null,
    };
    let result = tool()
        .analyze(Arc::new(LocalFile::new(&path)), &config, &ctx)
        .await
        .unwrap();
    assert_eq!(result.status, ToolStatus::Succeeded, "{rel}: {result:#?}");
    let vulns = result
        .findings
        .iter()
        .filter_map(|f| match &f.detail {
            FindingDetail::Vulnerability(v) => Some((
                v.package.ecosystem.clone(),
                v.package.name.clone(),
                v.package.version.clone(),
                v.advisory_id.clone(),
            )),
            _ => None,
        })
        .collect();
    let packages = result.inventory.map(|i| i.packages).unwrap_or_default();
    Scan { packages, vulns }
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// One package file: the package the inventory must find in it and exactly the advisories expected for it.
async fn check(dir: &Path, rel: &str, eco: &str, name: &str, version: &str, want: &[&str]) -> Scan {
    let s = scan(dir, rel).await;
    assert!(
        s.has_package(eco, name, version),
        "{rel}: inventory did not find {eco} {name} {version}; found {:?}",
        s.packages.iter().map(|p| &p.package).collect::<Vec<_>>()
    );
    assert_eq!(
        s.ids(eco, name, version),
        set(want),
        "{rel}: {eco} {name} {version}"
    );
    s
}

#[tokio::test]
async fn pypi_wheels_and_sdist() {
    let Some(dir) = packages_dir() else { return };
    // Jinja2 2.10: PYSEC-2019-217 (0 → 2.10.1), PYSEC-2021-66 (0 → 2.11.3); not PYSEC-2014-8 (→ 2.7.2),
    // PYSEC-2014-82 (→ 2.7.3), PYSEC-2019-220 (→ 2.8.1).
    let s = check(
        &dir,
        "pypi/Jinja2-2.10-py2.py3-none-any.whl",
        "PyPI",
        "Jinja2",
        "2.10",
        &["PYSEC-2019-217", "PYSEC-2021-66"],
    )
    .await;
    assert_eq!(s.all_ids().len(), 2);
    // urllib3 1.24.1: fixed in 1.24.2 (2019-133, 2023-207), 1.24.3 (2019-132), 1.25.9 (2020-148), 1.26.5
    // (2021-108), 1.26.17 (2023-192), 1.26.18 (2023-212); not PYSEC-2018-32 (→ 1.23), 2017-98 (1.17 →
    // 1.18.1), 2020-149 (1.25.2 → 1.25.8), 2021-59 (1.26.0 → 1.26.4).
    check(
        &dir,
        "pypi/urllib3-1.24.1-py2.py3-none-any.whl",
        "PyPI",
        "urllib3",
        "1.24.1",
        &[
            "PYSEC-2019-132",
            "PYSEC-2019-133",
            "PYSEC-2020-148",
            "PYSEC-2021-108",
            "PYSEC-2023-192",
            "PYSEC-2023-207",
            "PYSEC-2023-212",
        ],
    )
    .await;
    // requests 2.19.1: PYSEC-2018-28 (0 → 2.20.0), PYSEC-2023-74 (2.3.0 → 2.31.0); not PYSEC-2014-13/14
    // (→ 2.3.0), PYSEC-2015-17 (2.1.0 → 2.6.0).
    check(
        &dir,
        "pypi/requests-2.19.1-py2.py3-none-any.whl",
        "PyPI",
        "requests",
        "2.19.1",
        &["PYSEC-2018-28", "PYSEC-2023-74"],
    )
    .await;
    // PyYAML 5.3, the sdist (PKG-INFO inside a .tar.gz): PYSEC-2021-142 (0 → 5.4), PYSEC-2020-96 (5.1 →
    // 5.3.1); not PYSEC-2020-176 (5.1 → 5.2b1: 5.3 is after the prerelease fix), PYSEC-2018-49 (→ 5.1).
    check(
        &dir,
        "pypi/PyYAML-5.3.tar.gz",
        "PyPI",
        "PyYAML",
        "5.3",
        &["PYSEC-2020-96", "PYSEC-2021-142"],
    )
    .await;
    // No false positive: urllib3 1.26.18 is past every fix of this (2024-10) snapshot.
    let s = check(
        &dir,
        "pypi/urllib3-1.26.18-py2.py3-none-any.whl",
        "PyPI",
        "urllib3",
        "1.26.18",
        &[],
    )
    .await;
    assert!(s.vulns.is_empty(), "{:?}", s.vulns);
}

#[tokio::test]
async fn npm_tarballs() {
    let Some(dir) = packages_dir() else { return };
    // lodash 4.17.15: GHSA-p6mc-m468-83gw (3.7.0 → 4.17.19), GHSA-29mw-wpgm-hmr9 and GHSA-35jh-r3h4-6jhm
    // (0 → 4.17.21); not GHSA-jf85-cpcp-j695 (→ 4.17.12), GHSA-4xc9/x5rq (→ 4.17.11), GHSA-fvqr (→ 4.17.5).
    check(
        &dir,
        "npm/lodash-4.17.15.tgz",
        "npm",
        "lodash",
        "4.17.15",
        &[
            "GHSA-29mw-wpgm-hmr9",
            "GHSA-35jh-r3h4-6jhm",
            "GHSA-p6mc-m468-83gw",
        ],
    )
    .await;
    // The fixed release: nothing.
    let s = check(
        &dir,
        "npm/lodash-4.17.21.tgz",
        "npm",
        "lodash",
        "4.17.21",
        &[],
    )
    .await;
    assert!(s.vulns.is_empty(), "{:?}", s.vulns);
    // minimist 1.2.0: GHSA-vh95-rmgr-6w4m (1.0.0 → 1.2.3), GHSA-xvch-5gv4-984h (1.0.0 → 1.2.6).
    check(
        &dir,
        "npm/minimist-1.2.0.tgz",
        "npm",
        "minimist",
        "1.2.0",
        &["GHSA-vh95-rmgr-6w4m", "GHSA-xvch-5gv4-984h"],
    )
    .await;
    // node-fetch 2.6.0: GHSA-w7rc-rwvf-8q5r (0 → 2.6.1), GHSA-r683-j2x4-v87g (0 → 2.6.7); not the 3.x-only
    // GHSA-vp56-6g26-6827.
    check(
        &dir,
        "npm/node-fetch-2.6.0.tgz",
        "npm",
        "node-fetch",
        "2.6.0",
        &["GHSA-r683-j2x4-v87g", "GHSA-w7rc-rwvf-8q5r"],
    )
    .await;
}

#[tokio::test]
async fn crates() {
    let Some(dir) = packages_dir() else { return };
    // smallvec 1.6.0: RUSTSEC-2021-0003 and its GHSA (1.0.0 → 1.6.1); not RUSTSEC-2018-0018 (→ 0.6.13),
    // RUSTSEC-2019-0009/0012 (0.6.x).
    check(
        &dir,
        "crates/smallvec-1.6.0.crate",
        "crates.io",
        "smallvec",
        "1.6.0",
        &["GHSA-43w2-9j62-hq99", "RUSTSEC-2021-0003"],
    )
    .await;
    // time 0.2.22: RUSTSEC-2020-0071 (0.2.7-0 → 0.2.23) and GHSA-wcg3-cvx6-7396 (0.2.7 → 0.2.23); not
    // RUSTSEC-2026-0009 (0.3.6 → 0.3.47).
    check(
        &dir,
        "crates/time-0.2.22.crate",
        "crates.io",
        "time",
        "0.2.22",
        &["GHSA-wcg3-cvx6-7396", "RUSTSEC-2020-0071"],
    )
    .await;
    // regex 1.5.4: RUSTSEC-2022-0013 and GHSA-m5pq-gvj9-9vr8 (0 → 1.5.5). The crate ships its Cargo.lock,
    // whose rand 0.8.3 is in RUSTSEC-2026-0097 (0.7.0 → 0.8.6): the only other advisory of the artifact.
    let s = check(
        &dir,
        "crates/regex-1.5.4.crate",
        "crates.io",
        "regex",
        "1.5.4",
        &["GHSA-m5pq-gvj9-9vr8", "RUSTSEC-2022-0013"],
    )
    .await;
    assert_eq!(
        s.ids("crates.io", "rand", "0.8.3"),
        set(&["RUSTSEC-2026-0097"])
    );
    assert_eq!(
        s.all_ids(),
        set(&[
            "GHSA-m5pq-gvj9-9vr8",
            "RUSTSEC-2022-0013",
            "RUSTSEC-2026-0097"
        ])
    );
}

#[tokio::test]
async fn debian_packages() {
    let Some(dir) = packages_dir() else { return };
    // libodbc2 and unixodbc-common are built from the source package `unixodbc`, which CVE-2024-1013 names
    // (Debian:10, introduced 0, no fix). A .deb file carries no release, so the advisory's release does not
    // narrow it: both match through their source name.
    for (file, name) in [
        ("deb/libodbc2_2.3.11-2+deb12u1_amd64.deb", "libodbc2"),
        (
            "deb/unixodbc-common_2.3.11-2+deb12u1_all.deb",
            "unixodbc-common",
        ),
    ] {
        let s = check(
            &dir,
            file,
            "Debian",
            name,
            "2.3.11-2+deb12u1",
            &["CVE-2024-1013"],
        )
        .await;
        let pkg = s.packages.iter().find(|p| p.package.name == name).unwrap();
        assert_eq!(pkg.source_name.as_deref(), Some("unixodbc"));
    }
}

#[tokio::test]
async fn jars_inside_debian_packages() {
    let Some(dir) = packages_dir() else { return };
    // libcommons-compress-java 1.22-1 ships /usr/share/java/commons-compress.jar, whose
    // META-INF/maven/.../pom.properties names org.apache.commons:commons-compress 1.22: GHSA-4g9r-vxhx-9pgx
    // (1.3 → 1.26.0), GHSA-4265-ccf5-phj5 (1.21 → 1.26.0), GHSA-cgwf-w82q-5jrr (1.22 → 1.24.0); not the
    // five fixed by 1.21 or earlier (GHSA-xqfj, crv7, 7hfm, mc84: → 1.21; 53x6: 1.15 → 1.19).
    let s = check(
        &dir,
        "deb/libcommons-compress-java_1.22-1_all.deb",
        "Maven",
        "org.apache.commons:commons-compress",
        "1.22",
        &[
            "GHSA-4265-ccf5-phj5",
            "GHSA-4g9r-vxhx-9pgx",
            "GHSA-cgwf-w82q-5jrr",
        ],
    )
    .await;
    assert!(s.has_package("Debian", "libcommons-compress-java", "1.22-1"));
    let jar = s
        .packages
        .iter()
        .find(|p| p.package.name == "org.apache.commons:commons-compress")
        .unwrap();
    assert!(
        jar.location
            .contains("commons-compress.jar!/META-INF/maven/"),
        "{}",
        jar.location
    );
    assert_eq!(
        s.all_ids(),
        set(&[
            "GHSA-4265-ccf5-phj5",
            "GHSA-4g9r-vxhx-9pgx",
            "GHSA-cgwf-w82q-5jrr"
        ])
    );
}
