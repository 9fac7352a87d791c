//! Executables: Go build info (the `\xff Go buildinf:` blob of Go ≥ 1.18 binaries, ELF/Mach-O/PE: main
//! module, dependencies with `=>` replacements applied, and the toolchain as package `stdlib`) and
//! cargo-auditable's `.dep-v0` ELF section (zlib-compressed JSON listing every crate linked in).

use std::io::Read;

use portcullis_core::Format;
use portcullis_core::reader::EntryInfo;
use serde::Deserialize;

use super::cargo::CRATES;
use super::golang::{GO, go_version};
use super::{ExtractError, Extracted, Extractor, Found, bad};

pub(crate) const BINARY: Extractor = Extractor {
    id: "binary/executable",
    wants: |e| matches!(e.format, Format::Elf | Format::MachO | Format::Pe),
    extract: extract_binary,
};

/// Found-by ids of the two binary readers.
pub(crate) const GO_BUILDINFO: &str = "go/buildinfo";
pub(crate) const CARGO_AUDITABLE: &str = "rust/cargo-auditable";

const GO_MAGIC: &[u8] = b"\xff Go buildinf:";

fn extract_binary(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let mut out = Vec::new();
    if let Some(pos) = memchr::memmem::find(data, GO_MAGIC) {
        out.extend(go_buildinfo(&data[pos..])?);
    }
    if data.starts_with(b"\x7fELF")
        && let Some(section) = elf_section(data, ".dep-v0")
    {
        out.extend(cargo_auditable(section)?);
    }
    Ok(out.into())
}

fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x = 0u64;
    for (i, &c) in b.iter().enumerate().take(10) {
        x |= u64::from(c & 0x7f) << (7 * i);
        if c < 0x80 {
            return Some((x, i + 1));
        }
    }
    None
}

fn read_string(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, n) = uvarint(b)?;
    let len = usize::try_from(len).ok()?;
    let end = n.checked_add(len)?;
    (end <= b.len()).then(|| (&b[n..end], &b[end..]))
}

/// Parses the build info blob starting at the magic.
pub(crate) fn go_buildinfo(blob: &[u8]) -> Result<Vec<Found>, ExtractError> {
    if blob.len() < 32 {
        return Err(bad("truncated Go build info header"));
    }
    let flags = blob[15];
    if flags & 2 == 0 {
        // Go < 1.18 stores pointers into the data segment; not supported.
        return Err(bad(
            "Go build info from a toolchain older than 1.18 (pointer format) is not read",
        ));
    }
    let (version, rest) = read_string(&blob[32..]).ok_or_else(|| bad("bad Go version string"))?;
    let (modinfo, _) = read_string(rest).ok_or_else(|| bad("bad Go module info string"))?;
    let version = String::from_utf8_lossy(version);
    let mut modinfo = modinfo;
    if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        modinfo = &modinfo[16..modinfo.len() - 16];
    }
    let modinfo = String::from_utf8_lossy(modinfo);
    let mut out = Vec::new();
    let toolchain = version.split_whitespace().next().unwrap_or("");
    if let Some(v) = toolchain.strip_prefix("go") {
        let mut f = Found::new(GO, "stdlib", v);
        f.found_by = Some(GO_BUILDINFO);
        out.push(f);
    }
    let mut last_dep: Option<usize> = None;
    for line in modinfo.lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        match parts.as_slice() {
            ["mod", path, ver, ..] => {
                last_dep = None;
                if *ver != "(devel)" && !ver.is_empty() {
                    let mut f = Found::new(GO, *path, go_version(ver));
                    f.found_by = Some(GO_BUILDINFO);
                    out.push(f);
                    last_dep = Some(out.len() - 1);
                }
            }
            ["dep", path, ver, ..] => {
                let mut f = Found::new(GO, *path, go_version(ver));
                f.found_by = Some(GO_BUILDINFO);
                out.push(f);
                last_dep = Some(out.len() - 1);
            }
            ["=>", path, rest @ ..] => {
                if let Some(i) = last_dep {
                    out[i].name = path.to_string();
                    out[i].version = rest.first().map(|v| go_version(v)).unwrap_or_default();
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Finds a section by name with a minimal ELF section-header parser (32/64-bit, either byte order).
pub(crate) fn elf_section<'a>(data: &'a [u8], wanted: &str) -> Option<&'a [u8]> {
    if data.len() < 0x40 || &data[..4] != b"\x7fELF" {
        return None;
    }
    let is64 = data[4] == 2;
    let le = data[5] == 1;
    let u16_at = |o: usize| -> Option<u64> {
        let b: [u8; 2] = data.get(o..o + 2)?.try_into().ok()?;
        Some(u64::from(if le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        }))
    };
    let u32_at = |o: usize| -> Option<u64> {
        let b: [u8; 4] = data.get(o..o + 4)?.try_into().ok()?;
        Some(u64::from(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }))
    };
    let u64_at = |o: usize| -> Option<u64> {
        let b: [u8; 8] = data.get(o..o + 8)?.try_into().ok()?;
        Some(if le {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    };
    let word = |o: usize| if is64 { u64_at(o) } else { u32_at(o) };
    let (shoff, shentsize, shnum, shstrndx) = if is64 {
        (u64_at(0x28)?, u16_at(0x3a)?, u16_at(0x3c)?, u16_at(0x3e)?)
    } else {
        (u32_at(0x20)?, u16_at(0x2e)?, u16_at(0x30)?, u16_at(0x32)?)
    };
    let shoff = usize::try_from(shoff).ok()?;
    let (shentsize, shnum) = (shentsize as usize, shnum as usize);
    if shnum == 0 || shentsize < if is64 { 0x40 } else { 0x28 } || shnum > 65_535 {
        return None;
    }
    let sh = |i: usize| -> Option<(u64, usize, usize)> {
        let base = shoff.checked_add(i.checked_mul(shentsize)?)?;
        let name = u32_at(base)?;
        let (off, size) = if is64 {
            (word(base + 0x18)?, word(base + 0x20)?)
        } else {
            (word(base + 0x10)?, word(base + 0x14)?)
        };
        Some((
            name,
            usize::try_from(off).ok()?,
            usize::try_from(size).ok()?,
        ))
    };
    let (_, str_off, str_size) = sh(shstrndx as usize)?;
    let strtab = data.get(str_off..str_off.checked_add(str_size)?)?;
    for i in 0..shnum {
        let (name, off, size) = sh(i)?;
        let name = strtab.get(usize::try_from(name).ok()?..)?;
        let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
        if &name[..end] == wanted.as_bytes() {
            return data.get(off..off.checked_add(size)?);
        }
    }
    None
}

#[derive(Deserialize)]
struct Audit {
    packages: Vec<AuditPkg>,
}

#[derive(Deserialize)]
struct AuditPkg {
    name: String,
    version: String,
}

fn cargo_auditable(section: &[u8]) -> Result<Vec<Found>, ExtractError> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(section)
        .take(16 * 1024 * 1024)
        .read_to_end(&mut json)
        .map_err(|e| bad(format!("cannot inflate .dep-v0: {e}")))?;
    let audit: Audit = serde_json::from_slice(&json)?;
    Ok(audit
        .packages
        .into_iter()
        .map(|p| {
            let mut f = Found::new(CRATES, p.name, p.version);
            f.found_by = Some(CARGO_AUDITABLE);
            f
        })
        .collect())
}
