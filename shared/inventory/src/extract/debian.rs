//! Debian: `var/lib/dpkg/status` and distroless `var/lib/dpkg/status.d/*` in images, and the `control`
//! file of a `.deb` (`control.tar.*`). `Source: name (version)` gives the source package.

use portcullis_core::reader::EntryInfo;

use super::{
    ExtractError, Extracted, Extractor, Found, field, inner_path, parent_name, rfc822_paragraphs,
};

pub(crate) const DEBIAN: &str = "Debian";

pub(crate) const DPKG_STATUS: Extractor = Extractor {
    id: "debian/dpkg-status",
    wants: |e| {
        let p = inner_path(&e.path);
        (e.name == "status" && p.ends_with("var/lib/dpkg/status"))
            || (parent_name(&e.path) == "status.d"
                && p.contains("var/lib/dpkg/status.d/")
                && !e.name.ends_with(".md5sums"))
    },
    extract: extract_status,
};
pub(crate) const DEB_CONTROL: Extractor = Extractor {
    id: "debian/deb-control",
    wants: |e| {
        e.name == "control" && e.path.contains("!/control.tar") && inner_path(&e.path) == "control"
    },
    extract: extract_status,
};

fn extract_status(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let t = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    for para in rfc822_paragraphs(&t) {
        let first = |k: &str| field(&para, k).map(|v| v.lines().next().unwrap_or("").trim());
        // A paragraph without `Package` still names its source (malformed status files).
        let Some(name) =
            first("Package").or_else(|| first("Source").map(|s| s.split(' ').next().unwrap_or(s)))
        else {
            continue;
        };
        if let Some(status) = field(&para, "Status")
            && status.split_whitespace().last() != Some("installed")
        {
            continue;
        }
        let version = first("Version").unwrap_or("");
        let mut f = Found::new(DEBIAN, name, version);
        if let Some(src) = first("Source") {
            let mut it = src.splitn(2, ' ');
            let sname = it.next().unwrap_or("").trim();
            let sver = it.next().map(|v| {
                v.trim()
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .trim()
                    .to_string()
            });
            if !sname.is_empty() {
                f.source_name = Some(sname.to_string());
            }
            f.source_version = sver.filter(|v| !v.is_empty());
        }
        out.push(f);
    }
    Ok(out.into())
}
