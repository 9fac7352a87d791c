//! End-to-end tests of `license/spdx` through the reader: declared licences from several ecosystems, detected
//! texts, policy rules (deny, allow, unknown, report_all) and conformance (determinism, empty, oversized,
//! corrupt).

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use portcullis_core::model::{
    FindingDetail, LicenseRule, LicenseSource, ToolErrorKind, ToolResult, ToolStatus,
    UnscannableReason,
};
use portcullis_core::{LocalFile, Policy, SecurityTool, ToolConfiguration, ToolContext};
use portcullis_license::LicenseTool;

fn shared_data() -> PathBuf {
    match std::env::var_os("PORTCULLIS_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

fn licence_text(id: &str) -> Vec<u8> {
    let p = shared_data().join(format!(
        "licenses/spdx-license-list-XML/test/simpleTestForGenerator/{id}.txt"
    ));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn tar_gz(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn jar() -> Vec<u8> {
    let pom = "<project><groupId>org.acme</groupId><artifactId>widget</artifactId><version>1.2</version>\
        <licenses><license><name>Apache License, Version 2.0</name></license></licenses></project>";
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(
        "META-INF/maven/org.acme/widget/pom.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    w.write_all(pom.as_bytes()).unwrap();
    w.finish().unwrap().into_inner()
}

fn artifact() -> Vec<u8> {
    let pj = |name: &str, lic: Option<&str>| {
        let l = lic
            .map(|l| format!(",\"license\":\"{l}\""))
            .unwrap_or_default();
        format!("{{\"name\":\"{name}\",\"version\":\"1.0.0\"{l}}}").into_bytes()
    };
    tar_gz(&[
        ("app/node_modules/left-pad/package.json", pj("left-pad", Some("MIT"))),
        ("app/node_modules/agpl-thing/package.json", pj("agpl-thing", Some("AGPL-3.0-only"))),
        ("app/node_modules/dual/package.json", pj("dual", Some("MIT OR GPL-3.0-only"))),
        ("app/node_modules/mystery/package.json", pj("mystery", None)),
        ("app/node_modules/mystery/LICENSE", licence_text("MIT")),
        ("app/vendor/copyleft/COPYING", licence_text("AGPL-3.0-only")),
        (
            "app/lib/python3.12/site-packages/requests-2.32.0.dist-info/METADATA",
            b"Metadata-Version: 2.4\nName: requests\nVersion: 2.32.0\nLicense-Expression: Apache-2.0\n\nbody\n".to_vec(),
        ),
        ("app/lib/widget.jar", jar()),
        ("app/src/main.js", b"console.log('license');\n".to_vec()),
    ])
}

fn ctx_for(path: &std::path::Path, policy: Policy) -> ToolContext {
    ToolContext::for_local_file(path, Arc::new(policy))
}

fn null() -> ToolConfiguration {
    ToolConfiguration {
        enabled: true,
        settings: serde_json::Value::Null,
    }
}

/// (subject, expression, source, rule) per licence finding, sorted.
fn rows(r: &ToolResult) -> Vec<(String, String, LicenseSource, Option<LicenseRule>)> {
    let mut v: Vec<_> = r
        .findings
        .iter()
        .filter_map(|f| match &f.detail {
            FindingDetail::License(l) => Some((
                l.package
                    .as_ref()
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| f.location.clone().unwrap_or_default()),
                l.expression.clone(),
                l.source,
                l.violation.as_ref().map(|v| v.rule),
            )),
            _ => None,
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The licence tool with its default settings on `path` under `policy`.
fn analyze(path: &std::path::Path, policy: Policy) -> ToolResult {
    LicenseTool::new()
        .analyze_blocking(&LocalFile::new(path), &null(), &ctx_for(path, policy))
        .unwrap()
}

fn write_tmp(dir: &tempfile::TempDir, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, data).unwrap();
    p
}

#[test]
fn default_policy_reports_all_and_flags_denied_and_unknown() {
    // GIVEN an artifact with npm, PyPI and Maven metadata plus licence texts, under the default policy
    let dir = tempfile::tempdir().unwrap();
    let path = write_tmp(&dir, "app.tar.gz", &artifact());
    let r = analyze(&path, Policy::default_policy());
    assert_eq!(r.status, ToolStatus::Succeeded, "{r:?}");
    let got = rows(&r);
    let find = |subject: &str| {
        got.iter()
            .find(|g| g.0 == subject || g.0.ends_with(subject))
            .unwrap_or_else(|| panic!("{subject} missing in {got:?}"))
    };
    // THEN the AGPL package and the AGPL text are denied, the package without a licence is unknown …
    assert_eq!(find("agpl-thing").3, Some(LicenseRule::Denied));
    assert_eq!(find("COPYING").3, Some(LicenseRule::Denied));
    assert_eq!(find("COPYING").2, LicenseSource::Detected);
    assert_eq!(find("mystery").3, Some(LicenseRule::Unknown));
    // … OR with an acceptable choice passes, and everything identified is reported (report_all).
    assert_eq!(find("dual").3, None);
    assert_eq!(
        find("left-pad"),
        &(
            "left-pad".into(),
            "MIT".into(),
            LicenseSource::Declared,
            None
        )
    );
    assert_eq!(find("requests").1, "Apache-2.0");
    assert_eq!(find("org.acme:widget").1, "Apache-2.0");
    assert_eq!(find("mystery/LICENSE").1, "MIT");
    // The violation title names the package, the expression and the rule.
    let agpl = r
        .findings
        .iter()
        .find(|f| f.title.contains("agpl-thing"))
        .unwrap();
    assert!(
        agpl.title.contains("AGPL-3.0-only") && agpl.title.contains("denied"),
        "{}",
        agpl.title
    );
    let FindingDetail::License(l) = &agpl.detail else {
        panic!()
    };
    assert_eq!(
        l.violation.as_ref().unwrap().matched,
        vec!["AGPL-3.0-only".to_string()]
    );
    assert_eq!(
        l.package.as_ref().unwrap().purl.as_deref(),
        Some("pkg:npm/agpl-thing@1.0.0")
    );
}

#[test]
fn allow_list_and_quiet_reporting() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tmp(&dir, "app.tar.gz", &artifact());
    let policy = Policy::from_toml("version = 1\n[licenses]\nallow = [\"MIT\"]\ndeny = []\nunknown = \"allow\"\nreport_all = false\n").unwrap();
    let r = analyze(&path, policy);
    let got = rows(&r);
    // Only violations are reported; MIT and "MIT OR GPL-3.0-only" pass; unknown is allowed.
    assert!(
        got.iter().all(|g| g.3 == Some(LicenseRule::NotAllowed)),
        "{got:?}"
    );
    let subjects: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
    assert!(
        subjects.contains(&"agpl-thing")
            && subjects.contains(&"requests")
            && subjects.contains(&"org.acme:widget"),
        "{subjects:?}"
    );
    assert!(
        !subjects
            .iter()
            .any(|s| s.contains("left-pad") || s.contains("dual") || s.contains("mystery")),
        "{subjects:?}"
    );
}

fn stable_json(mut r: ToolResult) -> String {
    r.started_at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    r.stats.duration_ms = 0;
    serde_json::to_string(&r).unwrap()
}

#[test]
fn conformance_determinism_empty_oversized_corrupt_misconfigured() {
    let dir = tempfile::tempdir().unwrap();
    let tool = LicenseTool::new();
    let policy = Policy::default_policy;
    let path = write_tmp(&dir, "app.tar.gz", &artifact());
    let a = tool
        .analyze_blocking(&LocalFile::new(&path), &null(), &ctx_for(&path, policy()))
        .unwrap();
    let b = tool
        .analyze_blocking(&LocalFile::new(&path), &null(), &ctx_for(&path, policy()))
        .unwrap();
    assert_eq!(stable_json(a), stable_json(b));
    let empty = write_tmp(&dir, "empty", b"");
    let r = tool
        .analyze_blocking(&LocalFile::new(&empty), &null(), &ctx_for(&empty, policy()))
        .unwrap();
    assert_eq!(r.status, ToolStatus::Succeeded);
    assert!(r.findings.is_empty());
    let mut ctx = ctx_for(&path, policy());
    ctx.walk.limits.max_artifact_bytes = 16;
    let r = tool
        .analyze_blocking(&LocalFile::new(&path), &null(), &ctx)
        .unwrap();
    assert_ne!(r.status, ToolStatus::Succeeded);
    assert!(r.findings.iter().any(|f| matches!(&f.detail, FindingDetail::Unscannable(u) if u.reason == UnscannableReason::ArtifactTooLarge)));
    let full = artifact();
    let corrupt = write_tmp(&dir, "broken.tar.gz", &full[..full.len() / 2]);
    let r = tool
        .analyze_blocking(
            &LocalFile::new(&corrupt),
            &null(),
            &ctx_for(&corrupt, policy()),
        )
        .unwrap();
    assert_ne!(r.status, ToolStatus::Succeeded, "{r:?}");
    assert!(
        r.findings
            .iter()
            .any(|f| matches!(&f.detail, FindingDetail::Unscannable(_)))
            || !r.errors.is_empty()
    );
    let bad = ToolConfiguration {
        enabled: true,
        settings: serde_json::json!({"confidence": 3.0}),
    };
    let err = tool
        .analyze_blocking(&LocalFile::new(&path), &bad, &ctx_for(&path, policy()))
        .unwrap_err();
    assert_eq!(err.kind, ToolErrorKind::Misconfigured);
}

#[tokio::test]
async fn analyze_through_the_trait() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tmp(&dir, "app.tar.gz", &artifact());
    let tool = LicenseTool::new();
    assert_eq!(tool.name(), "license/spdx");
    assert_eq!(tool.slot(), "license");
    let source: Arc<dyn portcullis_core::ArtifactSource> = Arc::new(LocalFile::new(&path));
    let r = tool
        .analyze(source, &null(), &ctx_for(&path, Policy::default_policy()))
        .await
        .unwrap();
    assert!(rows(&r).len() >= 8);
}

#[test]
fn source_headers_are_detected_once_per_directory() {
    // GIVEN sources with SPDX tags and boilerplate notices in two directories (and a minified bundle)
    let tag =
        |expr: &str| format!("// SPDX-License-Identifier: {expr}\nfn f() {{}}\n").into_bytes();
    let gpl = b"# This program is free software; you can redistribute it and/or modify\n\
        # it under the terms of the GNU General Public License as published by\n\
        # the Free Software Foundation; either version 2 of the License, or\n\
        # (at your option) any later version.\nimport os\n"
        .to_vec();
    let apache = b"/*\n * Licensed under the Apache License, Version 2.0 (the \"License\");\n */\nclass A {}\n"
        .to_vec();
    let bytes = tar_gz(&[
        ("src/kernel/a.rs", tag("AGPL-3.0-only")),
        ("src/kernel/b.rs", tag("AGPL-3.0-only")),
        ("src/kernel/c.rs", tag("MIT OR Apache-2.0")),
        ("tools/build.py", gpl),
        ("java/A.java", apache),
        ("dist/app.min.js", tag("AGPL-3.0-only")),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = write_tmp(&dir, "src.tar.gz", &bytes);
    let r = analyze(&path, Policy::default_policy());
    assert_eq!(r.status, ToolStatus::Succeeded, "{r:?}");
    // THEN one finding per directory and expression, from the file that showed it first
    let got: Vec<(String, String, Option<LicenseRule>)> = rows(&r)
        .into_iter()
        .map(|(loc, expr, source, rule)| {
            assert_eq!(source, LicenseSource::Detected);
            (loc, expr, rule)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("src.tar.gz!/java/A.java".into(), "Apache-2.0".into(), None),
            (
                "src.tar.gz!/src/kernel/a.rs".into(),
                "AGPL-3.0-only".into(),
                Some(LicenseRule::Denied)
            ),
            (
                "src.tar.gz!/src/kernel/c.rs".into(),
                "MIT OR Apache-2.0".into(),
                None
            ),
            (
                "src.tar.gz!/tools/build.py".into(),
                "GPL-2.0-or-later".into(),
                None
            ),
        ]
    );
    let agpl = r
        .findings
        .iter()
        .find(|f| f.title.contains("AGPL"))
        .unwrap();
    assert!(agpl.title.starts_with("licence header "), "{}", agpl.title);
    // Headers can be switched off.
    let off = ToolConfiguration {
        enabled: true,
        settings: serde_json::json!({ "detect_headers": false }),
    };
    let r = LicenseTool::new()
        .analyze_blocking(
            &LocalFile::new(&path),
            &off,
            &ctx_for(&path, Policy::default_policy()),
        )
        .unwrap();
    assert!(rows(&r).is_empty(), "{:?}", rows(&r));
}

#[test]
fn debian_copyright_short_names_are_evaluated_as_spdx() {
    // GIVEN a rootfs with DEP-5 copyright files using Debian short names and `with … exception` clauses
    let dep5 = |licence: &str| {
        format!(
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n\
             Files: *\nCopyright: 2000 Someone\nLicense: {licence}\n"
        )
        .into_bytes()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = write_tmp(
        &dir,
        "rootfs.tar.gz",
        &tar_gz(&[
            ("usr/share/doc/git/copyright", dep5("GPL-1+ or Artistic-1")),
            (
                "usr/share/doc/bison/copyright",
                dep5("GPL-3+ with Bison exception"),
            ),
            ("usr/share/doc/odd/copyright", dep5("public-domain")),
        ]),
    );
    let r = analyze(&path, Policy::default_policy());
    let got: Vec<(String, String, Option<LicenseRule>)> =
        rows(&r).into_iter().map(|(s, e, _, v)| (s, e, v)).collect();
    // THEN the SPDX equivalents are identified (no violation), and only the name without one is unknown
    assert_eq!(
        got,
        vec![
            (
                "bison".into(),
                "GPL-3.0-or-later WITH Bison-exception-2.2".into(),
                None
            ),
            (
                "git".into(),
                "GPL-1.0-or-later OR Artistic-1.0".into(),
                None
            ),
            (
                "odd".into(),
                "LicenseRef-public-domain".into(),
                Some(LicenseRule::Unknown)
            ),
        ]
    );
}
