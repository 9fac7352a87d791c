//! Container formats: tar, zip, ar, cpio and rpm. Each iterates entries and hands them to
//! [`Walker::entry`]; none ever writes an entry to disk or follows a link.

use std::collections::HashSet;
use std::io::{self, Read, Seek};

use crate::model::UnscannableReason;

use super::guard::{drain, read_full};
use super::image::Decision;
use super::{EntryKind, Flow, Walker, normalize_name};

fn corrupt(detail: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, detail.into())
}

impl Walker<'_> {
    /// Walks a tar stream. When an image layer context is pending, whiteouts and shadowing apply.
    pub(crate) fn tar(
        &mut self,
        path: &str,
        depth: u32,
        r: &mut dyn Read,
        layer: Option<&str>,
    ) -> Flow {
        // The first tar reached while opening an image layer is that layer: whiteouts and shadowing apply.
        let image_layer: Option<String> = self.pending_layer.take();
        let layer_owned: Option<String> = image_layer.clone().or(layer.map(str::to_string));
        let layer = layer_owned.as_deref();
        let mut archive = tar::Archive::new(r);
        let entries = match archive.entries() {
            Ok(e) => e,
            Err(e) => return self.fail(path, &e),
        };
        let mut symlinks: HashSet<String> = HashSet::new();
        let mut index = 0u64;
        let mut last = String::new();
        for item in entries {
            index += 1;
            let mut entry = match item {
                Ok(e) => e,
                Err(e) => {
                    // A limit hit while skipping past an entry (total bytes, ratio, wall time) keeps its own
                    // reason (and stops the walk when it is walk-wide): it is not corruption.
                    if super::classify(&e).is_some() {
                        return self.fail(path, &e);
                    }
                    let after = if last.is_empty() {
                        "at the first header".to_string()
                    } else {
                        format!("after entry #{} `{}`", index - 1, last.escape_debug())
                    };
                    let err = corrupt(format!("tar truncated or corrupt {after}: {e}"));
                    return self.fail(path, &err);
                }
            };
            let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            last.clone_from(&raw_name);
            let header = entry.header();
            let et = header.entry_type();
            let link = entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let kind = if et.is_file() || et.is_contiguous() {
                EntryKind::File
            } else if et.is_dir() {
                EntryKind::Directory
            } else if et.is_symlink() {
                EntryKind::Symlink { target: link }
            } else if et.is_hard_link() {
                EntryKind::Hardlink { target: link }
            } else if et.is_pax_global_extensions() {
                continue;
            } else {
                EntryKind::Other
            };
            let (norm, _) = normalize_name(&raw_name);
            let decision = match (&image_layer, self.image_filter.as_mut()) {
                (Some(_), Some(filter)) => filter.decide(&norm, kind == EntryKind::Directory),
                _ => Decision::Emit,
            };
            {
                match decision {
                    Decision::Emit => {}
                    Decision::Whiteout | Decision::Hidden => {
                        if let Err(e) = self.budget.count_entry() {
                            return self.fail(path, &e);
                        }
                        continue;
                    }
                }
            }
            // A later entry written through (or over) an earlier symlink would escape on extraction.
            let through = if symlinks.contains(&norm) && !matches!(kind, EntryKind::Symlink { .. })
            {
                Some(norm.as_str())
            } else {
                ancestors(&norm).find(|a| symlinks.contains(*a))
            };
            if let Some(through) = through {
                self.issue(
                    &format!("{path}!/{norm}"),
                    UnscannableReason::UnsafeEntryName,
                    format!("entry is written through the symlink `{through}`"),
                );
            }
            if matches!(kind, EntryKind::Symlink { .. }) {
                symlinks.insert(norm.clone());
            }
            let declared = entry.size();
            // PAX `size` overrides the ustar size (tar ≥ 0.4.46, like GNU tar); parsers that disagree see
            // different members (CVE-2026-33055), so a disagreement is reported. Files ≥ 8 GiB legitimately
            // carry size 0 in the ustar field.
            if let Ok(ustar) = entry.header().entry_size()
                && ustar != declared
                && !(ustar == 0 && declared > 0o77_777_777_777)
            {
                self.issue(
                    &format!("{path}!/{norm}"),
                    UnscannableReason::LyingSize,
                    format!(
                        "PAX size {declared} disagrees with the ustar header size {ustar} (tar member smuggling); \
                         read with the PAX size"
                    ),
                );
            }
            self.entry(
                path,
                &raw_name,
                kind,
                Some(declared),
                layer,
                depth + 1,
                UnscannableReason::Corrupt,
                &mut entry,
            )?;
        }
        Ok(())
    }

    /// Walks a zip archive from a seekable source: refuses overlapping entries, reports encrypted ones,
    /// checks declared sizes and per-entry compression ratios.
    pub(crate) fn zip<R: Read + Seek>(
        &mut self,
        path: &str,
        depth: u32,
        mut src: R,
        layer: Option<&str>,
    ) -> Flow {
        let len = src
            .seek(io::SeekFrom::End(0))
            .and_then(|n| src.seek(io::SeekFrom::Start(0)).map(|_| n));
        let len = match len {
            Ok(n) => n,
            Err(e) => return self.fail(path, &e),
        };
        let mut za = match zip::ZipArchive::new(src) {
            Ok(z) => z,
            Err(e) => {
                let reason = match &e {
                    zip::result::ZipError::UnsupportedArchive(_) => {
                        UnscannableReason::UnsupportedFormat
                    }
                    _ => UnscannableReason::Corrupt,
                };
                if super::classify(&e).is_some() {
                    return self.fail(path, &e);
                }
                self.issue(
                    path,
                    reason,
                    format!(
                        "zip: {e} (searched the end of the {len}-byte archive for the central directory; \
                         a truncated zip loses it)"
                    ),
                );
                return Ok(());
            }
        };
        let n = za.len();
        if self.budget.entries.get() + n as u64 > self.budget.limits.max_entries {
            let e = super::LimitHit::io(
                UnscannableReason::TooManyEntries,
                format!(
                    "zip lists {n} entries; the limit is {}",
                    self.budget.limits.max_entries
                ),
            );
            return self.fail(path, &e);
        }
        // Non-recursive zip bombs reuse the same compressed bytes for many entries: refuse any overlap
        // (data with data, headers with data, data with the central directory).
        match za.has_overlapping_entries() {
            Ok(false) => {}
            Ok(true) => {
                self.issue(
                    path,
                    UnscannableReason::OverlappingEntries,
                    "entries share bytes (overlapping-entry zip bomb)".into(),
                );
                return Ok(());
            }
            Err(e) => {
                self.issue(path, UnscannableReason::Corrupt, format!("zip: {e}"));
                return Ok(());
            }
        }
        for i in 0..n {
            let (raw_name, is_dir, is_symlink, encrypted, declared, compressed) =
                match za.by_index_raw(i) {
                    Ok(f) => (
                        f.name()
                            .map(|n| n.into_owned())
                            .unwrap_or_else(|_| String::from_utf8_lossy(f.name_raw()).into_owned()),
                        f.is_dir(),
                        f.is_symlink(),
                        f.encrypted(),
                        f.size(),
                        f.compressed_size(),
                    ),
                    Err(e) => {
                        self.issue(
                            path,
                            UnscannableReason::Corrupt,
                            format!("zip entry #{i}: {e}"),
                        );
                        return Ok(());
                    }
                };
            if encrypted {
                let (norm, _) = normalize_name(&raw_name);
                if let Err(e) = self.budget.count_entry() {
                    return self.fail(path, &e);
                }
                self.issue(
                    &format!("{path}!/{norm}"),
                    UnscannableReason::Encrypted,
                    "password-protected zip entry".into(),
                );
                continue;
            }
            if is_dir || is_symlink {
                let mut target = String::new();
                if is_symlink && let Ok(mut f) = za.by_index(i) {
                    let mut buf = Vec::new();
                    let _ = (&mut f).take(4096).read_to_end(&mut buf);
                    target = String::from_utf8_lossy(&buf).into_owned();
                }
                let kind = if is_dir {
                    EntryKind::Directory
                } else {
                    EntryKind::Symlink { target }
                };
                self.entry(
                    path,
                    &raw_name,
                    kind,
                    None,
                    layer,
                    depth + 1,
                    UnscannableReason::Corrupt,
                    &mut io::empty(),
                )?;
                continue;
            }
            let file = match za.by_index(i) {
                Ok(f) => f,
                Err(e) => {
                    let (norm, _) = normalize_name(&raw_name);
                    let text = e.to_string();
                    let reason = match &e {
                        zip::result::ZipError::UnsupportedArchive(m) if m.contains("assword") => {
                            UnscannableReason::Encrypted
                        }
                        zip::result::ZipError::UnsupportedArchive(_) => {
                            UnscannableReason::UnsupportedFormat
                        }
                        _ if text.contains("size mismatch") => UnscannableReason::LyingSize,
                        _ => UnscannableReason::Corrupt,
                    };
                    if let Err(e) = self.budget.count_entry() {
                        return self.fail(path, &e);
                    }
                    self.issue(
                        &format!("{path}!/{norm}"),
                        reason,
                        format!("zip: {text} (central directory declares {declared} bytes, {compressed} compressed)"),
                    );
                    continue;
                }
            };
            let input = std::rc::Rc::new(std::cell::Cell::new(compressed.max(1)));
            let mut guarded = super::guard::DecodeGuard {
                inner: ZipEntryReader {
                    inner: file,
                    declared,
                },
                budget: self.budget.clone(),
                input,
                output: 0,
                what: "zip entry",
            };
            self.entry(
                path,
                &raw_name,
                EntryKind::File,
                Some(declared),
                layer,
                depth + 1,
                UnscannableReason::LyingSize,
                &mut guarded,
            )?;
        }
        Ok(())
    }

    /// Walks a Unix `ar` archive (System V/GNU and BSD long names), e.g. the outer layer of a `.deb`.
    pub(crate) fn ar(
        &mut self,
        path: &str,
        depth: u32,
        r: &mut dyn Read,
        layer: Option<&str>,
    ) -> Flow {
        let mut magic = [0u8; 8];
        match read_full(r, &mut magic) {
            Ok(8) if &magic == b"!<arch>\n" => {}
            Ok(_) => return self.fail(path, &corrupt("ar: bad magic")),
            Err(e) => return self.fail(path, &e),
        }
        let mut long_names: Vec<u8> = Vec::new();
        let mut offset = 8u64;
        loop {
            let mut hdr = [0u8; 60];
            let got = match read_full(r, &mut hdr) {
                Ok(n) => n,
                Err(e) => return self.fail(path, &e),
            };
            if got == 0 {
                return Ok(());
            }
            if got < 60 || &hdr[58..60] != b"`\n" {
                return self.fail(
                    path,
                    &corrupt(format!(
                        "ar: truncated or bad member header at byte {offset}"
                    )),
                );
            }
            let field = |a: usize, b: usize| String::from_utf8_lossy(&hdr[a..b]).trim().to_string();
            let raw_name = field(0, 16);
            let size: u64 = match field(48, 58).parse() {
                Ok(s) => s,
                Err(_) => {
                    return self.fail(
                        path,
                        &corrupt(format!("ar: bad member size at byte {offset}")),
                    );
                }
            };
            offset += 60;
            let mut data = r.take(size);
            let name: String;
            let mut data_size = size;
            if raw_name == "/" || raw_name == "/SYM64/" || raw_name == "__.SYMDEF" {
                name = String::new(); // symbol table
            } else if raw_name == "//" {
                long_names.clear();
                if let Err(e) = (&mut data)
                    .take(16 * 1024 * 1024)
                    .read_to_end(&mut long_names)
                {
                    return self.fail(path, &e);
                }
                name = String::new();
            } else if let Some(len) = raw_name.strip_prefix("#1/") {
                let Ok(len) = len.parse::<u64>() else {
                    return self.fail(path, &corrupt("ar: bad BSD name length"));
                };
                if len > size || len > 4096 {
                    return self.fail(path, &corrupt("ar: BSD name longer than its member"));
                }
                let mut nb = vec![0u8; len as usize];
                if let Err(e) = data.read_exact(&mut nb) {
                    return self.fail(path, &e);
                }
                data_size = size - len;
                name = String::from_utf8_lossy(&nb)
                    .trim_end_matches('\0')
                    .to_string();
            } else if let Some(idx) = raw_name.strip_prefix('/') {
                let Ok(idx) = idx.parse::<usize>() else {
                    return self.fail(path, &corrupt("ar: bad long-name index"));
                };
                let rest = long_names.get(idx..).unwrap_or_default();
                let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                name = String::from_utf8_lossy(&rest[..end])
                    .trim_end_matches('/')
                    .to_string();
            } else {
                name = raw_name.trim_end_matches('/').to_string();
            }
            if !name.is_empty() {
                self.entry(
                    path,
                    &name,
                    EntryKind::File,
                    Some(data_size),
                    layer,
                    depth + 1,
                    UnscannableReason::Corrupt,
                    &mut data,
                )?;
            }
            match drain(&mut data) {
                Ok(_) => {}
                Err(e) => return self.fail(path, &e),
            }
            if data.limit() > 0 {
                return self.fail(
                    path,
                    &corrupt(format!("ar: member at byte {offset} is truncated")),
                );
            }
            offset += size;
            if size % 2 == 1 {
                let mut pad = [0u8; 1];
                if let Err(e) = read_full(r, &mut pad) {
                    return self.fail(path, &e);
                }
                offset += 1;
            }
        }
    }

    /// Walks a cpio archive (newc/crc and odc).
    pub(crate) fn cpio(
        &mut self,
        path: &str,
        depth: u32,
        r: &mut dyn Read,
        layer: Option<&str>,
    ) -> Flow {
        let mut offset = 0u64;
        loop {
            let mut magic = [0u8; 6];
            match read_full(r, &mut magic) {
                Ok(0) => return Ok(()),
                Ok(6) => {}
                Ok(_) => {
                    return self.fail(
                        path,
                        &corrupt(format!("cpio: truncated header at byte {offset}")),
                    );
                }
                Err(e) => return self.fail(path, &e),
            }
            let newc = match &magic {
                b"070701" | b"070702" => true,
                b"070707" => false,
                _ => {
                    // Trailing zero padding after TRAILER!!! is normal; anything else is corrupt.
                    if magic.iter().all(|&b| b == 0) {
                        return Ok(());
                    }
                    return self.fail(path, &corrupt(format!("cpio: bad magic at byte {offset}")));
                }
            };
            let hlen = if newc { 104 } else { 70 };
            let mut hdr = vec![0u8; hlen];
            match read_full(r, &mut hdr) {
                Ok(n) if n == hlen => {}
                Ok(_) => {
                    return self.fail(
                        path,
                        &corrupt(format!("cpio: truncated header at byte {offset}")),
                    );
                }
                Err(e) => return self.fail(path, &e),
            }
            let parse = |a: usize, len: usize, radix: u32| -> Option<u64> {
                let s = std::str::from_utf8(&hdr[a..a + len]).ok()?;
                u64::from_str_radix(s, radix).ok()
            };
            let (mode, filesize, namesize) = if newc {
                (parse(8, 8, 16), parse(48, 8, 16), parse(88, 8, 16))
            } else {
                (parse(12, 6, 8), parse(59, 11, 8), parse(53, 6, 8))
            };
            let (Some(mode), Some(filesize), Some(namesize)) = (mode, filesize, namesize) else {
                return self.fail(
                    path,
                    &corrupt(format!("cpio: bad header fields at byte {offset}")),
                );
            };
            if namesize == 0 || namesize > 65536 {
                return self.fail(
                    path,
                    &corrupt(format!("cpio: bad name size at byte {offset}")),
                );
            }
            let mut name_buf = vec![0u8; namesize as usize];
            if let Err(e) = r.read_exact(&mut name_buf) {
                return self.fail(path, &e);
            }
            let header_total = 6 + hlen as u64 + namesize;
            if newc && let Err(e) = skip(r, pad4(header_total)) {
                return self.fail(path, &e);
            }
            let name = String::from_utf8_lossy(&name_buf)
                .trim_end_matches('\0')
                .to_string();
            if name == "TRAILER!!!" {
                return Ok(());
            }
            let fmt = mode & 0o170000;
            let mut data = r.take(filesize);
            let kind = match fmt {
                0o100000 => EntryKind::File,
                0o040000 => EntryKind::Directory,
                0o120000 => {
                    let mut t = Vec::new();
                    if let Err(e) = (&mut data).take(4096).read_to_end(&mut t) {
                        return self.fail(path, &e);
                    }
                    EntryKind::Symlink {
                        target: String::from_utf8_lossy(&t).into_owned(),
                    }
                }
                _ => EntryKind::Other,
            };
            self.entry(
                path,
                &name,
                kind,
                Some(filesize),
                layer,
                depth + 1,
                UnscannableReason::Corrupt,
                &mut data,
            )?;
            if let Err(e) = drain(&mut data) {
                return self.fail(path, &e);
            }
            if data.limit() > 0 {
                return self.fail(path, &corrupt(format!("cpio: `{name}` is truncated")));
            }
            if newc && let Err(e) = skip(r, pad4(filesize)) {
                return self.fail(path, &e);
            }
            offset += header_total + filesize;
        }
    }

    /// Walks an RPM package: lead, signature header, main header (offered to visitors as the virtual entry
    /// `<rpm-header>`), then the compressed cpio payload.
    pub(crate) fn rpm(
        &mut self,
        path: &str,
        depth: u32,
        r: &mut dyn Read,
        layer: Option<&str>,
    ) -> Flow {
        let mut lead = [0u8; 96];
        match read_full(r, &mut lead) {
            Ok(96) => {}
            Ok(_) => return self.fail(path, &corrupt("rpm: truncated lead")),
            Err(e) => return self.fail(path, &e),
        }
        // Signature header, padded to 8 bytes.
        let sig_len = match read_header(r) {
            Ok((_, len)) => len,
            Err(e) => return self.fail(path, &e),
        };
        if let Err(e) = skip(r, (8 - sig_len % 8) % 8) {
            return self.fail(path, &e);
        }
        let header = match read_header(r) {
            Ok((bytes, _)) => bytes,
            Err(e) => return self.fail(path, &e),
        };
        self.entry(
            path,
            "<rpm-header>",
            EntryKind::File,
            Some(header.len() as u64),
            layer,
            depth + 1,
            UnscannableReason::Corrupt,
            &mut io::Cursor::new(header),
        )?;
        // The payload is a compressed cpio archive; its entries appear directly under the rpm's path.
        self.stream(path, "payload", None, layer, depth + 1, true, r)
    }
}

/// Largest RPM header read (into memory); real ones are at most a few MiB even for huge file lists.
const MAX_RPM_HEADER: u64 = 32 * 1024 * 1024;

/// Reads one RPM header structure (magic, index, store); returns its bytes and length.
fn read_header(r: &mut dyn Read) -> io::Result<(Vec<u8>, u64)> {
    let mut intro = [0u8; 16];
    if read_full(r, &mut intro)? < 16 {
        return Err(corrupt("rpm: truncated header"));
    }
    if intro[..3] != [0x8e, 0xad, 0xe8] {
        return Err(corrupt("rpm: bad header magic"));
    }
    let nindex = u32::from_be_bytes([intro[8], intro[9], intro[10], intro[11]]) as u64;
    let hsize = u32::from_be_bytes([intro[12], intro[13], intro[14], intro[15]]) as u64;
    let body = nindex.checked_mul(16).and_then(|x| x.checked_add(hsize));
    let body = match body {
        Some(b) if b <= MAX_RPM_HEADER => b,
        _ => {
            return Err(corrupt(format!(
                "rpm: header of {nindex} index entries and {hsize} data bytes exceeds the {} MiB cap",
                MAX_RPM_HEADER >> 20
            )));
        }
    };
    let mut bytes = intro.to_vec();
    let got = r.take(body).read_to_end(&mut bytes)? as u64;
    if got < body {
        return Err(corrupt("rpm: truncated header"));
    }
    Ok((bytes, 16 + body))
}

/// Turns the zip crate's own "larger than declared" check into the explicit lying-size hit.
struct ZipEntryReader<R> {
    inner: R,
    declared: u64,
}

impl<R: Read> Read for ZipEntryReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if super::classify(&e).is_none() && e.to_string().contains("larger than its declared") {
                super::LimitHit::io(
                    UnscannableReason::LyingSize,
                    format!(
                        "holds more than the {} bytes its headers declare",
                        self.declared
                    ),
                )
            } else {
                e
            }
        })
    }
}

fn pad4(n: u64) -> u64 {
    (4 - n % 4) % 4
}

fn skip(r: &mut dyn Read, n: u64) -> io::Result<()> {
    let got = io::copy(&mut r.take(n), &mut io::sink())?;
    if got < n {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "truncated"));
    }
    Ok(())
}

/// Proper ancestors of a normalized path: `a/b/c` → `a`, `a/b`.
pub(crate) fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}
