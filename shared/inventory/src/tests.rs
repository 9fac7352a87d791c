//! Unit tests: each extractor on real-shaped input built in the test, malformed input (an EntryError, never
//! a panic, and the walk goes on), container images through the core reader (layers, whiteouts), jars
//! (nested, pom.properties, MANIFEST.MF and file-name fallbacks), binaries, and the CycloneDX output.

use std::io::{Cursor, Write};
use std::path::Path;
use std::sync::Arc;

use portcullis_core::reader::{WalkOptions, walk_path};
use portcullis_core::{
    ArtifactRef, LocalFileRef, Package, Policy, SecurityTool, ToolConfiguration, ToolContext,
};
use serde_json::Value;

use super::*;

fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = ::tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = ::tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(::tar::EntryType::Regular);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = ::zip::write::SimpleFileOptions::default()
        .compression_method(::zip::CompressionMethod::Deflated);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn scan_bytes(name: &str, data: &[u8]) -> PackageScan {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, data).unwrap();
    scan_path(&p, name)
}

fn scan_path(p: &Path, name: &str) -> PackageScan {
    let mut v = PackageVisitor::new();
    let report = walk_path(p, name, &WalkOptions::new(Default::default()), &mut v).unwrap();
    assert!(report.complete(), "{:?}", report.issues);
    v.finish()
}

fn ids(scan: &PackageScan) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = scan
        .packages
        .iter()
        .map(|p| {
            (
                p.package.ecosystem.clone(),
                p.package.name.clone(),
                p.package.version.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

fn find<'a>(scan: &'a PackageScan, name: &str) -> &'a Package {
    scan.packages
        .iter()
        .find(|p| p.package.name == name)
        .unwrap_or_else(|| panic!("{name} not in {:?}", ids(scan)))
}

const DPKG_STATUS: &[u8] = b"Package: bash\nStatus: install ok installed\nVersion: 5.1-2+deb11u1\nDescription: GNU shell\n more text\n\nPackage: libc6\nStatus: install ok installed\nSource: glibc\nVersion: 2.31-13+deb11u5\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n";

#[test]
fn image_layers_and_whiteouts_are_honoured() {
    // GIVEN a docker-save image: the base layer has dpkg status and an npm package, the top layer
    // deletes the npm package (whiteout) and adds a Cargo.lock
    let base = tar(&[
        ("var/lib/dpkg/status", DPKG_STATUS),
        (
            "usr/lib/node_modules/left-pad/package.json",
            br#"{"name":"left-pad","version":"1.3.0","license":"WTFPL"}"#,
        ),
        (
            "usr/lib/node_modules/ok/package.json",
            br#"{"name":"ok","version":"2.0.0"}"#,
        ),
    ]);
    let top = tar(&[
        ("usr/lib/node_modules/.wh.left-pad", b""),
        ("srv/app/Cargo.lock", b"version = 4\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.228\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"),
    ]);
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let manifest = serde_json::json!([{ "Config": "config.json", "RepoTags": ["t:1"], "Layers": ["base/layer.tar", "top/layer.tar"] }]);
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let image = tar(&[
        ("config.json", config),
        ("base/layer.tar", &base),
        ("top/layer.tar", &gz(&top)),
        ("manifest.json", &manifest),
    ]);
    // WHEN the inventory walks it
    let scan = scan_bytes("image.tar", &image);
    // THEN the installed packages are attributed to their layers and the deleted one is gone
    assert_eq!(
        ids(&scan),
        vec![
            ("Debian".into(), "bash".into(), "5.1-2+deb11u1".into()),
            ("Debian".into(), "libc6".into(), "2.31-13+deb11u5".into()),
            ("crates.io".into(), "serde".into(), "1.0.228".into()),
            ("npm".into(), "ok".into(), "2.0.0".into()),
        ]
    );
    let libc = find(&scan, "libc6");
    assert_eq!(libc.source_name.as_deref(), Some("glibc"));
    assert_eq!(libc.layer.as_deref(), Some("base"));
    assert_eq!(libc.location, "image.tar!/var/lib/dpkg/status");
    assert_eq!(
        libc.package.purl.as_deref(),
        Some("pkg:deb/debian/libc6@2.31-13%2Bdeb11u5")
    );
    assert_eq!(find(&scan, "serde").layer.as_deref(), Some("top"));
    assert_eq!(find(&scan, "serde").found_by, "rust/cargo-lock");
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
}

fn jar_with_pom(g: &str, a: &str, v: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let props = format!("groupId={g}\nartifactId={a}\nversion={v}\n");
    let path = format!("META-INF/maven/{g}/{a}/pom.properties");
    let mut members: Vec<(&str, &[u8])> = vec![(path.as_str(), props.as_bytes())];
    members.extend_from_slice(extra);
    zip(&members)
}

#[test]
fn fat_jar_nested_jars_and_fallbacks() {
    // GIVEN a Spring-Boot-style fat jar: its own pom.properties, a shaded dependency's pom.properties,
    // a nested jar with metadata, one with only a MANIFEST.MF and one with neither
    let guava = jar_with_pom("com.google.guava", "guava", "31.1-jre", &[]);
    let osgi = zip(&[(
        "META-INF/MANIFEST.MF",
        b"Manifest-Version: 1.0\r\nBundle-SymbolicName: org.acme.osgi.util;singleton:=true\r\nBundle-Version: 4.2.0\r\nBundle-License: Apache-2.0\r\n",
    )]);
    let plain = zip(&[("x/Y.class", b"\xca\xfe\xba\xbe")]);
    // like Debian's guice.jar: only the shaded dependency's pom.properties, its own identity in the manifest
    let shaded = zip(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\nBundle-SymbolicName: com.google.inject\nBundle-Version: 4.2.3\n"),
        ("META-INF/maven/cglib/cglib/pom.properties", b"groupId=cglib\nartifactId=cglib\nversion=3.2.12\n"),
    ]);
    let shaded_props = b"groupId=org.shaded\nartifactId=inner\nversion=0.9\n";
    let fat = jar_with_pom(
        "com.acme",
        "app",
        "1.0.0",
        &[
            ("META-INF/maven/org.shaded/inner/pom.properties", shaded_props),
            ("META-INF/maven/com.acme/app/pom.xml", b"<project><dependencies><dependency><groupId>x</groupId><artifactId>y</artifactId><version>1</version></dependency></dependencies></project>"),
            ("BOOT-INF/lib/guava-31.1-jre.jar", &guava),
            ("BOOT-INF/lib/osgi-util.jar", &osgi),
            ("BOOT-INF/lib/plain-lib-2.3.4.jar", &plain),
            ("BOOT-INF/lib/guice.jar", &shaded),
        ],
    );
    let scan = scan_bytes("app-1.0.0.jar", &fat);
    assert_eq!(
        ids(&scan),
        vec![
            ("Maven".into(), "cglib:cglib".into(), "3.2.12".into()),
            ("Maven".into(), "com.acme:app".into(), "1.0.0".into()),
            (
                "Maven".into(),
                "com.google.guava:guava".into(),
                "31.1-jre".into()
            ),
            (
                "Maven".into(),
                "com.google.inject:guice".into(),
                "4.2.3".into()
            ),
            (
                "Maven".into(),
                "org.acme.osgi.util:osgi-util".into(),
                "4.2.0".into()
            ),
            ("Maven".into(), "org.shaded:inner".into(), "0.9".into()),
            ("Maven".into(), "plain-lib".into(), "2.3.4".into()),
        ],
        "the pom.xml inside the jar lists dependencies, not contents, and is not read"
    );
    assert!(
        !find(&scan, "com.acme:app").inferred,
        "pom.properties is declared metadata"
    );
    let guava = find(&scan, "com.google.guava:guava");
    assert_eq!(
        guava.location,
        "app-1.0.0.jar!/BOOT-INF/lib/guava-31.1-jre.jar!/META-INF/maven/com.google.guava/guava/pom.properties"
    );
    assert_eq!(
        guava.package.purl.as_deref(),
        Some("pkg:maven/com.google.guava/guava@31.1-jre")
    );
    let osgi = find(&scan, "org.acme.osgi.util:osgi-util");
    assert_eq!(
        (
            osgi.found_by.as_str(),
            osgi.inferred,
            osgi.license.as_deref()
        ),
        ("java/manifest", true, Some("Apache-2.0"))
    );
    let plain = find(&scan, "plain-lib");
    assert_eq!(
        (plain.found_by.as_str(), plain.inferred),
        ("java/jar-filename", true)
    );
    assert_eq!(
        plain.location,
        "app-1.0.0.jar!/BOOT-INF/lib/plain-lib-2.3.4.jar"
    );
}

#[test]
fn npm_tarball_wheel_sdist_crate_and_gem() {
    let npm = gz(&tar(&[(
        "package/package.json",
        br#"{"name":"@scope/pkg","version":"1.2.3","license":"MIT"}"#,
    )]));
    let scan = scan_bytes("pkg-1.2.3.tgz", &npm);
    let p = find(&scan, "@scope/pkg");
    assert_eq!(
        p.package.purl.as_deref(),
        Some("pkg:npm/%40scope/pkg@1.2.3")
    );
    assert_eq!(p.license.as_deref(), Some("MIT"));

    let wheel = zip(&[
        ("Foo_Bar/__init__.py", b""),
        ("Foo_Bar-2.0.1.dist-info/METADATA", b"Metadata-Version: 2.4\nName: Foo_Bar\nVersion: 2.0.1\nLicense-Expression: BSD-3-Clause\n\nLong: description\nName: not-this\n"),
    ]);
    let scan = scan_bytes("Foo_Bar-2.0.1-py3-none-any.whl", &wheel);
    assert_eq!(
        ids(&scan),
        vec![("PyPI".into(), "Foo_Bar".into(), "2.0.1".into())]
    );
    let p = &scan.packages[0];
    assert_eq!(
        p.package.purl.as_deref(),
        Some("pkg:pypi/foo-bar@2.0.1"),
        "PEP 503 name in the purl"
    );
    assert_eq!(p.license.as_deref(), Some("BSD-3-Clause"));

    let sdist = gz(&tar(&[
        (
            "foo-1.0/PKG-INFO",
            b"Metadata-Version: 1.1\nName: foo\nVersion: 1.0\n",
        ),
        ("foo-1.0/setup.py", b""),
    ]));
    assert_eq!(
        ids(&scan_bytes("foo-1.0.tar.gz", &sdist)),
        vec![("PyPI".into(), "foo".into(), "1.0".into())]
    );

    let krate = gz(&tar(&[(
        "itoa-1.0.15/Cargo.toml",
        b"[package]\nedition = \"2018\"\nname = \"itoa\"\nversion = \"1.0.15\"\nlicense = \"MIT OR Apache-2.0\"\n",
    )]));
    let scan = scan_bytes("itoa-1.0.15.crate", &krate);
    assert_eq!(
        ids(&scan),
        vec![("crates.io".into(), "itoa".into(), "1.0.15".into())]
    );
    assert_eq!(
        scan.packages[0].license.as_deref(),
        Some("MIT OR Apache-2.0")
    );

    let gems = tar(&[(
        "usr/local/bundle/specifications/rake-13.0.6.gemspec",
        b"Gem::Specification.new do |s|\n  s.name = \"rake\".freeze\n  s.version = \"13.0.6\"\n  s.licenses = [\"MIT\".freeze]\nend\n",
    )]);
    let scan = scan_bytes("gems.tar", &gems);
    assert_eq!(
        ids(&scan),
        vec![("RubyGems".into(), "rake".into(), "13.0.6".into())]
    );
}

#[test]
fn requirements_note_unpinned_lines() {
    let t = tar(&[(
        "app/requirements.txt",
        b"Django==4.2.1 --hash=sha256:abc\nrequests>=2\nflask\n-r other.txt\n",
    )]);
    let scan = scan_bytes("src.tar", &t);
    assert_eq!(
        ids(&scan),
        vec![("PyPI".into(), "django".into(), "4.2.1".into())]
    );
    assert_eq!(scan.notes.len(), 2, "{:?}", scan.notes);
    assert!(scan.notes[0].message.contains("requests"));
}

#[test]
fn well_known_bundles_get_their_real_maven_coordinates() {
    // GIVEN Debian's log4j 1.2 jar: no pom.properties, only a manifest with Bundle-SymbolicName org.apache.log4j
    let log4j = zip(&[(
        "META-INF/MANIFEST.MF",
        b"Manifest-Version: 1.0\nBundle-Name: Apache Log4j\nBundle-SymbolicName: org.apache.log4j\nBundle-Version: 1.2.17\nImplementation-Version: 1.2.17\n".as_slice(),
    )]);
    let scan = scan_bytes(
        "liblog4j.tar",
        &tar(&[("usr/share/java/log4j-1.2-1.2.17.jar", &log4j)]),
    );
    // THEN it is log4j:log4j (what the advisories name), not a guess from the symbolic name
    assert_eq!(
        ids(&scan),
        vec![("Maven".into(), "log4j:log4j".into(), "1.2.17".into())]
    );
    assert!(find(&scan, "log4j:log4j").inferred);
}

#[test]
fn requirements_includes_are_followed_or_reported() {
    // GIVEN requirements.txt including files after it (one nested), one before it, a missing one and one
    // outside the artifact; a constraints file is not an include
    let t = tar(&[
        ("app/reqs/early.txt", b"six==1.16.0\n".as_slice()),
        (
            "app/requirements.txt",
            b"-r base.txt\n--requirement=dev/extra.txt\n-r reqs/early.txt\n-c pins.txt\n\
              -r missing.txt\n-r ../../etc/x.txt\nDjango==4.2.1\n",
        ),
        ("app/base.txt", b"requests==2.19.1\n-r nested.txt\n"),
        ("app/nested.txt", b"idna==2.7\n"),
        ("app/dev/extra.txt", b"pytest==7.0.0\n"),
        ("app/pins.txt", b"urllib3==1.24.1\n"),
    ]);
    let scan = scan_bytes("src.tar", &t);
    // THEN the files after it are inventoried, with their own locations …
    assert_eq!(
        ids(&scan),
        vec![
            ("PyPI".into(), "django".into(), "4.2.1".into()),
            ("PyPI".into(), "idna".into(), "2.7".into()),
            ("PyPI".into(), "pytest".into(), "7.0.0".into()),
            ("PyPI".into(), "requests".into(), "2.19.1".into()),
        ]
    );
    assert_eq!(find(&scan, "idna").location, "src.tar!/app/nested.txt");
    // … and each include that could not be followed is an entry error saying why
    let errs: Vec<&str> = scan.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert!(
        errs.iter()
            .any(|m| m.contains("`../../etc/x.txt` points outside")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|m| m.contains("src.tar!/app/missing.txt` is not in the artifact")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|m| m.contains("src.tar!/app/reqs/early.txt` came before")),
        "{errs:?}"
    );
}

#[test]
fn alpine_and_deb_and_rpm_packages() {
    let apk = tar(&[(
        "lib/apk/db/installed",
        b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\n\nP:busybox-binsh\nV:1.36.1-r5\nL:GPL-2.0-only\no:busybox\n",
    )]);
    let scan = scan_bytes("alpine.tar", &apk);
    let bb = find(&scan, "busybox-binsh");
    assert_eq!(
        (bb.source_name.as_deref(), bb.license.as_deref()),
        (Some("busybox"), Some("GPL-2.0-only"))
    );
    assert_eq!(
        bb.package.purl.as_deref(),
        Some("pkg:apk/alpine/busybox-binsh@1.36.1-r5")
    );

    // .deb: ar(debian-binary, control.tar.gz(./control), data.tar.gz)
    let control = gz(&tar(&[(
        "./control",
        b"Package: hello\nVersion: 2.10-3\nSource: hello-src (2.10-3)\nArchitecture: amd64\n",
    )]));
    let data = gz(&tar(&[("./usr/bin/hello", b"#!/bin/sh\n")]));
    let mut deb = b"!<arch>\n".to_vec();
    for (name, body) in [
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar.gz", control),
        ("data.tar.gz", data),
    ] {
        deb.extend_from_slice(
            format!(
                "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                0,
                0,
                0,
                100644,
                body.len()
            )
            .as_bytes(),
        );
        deb.extend_from_slice(&body);
        if body.len() % 2 == 1 {
            deb.push(b'\n');
        }
    }
    let scan = scan_bytes("hello_2.10-3_amd64.deb", &deb);
    let h = find(&scan, "hello");
    assert_eq!(
        (h.package.version.as_str(), h.source_name.as_deref()),
        ("2.10-3", Some("hello-src"))
    );
    assert_eq!(h.found_by, "debian/deb-control");

    // RPM header (the reader's `<rpm-header>` entry) parsed directly
    let hdr = rpm_header(&[
        (1000, 6, b"bash\0".to_vec()),
        (1001, 6, b"5.1.8\0".to_vec()),
        (1002, 6, b"6.el9\0".to_vec()),
        (1003, 4, 1u32.to_be_bytes().to_vec()),
        (1011, 6, b"Red Hat, Inc.\0".to_vec()),
        (1014, 6, b"GPLv3+\0".to_vec()),
        (1044, 6, b"bash-5.1.8-6.el9.src.rpm\0".to_vec()),
    ]);
    let entry = entry_info("x.rpm!/<rpm-header>");
    let out = (extract::rpm::RPM_HEADER.extract)(&entry, &hdr).unwrap();
    let f = &out.packages[0];
    assert_eq!(
        (f.ecosystem.as_str(), f.name.as_str(), f.version.as_str()),
        ("Red Hat", "bash", "1:5.1.8-6.el9")
    );
    assert_eq!(
        (f.source_name.as_deref(), f.license.as_deref()),
        (Some("bash"), Some("GPLv3+"))
    );
}

fn entry_info(path: &str) -> EntryInfo {
    EntryInfo {
        path: path.to_string(),
        name: path.rsplit(['/', '!']).next().unwrap().to_string(),
        declared_size: None,
        format: Format::Binary,
        depth: 1,
        layer: None,
        kind: portcullis_core::reader::EntryKind::File,
    }
}

fn rpm_header(tags: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    let mut index = Vec::new();
    let mut store = Vec::new();
    for (tag, ty, data) in tags {
        if *ty == 4 {
            while !store.len().is_multiple_of(4) {
                store.push(0);
            }
        }
        index.extend_from_slice(&tag.to_be_bytes());
        index.extend_from_slice(&ty.to_be_bytes());
        index.extend_from_slice(&(store.len() as u32).to_be_bytes());
        index.extend_from_slice(&1u32.to_be_bytes());
        store.extend_from_slice(data);
    }
    let mut out = vec![0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
    out.extend_from_slice(&(tags.len() as u32).to_be_bytes());
    out.extend_from_slice(&(store.len() as u32).to_be_bytes());
    out.extend_from_slice(&index);
    out.extend_from_slice(&store);
    out
}

/// A minimal ELF64 with a `.dep-v0` section (what cargo-auditable embeds).
fn elf_with_section(name: &str, body: &[u8]) -> Vec<u8> {
    let shstrtab = format!("\0.shstrtab\0{name}\0").into_bytes();
    let mut out = vec![0u8; 64];
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 2; // 64-bit
    out[5] = 1; // little endian
    out[6] = 1;
    let body_off = out.len();
    out.extend_from_slice(body);
    let str_off = out.len();
    out.extend_from_slice(&shstrtab);
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let shoff = out.len();
    let mut sh = |name_off: u32, off: usize, size: usize| {
        let mut s = vec![0u8; 64];
        s[..4].copy_from_slice(&name_off.to_le_bytes());
        s[0x18..0x20].copy_from_slice(&(off as u64).to_le_bytes());
        s[0x20..0x28].copy_from_slice(&(size as u64).to_le_bytes());
        out.extend_from_slice(&s);
    };
    sh(0, 0, 0);
    sh(1, str_off, shstrtab.len());
    sh(11, body_off, body.len());
    out[0x28..0x30].copy_from_slice(&(shoff as u64).to_le_bytes());
    out[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
    out[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
    out[0x3e..0x40].copy_from_slice(&1u16.to_le_bytes());
    out
}

#[test]
fn cargo_auditable_section_is_read() {
    let json = br#"{"packages":[{"name":"mytool","version":"0.1.0","source":"local","root":true,"dependencies":[1]},{"name":"regex","version":"1.10.2","source":"crates.io"}]}"#;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(json).unwrap();
    let elf = elf_with_section(".dep-v0", &z.finish().unwrap());
    let scan = scan_bytes("mytool", &elf);
    assert_eq!(
        ids(&scan),
        vec![
            ("crates.io".into(), "mytool".into(), "0.1.0".into()),
            ("crates.io".into(), "regex".into(), "1.10.2".into())
        ]
    );
    assert_eq!(find(&scan, "regex").found_by, "rust/cargo-auditable");
}

#[test]
fn go_binaries_from_the_peer_corpus() {
    let bin = crate::fixture_tests::shared_data()
        .join("fixtures/osv-scanner-v1.9.2/fixtures/go/binaries/has-one-dep");
    let scan = scan_path(&bin, "has-one-dep");
    assert_eq!(
        ids(&scan),
        vec![
            (
                "Go".into(),
                "github.com/BurntSushi/toml".into(),
                "1.4.0".into()
            ),
            ("Go".into(), "stdlib".into(), "1.21.10".into())
        ]
    );
    assert_eq!(find(&scan, "stdlib").found_by, "go/buildinfo");
    assert_eq!(
        find(&scan, "github.com/BurntSushi/toml")
            .package
            .purl
            .as_deref(),
        Some("pkg:golang/github.com/BurntSushi/toml@1.4.0")
    );
}

#[test]
fn malformed_inputs_are_entry_errors_and_the_walk_goes_on() {
    // GIVEN an archive of broken package files next to one good one
    let bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\npackages: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
    let broken: Vec<(&str, &[u8])> = vec![
        (
            "a/package-lock.json",
            b"{\"lockfileVersion\": 3, \"packages\": {",
        ),
        ("b/Cargo.lock", b"[[package]\nname = "),
        ("c/pnpm-lock.yaml", bomb.as_bytes()),
        ("d/pom.xml", b"<project><dependencies><dependency>"),
        ("e/poetry.lock", b"[[package]]\nname = 1\n"),
        ("f/yarn.lock", b"\xff\xfe\x00garbage"),
        ("g/Pipfile.lock", b"[]"),
        (
            "h/packages.lock.json",
            b"{\"version\": 0, \"dependencies\": {}}",
        ),
        ("i/composer.lock", b"\"str\""),
        ("j/go.mod", b"\xff\xff"),
        (
            "k/x.cdx.json",
            b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"9.9\"}",
        ),
        ("l/specifications/x.gemspec", b"nothing here"),
        ("node_modules/bad/package.json", b"{not json"),
        ("lib/apk/db/installed", b"P:musl\nV:1.2.4-r2\n"),
    ];
    let t = tar(&broken);
    // WHEN it is walked
    let scan = scan_bytes("broken.tar", &t);
    // THEN every broken file is an entry error naming its extractor, and the good file is still read
    assert_eq!(
        ids(&scan),
        vec![("Alpine".into(), "musl".into(), "1.2.4-r2".into())]
    );
    let failed: Vec<&str> = scan.errors.iter().map(|e| e.path.as_str()).collect();
    for (name, _) in broken.iter().filter(|(n, _)| !n.starts_with("lib/apk")) {
        assert!(
            failed.contains(&format!("broken.tar!/{name}").as_str()),
            "{name} not reported: {:?}",
            scan.errors
        );
    }
    assert!(
        scan.errors
            .iter()
            .any(|e| e.message.starts_with("npm/pnpm-lock: invalid YAML")),
        "{:?}",
        scan.errors
    );
    // Truncated / garbage binary headers are errors too, without panics.
    for bad in [
        &b"\x8e\xad\xe8\x01\0\0\0\0\xff\xff\xff\xff\0\0\0\0"[..],
        b"\x8e\xad",
        b"",
    ] {
        assert!(
            (extract::rpm::RPM_HEADER.extract)(&entry_info("x.rpm!/<rpm-header>"), bad).is_err()
        );
    }
    let mut go = b"\xff Go buildinf:\x08\x02".to_vec();
    go.resize(32, 0);
    go.extend_from_slice(&[0xff, 0xff, 0xff]);
    assert!(extract::binary::go_buildinfo(&go).is_err());
    // Non-ASCII names do not trip byte-offset slicing.
    let y = "é@^1:\n  version \"1\"\n\n\"ü\":\n  version: 2\n";
    let out = (extract::npm::YARN_LOCK.extract)(&entry_info("y/yarn.lock"), y.as_bytes()).unwrap();
    let names: Vec<&str> = out.packages.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, vec!["é", "ü"]);
    assert!(extract::binary::elf_section(b"\x7fELF\x02\x01\x01truncated", ".dep-v0").is_none());
}

#[test]
fn files_no_extractor_wants_are_not_read() {
    let mut v = PackageVisitor::new();
    for name in [
        "README.md",
        "src/main.rs",
        "image.png",
        "package.json",
        "node_modules/uri-js/yarn.lock",
    ] {
        let e = entry_info(&format!("a.tar!/{name}"));
        assert!(!v.wants(&e), "{name}");
    }
    for name in [
        "node_modules/x/package.json",
        "package-lock.json",
        "var/lib/dpkg/status",
        "x.dist-info/METADATA",
    ] {
        assert!(v.wants(&entry_info(&format!("a.tar!/{name}"))), "{name}");
    }
}

fn artifact() -> ArtifactRef {
    ArtifactRef::Local(LocalFileRef {
        path: "dist/app.tar".into(),
        size: Some(10),
    })
}

#[test]
fn cyclonedx_output_shape_and_roundtrip() {
    let image = tar(&[
        ("var/lib/dpkg/status", DPKG_STATUS),
        (
            "app/node_modules/@types/node/package.json",
            br#"{"name":"@types/node","version":"20.1.0","license":"MIT"}"#,
        ),
        ("app/requirements.txt", b"Jinja2==3.1.4\n"),
    ]);
    let scan = scan_bytes("app.tar", &image);
    let meta = portcullis_core::ArtifactMetadata {
        sha256: Some("ab".repeat(32)),
        size: 10,
        format: Format::Tar,
    };
    let bom = to_cyclonedx(&scan.packages, &artifact(), Some(&meta));
    // Required fields of a CycloneDX 1.6 BOM and its components.
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.6");
    assert_eq!(bom["version"], 1);
    let serial = bom["serialNumber"].as_str().unwrap();
    let uuid = serial.strip_prefix("urn:uuid:").unwrap();
    let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
    assert_eq!(groups, vec![8, 4, 4, 4, 12]);
    assert!(
        uuid.as_bytes()[14] == b'5' && matches!(uuid.as_bytes()[19], b'8' | b'9' | b'a' | b'b'),
        "{uuid}"
    );
    assert_eq!(
        bom,
        to_cyclonedx(&scan.packages, &artifact(), Some(&meta)),
        "deterministic"
    );
    let subject = &bom["metadata"]["component"];
    assert_eq!(subject["name"], "app.tar");
    assert_eq!(subject["hashes"][0]["alg"], "SHA-256");
    let comps = bom["components"].as_array().unwrap();
    assert_eq!(comps.len(), scan.packages.len());
    let mut refs = std::collections::HashSet::new();
    for c in comps {
        assert_eq!(c["type"], "library");
        assert!(
            c["name"].is_string() && c["purl"].as_str().unwrap().starts_with("pkg:"),
            "{c}"
        );
        assert!(
            refs.insert(c["bom-ref"].as_str().unwrap().to_string()),
            "bom-refs are unique"
        );
        let props: Vec<&str> = c["properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(props.contains(&"portcullis:location"), "{props:?}");
    }
    let node = comps.iter().find(|c| c["name"] == "@types/node").unwrap();
    assert_eq!(node["licenses"][0]["expression"], "MIT");
    assert_eq!(node["purl"], "pkg:npm/%40types/node@20.1.0");
    // Reading our own output back gives the same package identities.
    let back = packages_from_sbom(&serde_json::to_vec(&bom).unwrap()).unwrap();
    let mut want: Vec<_> = scan
        .packages
        .iter()
        .map(|p| {
            (
                p.package.ecosystem.clone(),
                p.package.version.clone(),
                p.package.purl.clone(),
            )
        })
        .collect();
    let mut got: Vec<_> = back
        .iter()
        .map(|p| {
            (
                p.package.ecosystem.clone(),
                p.package.version.clone(),
                p.package.purl.clone(),
            )
        })
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert!(back.iter().all(|p| p.found_by == "sbom/cyclonedx"));
}

#[test]
fn spdx_and_cyclonedx_inputs() {
    let spdx = br#"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","packages":[
      {"SPDXID":"SPDXRef-1","name":"lodash","versionInfo":"4.17.21","licenseDeclared":"MIT",
       "externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:npm/lodash@4.17.21"}]},
      {"SPDXID":"SPDXRef-2","name":"log4j-core","versionInfo":"2.14.1","licenseDeclared":"NOASSERTION",
       "externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar"}]},
      {"SPDXID":"SPDXRef-3","name":"no-purl","versionInfo":"1"}]}"#;
    let pkgs = packages_from_sbom(spdx).unwrap();
    let got: Vec<_> = pkgs
        .iter()
        .map(|p| {
            (
                p.package.ecosystem.as_str(),
                p.package.name.as_str(),
                p.package.version.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("Maven", "org.apache.logging.log4j:log4j-core", "2.14.1"),
            ("npm", "lodash", "4.17.21")
        ]
    );
    assert_eq!(pkgs[1].license.as_deref(), Some("MIT"));
    assert!(pkgs[0].license.is_none());

    let cdx15 = br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
      {"type":"library","name":"requests","version":"2.31.0","purl":"pkg:pypi/requests@2.31.0",
       "licenses":[{"license":{"id":"Apache-2.0"}}],
       "components":[{"type":"library","name":"idna","version":"3.4","purl":"pkg:pypi/idna@3.4"}]},
      {"type":"library","name":"openssl","version":"3.0.11-1~deb12u2","purl":"pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64"}]}"#;
    // As an entry inside an artifact.
    let scan = scan_bytes("sbom.tar", &tar(&[("sbom/app.cdx.json", cdx15)]));
    assert_eq!(
        ids(&scan),
        vec![
            ("Debian".into(), "openssl".into(), "3.0.11-1~deb12u2".into()),
            ("PyPI".into(), "idna".into(), "3.4".into()),
            ("PyPI".into(), "requests".into(), "2.31.0".into()),
        ]
    );
    assert_eq!(
        find(&scan, "requests").license.as_deref(),
        Some("Apache-2.0")
    );
    // As the artifact itself.
    assert_eq!(scan_bytes("upload.json", cdx15).packages.len(), 3);
    // A JSON artifact that is not an SBOM is not an error.
    assert!(
        scan_bytes("data.json", br#"{"hello": "world"}"#)
            .errors
            .is_empty()
    );
    assert!(matches!(
        packages_from_sbom(br#"{"a":1}"#),
        Err(SbomError::Unsupported(_))
    ));
    assert!(matches!(packages_from_sbom(b"{"), Err(SbomError::Json(_))));
}

#[test]
fn tool_reports_packages_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bundle.tgz");
    let data = gz(&tar(&[
        (
            "app/yarn.lock",
            b"# yarn lockfile v1\n\nleft-pad@^1.3.0:\n  version \"1.3.0\"\n",
        ),
        ("README", b"hi\n"),
    ]));
    std::fs::write(&p, &data).unwrap();
    let artifact = ArtifactRef::Local(LocalFileRef {
        path: p.display().to_string(),
        size: Some(data.len() as u64),
    });
    let ctx = ToolContext::new(artifact, Arc::new(Policy::default_policy()), None);
    let tool = PackageInventoryTool;
    assert_eq!(tool.name(), "inventory/packages");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let config = ToolConfiguration {
        enabled: true,
        settings: Value::Null,
    };
    let result = rt
        .block_on(tool.analyze(Arc::new(portcullis_core::LocalFile::new(&p)), &config, &ctx))
        .unwrap();
    assert_eq!(
        result.status,
        portcullis_core::ToolStatus::Succeeded,
        "{:?}",
        result.findings
    );
    let inv = result.inventory.unwrap();
    assert_eq!(inv.packages.len(), 1);
    assert_eq!(inv.packages[0].location, "bundle.tgz!/app/yarn.lock");
    assert_eq!(inv.formats.values().sum::<u64>(), 2, "{:?}", inv.formats);
}

#[test]
fn cyclonedx_output_validates_against_the_1_6_schema() {
    // GIVEN the official CycloneDX 1.6 JSON schema (vendored, with its spdx and jsf sub-schemas)
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cyclonedx-1.6");
    let load = |f: &str| -> Value {
        serde_json::from_slice(&std::fs::read(dir.join(f)).unwrap()).unwrap()
    };
    let schema = load("bom-1.6.SNAPSHOT.schema.json");
    let validator = jsonschema::options()
        .with_resource(
            "http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json",
            jsonschema::Resource::from_contents(load("spdx.SNAPSHOT.schema.json")).unwrap(),
        )
        .with_resource(
            "http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json",
            jsonschema::Resource::from_contents(load("jsf-0.82.SNAPSHOT.schema.json")).unwrap(),
        )
        .build(&schema)
        .unwrap();
    // WHEN a document with every kind of component (licences as ids, expressions and names, layers) is built
    let jar = zip(&[(
        "META-INF/MANIFEST.MF",
        b"Manifest-Version: 1.0\nBundle-SymbolicName: org.acme.x\nBundle-Version: 1.0\nBundle-License: https://www.apache.org/licenses/LICENSE-2.0.txt\n",
    )]);
    let t = tar(&[
        ("var/lib/dpkg/status", DPKG_STATUS),
        (
            "lib/apk/db/installed",
            b"P:musl\nV:1.2.4-r2\nL:MIT AND BSD-2-Clause\no:musl\n",
        ),
        (
            "n/node_modules/x/package.json",
            br#"{"name":"x","version":"1.0.0","license":"(MIT OR Apache-2.0)"}"#,
        ),
        ("lib/y.jar", &jar),
        ("lib/z-1.2.jar", &zip(&[("a", b"b")])),
    ]);
    let scan = scan_bytes("a.tar", &t);
    assert_eq!(scan.packages.len(), 6, "{:?}", ids(&scan));
    let bom = to_cyclonedx(&scan.packages, &artifact(), None);
    // THEN it is valid CycloneDX 1.6
    let errors: Vec<String> = validator
        .iter_errors(&bom)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // and an invalid document is rejected (the validator really checks)
    let mut broken = bom.clone();
    broken["components"][0]["type"] = Value::from("not-a-type");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn real_rpm_file_and_sqlite_rpmdb() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rpm");
    // GIVEN a real .rpm built by rpmbuild: the reader emits its header as `<rpm-header>`
    let scan = scan_path(
        &data.join("hello-portcullis-1.2.3-4.noarch.rpm"),
        "hello-portcullis-1.2.3-4.noarch.rpm",
    );
    assert_eq!(
        ids(&scan),
        vec![("RPM".into(), "hello-portcullis".into(), "2:1.2.3-4".into())]
    );
    let p = &scan.packages[0];
    assert_eq!(
        (p.license.as_deref(), p.source_name.as_deref()),
        (Some("MIT AND Apache-2.0"), Some("hello-portcullis"))
    );
    assert_eq!(
        p.location,
        "hello-portcullis-1.2.3-4.noarch.rpm!/<rpm-header>"
    );

    // GIVEN a Rocky 9 style image with the SQLite rpmdb rpm itself wrote
    let gz_db = std::fs::read(data.join("rpmdb.sqlite.gz")).unwrap();
    let mut db = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz_db[..]), &mut db).unwrap();
    let image = tar(&[
        (
            "etc/os-release",
            b"NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.3\"\n",
        ),
        ("var/lib/rpm/rpmdb.sqlite", &db),
    ]);
    let scan = scan_bytes("rocky.tar", &image);
    // THEN both installed packages are listed with the distribution's ecosystem
    assert_eq!(
        ids(&scan),
        vec![
            (
                "Rocky Linux".into(),
                "hello-portcullis".into(),
                "2:1.2.3-4".into()
            ),
            ("Rocky Linux".into(), "tiny-lib".into(), "0.9-1".into()),
        ]
    );
    let tiny = find(&scan, "tiny-lib");
    assert_eq!(
        tiny.package.purl.as_deref(),
        Some("pkg:rpm/rocky/tiny-lib@0.9-1?distro=rocky-9.3")
    );
    assert_eq!(tiny.found_by, "rpm/rpmdb-sqlite");
    // A corrupt database is an entry error.
    let mut bad = b"SQLite format 3\0".to_vec();
    bad.resize(4096, 0xAB);
    let scan = scan_bytes("bad.tar", &tar(&[("var/lib/rpm/rpmdb.sqlite", &bad)]));
    assert!(scan.packages.is_empty());
    assert_eq!(scan.errors.len(), 1, "{:?}", scan.errors);
}

#[test]
fn pom_dependencies_without_a_version_number_are_not_packages() {
    // GIVEN a pom as Debian installs it under /usr/share/maven-repo (dependency versions rewritten to
    // `debian`) and one literal version
    let pom = br#"<project><modelVersion>4.0.0</modelVersion><groupId>log4j</groupId>
<artifactId>log4j</artifactId><version>1.2.17</version><dependencies>
<dependency><groupId>javax.mail</groupId><artifactId>mail</artifactId><version>debian</version></dependency>
<dependency><groupId>org.example</groupId><artifactId>lib</artifactId><version>1.4</version></dependency>
</dependencies></project>"#;
    let t = tar(&[(
        "usr/share/maven-repo/log4j/log4j/1.2.17/log4j-1.2.17.pom",
        pom,
    )]);
    // WHEN scanned THEN only the dependency with a real version is a package
    let scan = scan_bytes("deb-data.tar", &t);
    assert_eq!(
        ids(&scan),
        vec![("Maven".into(), "org.example:lib".into(), "1.4".into())]
    );
}
