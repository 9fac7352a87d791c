//! Format coverage of the safe reader: one fixture per format, generated in the test, walked through both
//! `walk_path` (file) and `walk_reader` (stream); plus the real docker-save tarballs of the shared test data.
#![allow(clippy::unwrap_used)]

mod reader_support;

use std::sync::Arc;

use portcullis_core::model::Format;
use portcullis_core::reader::EntryKind;
use reader_support::*;

fn both(bytes: &[u8], name: &str) -> Vec<(Via, portcullis_core::reader::WalkReport, Collect)> {
    walk_both(bytes, name, limits())
}

#[test]
fn zip_files_are_listed_with_content() {
    let z = zip(
        &[
            ("a.txt", b"alpha"),
            ("dir/", b""),
            ("dir/b.bin", &[0u8, 1, 2, 3]),
        ],
        false,
    );
    for (via, r, c) in both(&z, "s3://bucket/x/app.zip") {
        assert!(r.complete(), "{via:?}: {:?}", r.issues);
        assert_eq!(top_format(&r), Format::Zip);
        assert_eq!(c.text("app.zip!/a.txt"), "alpha");
        assert_eq!(c.files["app.zip!/dir/b.bin"], vec![0, 1, 2, 3]);
        assert_eq!(c.infos["app.zip!/dir/b.bin"].depth, 1);
        assert_eq!(c.infos["app.zip!/a.txt"].declared_size, Some(5));
        assert_eq!(c.other_kind("app.zip!/dir"), Some(EntryKind::Directory));
        assert_eq!(
            r.metadata.sha256.as_deref(),
            Some(sha256(&z).as_str()),
            "{via:?}"
        );
        assert_eq!(r.metadata.size, z.len() as u64);
    }
}

#[test]
fn jar_in_war_paths_nest() {
    let manifest = b"Manifest-Version: 1.0\nImplementation-Title: x\n";
    let jar = zip(
        &[
            ("META-INF/MANIFEST.MF", manifest),
            ("com/x/A.class", &[0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 61]),
        ],
        false,
    );
    let war = zip(
        &[
            ("WEB-INF/web.xml", b"<web-app/>"),
            ("WEB-INF/lib/x.jar", &jar),
        ],
        false,
    );
    for (via, r, c) in both(&war, "app.war") {
        assert!(r.complete(), "{via:?}: {:?}", r.issues);
        let p = "app.war!/WEB-INF/lib/x.jar!/META-INF/MANIFEST.MF";
        assert_eq!(c.files[p], manifest.to_vec(), "{via:?}");
        assert_eq!(c.infos[p].depth, 2);
        assert_eq!(
            c.infos["app.war!/WEB-INF/lib/x.jar!/com/x/A.class"].format,
            Format::Binary
        );
        assert!(
            c.containers
                .iter()
                .any(|i| i.path == "app.war!/WEB-INF/lib/x.jar" && i.format == Format::Zip)
        );
        assert!(
            !c.files.contains_key("app.war!/WEB-INF/lib/x.jar"),
            "a container is unpacked, not a leaf"
        );
    }
}

#[test]
fn tar_and_compressed_tars() {
    let t = tar(&[
        T::Dir("etc/"),
        T::File("etc/os-release", b"ID=debian\n"),
        T::Symlink("etc/alt", "os-release"),
        T::File("./usr/bin/tool", b"\x7fELF\x02\x01\x01rest"),
    ]);
    let cases: Vec<(&str, Vec<u8>, Format)> = vec![
        ("rootfs.tar", t.clone(), Format::Tar),
        ("rootfs.tar.gz", gz(&t), Format::Gzip),
        ("rootfs.tar.bz2", bz2(&t), Format::Bzip2),
        ("rootfs.tar.xz", xz(&t), Format::Xz),
        ("rootfs.tar.zst", zst(&t), Format::Zstd),
    ];
    for (name, bytes, fmt) in cases {
        for (via, r, c) in both(&bytes, name) {
            assert!(r.complete(), "{name} {via:?}: {:?}", r.issues);
            assert_eq!(top_format(&r), fmt);
            let prefix = name;
            assert_eq!(
                c.text(&format!("{prefix}!/etc/os-release")),
                "ID=debian\n",
                "{name} {via:?}"
            );
            let elf = &c.infos[&format!("{prefix}!/usr/bin/tool")];
            assert_eq!(elf.format, Format::Elf);
            assert_eq!(
                c.other_kind(&format!("{prefix}!/etc/alt")),
                Some(EntryKind::Symlink {
                    target: "os-release".into()
                })
            );
            if fmt != Format::Tar {
                // Compression layers count as depth; the tar inside a .gz is depth 1, its files depth 2.
                assert_eq!(elf.depth, 2, "{name}");
                assert!(
                    c.containers
                        .iter()
                        .any(|i| i.format == Format::Tar && i.name == "rootfs.tar"),
                    "{name}"
                );
            }
            assert_eq!(r.metadata.sha256.as_deref(), Some(sha256(&bytes).as_str()));
        }
    }
}

#[test]
fn multi_member_gzip_yields_both_members() {
    let mut two = gz(b"first member\n");
    two.extend_from_slice(&gz(b"second member\n"));
    for (via, r, c) in both(&two, "log.txt.gz") {
        assert!(r.complete(), "{via:?}: {:?}", r.issues);
        // A compressed leaf keeps the artifact's path; its name loses the suffix.
        assert_eq!(
            c.text("log.txt.gz"),
            "first member\nsecond member\n",
            "{via:?}"
        );
        assert_eq!(c.infos["log.txt.gz"].name, "log.txt");
    }
}

#[test]
fn single_compressed_files() {
    let payload = b"hello compressed world\n".repeat(100);
    for (name, bytes) in [
        ("a.txt.bz2", bz2(&payload)),
        ("a.txt.xz", xz(&payload)),
        ("a.txt.zst", zst(&payload)),
    ] {
        for (via, r, c) in both(&bytes, name) {
            assert!(r.complete(), "{name} {via:?}: {:?}", r.issues);
            assert_eq!(c.files[name], payload, "{name} {via:?}");
            assert_eq!(c.infos[name].format, Format::Text);
            assert_eq!(r.decompressed, payload.len() as u64);
        }
    }
}

#[test]
fn deb_members_and_their_tars_are_visible() {
    let control = tar(&[
        T::File("./control", b"Package: hello\nVersion: 1.0\n"),
        T::File("./md5sums", b"x  usr/bin/hello\n"),
    ]);
    let data = tar(&[
        T::Dir("./usr/"),
        T::Dir("./usr/bin/"),
        T::File("./usr/bin/hello", b"#!/bin/sh\necho hi\n"),
    ]);
    let deb = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", &gz(&control)),
        ("data.tar.xz", &xz(&data)),
    ]);
    for (via, r, c) in both(&deb, "hello_1.0_amd64.deb") {
        assert!(r.complete(), "{via:?}: {:?}", r.issues);
        assert_eq!(top_format(&r), Format::Ar);
        assert_eq!(c.text("hello_1.0_amd64.deb!/debian-binary"), "2.0\n");
        assert_eq!(
            c.text("hello_1.0_amd64.deb!/control.tar.gz!/control"),
            "Package: hello\nVersion: 1.0\n"
        );
        assert_eq!(
            c.text("hello_1.0_amd64.deb!/data.tar.xz!/usr/bin/hello"),
            "#!/bin/sh\necho hi\n",
            "{via:?}"
        );
    }
}

#[test]
fn rpm_payload_and_header_are_visible() {
    let pkg = rpm(
        "hello",
        &[
            ("./usr", 0o040755, b""),
            ("./usr/bin/hello", 0o100755, b"\x7fELF\x02\x01\x01hello"),
            ("./usr/share/doc/hello/README", 0o100644, b"read me\n"),
            ("./usr/bin/hi", 0o120777, b"hello"),
        ],
    );
    for (via, r, c) in both(&pkg, "hello-1.0-1.x86_64.rpm") {
        assert!(r.complete(), "{via:?}: {:?}", r.issues);
        assert_eq!(top_format(&r), Format::Rpm);
        let hdr = &c.files["hello-1.0-1.x86_64.rpm!/<rpm-header>"];
        assert_eq!(
            &hdr[..3],
            &[0x8e, 0xad, 0xe8],
            "the virtual entry is the main header"
        );
        assert!(hdr.windows(6).any(|w| w == b"hello\0"));
        assert_eq!(
            c.text("hello-1.0-1.x86_64.rpm!/usr/share/doc/hello/README"),
            "read me\n",
            "{via:?}"
        );
        assert_eq!(
            c.infos["hello-1.0-1.x86_64.rpm!/usr/bin/hello"].format,
            Format::Elf
        );
        assert_eq!(
            c.other_kind("hello-1.0-1.x86_64.rpm!/usr/bin/hi"),
            Some(EntryKind::Symlink {
                target: "hello".into()
            })
        );
        assert_eq!(
            c.other_kind("hello-1.0-1.x86_64.rpm!/usr"),
            Some(EntryKind::Directory)
        );
    }
}

#[test]
fn cpio_newc_and_odc() {
    let members: &[CpioMember<'_>] = &[
        ("etc", 0o040755, b""),
        ("etc/hosts", 0o100644, b"127.0.0.1 localhost\n"),
        ("odd", 0o100644, b"x"),
    ];
    for (name, bytes) in [
        ("initrd.cpio", cpio_newc(members)),
        ("old.cpio", cpio_odc(members)),
    ] {
        for (via, r, c) in both(&bytes, name) {
            assert!(r.complete(), "{name} {via:?}: {:?}", r.issues);
            assert_eq!(top_format(&r), Format::Cpio);
            assert_eq!(
                c.text(&format!("{name}!/etc/hosts")),
                "127.0.0.1 localhost\n"
            );
            assert_eq!(c.text(&format!("{name}!/odd")), "x");
            assert_eq!(c.files.len(), 2, "{name}: {:?}", c.paths());
        }
    }
}

fn three_layer_image() -> Vec<u8> {
    let base = tar(&[
        T::Dir("app/"),
        T::File("app/config.txt", b"old config\n"),
        T::File("app/deleted.txt", b"deleted later\n"),
        T::Dir("opt/data/"),
        T::File("opt/data/a.txt", b"a\n"),
        T::File("opt/data/b.txt", b"b\n"),
        T::File("etc/keep.txt", b"keep\n"),
    ]);
    let mid = tar(&[
        T::File("app/.wh.deleted.txt", b""),
        T::File("app/config.txt", b"new config\n"),
        T::File("opt/data/.wh..wh..opq", b""),
        T::File("opt/data/c.txt", b"c\n"),
    ]);
    let top = tar(&[T::File("bin/tool", b"tool\n")]);
    docker_save(&[("base", base), ("mid", mid), ("top", gz(&top))])
}

#[test]
fn docker_save_applies_whiteouts_and_attributes_layers() {
    let img = three_layer_image();
    for (via, r, c) in both(&img, "image.tar") {
        assert!(r.complete(), "{via:?}: {:?}", r.issues);
        assert_eq!(top_format(&r), Format::Tar, "the artifact's magic is tar");
        assert!(
            c.containers
                .iter()
                .any(|i| i.format == Format::DockerArchive),
            "{via:?}: recognised as an image"
        );
        let paths = c.paths();
        assert!(
            !paths.iter().any(|p| p.ends_with("deleted.txt")),
            "{via:?}: whiteout ignored: {paths:?}"
        );
        assert!(
            !paths
                .iter()
                .any(|p| p.ends_with("opt/data/a.txt") || p.ends_with("opt/data/b.txt")),
            "{paths:?}"
        );
        assert!(!paths.iter().any(|p| p.contains(".wh.")), "{paths:?}");
        assert_eq!(
            c.text("image.tar!/app/config.txt"),
            "new config\n",
            "{via:?}: upper layer wins"
        );
        assert_eq!(
            c.infos["image.tar!/app/config.txt"].layer.as_deref(),
            Some("mid")
        );
        assert_eq!(
            c.infos["image.tar!/opt/data/c.txt"].layer.as_deref(),
            Some("mid")
        );
        assert_eq!(
            c.infos["image.tar!/etc/keep.txt"].layer.as_deref(),
            Some("base")
        );
        assert_eq!(c.infos["image.tar!/bin/tool"].layer.as_deref(), Some("top"));
        assert!(
            c.files.contains_key("image.tar!/config.json"),
            "the config is scanned: {paths:?}"
        );
        let old = c
            .files
            .values()
            .filter(|v| v.as_slice() == b"old config\n")
            .count();
        assert_eq!(old, 0, "the overwritten lower copy is not reported");
    }
}

#[test]
fn oci_layout_walks_index_manifest_and_layers() {
    let l1 = tar(&[
        T::File("etc/issue", b"Debian\n"),
        T::File("etc/gone", b"x\n"),
    ]);
    let l2 = tar(&[
        T::File("etc/.wh.gone", b""),
        T::File("srv/app.py", b"print('hi')\n"),
    ]);
    let (img, digests) = oci_layout(&[l1, l2]);
    for (via, r, c) in both(&img, "oci.tar") {
        assert!(r.complete(), "{via:?}: {:?}", r.issues);
        assert!(
            c.containers.iter().any(|i| i.format == Format::OciLayout),
            "{via:?}"
        );
        assert_eq!(c.text("oci.tar!/etc/issue"), "Debian\n");
        assert_eq!(
            c.infos["oci.tar!/etc/issue"].layer.as_deref(),
            Some(digests[0].as_str())
        );
        assert_eq!(
            c.infos["oci.tar!/srv/app.py"].layer.as_deref(),
            Some(digests[1].as_str())
        );
        assert!(
            !c.files.contains_key("oci.tar!/etc/gone"),
            "{via:?}: {:?}",
            c.paths()
        );
    }
}

#[test]
fn inventory_tool_hashes_entries() {
    use portcullis_core::model::{ArtifactRef, LocalFileRef, ToolStatus};
    use portcullis_core::policy::Policy;
    use portcullis_core::tool::{LocalFile, ToolContext, run_walk};
    use portcullis_core::tools::inventory::InventoryVisitor;

    let inner = b"jar manifest\n".to_vec();
    let jar = zip(&[("META-INF/MANIFEST.MF", &inner)], false);
    let t = tar(&[T::File("lib/x.jar", &jar), T::File("README", b"readme\n")]);
    let tgz = gz(&t);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bundle.tgz");
    std::fs::write(&p, &tgz).unwrap();
    let policy = Arc::new(Policy::default_policy());
    let artifact = ArtifactRef::Local(LocalFileRef {
        path: p.display().to_string(),
        size: Some(tgz.len() as u64),
    });
    let ctx = ToolContext::new(artifact, policy, None);
    let source = LocalFile::new(&p);
    let result = run_walk(
        "inventory/entries",
        "test".into(),
        &source,
        &ctx,
        InventoryVisitor::default(),
        |v, _| portcullis_core::tool::VisitorOutput {
            inventory: Some(v.into_inventory()),
            ..Default::default()
        },
    );
    assert_eq!(
        result.status,
        ToolStatus::Succeeded,
        "{:?}",
        result.findings
    );
    let inv = result.inventory.unwrap();
    let by_path: std::collections::BTreeMap<_, _> =
        inv.entries.iter().map(|e| (e.path.as_str(), e)).collect();
    let m = by_path["bundle.tgz!/lib/x.jar!/META-INF/MANIFEST.MF"];
    assert_eq!(m.sha256, sha256(&inner));
    assert_eq!(m.size, inner.len() as u64);
    assert_eq!(by_path["bundle.tgz!/README"].sha256, sha256(b"readme\n"));
    assert_eq!(result.artifact.unwrap().sha256.unwrap(), sha256(&tgz));
}

// --- real docker-save tarballs (osv-scalibr test data) --------------------------------------------------

fn scalibr(name: &str) -> std::path::PathBuf {
    let p = shared_data()
        .join("fixtures/osv-scalibr-image/artifact/image/layerscanning/image/testdata")
        .join(name);
    assert!(p.exists(), "shared test data missing: {}", p.display());
    p
}

/// Files (path below the image → content) of a real image, as its final (top) chain layer shows them.
fn image_files(name: &str) -> (portcullis_core::reader::WalkReport, Collect) {
    let (r, c) = walk_disk(&scalibr(name), name, limits());
    assert!(
        c.containers
            .iter()
            .any(|i| i.format == Format::DockerArchive),
        "{name}: not recognised as an image"
    );
    (r, c)
}

fn rel(c: &Collect, name: &str) -> Vec<(String, String)> {
    let prefix = format!("{name}!/");
    c.files
        .iter()
        .filter_map(|(p, v)| {
            p.strip_prefix(&prefix)
                .map(|r| (r.to_string(), String::from_utf8_lossy(v).into_owned()))
        })
        .filter(|(p, _)| !p.ends_with(".json"))
        .collect()
}

#[test]
fn scalibr_basic_and_two_layers() {
    // "image with two files": layer 2 adds larger-sample.txt on top of sample.txt.
    let (r, c) = image_files("basic.tar");
    assert!(r.complete(), "{:?}", r.issues);
    let files = rel(&c, "basic.tar");
    assert_eq!(
        files,
        vec![
            ("larger-sample.txt".into(), "sample text file\n".repeat(400)),
            ("sample.txt".into(), "sample text file\n".into())
        ]
    );
    let (_, c) = image_files("single-file.tar");
    assert_eq!(
        rel(&c, "single-file.tar"),
        vec![("foo.txt".into(), "foo\n".into())]
    );
    let (_, c) = image_files("multiple-files.tar");
    let names: Vec<String> = rel(&c, "multiple-files.tar")
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(names, vec!["dir1/bar.txt", "dir1/baz.txt", "foo.txt"]);
}

#[test]
fn scalibr_overwrite_is_attributed_to_the_upper_layer() {
    let (r, c) = image_files("overwrite-file.tar");
    assert!(r.complete(), "{:?}", r.issues);
    assert_eq!(
        rel(&c, "overwrite-file.tar"),
        vec![("sample.txt".into(), "overwritten sample text file\n".into())]
    );
    // Layers bottom-up per manifest.json: d8eba83b… then 34768a4b… (the upper one).
    let layer = c.infos["overwrite-file.tar!/sample.txt"]
        .layer
        .clone()
        .unwrap();
    assert!(layer.starts_with("34768a4be296"), "{layer}");
}

#[test]
fn scalibr_symlinks_are_reported_never_followed() {
    // symlink-basic: one file and four links; links are "other" entries with their stored targets.
    let (r, c) = image_files("symlink-basic.tar");
    assert!(r.complete(), "{:?}", r.issues);
    assert_eq!(
        rel(&c, "symlink-basic.tar"),
        vec![("dir1/sample.txt".into(), "sample text\n".into())]
    );
    assert_eq!(
        c.other_kind("symlink-basic.tar!/dir1/absolute-symlink.txt"),
        Some(EntryKind::Symlink {
            target: "/dir1/sample.txt".into()
        })
    );
    // symlink-attack: links pointing outside the root are listed as links, and no content is read through them.
    let (r, c) = image_files("symlink-attack.tar");
    assert!(rel(&c, "symlink-attack.tar").is_empty(), "{:?}", c.paths());
    assert!(matches!(
        c.other_kind("symlink-attack.tar!/dir1/attack-symlink.txt"),
        Some(EntryKind::Symlink { target }) if target == "../../secret.txt"
    ));
    // Documented: a link, even one pointing outside the root, is listed and never followed; nothing is
    // written through it, so the walk is clean.
    assert!(r.complete(), "{:?}", r.issues);
    // symlink-cycle and depth-exceeded: walking never resolves links, so cycles cannot hang it.
    for name in [
        "symlink-cycle.tar",
        "symlink-depth-exceeded.tar",
        "symlink-dangling.tar",
    ] {
        let (r, c) = image_files(name);
        assert!(!r.aborted, "{name}");
        assert!(
            c.others
                .iter()
                .any(|i| matches!(i.kind, EntryKind::Symlink { .. })),
            "{name}"
        );
    }
}

#[test]
fn scalibr_empty_tar_and_plain_image_streams() {
    // empty.tar is 10240 zero bytes (end-of-archive blocks only): no tar magic, so it is sniffed as opaque
    // binary and handed over whole — documented clean walk.
    let (r, c) = walk_disk(&scalibr("empty.tar"), "empty.tar", limits());
    assert_eq!(r.metadata.format, Format::Binary);
    assert!(r.complete(), "{:?}", r.issues);
    assert_eq!(c.files["empty.tar"].len(), 10240);
    // The same image through walk_reader (spooled) gives the same files as walk_path.
    let bytes = std::fs::read(scalibr("basic.tar")).unwrap();
    let (r, c) = walk_stream_with(
        &bytes,
        "basic.tar",
        &portcullis_core::reader::WalkOptions::new(limits()),
    );
    assert!(r.complete());
    assert_eq!(rel(&c, "basic.tar").len(), 2);
}
