//! PyPI: wheel / installed `*.dist-info/METADATA`, sdist and egg `PKG-INFO`, `requirements*.txt` (pinned
//! `==` only; unpinned requirements are noted, not reported), `poetry.lock`, `Pipfile.lock`, `uv.lock`,
//! `pdm.lock`.

use std::collections::BTreeMap;

use portcullis_core::reader::EntryInfo;
use serde::Deserialize;

use super::{
    ExtractError, Extracted, Extractor, Found, field, inner_path, parent_name, rfc822_paragraphs,
    text,
};

const PYPI: &str = "PyPI";

pub(crate) const METADATA: Extractor = Extractor {
    id: "python/metadata",
    wants: wants_metadata,
    extract: extract_metadata,
};
pub(crate) const REQUIREMENTS: Extractor = Extractor {
    id: "python/requirements",
    wants: wants_requirements,
    extract: extract_requirements,
};
pub(crate) const POETRY_LOCK: Extractor = Extractor {
    id: "python/poetry-lock",
    wants: |e| e.name == "poetry.lock",
    extract: extract_toml_lock,
};
pub(crate) const PIPFILE_LOCK: Extractor = Extractor {
    id: "python/pipfile-lock",
    wants: |e| e.name == "Pipfile.lock",
    extract: extract_pipfile_lock,
};
pub(crate) const UV_LOCK: Extractor = Extractor {
    id: "python/uv-lock",
    wants: |e| e.name == "uv.lock",
    extract: extract_toml_lock,
};
pub(crate) const PDM_LOCK: Extractor = Extractor {
    id: "python/pdm-lock",
    wants: |e| e.name == "pdm.lock",
    extract: extract_toml_lock,
};

/// PEP 503 normalized name: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

fn wants_metadata(e: &EntryInfo) -> bool {
    let parent = parent_name(&e.path);
    match e.name.as_str() {
        "METADATA" => parent.ends_with(".dist-info"),
        "PKG-INFO" => {
            parent.ends_with(".egg-info")
                || (e.path.contains("!/") && inner_path(&e.path).matches('/').count() == 1)
        }
        n => n.ends_with(".egg-info") && !e.path.ends_with("/"),
    }
}

fn extract_metadata(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let t = String::from_utf8_lossy(data);
    let paras = rfc822_paragraphs(&t);
    let Some(head) = paras.first() else {
        return Err(super::bad("empty metadata"));
    };
    let (Some(name), Some(version)) = (field(head, "Name"), field(head, "Version")) else {
        return Err(super::bad("metadata without Name and Version"));
    };
    let license = field(head, "License-Expression")
        .or_else(|| {
            field(head, "License").filter(|l| !l.contains('\n') && l.len() < 100 && *l != "UNKNOWN")
        })
        .map(str::to_string);
    Ok(vec![Found::new(PYPI, name, version).license(license)].into())
}

fn wants_requirements(e: &EntryInfo) -> bool {
    let n = e.name.to_ascii_lowercase();
    (n.ends_with(".txt") && (n.starts_with("requirements") || n.ends_with("requirements.txt")))
        || (n.ends_with(".txt") && parent_name(&e.path) == "requirements")
}

/// One requirement line → (name, pinned version or None, constraint text).
pub(crate) fn parse_requirement(line: &str) -> Option<(String, Option<String>, String)> {
    let line = line.split(" #").next().unwrap_or(line);
    let line = line.split(';').next().unwrap_or(line);
    // per-requirement options (`--hash=…`, `--global-option`)
    let line = line.split(" --").next().unwrap_or(line).trim();
    if line.is_empty() || line.starts_with('-') || line.starts_with('#') {
        return None;
    }
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(line.len());
    let name = &line[..end];
    if name.is_empty() || name.contains("://") {
        return None;
    }
    let mut rest = line[end..].trim();
    if rest.starts_with('[') {
        rest = rest.split_once(']').map(|(_, r)| r.trim()).unwrap_or("");
    }
    if rest.starts_with('@') || rest.starts_with(':') || rest.starts_with('/') {
        return Some((normalize(name), None, rest.to_string()));
    }
    let rest = rest.trim_start_matches('(').trim_end_matches(')').trim();
    let specs: Vec<&str> = rest
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let pinned = if specs.len() == 1 {
        let s = specs[0];
        let v = s.strip_prefix("===").or_else(|| s.strip_prefix("=="));
        v.map(str::trim)
            .filter(|v| !v.is_empty() && !v.contains('*'))
            .map(str::to_string)
    } else {
        None
    };
    Some((normalize(name), pinned, rest.to_string()))
}

/// The file named by an include line (`-r x.txt`, `-rx.txt`, `--requirement=x.txt`), when the line is one.
/// Constraint files (`-c`) are not includes: they pin versions of packages only if something else requires
/// them. URLs are not files of the artifact.
pub(crate) fn requirement_include(line: &str) -> Option<&str> {
    let line = line.split(" #").next().unwrap_or(line).trim();
    let rest = ["--requirement", "-r"]
        .iter()
        .find_map(|opt| line.strip_prefix(opt))?;
    let target = rest.trim_start_matches('=').trim();
    (!target.is_empty() && !target.contains("://") && !target.starts_with('-')).then_some(target)
}

fn extract_requirements(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let t = text(data)?;
    let mut out = Extracted::default();
    let mut joined = String::new();
    for raw in t.lines() {
        let raw = raw.trim_end_matches('\r');
        if let Some(cont) = raw.strip_suffix('\\') {
            joined.push_str(cont);
            joined.push(' ');
            continue;
        }
        joined.push_str(raw);
        let line = std::mem::take(&mut joined);
        if let Some(target) = requirement_include(&line) {
            out.includes.push(target.to_string());
            continue;
        }
        if let Some((name, pinned, constraint)) = parse_requirement(&line) {
            match pinned {
                Some(v) => out.packages.push(Found::new(PYPI, name, v)),
                None => out.unpinned.push((name, constraint)),
            }
        }
    }
    if let Some((name, pinned, constraint)) = parse_requirement(&joined) {
        match pinned {
            Some(v) => out.packages.push(Found::new(PYPI, name, v)),
            None => out.unpinned.push((name, constraint)),
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct TomlLock {
    #[serde(default)]
    package: Vec<TomlPkg>,
}

#[derive(Deserialize)]
struct TomlPkg {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    source: Option<toml::Value>,
}

/// poetry.lock, uv.lock and pdm.lock share `[[package]] name/version/source`.
fn extract_toml_lock(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let t = text(data)?;
    let lock: TomlLock = toml::from_str(t)?;
    let mut out = Vec::new();
    for p in lock.package {
        // uv: the project itself and workspace members are `source = { editable/virtual = "…" }`.
        let local = p
            .source
            .as_ref()
            .and_then(|s| s.as_table())
            .is_some_and(|t| t.contains_key("editable") || t.contains_key("virtual"));
        if local {
            continue;
        }
        out.push(Found::new(PYPI, p.name, p.version.unwrap_or_default()));
    }
    Ok(out.into())
}

#[derive(Deserialize)]
struct PipfileDep {
    #[serde(default)]
    version: Option<String>,
}

fn extract_pipfile_lock(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let v: BTreeMap<String, serde_json::Value> = serde_json::from_slice(data)?;
    let mut out = Vec::new();
    for group in ["default", "develop"] {
        let Some(deps) = v.get(group) else { continue };
        let deps: BTreeMap<String, PipfileDep> = serde_json::from_value(deps.clone())?;
        for (name, d) in deps {
            let Some(ver) = d.version else { continue };
            let ver = ver.trim_start_matches("==").to_string();
            out.push(Found::new(PYPI, name, ver));
        }
    }
    Ok(out.into())
}
