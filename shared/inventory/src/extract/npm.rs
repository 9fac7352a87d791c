//! npm: installed `package.json` (npm tarballs' `package/package.json`, `node_modules/**/package.json`),
//! `package-lock.json` / `npm-shrinkwrap.json` v1–v3, `yarn.lock` (v1 and berry) and `pnpm-lock.yaml`.

use std::collections::BTreeMap;

use portcullis_core::reader::EntryInfo;
use serde::Deserialize;
use serde_json::Value;

use super::{ExtractError, Extracted, Extractor, Found, bad, inner_path, text};

const NPM: &str = "npm";

pub(crate) const PACKAGE_JSON: Extractor = Extractor {
    id: "npm/package-json",
    wants: wants_package_json,
    extract: extract_package_json,
};
pub(crate) const PACKAGE_LOCK: Extractor = Extractor {
    id: "npm/package-lock",
    // `node_modules/.package-lock.json` (npm's hidden lockfile) repeats the installed package.json files.
    wants: |e| {
        matches!(e.name.as_str(), "package-lock.json" | "npm-shrinkwrap.json")
            && !in_node_modules(e)
    },
    extract: extract_package_lock,
};
pub(crate) const YARN_LOCK: Extractor = Extractor {
    id: "npm/yarn-lock",
    wants: |e| e.name == "yarn.lock" && !in_node_modules(e),
    extract: extract_yarn_lock,
};
pub(crate) const PNPM_LOCK: Extractor = Extractor {
    id: "npm/pnpm-lock",
    wants: |e| e.name == "pnpm-lock.yaml" && !in_node_modules(e),
    extract: extract_pnpm_lock,
};

/// A lockfile inside an installed package (`node_modules/uri-js/yarn.lock`) describes that package's own
/// development environment, not what is installed: it is not read.
fn in_node_modules(e: &EntryInfo) -> bool {
    e.path.contains("node_modules/")
}

fn wants_package_json(e: &EntryInfo) -> bool {
    if e.name != "package.json" {
        return false;
    }
    let p = inner_path(&e.path);
    if p == "package/package.json" {
        return true;
    }
    // node_modules/<name>/package.json or node_modules/@scope/<name>/package.json
    let Some((before, _)) = p
        .rsplit_once("/package.json")
        .or_else(|| p.strip_suffix("package.json").map(|b| (b, "")))
    else {
        return false;
    };
    let segs: Vec<&str> = before.split('/').collect();
    let n = segs.len();
    (n >= 2
        && segs[n - 2] == "node_modules"
        && !segs[n - 1].starts_with('@')
        && !segs[n - 1].starts_with('.'))
        || (n >= 3 && segs[n - 3] == "node_modules" && segs[n - 2].starts_with('@'))
}

/// The `license` field in its historical shapes.
pub(crate) fn npm_license(v: &Value) -> Option<String> {
    match v.get("license") {
        Some(Value::String(s)) => return Some(s.clone()),
        Some(Value::Object(o)) => return o.get("type").and_then(Value::as_str).map(str::to_string),
        _ => {}
    }
    if let Some(Value::Array(a)) = v.get("licenses") {
        let ids: Vec<String> = a
            .iter()
            .filter_map(|l| {
                l.as_str()
                    .map(str::to_string)
                    .or_else(|| l.get("type")?.as_str().map(str::to_string))
            })
            .collect();
        if !ids.is_empty() {
            return Some(if ids.len() == 1 {
                ids[0].clone()
            } else {
                format!("({})", ids.join(" OR "))
            });
        }
    }
    None
}

fn extract_package_json(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let v: Value = serde_json::from_slice(data)?;
    let name = v.get("name").and_then(Value::as_str).unwrap_or("");
    let version = v.get("version").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() || version.is_empty() {
        // Not a publishable package manifest (workspace roots, test fixtures inside packages).
        return Ok(Extracted::default());
    }
    Ok(vec![Found::new(NPM, name, version).license(npm_license(&v))].into())
}

/// A git commit in a version/resolved string (`github:x/y#<sha>`, `git+https://…#<sha>`).
fn git_commit(s: &str) -> Option<&str> {
    let (_, frag) = s.rsplit_once('#')?;
    (frag.len() >= 7 && frag.len() <= 40 && frag.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(frag)
}

#[derive(Deserialize)]
struct LockV1Dep {
    #[serde(default)]
    version: String,
    #[serde(default)]
    dependencies: BTreeMap<String, LockV1Dep>,
}

#[derive(Deserialize)]
struct LockV2Pkg {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    license: Option<Value>,
    #[serde(default)]
    link: bool,
}

#[derive(Deserialize)]
struct Lock {
    #[serde(default, rename = "lockfileVersion")]
    lockfile_version: Option<u32>,
    #[serde(default)]
    packages: Option<BTreeMap<String, LockV2Pkg>>,
    #[serde(default)]
    dependencies: Option<BTreeMap<String, LockV1Dep>>,
}

fn v1_walk(deps: &BTreeMap<String, LockV1Dep>, out: &mut Vec<Found>, depth: u32) {
    if depth > 256 {
        return;
    }
    for (name, d) in deps {
        v1_walk(&d.dependencies, out, depth + 1);
        let mut name = name.clone();
        let mut version = d.version.clone();
        if let Some(alias) = version.strip_prefix("npm:")
            && let Some((n, v)) = alias.rsplit_once('@')
        {
            name = n.to_string();
            version = v.to_string();
        }
        if version.starts_with("file:") || git_commit(&version).is_some() || version.contains("://")
        {
            version = String::new();
        }
        out.push(Found::new(NPM, name, version));
    }
}

fn extract_package_lock(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let lock: Lock = serde_json::from_slice(data)?;
    let mut out = Vec::new();
    if let Some(packages) = &lock.packages {
        for (path, p) in packages {
            if path.is_empty() || p.link {
                continue;
            }
            let name = match &p.name {
                Some(n) if !n.is_empty() => n.clone(),
                _ => match path.rsplit_once("node_modules/") {
                    Some((_, n)) => n.to_string(),
                    None => path.rsplit('/').next().unwrap_or(path).to_string(),
                },
            };
            let version = p.version.clone().unwrap_or_default();
            let license = p
                .license
                .as_ref()
                .and_then(|l| npm_license(&serde_json::json!({ "license": l })));
            out.push(Found::new(NPM, name, version).license(license));
        }
    } else if let Some(deps) = &lock.dependencies {
        v1_walk(deps, &mut out, 0);
    } else if lock.lockfile_version.is_none() {
        return Err(bad(
            "not a package-lock.json: no lockfileVersion, packages or dependencies",
        ));
    }
    Ok(out.into())
}

/// `name@range` → name (scoped names keep their leading `@`; `alias@npm:real@range` → real).
fn yarn_spec_name(spec: &str) -> &str {
    let spec = spec.trim().trim_matches('"');
    // The separating `@` is the first one after the first character (a scope's `@` comes first).
    let first = spec.chars().next().map_or(0, char::len_utf8);
    let (name, rest) = match spec[first..].find('@') {
        Some(i) => (&spec[..first + i], &spec[first + i + 1..]),
        None => (spec, ""),
    };
    if let Some(real) = rest.strip_prefix("npm:")
        && !real.is_empty()
        && !real.starts_with(|c: char| {
            c.is_ascii_digit()
                || c == '^'
                || c == '~'
                || c == '*'
                || c == '>'
                || c == '<'
                || c == '='
        })
    {
        return yarn_spec_name(real);
    }
    name
}

fn extract_yarn_lock(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let t = text(data)?;
    let mut out = Vec::new();
    let mut header: Option<String> = None;
    let mut version: Option<String> = None;
    let mut resolution: Option<String> = None;
    let mut flush = |header: &mut Option<String>,
                     version: &mut Option<String>,
                     resolution: &mut Option<String>| {
        if let Some(h) = header.take() {
            let first = h.split(',').next().unwrap_or(&h);
            let mut name = yarn_spec_name(first).to_string();
            if let Some(r) = resolution.take() {
                // berry: `resolution: "real@npm:1.2.3"` names the real package behind an alias.
                let rn = yarn_spec_name(&r);
                if !rn.is_empty() {
                    name = rn.to_string();
                }
            }
            let v = version.take().unwrap_or_default();
            if !name.is_empty() && name != "__metadata" {
                out.push(Found::new(NPM, name, v));
            }
        }
        *version = None;
        *resolution = None;
    };
    for line in t.lines() {
        let trimmed = line.trim_end();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            flush(&mut header, &mut version, &mut resolution);
            header = Some(trimmed.trim_end_matches(':').to_string());
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent != 2 {
            continue;
        }
        let l = trimmed.trim();
        let (key, value) = match l.split_once([' ', ':']) {
            Some((k, v)) => (
                k.trim_matches('"'),
                v.trim_start_matches(':').trim().trim_matches('"'),
            ),
            None => continue,
        };
        match key {
            "version" => version = Some(value.to_string()),
            "resolution" => resolution = Some(value.to_string()),
            _ => {}
        }
    }
    flush(&mut header, &mut version, &mut resolution);
    Ok(out.into())
}

#[derive(Deserialize)]
struct PnpmLock {
    #[serde(default, rename = "lockfileVersion")]
    lockfile_version: Option<Value>,
    #[serde(default)]
    packages: Option<BTreeMap<String, Option<PnpmPkg>>>,
}

#[derive(Deserialize, Default)]
struct PnpmPkg {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

pub(crate) fn yaml_options() -> serde_saphyr::Options {
    let mut opts = serde_saphyr::Options::default();
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = 8_000_000;
    budget.max_nodes = 4_000_000;
    budget.max_aliases = 10_000;
    budget.max_anchors = 10_000;
    budget.max_depth = 64;
    opts.budget = Some(budget);
    opts
}

/// Splits a pnpm package key: v5 `/name/1.0.0`, `/@s/n/1.0.0_peer`, `registry.host/name/1.0.0`; v6
/// `/name@1.0.0(peer)`; v9 `name@1.0.0(peer)`. `Err` for a key that cannot be a package path; `Ok(None)`
/// for non-registry keys (`file:`, git URLs) that only the entry's own `name`/`version` can identify.
fn pnpm_key(key: &str, v6_or_later: bool) -> Result<Option<(String, String)>, ()> {
    if key.starts_with("file:") || key.starts_with("link:") {
        return Ok(None);
    }
    let k = key.split('(').next().unwrap_or(key);
    if v6_or_later {
        let k = k.strip_prefix('/').unwrap_or(k);
        let first = k.chars().next().map_or(0, char::len_utf8);
        let Some(i) = k[first..].find('@').map(|i| i + first) else {
            return Ok(None);
        };
        let (n, v) = (&k[..i], &k[i + 1..]);
        return Ok(Some((n.to_string(), v.to_string())));
    }
    let k = match k.strip_prefix('/') {
        Some(k) => k,
        None => match k.split_once('/') {
            Some((_host, rest)) => rest,
            None => return Err(()),
        },
    };
    let mut parts: Vec<&str> = k.split('/').collect();
    if parts.len() < 2 {
        return Err(());
    }
    let version = parts.pop().unwrap_or_default();
    let version = version.split('_').next().unwrap_or(version);
    Ok(Some((parts.join("/"), version.to_string())))
}

fn extract_pnpm_lock(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let t = text(data)?;
    if t.trim().is_empty() {
        return Ok(Extracted::default());
    }
    let lock: PnpmLock = serde_saphyr::from_str_with_options(t, yaml_options())
        .map_err(|e| ExtractError::Yaml(e.to_string()))?;
    let ver: f64 = match &lock.lockfile_version {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    };
    let v6 = ver >= 6.0;
    let mut out = Vec::new();
    for (key, p) in lock.packages.unwrap_or_default() {
        let p = p.unwrap_or_default();
        let parsed =
            pnpm_key(&key, v6).map_err(|()| bad(format!("invalid package path `{key}`")))?;
        let (kn, kv) = parsed.unwrap_or_default();
        let name = p.name.unwrap_or(kn);
        let version = p.version.unwrap_or(kv);
        // Keys that are URLs or paths carry no registry version.
        if name.is_empty() || !version.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        out.push(Found::new(NPM, name, version));
    }
    Ok(out.into())
}
