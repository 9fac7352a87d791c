//! RubyGems: `Gemfile.lock` (specs of the GEM, GIT and PATH sections) and installed
//! `specifications/*.gemspec` (literal `name`/`version`/`licenses`).

use portcullis_core::reader::EntryInfo;

use super::{ExtractError, Extracted, Extractor, Found, bad, parent_name, text};

const GEMS: &str = "RubyGems";

pub(crate) const GEMFILE_LOCK: Extractor = Extractor {
    id: "ruby/gemfile-lock",
    wants: |e| e.name == "Gemfile.lock" || e.name == "gems.locked",
    extract: extract_lock,
};
pub(crate) const GEMSPEC: Extractor = Extractor {
    id: "ruby/gemspec",
    wants: |e| e.name.ends_with(".gemspec") && parent_name(&e.path) == "specifications",
    extract: extract_gemspec,
};

fn extract_lock(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let t = text(data)?;
    let mut out = Vec::new();
    let mut section = "";
    let mut in_specs = false;
    for line in t.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            section = line.trim();
            in_specs = false;
            continue;
        }
        if !matches!(section, "GEM" | "GIT" | "PATH" | "PLUGIN SOURCE") {
            continue;
        }
        if line.trim() == "specs:" {
            in_specs = true;
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if !in_specs || indent != 4 {
            continue;
        }
        let l = line.trim();
        let Some((name, rest)) = l.split_once(" (") else {
            continue;
        };
        let version = rest.trim_end_matches(')');
        // `1.13.3-x86_64-linux`: the platform follows the first `-`.
        let version = version.split('-').next().unwrap_or(version);
        out.push(Found::new(GEMS, name, version));
    }
    Ok(out.into())
}

/// The first double- or single-quoted literal in `s`.
fn quoted(s: &str) -> Option<&str> {
    let start = s.find(['"', '\''])?;
    let q = s[start..].chars().next()?;
    let rest = &s[start + 1..];
    let end = rest.find(q)?;
    Some(&rest[..end])
}

fn extract_gemspec(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let t = String::from_utf8_lossy(data);
    let (mut name, mut version, mut license) = (None, None, None);
    for line in t.lines() {
        let l = line.trim();
        let Some((lhs, rhs)) = l.split_once('=') else {
            continue;
        };
        let key = lhs.trim().rsplit('.').next().unwrap_or("").trim();
        match key {
            "name" if name.is_none() => name = quoted(rhs).map(str::to_string),
            "version" if version.is_none() => version = quoted(rhs).map(str::to_string),
            "licenses" | "license" if license.is_none() => {
                let ids: Vec<&str> = rhs.split(',').filter_map(quoted).collect();
                if !ids.is_empty() {
                    license = Some(if ids.len() == 1 {
                        ids[0].to_string()
                    } else {
                        ids.join(" OR ")
                    });
                }
            }
            _ => {}
        }
    }
    match (name, version) {
        (Some(n), Some(v)) => Ok(vec![Found::new(GEMS, n, v).license(license)].into()),
        _ => Err(bad("gemspec without literal name and version")),
    }
}
