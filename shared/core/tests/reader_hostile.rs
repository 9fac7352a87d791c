//! Hostile corpus for the safe reader, generated in the tests: bombs, lying sizes, escaping names and links,
//! PAX smuggling, truncation of every format, encryption, unsupported formats and every limit. Each case
//! asserts an explicit outcome (an issue with the right reason, or a documented clean walk) through both
//! `walk_path` and `walk_reader`, without panicking or hanging; one test re-runs the bombs in a child process
//! and bounds its peak RSS.
#![allow(clippy::unwrap_used)]

mod reader_support;

use std::io::Write;
use std::time::{Duration, Instant};

use portcullis_core::model::{Format, UnscannableReason as R};
use portcullis_core::reader::{Limits, WalkOptions, WalkReport};
use reader_support::*;

const MIB: u64 = 1024 * 1024;

fn both(bytes: &[u8], name: &str) -> Vec<(Via, WalkReport, Collect)> {
    walk_both(bytes, name, limits())
}

// --- zip construction by hand (for lying headers) ---------------------------------------------------------

fn u16le(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn u32le(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

/// Offsets of every `sig` in `z`.
fn find_all(z: &[u8], sig: &[u8; 4]) -> Vec<usize> {
    z.windows(4)
        .enumerate()
        .filter(|(_, w)| *w == sig)
        .map(|(i, _)| i)
        .collect()
}

/// A zip whose central directory lists `n` entries that all point at the same local header and data:
/// the non-recursive ("overlapping") zip bomb.
fn overlapping_zip(n: usize, payload: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(payload).unwrap();
    let data = enc.finish().unwrap();
    let mut crc = flate2::Crc::new();
    crc.update(payload);
    let crc = crc.sum();
    let mut z = Vec::new();
    u32le(&mut z, 0x0403_4b50);
    u16le(&mut z, 20);
    u16le(&mut z, 0);
    u16le(&mut z, 8);
    u16le(&mut z, 0);
    u16le(&mut z, 0x21);
    u32le(&mut z, crc);
    u32le(&mut z, data.len() as u32);
    u32le(&mut z, payload.len() as u32);
    u16le(&mut z, 1);
    u16le(&mut z, 0);
    z.push(b'a');
    z.extend_from_slice(&data);
    let cd_start = z.len();
    for i in 0..n {
        let name = format!("f{i}");
        u32le(&mut z, 0x0201_4b50);
        u16le(&mut z, 20);
        u16le(&mut z, 20);
        u16le(&mut z, 0);
        u16le(&mut z, 8);
        u16le(&mut z, 0);
        u16le(&mut z, 0x21);
        u32le(&mut z, crc);
        u32le(&mut z, data.len() as u32);
        u32le(&mut z, payload.len() as u32);
        u16le(&mut z, name.len() as u16);
        u16le(&mut z, 0);
        u16le(&mut z, 0);
        u16le(&mut z, 0);
        u16le(&mut z, 0);
        u32le(&mut z, 0);
        u32le(&mut z, 0); // every entry points at offset 0
        z.extend_from_slice(name.as_bytes());
    }
    let cd_len = z.len() - cd_start;
    u32le(&mut z, 0x0605_4b50);
    u16le(&mut z, 0);
    u16le(&mut z, 0);
    u16le(&mut z, n as u16);
    u16le(&mut z, n as u16);
    u32le(&mut z, cd_len as u32);
    u32le(&mut z, cd_start as u32);
    u16le(&mut z, 0);
    z
}

/// Sets the uncompressed size of every local (offset 22) and/or central (offset 24) header.
fn patch_zip_size(z: &mut [u8], local: bool, central: bool, size: u32) {
    if local {
        for off in find_all(z, b"PK\x03\x04") {
            z[off + 22..off + 26].copy_from_slice(&size.to_le_bytes());
        }
    }
    if central {
        for off in find_all(z, b"PK\x01\x02") {
            z[off + 24..off + 28].copy_from_slice(&size.to_le_bytes());
        }
    }
}

/// 42.zip style: a leaf of `leaf_mib` MiB of zeros, then `levels` levels of zips holding `fan` copies each.
fn nested_bomb(levels: usize, fan: usize, leaf_mib: usize) -> Vec<u8> {
    let zeros = vec![0u8; leaf_mib << 20];
    let mut cur = zip(&[("0.bin", &zeros)], false);
    for _ in 0..levels {
        let names: Vec<String> = (0..fan).map(|i| format!("{i}.zip")).collect();
        let members: Vec<(&str, &[u8])> =
            names.iter().map(|n| (n.as_str(), cur.as_slice())).collect();
        cur = zip(&members, false);
    }
    cur
}

/// `mib` MiB of zeros (1024 = 1 GiB) as a valid gzip stream of ~1/1000 the size, built without ever holding
/// the zeros: one sync-flushed chunk of 1 MiB of zeros is compressed and its bytes repeated (after the first
/// chunk the decoder's window is all zeros, so the repeated blocks decode to zeros again), then a final
/// block and the trailer (CRC combined per chunk).
fn gzip_bomb(mib: u64) -> Vec<u8> {
    use flate2::{Compress, Compression, Crc, FlushCompress};
    assert!(mib >= 2);
    let chunk = vec![0u8; MIB as usize];
    let mut c = Compress::new(Compression::best(), false);
    let mut first = Vec::with_capacity(64 * 1024);
    c.compress_vec(&chunk, &mut first, FlushCompress::Sync)
        .unwrap();
    assert_eq!(c.total_in(), MIB);
    let mut second = Vec::with_capacity(64 * 1024);
    c.compress_vec(&chunk, &mut second, FlushCompress::Sync)
        .unwrap();
    assert_eq!(c.total_in(), 2 * MIB);
    let mut tail = Vec::with_capacity(64);
    c.compress_vec(&[], &mut tail, FlushCompress::Finish)
        .unwrap();
    let mut one = Crc::new();
    one.update(&chunk);
    let mut crc = Crc::new();
    crc.update(&chunk);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    out.extend_from_slice(&first);
    for _ in 1..mib {
        out.extend_from_slice(&second);
        crc.combine(&one);
    }
    out.extend_from_slice(&tail);
    u32le(&mut out, crc.sum());
    u32le(&mut out, ((mib * MIB) & 0xffff_ffff) as u32);
    out
}

// --- bombs --------------------------------------------------------------------------------------------------

#[test]
fn gzip_bomb_stops_early_by_ratio() {
    let bomb = gzip_bomb(1024);
    assert!(bomb.len() < 4 * MIB as usize, "{}", bomb.len());
    for (via, r, _) in both(&bomb, "zeros.gz") {
        let t = Instant::now();
        let detail = expect_issue(&r, R::CompressionRatioExceeded, Some("zeros.gz"));
        assert!(r.aborted, "{via:?}");
        assert!(
            r.decompressed < 16 * MIB,
            "{via:?}: stopped after {} bytes",
            r.decompressed
        );
        assert!(detail.contains("gzip"), "{detail}");
        assert!(t.elapsed() < Duration::from_secs(5));
        assert_eq!(
            r.metadata.sha256.as_deref(),
            Some(sha256(&bomb).as_str()),
            "{via:?}: digest still computed"
        );
    }
}

#[test]
fn gzip_bomb_is_a_valid_gzip() {
    // Small instance of the same construction, decoded fully: the generator builds real streams.
    let bomb = gzip_bomb(5);
    let mut d = flate2::read::GzDecoder::new(bomb.as_slice());
    let mut n = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let k = std::io::Read::read(&mut d, &mut buf).unwrap();
        if k == 0 {
            break;
        }
        assert!(buf[..k].iter().all(|&b| b == 0));
        n += k as u64;
    }
    assert_eq!(n, 5 * MIB, "and the trailer's CRC and size check out");
}

#[test]
fn nested_zip_bomb_stops_by_ratio() {
    let bomb = nested_bomb(3, 16, 16); // 16³ × 16 MiB = 64 GiB declared
    assert!(bomb.len() < 2 * MIB as usize);
    for (via, r, _) in both(&bomb, "42.zip") {
        expect_issue(&r, R::CompressionRatioExceeded, None);
        assert!(r.aborted, "{via:?}");
        assert!(r.decompressed < 64 * MIB, "{via:?}: {}", r.decompressed);
    }
}

#[test]
fn nested_zip_bomb_stops_by_total_when_ratio_is_lax() {
    let bomb = nested_bomb(2, 16, 4);
    let lim = Limits {
        max_ratio: 1_000_000,
        max_total_bytes: 40 * MIB,
        ..limits()
    };
    for (via, r, _) in walk_both(&bomb, "42.zip", lim.clone()) {
        expect_issue(&r, R::TotalSizeExceeded, None);
        assert!(r.aborted, "{via:?}");
        assert!(r.decompressed <= lim.max_total_bytes + MIB, "{via:?}");
    }
}

#[test]
fn nested_zip_bomb_stops_by_depth() {
    let bomb = nested_bomb(3, 2, 1);
    let lim = Limits {
        max_depth: 2,
        max_ratio: 1_000_000,
        ..limits()
    };
    for (via, r, c) in walk_both(&bomb, "deep.zip", lim) {
        expect_issue(&r, R::DepthExceeded, Some("deep.zip!/0.zip!/0.zip"));
        assert!(!r.aborted, "{via:?}: depth is per entry, the walk goes on");
        // The too-deep zip is handed over as an opaque leaf, never unpacked.
        assert_eq!(c.infos["deep.zip!/0.zip!/0.zip"].format, Format::Zip);
        assert!(!c.files.keys().any(|p| p.ends_with("0.bin")), "{via:?}");
    }
}

#[test]
fn copies_bomb_in_a_stream_of_unknown_size_stops_by_overall_ratio() {
    // A leaf whose own ratio (~100) passes the per-stream check, copied 128 times into a zip that gzip then
    // folds (each copy is within gzip's window of the previous one). No single stream looks like a bomb;
    // the overall ratio does, even when the stream's size is not known up front.
    let mut leaf = vec![0u8; MIB as usize];
    for (i, b) in noise(leaf.len() / 512, 13).into_iter().enumerate() {
        leaf[i * 512] = b | 1;
    }
    let names: Vec<String> = (0..128).map(|i| format!("{i}.bin")).collect();
    let members: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), leaf.as_slice()))
        .collect();
    let bomb = gz(&zip(&members, false));
    assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
    for (via, r, _) in both(&bomb, "copies.zip.gz") {
        let d = expect_issue(&r, R::CompressionRatioExceeded, None);
        assert!(d.contains("overall"), "{via:?}: {d}");
        assert!(r.aborted);
        assert!(r.decompressed < 80 * MIB, "{via:?}: {}", r.decompressed);
    }
}

#[test]
fn overlapping_entries_zip_is_refused() {
    let z = overlapping_zip(1000, &vec![0u8; 2 * MIB as usize]);
    for (via, r, c) in both(&z, "overlap.zip") {
        expect_issue(&r, R::OverlappingEntries, Some("overlap.zip"));
        assert!(c.files.is_empty(), "{via:?}: nothing unpacked");
        assert!(r.decompressed < MIB, "{via:?}");
    }
}

// --- lying sizes --------------------------------------------------------------------------------------------

#[test]
fn zip_central_size_smaller_than_data_is_lying_size() {
    let data = b"0123456789".repeat(100);
    let good = zip(&[("a.txt", &data), ("b.txt", b"fine")], false);
    // Only the central directory lies: the local header disagrees with it.
    let mut cd_only = good.clone();
    patch_zip_size(&mut cd_only, false, true, 10);
    // Both headers lie consistently: only decoding shows more data than declared.
    let mut consistent = good.clone();
    patch_zip_size(&mut consistent, true, true, 10);
    for (label, z) in [("cd-only", cd_only), ("consistent", consistent)] {
        for (via, r, c) in both(&z, "lie.zip") {
            let d = expect_issue(&r, R::LyingSize, Some("lie.zip!/a.txt"));
            assert!(d.contains("10"), "{label} {via:?}: {d}");
            assert!(!r.aborted);
            assert!(
                c.files.get("lie.zip!/a.txt").is_none_or(|v| v.len() <= 10),
                "{label}: never more than declared"
            );
        }
    }
}

#[test]
fn zip_central_size_larger_than_data_is_lying_size() {
    let data = b"0123456789".repeat(100);
    let mut z = zip(&[("a.txt", &data)], true);
    patch_zip_size(&mut z, true, true, 5000);
    for (via, r, _) in both(&z, "short.zip") {
        let d = expect_issue(&r, R::LyingSize, Some("short.zip!/a.txt"));
        assert!(d.contains("5000") && d.contains("1000"), "{via:?}: {d}");
    }
}

// --- names and links ----------------------------------------------------------------------------------------

#[test]
fn tar_escaping_names_are_reported_and_content_still_scanned() {
    let t = tar(&[
        T::File("../../evil.sh", b"#!/bin/sh\n"),
        T::File("/etc/cron.d/x", b"* * * * * root x\n"),
        T::File("ok/../../up.txt", b"up\n"),
        T::File("fine.txt", b"fine\n"),
    ]);
    for (via, r, c) in both(&t, "names.tar") {
        expect_issue(&r, R::UnsafeEntryName, Some("names.tar!/../../evil.sh"));
        expect_issue(&r, R::UnsafeEntryName, Some("names.tar!/etc/cron.d/x"));
        expect_issue(&r, R::UnsafeEntryName, Some("names.tar!/ok/../../up.txt"));
        assert_eq!(r.issues.len(), 3, "{via:?}: {:?}", r.issues);
        assert_eq!(c.text("names.tar!/etc/cron.d/x"), "* * * * * root x\n");
        assert_eq!(c.text("names.tar!/fine.txt"), "fine\n");
    }
}

#[test]
fn symlink_then_write_through_it_is_reported_and_never_followed() {
    let t = tar(&[
        T::Symlink("evil", "/etc/passwd"),
        T::File("evil", b"root::0:0::/root:/bin/sh\n"),
        T::Symlink("etc", "/etc"),
        T::File("etc/passwd", b"pwned\n"),
        T::Symlink("harmless", "fine.txt"),
        T::File("fine.txt", b"fine\n"),
    ]);
    let real = std::fs::read("/etc/passwd").unwrap_or_default();
    for (via, r, c) in both(&t, "links.tar") {
        let d = expect_issue(&r, R::UnsafeEntryName, Some("links.tar!/evil"));
        assert!(d.contains("symlink"), "{d}");
        expect_issue(&r, R::UnsafeEntryName, Some("links.tar!/etc/passwd"));
        assert_eq!(
            r.issues.len(),
            2,
            "{via:?}: a plain symlink is not an issue: {:?}",
            r.issues
        );
        assert_eq!(
            c.text("links.tar!/etc/passwd"),
            "pwned\n",
            "the entry's own bytes, not the link target's"
        );
        for v in c.files.values() {
            assert!(
                real.is_empty() || v != &real,
                "{via:?}: /etc/passwd content reached the visitor"
            );
        }
        assert_eq!(
            c.other_kind("links.tar!/evil"),
            Some(portcullis_core::reader::EntryKind::Symlink {
                target: "/etc/passwd".into()
            })
        );
    }
}

#[test]
fn hard_link_to_absolute_path_is_reported() {
    let t = tar(&[
        T::File("a.txt", b"a"),
        T::Hardlink("pw", "/etc/passwd"),
        T::Hardlink("b.txt", "a.txt"),
    ]);
    for (via, r, c) in both(&t, "hl.tar") {
        let d = expect_issue(&r, R::UnsafeEntryName, Some("hl.tar!/pw"));
        assert!(d.contains("/etc/passwd"), "{d}");
        assert_eq!(
            r.issues.len(),
            1,
            "{via:?}: an in-archive hard link is fine: {:?}",
            r.issues
        );
        assert!(!c.files.contains_key("hl.tar!/pw"));
    }
}

/// A PAX `x` header whose `size` record disagrees with the ustar size of the entry it describes.
fn pax_smuggle(ustar_size: u64, pax_size: u64, hidden_tar: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let rec_body = format!(" size={pax_size}\n");
    let mut len = rec_body.len() + 1;
    while format!("{len}{rec_body}").len() != len {
        len += 1;
    }
    let rec = format!("{len}{rec_body}");
    raw_tar_header(
        &mut out,
        "PaxHeaders/evil.txt",
        tar::EntryType::XHeader,
        rec.len() as u64,
        None,
    );
    out.extend_from_slice(rec.as_bytes());
    pad512(&mut out);
    raw_tar_header(
        &mut out,
        "evil.txt",
        tar::EntryType::Regular,
        ustar_size,
        None,
    );
    out.extend_from_slice(hidden_tar);
    pad512(&mut out);
    raw_tar_header(&mut out, "after.txt", tar::EntryType::Regular, 6, None);
    out.extend_from_slice(b"after\n");
    pad512(&mut out);
    out.extend_from_slice(&[0u8; 1024]);
    out
}

#[test]
fn pax_size_smuggling_is_explicit() {
    // The smuggled region: a complete tar member (header + 512 bytes) = 1024 bytes.
    let mut hidden = Vec::new();
    raw_tar_header(&mut hidden, "hidden.sh", tar::EntryType::Regular, 6, None);
    hidden.extend_from_slice(b"pwned\n");
    pad512(&mut hidden);
    assert_eq!(hidden.len(), 1024);

    // Case A: ustar says 0, PAX says 1024. tar ≥ 0.4.46 honours PAX (as GNU tar does): the hidden member is
    // the content of evil.txt, which the reader then unpacks as a nested tar, so its bytes are still scanned.
    let a = pax_smuggle(0, 1024, &hidden);
    for (via, r, c) in both(&a, "smuggle.tar") {
        let d = expect_issue(&r, R::LyingSize, Some("smuggle.tar!/evil.txt"));
        assert!(d.contains("PAX") && d.contains("1024"), "{d}");
        assert_eq!(
            c.text("smuggle.tar!/evil.txt!/hidden.sh"),
            "pwned\n",
            "{via:?}: {:?}",
            c.paths()
        );
        assert_eq!(
            c.text("smuggle.tar!/after.txt"),
            "after\n",
            "{via:?}: the stream stays in sync"
        );
        assert!(!c.files.contains_key("smuggle.tar!/hidden.sh"));
    }
    // Case B: ustar says 1024, PAX says 0: the hidden member surfaces as a top-level entry. Either way the
    // disagreement itself is reported, so the artifact is never CLEAN.
    let b = pax_smuggle(1024, 0, &hidden);
    for (via, r, c) in both(&b, "smuggle.tar") {
        expect_issue(&r, R::LyingSize, Some("smuggle.tar!/evil.txt"));
        assert_eq!(
            c.text("smuggle.tar!/hidden.sh"),
            "pwned\n",
            "{via:?}: {:?}",
            c.paths()
        );
        assert_eq!(c.text("smuggle.tar!/after.txt"), "after\n");
    }
}

// --- truncation ---------------------------------------------------------------------------------------------

fn tar_of_noise() -> Vec<u8> {
    let n1 = noise(300_000, 1);
    let n2 = noise(300_000, 2);
    tar(&[T::File("one.bin", &n1), T::File("two.bin", &n2)])
}

fn assert_corrupt_somewhere(r: &WalkReport, label: &str, want_in_detail: &[&str]) {
    let corrupt: Vec<_> = r.issues.iter().filter(|i| i.reason == R::Corrupt).collect();
    assert!(
        !corrupt.is_empty(),
        "{label}: expected Corrupt, got {:?}",
        r.issues
    );
    assert!(!r.complete());
    let all = corrupt
        .iter()
        .map(|i| format!("{} {}", i.path, i.detail))
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(
        want_in_detail.iter().any(|w| all.contains(w)),
        "{label}: detail should say where: {all}"
    );
}

#[test]
fn truncated_streams_are_corrupt_and_say_where() {
    let t = tar_of_noise();
    let cut = |v: Vec<u8>| {
        let n = v.len() * 2 / 3;
        v[..n].to_vec()
    };
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("t.tar", cut(t.clone()), &["truncated", "EOF"]),
        ("t.tar.gz", cut(gz(&t)), &["gzip", "byte"]),
        ("t.tar.bz2", cut(bz2(&t)), &["bzip2", "byte"]),
        ("t.tar.xz", cut(xz(&t)), &["xz", "byte"]),
        ("t.tar.zst", cut(zst(&t)), &["zstd", "byte"]),
        (
            "t.zip",
            cut(zip(&[("one.bin", &noise(300_000, 1))], false)),
            &["-byte archive"],
        ),
        (
            "t.a",
            cut(ar(&[("one.bin", &noise(300_000, 1)), ("two.bin", b"x")])),
            &["byte"],
        ),
        (
            "t.cpio",
            cut(cpio_newc(&[("one.bin", 0o100644, &noise(300_000, 1))])),
            &["one.bin", "byte"],
        ),
        (
            "t.odc.cpio",
            cut(cpio_odc(&[("one.bin", 0o100644, &noise(300_000, 1))])),
            &["one.bin", "byte"],
        ),
    ];
    for (name, bytes, where_) in cases {
        for (via, r, _) in both(&bytes, name) {
            assert_corrupt_somewhere(&r, &format!("{name} {via:?}"), where_);
            assert!(!r.aborted, "{name} {via:?}: corruption is per container");
        }
    }
}

#[test]
fn truncated_tar_is_caught_even_when_the_visitor_skips_entries() {
    struct Skipper;
    impl portcullis_core::reader::Visitor for Skipper {
        fn wants(&mut self, _: &portcullis_core::reader::EntryInfo) -> bool {
            false
        }
        fn file(
            &mut self,
            _: &portcullis_core::reader::EntryInfo,
            _: &mut dyn std::io::Read,
        ) -> std::io::Result<()> {
            Ok(())
        }
    }
    struct Partial;
    impl portcullis_core::reader::Visitor for Partial {
        fn file(
            &mut self,
            _: &portcullis_core::reader::EntryInfo,
            r: &mut dyn std::io::Read,
        ) -> std::io::Result<()> {
            let mut b = [0u8; 100];
            std::io::Read::read(r, &mut b).map(|_| ())
        }
    }
    let t = tar_of_noise();
    let cut = t[..t.len() - 200_000].to_vec();
    let dir = tempfile::tempdir().unwrap();
    for bytes in [cut.clone(), gz(&cut)] {
        let opts = WalkOptions::new(limits());
        let p = dir.path().join("t.tar");
        std::fs::write(&p, &bytes).unwrap();
        let r = portcullis_core::reader::walk_reader(
            &mut bytes.as_slice(),
            "t.tar",
            None,
            &opts,
            &mut Skipper,
        )
        .unwrap();
        assert_corrupt_somewhere(&r, "skipper stream", &["truncated", "EOF"]);
        let r = portcullis_core::reader::walk_path(&p, "t.tar", &opts, &mut Skipper).unwrap();
        assert_corrupt_somewhere(&r, "skipper file", &["truncated", "EOF"]);
        let r = portcullis_core::reader::walk_reader(
            &mut bytes.as_slice(),
            "t.tar",
            None,
            &opts,
            &mut Partial,
        )
        .unwrap();
        assert_corrupt_somewhere(&r, "partial stream", &["truncated", "EOF"]);
        let r = portcullis_core::reader::walk_path(&p, "t.tar", &opts, &mut Partial).unwrap();
        assert_corrupt_somewhere(&r, "partial file", &["truncated", "EOF"]);
    }
}

#[test]
fn xz_dictionary_over_the_memory_cap_is_refused_explicitly() {
    // Patch the LZMA2 dictionary-size property of the first block header to its maximum (4 GiB) and fix
    // the header CRC: the decoder must refuse before allocating, and the reader must say why.
    let mut x = xz(&b"hello xz\n".repeat(100));
    let hsize = (x[12] as usize + 1) * 4;
    let header = &mut x[12..12 + hsize];
    let at = header
        .windows(2)
        .position(|w| w == [0x21, 0x01])
        .expect("LZMA2 filter flags")
        + 2;
    header[at] = 40;
    let mut crc = flate2::Crc::new();
    crc.update(&header[..hsize - 4]);
    header[hsize - 4..].copy_from_slice(&crc.sum().to_le_bytes());
    for (via, r, _) in both(&x, "big-dict.txt.xz") {
        let d = expect_issue(&r, R::UnsupportedFormat, Some("big-dict.txt.xz"));
        assert!(d.contains("memory"), "{via:?}: {d}");
        assert!(!r.aborted);
    }
}

#[test]
fn zstd_window_over_the_memory_cap_is_refused_explicitly() {
    // A streamed zstd frame carries a window descriptor (no single-segment flag); raise it to 2 GiB.
    let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    e.write_all(&b"hello zstd\n".repeat(100)).unwrap();
    let mut z = e.finish().unwrap();
    assert_eq!(z[4] & 0x20, 0, "expected a frame with a window descriptor");
    z[5] = (31 - 10) << 3; // window log 31
    for (via, r, _) in both(&z, "big-window.txt.zst") {
        let d = expect_issue(&r, R::UnsupportedFormat, Some("big-window.txt.zst"));
        assert!(d.contains("memory"), "{via:?}: {d}");
    }
}

// --- encryption and unsupported formats ---------------------------------------------------------------------

#[test]
fn zipcrypto_entry_is_encrypted() {
    let mut z = zip(
        &[
            ("secret.txt", b"not really encrypted"),
            ("plain.txt", b"plain"),
        ],
        true,
    );
    // Set general-purpose bit 0 (encrypted) on secret.txt's local (offset 6) and central (offset 8) headers.
    let l = find_all(&z, b"PK\x03\x04")[0];
    z[l + 6] |= 1;
    let c0 = find_all(&z, b"PK\x01\x02")[0];
    z[c0 + 8] |= 1;
    for (via, r, c) in both(&z, "enc.zip") {
        expect_issue(&r, R::Encrypted, Some("enc.zip!/secret.txt"));
        assert!(!c.files.contains_key("enc.zip!/secret.txt"), "{via:?}");
        assert_eq!(c.text("enc.zip!/plain.txt"), "plain");
        assert_eq!(r.issues.len(), 1);
    }
}

#[test]
fn seven_zip_and_rar_are_unsupported() {
    let mut sz = vec![b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c, 0, 4];
    sz.extend(noise(1000, 3));
    let mut rar = b"Rar!\x1a\x07\x01\x00".to_vec();
    rar.extend(noise(1000, 4));
    for (name, bytes, fmt) in [
        ("a.7z", sz.clone(), Format::SevenZip),
        ("a.rar", rar.clone(), Format::Rar),
    ] {
        for (via, r, c) in both(&bytes, name) {
            expect_issue(&r, R::UnsupportedFormat, Some(name));
            assert_eq!(r.metadata.format, fmt, "{via:?}");
            assert_eq!(
                c.infos[name].format, fmt,
                "still offered to visitors as a leaf"
            );
        }
    }
    let z = zip(&[("in/a.7z", &sz)], false);
    for (_, r, _) in both(&z, "outer.zip") {
        expect_issue(&r, R::UnsupportedFormat, Some("outer.zip!/in/a.7z"));
    }
}

// --- limits -------------------------------------------------------------------------------------------------

#[test]
fn depth_limit() {
    let mut v = b"deep text\n".to_vec();
    for _ in 0..5 {
        v = gz(&v);
    }
    let lim = Limits {
        max_depth: 2,
        ..limits()
    };
    for (via, r, c) in walk_both(&v, "x.gz", lim) {
        let d = expect_issue(&r, R::DepthExceeded, None);
        assert!(d.contains("2"), "{d}");
        assert!(!r.aborted, "{via:?}");
        assert!(
            c.infos.values().any(|i| i.format == Format::Gzip),
            "the cut level is a leaf"
        );
    }
}

#[test]
fn entry_count_limit() {
    let names: Vec<String> = (0..50).map(|i| format!("f{i}.txt")).collect();
    let members: Vec<T<'_>> = names.iter().map(|n| T::File(n.as_str(), b"x")).collect();
    let t = tar(&members);
    let zm: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), b"x".as_slice()))
        .collect();
    let z = zip(&zm, false);
    let lim = Limits {
        max_entries: 10,
        ..limits()
    };
    for (name, bytes) in [
        ("many.tar", t),
        ("many.zip", z),
        ("many.tar.gz", gz(&tar(&members))),
    ] {
        for (via, r, c) in walk_both(&bytes, name, lim.clone()) {
            expect_issue(&r, R::TooManyEntries, None);
            assert!(r.aborted, "{name} {via:?}");
            assert!(c.files.len() <= 10, "{name} {via:?}: {}", c.files.len());
        }
    }
}

#[test]
fn entry_size_limit_declared_and_streamed() {
    let big = noise(3 * MIB as usize, 5);
    let lim = Limits {
        max_entry_bytes: MIB,
        ..limits()
    };
    // Declared by the container (tar, zip): refused up front.
    let t = tar(&[T::File("big.bin", &big), T::File("small.txt", b"small")]);
    let z = zip(&[("big.bin", &big), ("small.txt", b"small")], false);
    for (name, bytes) in [("s.tar", t), ("s.zip", z)] {
        for (via, r, c) in walk_both(&bytes, name, lim.clone()) {
            expect_issue(&r, R::EntryTooLarge, Some(&format!("{name}!/big.bin")));
            assert!(!r.aborted, "{name} {via:?}: per entry");
            assert_eq!(
                c.text(&format!("{name}!/small.txt")),
                "small",
                "{name} {via:?}: the walk goes on"
            );
        }
    }
    // Undeclared (a compressed stream): cut while reading.
    let g = gz(&big);
    for (via, r, c) in walk_both(&g, "big.bin.gz", lim.clone()) {
        expect_issue(&r, R::EntryTooLarge, Some("big.bin.gz"));
        assert!(c.files["big.bin.gz"].len() as u64 <= MIB, "{via:?}");
    }
}

#[test]
fn deadline_already_passed_is_timeout() {
    let t = tar(&[T::File("a.txt", b"a")]);
    let cases = [
        ("a.tar", t.clone()),
        ("a.tar.gz", gz(&t)),
        ("plain.txt", b"just text\n".to_vec()),
    ];
    for (name, bytes) in cases {
        let mut opts = WalkOptions::new(limits());
        opts.deadline = Some(Instant::now());
        std::thread::sleep(Duration::from_millis(2));
        let (rf, _) = walk_file_with(&bytes, name, &opts);
        let (rs, _) = walk_stream_with(&bytes, name, &opts);
        for (via, r) in [(Via::File, rf), (Via::Stream, rs)] {
            expect_issue(&r, R::Timeout, None);
            assert!(r.aborted, "{name} {via:?}");
            assert!(
                r.metadata.sha256.is_none(),
                "{name} {via:?}: no digest when time is up"
            );
        }
    }
}

#[test]
fn slow_visitor_runs_into_the_wall_time_budget() {
    // The deadline passes mid-walk: the walk stops at the next check (entry count or decoder read) with a
    // Timeout instead of reading on.
    struct Slow;
    impl portcullis_core::reader::Visitor for Slow {
        fn file(
            &mut self,
            _: &portcullis_core::reader::EntryInfo,
            r: &mut dyn std::io::Read,
        ) -> std::io::Result<()> {
            std::thread::sleep(Duration::from_millis(40));
            std::io::copy(r, &mut std::io::sink()).map(|_| ())
        }
    }
    let names: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
    let members: Vec<T<'_>> = names.iter().map(|n| T::File(n.as_str(), b"x")).collect();
    let tgz = gz(&tar(&members));
    let opts = WalkOptions::new(Limits {
        max_wall: Duration::from_millis(100),
        ..limits()
    });
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("slow.tgz");
    std::fs::write(&p, &tgz).unwrap();
    let t = Instant::now();
    let a = portcullis_core::reader::walk_path(&p, "slow.tgz", &opts, &mut Slow).unwrap();
    let b = portcullis_core::reader::walk_reader(
        &mut tgz.as_slice(),
        "slow.tgz",
        None,
        &opts,
        &mut Slow,
    )
    .unwrap();
    for r in [a, b] {
        expect_issue(&r, R::Timeout, None);
        assert!(r.aborted);
        assert!(r.files < 20, "{}", r.files);
    }
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn extreme_limits_do_not_overflow() {
    // Limits come from policy files: the largest values must not overflow the budget arithmetic.
    let lim = Limits {
        max_artifact_bytes: u64::MAX,
        max_total_bytes: u64::MAX,
        max_entry_bytes: u64::MAX,
        max_ratio: u64::MAX,
        max_entries: u64::MAX,
        max_depth: u32::MAX,
        max_wall: Duration::MAX,
    };
    let t = tar(&[T::File("a.txt", b"a")]);
    for (via, r, c) in walk_both(&gz(&t), "x.tgz", lim) {
        assert!(r.complete(), "{via:?}: {:?}", r.issues);
        assert_eq!(c.text("x.tgz!/a.txt"), "a");
    }
}

#[test]
fn artifact_size_limit() {
    let lim = Limits {
        max_artifact_bytes: 1000,
        ..limits()
    };
    let bytes = noise(5000, 9);
    for (via, r, c) in walk_both(&bytes, "big.bin", lim) {
        expect_issue(&r, R::ArtifactTooLarge, Some("big.bin"));
        assert!(c.files.is_empty() || via == Via::Stream, "{via:?}");
    }
}

#[test]
fn empty_and_random_inputs_are_clean() {
    for (via, r, c) in both(b"", "empty") {
        assert_eq!(r.metadata.format, Format::Empty, "{via:?}");
        assert!(r.complete(), "{via:?}: {:?}", r.issues);
        assert!(r.issues.is_empty());
        assert_eq!(r.metadata.sha256.as_deref(), Some(sha256(b"").as_str()));
        assert!(c.files.values().all(|v| v.is_empty()));
    }
    let rnd = noise(100_000, 42);
    for (via, r, c) in both(&rnd, "random.bin") {
        assert_eq!(r.metadata.format, Format::Binary, "{via:?}");
        assert!(r.complete(), "{via:?}: {:?}", r.issues);
        assert_eq!(c.files["random.bin"], rnd);
    }
}

// --- bounded memory (child process) -------------------------------------------------------------------------

const CHILD_ENV: &str = "PORTCULLIS_READER_RSS_CHILD";

fn vm_hwm_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Reads and drops every byte (the child measures the reader, not a collecting visitor).
struct Null;

impl portcullis_core::reader::Visitor for Null {
    fn file(
        &mut self,
        _: &portcullis_core::reader::EntryInfo,
        r: &mut dyn std::io::Read,
    ) -> std::io::Result<()> {
        let mut buf = [0u8; 64 * 1024];
        while std::io::Read::read(r, &mut buf)? > 0 {}
        Ok(())
    }
}

fn null_walks(bytes: &[u8], name: &str, lim: Limits) -> Vec<WalkReport> {
    let opts = WalkOptions::new(lim);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("artifact");
    std::fs::write(&p, bytes).unwrap();
    let a = portcullis_core::reader::walk_path(&p, name, &opts, &mut Null).unwrap();
    let b = portcullis_core::reader::walk_reader(&mut &bytes[..], name, None, &opts, &mut Null)
        .unwrap();
    vec![a, b]
}

/// Runs only inside the child spawned by [`bombs_run_in_bounded_memory`].
#[test]
#[allow(clippy::print_stdout)]
fn rss_child_bombs() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let lax = Limits {
        max_ratio: 1_000_000,
        max_total_bytes: 256 * MIB,
        ..limits()
    };
    for r in null_walks(&gzip_bomb(1024), "zeros.gz", limits()) {
        assert!(r.aborted, "{:?}", r.issues);
    }
    for r in null_walks(&gzip_bomb(1024), "zeros.gz", lax.clone()) {
        assert!(r.aborted, "{:?}", r.issues);
    }
    for r in null_walks(&nested_bomb(3, 16, 16), "42.zip", limits()) {
        assert!(r.aborted, "{:?}", r.issues);
    }
    for r in null_walks(&nested_bomb(2, 16, 4), "42.zip", lax) {
        assert!(r.aborted, "{:?}", r.issues);
    }
    // Incompressible zips nested 7 deep (20 MiB each): in-memory spools of all levels together are capped.
    let mut z = zip(&[("blob.bin", &noise(20 * MIB as usize, 11))], true);
    for _ in 0..6 {
        z = zip(&[("inner.zip", &z)], true);
    }
    for r in null_walks(&z, "nest.zip", limits()) {
        assert!(r.complete(), "{:?}", r.issues);
        assert_eq!(r.bytes_read, 20 * MIB);
    }
    drop(z);
    println!("VMHWM_KB={}", vm_hwm_kb());
}

#[test]
fn bombs_run_in_bounded_memory() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "rss_child_bombs",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kb: u64 = stdout
        .lines()
        .find_map(|l| l.split_once("VMHWM_KB=").map(|(_, v)| v.trim()))
        .unwrap_or_else(|| panic!("no VMHWM line in {stdout}"))
        .parse()
        .unwrap();
    eprintln!("bombs child peak RSS: {} MiB", kb / 1024);
    assert!(kb < 256 * 1024, "peak RSS {kb} KiB ≥ 256 MiB");
}
