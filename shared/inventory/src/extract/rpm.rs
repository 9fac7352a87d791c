//! RPM: the `<rpm-header>` entry the reader emits for `.rpm` files (NAME, VERSION, RELEASE, EPOCH, LICENSE,
//! SOURCERPM, VENDOR/DISTRIBUTION for the ecosystem). Installed-package databases are in `rpmdb`.

use portcullis_core::reader::EntryInfo;

use super::{ExtractError, Extracted, Extractor, Found, bad};

pub(crate) const RPM_HEADER: Extractor = Extractor {
    id: "rpm/header",
    wants: |e| e.name == "<rpm-header>",
    extract: extract_header,
};

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_DISTRIBUTION: u32 = 1010;
const TAG_VENDOR: u32 = 1011;
const TAG_LICENSE: u32 = 1014;
const TAG_SOURCERPM: u32 = 1044;

struct Header<'a> {
    index: Vec<(u32, u32, usize, u32)>,
    store: &'a [u8],
}

fn be32(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

impl<'a> Header<'a> {
    fn parse(data: &'a [u8]) -> Result<Header<'a>, ExtractError> {
        if data.len() < 16 || data[..3] != [0x8e, 0xad, 0xe8] {
            return Err(bad("rpm header: bad magic"));
        }
        let nindex = be32(data, 8).ok_or_else(|| bad("rpm header: truncated"))? as usize;
        let hsize = be32(data, 12).ok_or_else(|| bad("rpm header: truncated"))? as usize;
        let store_start = nindex
            .checked_mul(16)
            .and_then(|x| x.checked_add(16))
            .ok_or_else(|| bad("rpm header: size"))?;
        let store = data
            .get(store_start..store_start.saturating_add(hsize))
            .ok_or_else(|| bad("rpm header: truncated store"))?;
        let mut index = Vec::with_capacity(nindex.min(4096));
        for i in 0..nindex {
            let o = 16 + i * 16;
            let (Some(tag), Some(ty), Some(off), Some(count)) = (
                be32(data, o),
                be32(data, o + 4),
                be32(data, o + 8),
                be32(data, o + 12),
            ) else {
                return Err(bad("rpm header: truncated index"));
            };
            index.push((tag, ty, off as usize, count));
        }
        Ok(Header { index, store })
    }

    fn string(&self, tag: u32) -> Option<String> {
        let &(_, ty, off, _) = self.index.iter().find(|e| e.0 == tag)?;
        // STRING (6), STRING_ARRAY (8, first element), I18NSTRING (9, first locale)
        if !matches!(ty, 6 | 8 | 9) {
            return None;
        }
        let s = self.store.get(off..)?;
        let end = s.iter().position(|&c| c == 0)?;
        Some(String::from_utf8_lossy(&s[..end]).into_owned())
    }

    fn int32(&self, tag: u32) -> Option<u32> {
        let &(_, ty, off, _) = self.index.iter().find(|e| e.0 == tag)?;
        (ty == 4).then(|| be32(self.store, off))?
    }
}

/// OSV ecosystem for an RPM from its vendor/distribution tags.
fn ecosystem(vendor: &str) -> &'static str {
    let v = vendor.to_ascii_lowercase();
    if v.contains("red hat") {
        "Red Hat"
    } else if v.contains("rocky") {
        "Rocky Linux"
    } else if v.contains("alma") {
        "AlmaLinux"
    } else if v.contains("opensuse") {
        "openSUSE"
    } else if v.contains("suse") {
        "SUSE"
    } else if v.contains("openeuler") {
        "openEuler"
    } else if v.contains("mageia") {
        "Mageia"
    } else {
        "RPM"
    }
}

/// `bash-5.1.8-6.el9.src.rpm` → `bash`.
pub(crate) fn source_name(srpm: &str) -> Option<String> {
    let s = srpm.strip_suffix(".rpm")?;
    let s = s.rsplit_once('.').map(|(a, _)| a).unwrap_or(s); // .src / .nosrc
    let (rest, _release) = s.rsplit_once('-')?;
    let (name, _version) = rest.rsplit_once('-')?;
    Some(name.to_string())
}

fn extract_header(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    Ok(vec![header_to_found(data)?].into())
}

/// One RPM header structure (with its 8-byte magic) → the package it describes.
pub(crate) fn header_to_found(data: &[u8]) -> Result<Found, ExtractError> {
    let h = Header::parse(data)?;
    let name = h
        .string(TAG_NAME)
        .ok_or_else(|| bad("rpm header without NAME"))?;
    let version = h.string(TAG_VERSION).unwrap_or_default();
    let release = h.string(TAG_RELEASE).unwrap_or_default();
    let evr = match (h.int32(TAG_EPOCH), release.is_empty()) {
        (Some(e), false) => format!("{e}:{version}-{release}"),
        (Some(e), true) => format!("{e}:{version}"),
        (None, false) => format!("{version}-{release}"),
        (None, true) => version,
    };
    let vendor = h
        .string(TAG_VENDOR)
        .or_else(|| h.string(TAG_DISTRIBUTION))
        .unwrap_or_default();
    let mut f = Found::new(ecosystem(&vendor), name, evr).license(h.string(TAG_LICENSE));
    f.source_name = h.string(TAG_SOURCERPM).and_then(|s| source_name(&s));
    Ok(f)
}
