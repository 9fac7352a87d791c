//! Shared helpers of the reader test suites: in-test fixture builders (no binary fixtures are committed)
//! and a collecting visitor. Every archive is generated here byte by byte or with the crates' own writers.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{self, Cursor, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use portcullis_core::model::{Format, UnscannableReason};
use portcullis_core::reader::{
    EntryInfo, EntryKind, Limits, Visitor, WalkOptions, WalkReport, walk_path, walk_reader,
};
use sha2::{Digest, Sha256};

/// Records everything a walk shows.
#[derive(Debug, Default)]
pub struct Collect {
    /// Path → content of every file handed to `file`.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Path → entry info of every file.
    pub infos: BTreeMap<String, EntryInfo>,
    /// Directories, links, specials.
    pub others: Vec<EntryInfo>,
    /// Containers entered.
    pub containers: Vec<EntryInfo>,
}

impl Visitor for Collect {
    fn file(&mut self, entry: &EntryInfo, content: &mut dyn Read) -> io::Result<()> {
        let mut buf = Vec::new();
        let res = content.read_to_end(&mut buf);
        self.files.insert(entry.path.clone(), buf);
        self.infos.insert(entry.path.clone(), entry.clone());
        res.map(|_| ())
    }
    fn container(&mut self, entry: &EntryInfo) {
        self.containers.push(entry.clone());
    }
    fn other(&mut self, entry: &EntryInfo) {
        self.others.push(entry.clone());
    }
}

impl Collect {
    /// Content of `path` as text.
    pub fn text(&self, path: &str) -> String {
        let bytes = self.files.get(path).unwrap_or_else(|| {
            panic!(
                "{path} not seen; files: {:?}",
                self.files.keys().collect::<Vec<_>>()
            )
        });
        String::from_utf8_lossy(bytes).into_owned()
    }
    /// Paths of files seen.
    pub fn paths(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }
    /// Whether `path` was offered as an "other" entry with this kind predicate.
    pub fn other_kind(&self, path: &str) -> Option<EntryKind> {
        self.others
            .iter()
            .find(|i| i.path == path)
            .map(|i| i.kind.clone())
    }
}

/// Test limits: the defaults, with a short wall time so a hang fails fast.
pub fn limits() -> Limits {
    Limits {
        max_wall: Duration::from_secs(30),
        ..Limits::default()
    }
}

/// Which entry point a walk went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `walk_path` over a temp file.
    File,
    /// `walk_reader` over an in-memory stream of unknown size.
    Stream,
}

/// Walks `bytes` as a file named `name`.
pub fn walk_file_with(bytes: &[u8], name: &str, opts: &WalkOptions) -> (WalkReport, Collect) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("artifact");
    std::fs::write(&p, bytes).unwrap();
    let mut c = Collect::default();
    let report = walk_path(&p, name, opts, &mut c).unwrap();
    (report, c)
}

/// Walks `bytes` as a stream named `name` (no size hint).
pub fn walk_stream_with(bytes: &[u8], name: &str, opts: &WalkOptions) -> (WalkReport, Collect) {
    let mut c = Collect::default();
    let mut r = Cursor::new(bytes);
    let report = walk_reader(&mut r, name, None, opts, &mut c).unwrap();
    (report, c)
}

/// Walks through both entry points with `limits`.
pub fn walk_both(bytes: &[u8], name: &str, limits: Limits) -> Vec<(Via, WalkReport, Collect)> {
    let opts = WalkOptions::new(limits);
    let (rf, cf) = walk_file_with(bytes, name, &opts);
    let (rs, cs) = walk_stream_with(bytes, name, &opts);
    vec![(Via::File, rf, cf), (Via::Stream, rs, cs)]
}

/// Walks a file on disk.
pub fn walk_disk(path: &std::path::Path, name: &str, limits: Limits) -> (WalkReport, Collect) {
    let mut c = Collect::default();
    let report = walk_path(path, name, &WalkOptions::new(limits), &mut c).unwrap();
    (report, c)
}

/// Asserts the report holds an issue with `reason` (optionally at `path`) and returns its detail.
pub fn expect_issue(report: &WalkReport, reason: UnscannableReason, path: Option<&str>) -> String {
    let found = report
        .issues
        .iter()
        .find(|i| i.reason == reason && path.is_none_or(|p| i.path == p));
    match found {
        Some(i) => i.detail.clone(),
        None => panic!(
            "expected {reason:?} at {path:?}; issues: {:#?}",
            report.issues
        ),
    }
}

/// Reasons in a report.
pub fn reasons(report: &WalkReport) -> Vec<UnscannableReason> {
    report.issues.iter().map(|i| i.reason).collect()
}

/// Hex SHA-256.
pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Resolves the shared test data directory (`PORTCULLIS_SHARED_DATA` or `<repo>/../shared/data`).
pub fn shared_data() -> PathBuf {
    if let Ok(p) = std::env::var("PORTCULLIS_SHARED_DATA") {
        return PathBuf::from(p);
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    repo.join("../shared/data")
}

// ---------------------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------------------

/// One tar member.
pub enum T<'a> {
    /// Regular file.
    File(&'a str, &'a [u8]),
    /// Directory.
    Dir(&'a str),
    /// Symlink name → target.
    Symlink(&'a str, &'a str),
    /// Hard link name → target.
    Hardlink(&'a str, &'a str),
}

fn header(kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_mtime(1_700_000_000);
    h
}

/// A tar written with raw names (`../x` and `/abs` are kept as given, unlike `tar::Builder::append_path`).
pub fn tar(members: &[T<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in members {
        match m {
            T::File(name, data) => {
                raw_tar_header(
                    &mut out,
                    name,
                    tar::EntryType::Regular,
                    data.len() as u64,
                    None,
                );
                out.extend_from_slice(data);
                pad512(&mut out);
            }
            T::Dir(name) => raw_tar_header(&mut out, name, tar::EntryType::Directory, 0, None),
            T::Symlink(name, target) => {
                raw_tar_header(&mut out, name, tar::EntryType::Symlink, 0, Some(target))
            }
            T::Hardlink(name, target) => {
                raw_tar_header(&mut out, name, tar::EntryType::Link, 0, Some(target))
            }
        }
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// Appends one 512-byte header whose name and link name bytes are written verbatim.
pub fn raw_tar_header(
    out: &mut Vec<u8>,
    name: &str,
    kind: tar::EntryType,
    size: u64,
    link: Option<&str>,
) {
    let mut h = header(kind, size);
    {
        let bytes = h.as_old_mut();
        assert!(name.len() < 100, "name too long for the test builder");
        bytes.name = [0; 100];
        bytes.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            bytes.linkname = [0; 100];
            bytes.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
    }
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
}

/// Pads to a 512-byte boundary.
pub fn pad512(out: &mut Vec<u8>) {
    let rem = out.len() % 512;
    if rem != 0 {
        out.resize(out.len() + 512 - rem, 0);
    }
}

/// gzip.
pub fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// bzip2.
pub fn bz2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// xz.
pub fn xz(data: &[u8]) -> Vec<u8> {
    let mut w =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

/// zstd.
pub fn zst(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(Cursor::new(data), 3).unwrap()
}

/// A zip (deflated unless `stored`).
pub fn zip(members: &[(&str, &[u8])], stored: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let method = if stored {
        zip::CompressionMethod::Stored
    } else {
        zip::CompressionMethod::Deflated
    };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, data) in members {
        if name.ends_with('/') {
            w.add_directory(*name, opts).unwrap();
        } else {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

/// A Unix `ar` archive (GNU style; names ≤ 15 bytes).
pub fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        let hdr = format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            format!("{name}/"),
            0,
            0,
            0,
            100644,
            data.len()
        );
        assert_eq!(hdr.len(), 60);
        out.extend_from_slice(hdr.as_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

/// One cpio member: name, mode, data.
pub type CpioMember<'a> = (&'a str, u32, &'a [u8]);

/// A newc (`070701`) cpio archive with its trailer.
pub fn cpio_newc(members: &[CpioMember<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    let put = |out: &mut Vec<u8>, ino: u32, name: &str, mode: u32, data: &[u8]| {
        let namesize = name.len() + 1;
        let fields = [
            ino,
            mode,
            0,
            0,
            1,
            1_700_000_000,
            data.len() as u32,
            0,
            0,
            0,
            0,
            namesize as u32,
            0,
        ];
        out.extend_from_slice(b"070701");
        for f in fields {
            out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    };
    for (i, (name, mode, data)) in members.iter().enumerate() {
        put(&mut out, i as u32 + 1, name, *mode, data);
    }
    put(&mut out, 0, "TRAILER!!!", 0, b"");
    out
}

/// An odc (`070707`) cpio archive with its trailer.
pub fn cpio_odc(members: &[CpioMember<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    let put = |out: &mut Vec<u8>, ino: u32, name: &str, mode: u32, data: &[u8]| {
        out.extend_from_slice(b"070707");
        let namesize = name.len() + 1;
        let h = format!(
            "{:06o}{:06o}{:06o}{:06o}{:06o}{:06o}{:06o}{:011o}{:06o}{:011o}",
            0,
            ino,
            mode,
            0,
            0,
            1,
            0,
            1_700_000_000u64,
            namesize,
            data.len()
        );
        assert_eq!(h.len(), 70);
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(data);
    };
    for (i, (name, mode, data)) in members.iter().enumerate() {
        put(&mut out, i as u32 + 1, name, *mode, data);
    }
    put(&mut out, 0, "TRAILER!!!", 0, b"");
    out
}

/// An RPM header structure (magic, index, store) from (tag, type, value bytes, count) entries.
fn rpm_header(entries: &[(u32, u32, Vec<u8>, u32)]) -> Vec<u8> {
    let mut index = Vec::new();
    let mut store: Vec<u8> = Vec::new();
    for (tag, ty, value, count) in entries {
        // INT32 values are 4-aligned in the store.
        if *ty == 4 {
            while !store.len().is_multiple_of(4) {
                store.push(0);
            }
        }
        index.extend_from_slice(&tag.to_be_bytes());
        index.extend_from_slice(&ty.to_be_bytes());
        index.extend_from_slice(&(store.len() as u32).to_be_bytes());
        index.extend_from_slice(&count.to_be_bytes());
        store.extend_from_slice(value);
    }
    let mut out = vec![0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    out.extend_from_slice(&(store.len() as u32).to_be_bytes());
    out.extend_from_slice(&index);
    out.extend_from_slice(&store);
    out
}

fn rpm_string(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// A minimal valid binary RPM: 96-byte lead, signature header (SIZE tag, padded to 8), main header (name,
/// version, release, payload format/compressor) and a gzip'd newc cpio payload holding `files`.
pub fn rpm(name: &str, files: &[CpioMember<'_>]) -> Vec<u8> {
    let payload = gz(&cpio_newc(files));
    let main = rpm_header(&[
        (1000, 6, rpm_string(name), 1),     // NAME
        (1001, 6, rpm_string("1.0"), 1),    // VERSION
        (1002, 6, rpm_string("1"), 1),      // RELEASE
        (1022, 6, rpm_string("x86_64"), 1), // ARCH
        (1124, 6, rpm_string("cpio"), 1),   // PAYLOADFORMAT
        (1125, 6, rpm_string("gzip"), 1),   // PAYLOADCOMPRESSOR
    ]);
    let size = (main.len() + payload.len()) as u32;
    let sig = rpm_header(&[(1000, 4, size.to_be_bytes().to_vec(), 1)]); // SIGTAG_SIZE
    let mut lead = vec![0u8; 96];
    lead[..4].copy_from_slice(&[0xed, 0xab, 0xee, 0xdb]);
    lead[4] = 3; // major
    lead[5] = 0; // minor
    lead[6..8].copy_from_slice(&0u16.to_be_bytes()); // binary
    lead[8..10].copy_from_slice(&1u16.to_be_bytes()); // arch
    let n = format!("{name}-1.0-1");
    lead[10..10 + n.len()].copy_from_slice(n.as_bytes());
    lead[76..78].copy_from_slice(&1u16.to_be_bytes()); // os
    lead[78..80].copy_from_slice(&5u16.to_be_bytes()); // header-style signature
    let mut out = lead;
    out.extend_from_slice(&sig);
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    out.extend_from_slice(&main);
    out.extend_from_slice(&payload);
    out
}

/// A `docker save` tarball: config + layers (member name, tar bytes), listed bottom-up in manifest.json.
pub fn docker_save(layers: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let config =
        br#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin"]}}"#.to_vec();
    let names: Vec<String> = layers
        .iter()
        .map(|(n, _)| format!("{n}/layer.tar"))
        .collect();
    let manifest = serde_json::json!([{ "Config": "config.json", "RepoTags": ["test:latest"], "Layers": names }]);
    let mut members: Vec<(String, Vec<u8>)> = vec![("config.json".into(), config)];
    for (n, data) in layers {
        members.push((format!("{n}/layer.tar"), data.clone()));
    }
    members.push((
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    let refs: Vec<T<'_>> = members
        .iter()
        .map(|(n, d)| T::File(n.as_str(), d.as_slice()))
        .collect();
    tar(&refs)
}

/// An OCI image layout tarball: oci-layout, index.json → manifest blob → config + gzip'd layer blobs.
pub fn oci_layout(layers: &[Vec<u8>]) -> (Vec<u8>, Vec<String>) {
    let mut blobs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |data: Vec<u8>| -> (String, usize) {
        let d = sha256(&data);
        let len = data.len();
        blobs.push((format!("blobs/sha256/{d}"), data));
        (format!("sha256:{d}"), len)
    };
    let (cfg_digest, cfg_size) = add(br#"{"architecture":"amd64","os":"linux"}"#.to_vec());
    let mut layer_descs = Vec::new();
    let mut layer_digests = Vec::new();
    for l in layers {
        let (d, s) = add(gz(l));
        layer_digests.push(d.clone());
        layer_descs.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s
        }));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_digest, "size": cfg_size},
        "layers": layer_descs,
    });
    let (m_digest, m_size) = add(serde_json::to_vec(&manifest).unwrap());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m_digest, "size": m_size}],
    });
    let layout = br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec();
    let mut members: Vec<(String, Vec<u8>)> = vec![
        ("oci-layout".into(), layout),
        ("index.json".into(), serde_json::to_vec(&index).unwrap()),
    ];
    members.extend(blobs);
    let refs: Vec<T<'_>> = members
        .iter()
        .map(|(n, d)| T::File(n.as_str(), d.as_slice()))
        .collect();
    (tar(&refs), layer_digests)
}

/// Deterministic pseudo-random bytes (xorshift), incompressible enough for ratio-neutral fixtures.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The format of the top-level artifact of a report.
pub fn top_format(r: &WalkReport) -> Format {
    r.metadata.format
}
