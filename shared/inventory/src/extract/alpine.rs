//! Alpine: `lib/apk/db/installed` (`P:` name, `V:` version, `o:` origin → source name, `L:` licence).

use portcullis_core::reader::EntryInfo;

use super::{ExtractError, Extracted, Extractor, Found, inner_path};

pub(crate) const APK_INSTALLED: Extractor = Extractor {
    id: "alpine/apk-installed",
    wants: |e| e.name == "installed" && inner_path(&e.path).ends_with("lib/apk/db/installed"),
    extract: extract_installed,
};

fn extract_installed(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let t = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    let mut cur: Option<Found> = None;
    let flush = |cur: &mut Option<Found>, out: &mut Vec<Found>| {
        if let Some(f) = cur.take()
            && !f.name.is_empty()
        {
            out.push(f);
        }
    };
    for line in t.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            flush(&mut cur, &mut out);
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let f = cur.get_or_insert_with(|| Found::new("Alpine", "", ""));
        match k {
            "P" => f.name = v.to_string(),
            "V" => f.version = v.to_string(),
            "o" => f.source_name = Some(v.to_string()).filter(|s| !s.is_empty()),
            "L" => f.license = Some(v.to_string()).filter(|s| !s.is_empty()),
            _ => {}
        }
    }
    flush(&mut cur, &mut out);
    Ok(out.into())
}
