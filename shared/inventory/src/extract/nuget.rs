//! NuGet: `packages.lock.json` (v1 and v2) and the `*.nuspec` inside a `.nupkg`.

use std::collections::BTreeMap;

use portcullis_core::reader::EntryInfo;
use serde::Deserialize;

use super::{ExtractError, Extracted, Extractor, Found, bad, inner_path, text};

const NUGET: &str = "NuGet";

pub(crate) const PACKAGES_LOCK: Extractor = Extractor {
    id: "dotnet/packages-lock",
    wants: |e| e.name == "packages.lock.json",
    extract: extract_lock,
};
pub(crate) const NUSPEC: Extractor = Extractor {
    id: "dotnet/nuspec",
    wants: |e| {
        e.name.ends_with(".nuspec") && e.path.contains("!/") && !inner_path(&e.path).contains('/')
    },
    extract: extract_nuspec,
};

#[derive(Deserialize)]
struct Lock {
    version: u32,
    #[serde(default)]
    dependencies: BTreeMap<String, BTreeMap<String, LockDep>>,
}

#[derive(Deserialize)]
struct LockDep {
    #[serde(default)]
    resolved: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

fn extract_lock(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let lock: Lock = serde_json::from_slice(data)?;
    if !(1..=2).contains(&lock.version) {
        return Err(bad(format!(
            "unsupported lock file version {}",
            lock.version
        )));
    }
    let mut out = Vec::new();
    for deps in lock.dependencies.values() {
        for (name, d) in deps {
            if d.kind.as_deref() == Some("Project") {
                continue;
            }
            let Some(v) = &d.resolved else { continue };
            out.push(Found::new(NUGET, name, v));
        }
    }
    Ok(out.into())
}

fn extract_nuspec(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let t = text(data)?;
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 1_000_000,
    };
    let doc = roxmltree::Document::parse_with_options(t, opts)?;
    let meta = doc
        .descendants()
        .find(|n| n.tag_name().name() == "metadata")
        .ok_or_else(|| bad("nuspec without <metadata>"))?;
    let get = |name: &str| {
        meta.children()
            .find(|c| c.is_element() && c.tag_name().name() == name)
            .and_then(|c| c.text())
            .map(|s| s.trim().to_string())
    };
    let (Some(id), Some(version)) = (get("id"), get("version")) else {
        return Err(bad("nuspec without <id> and <version>"));
    };
    let license = meta
        .children()
        .find(|c| c.tag_name().name() == "license" && c.attribute("type") == Some("expression"))
        .and_then(|c| c.text())
        .map(str::to_string);
    Ok(vec![Found::new(NUGET, id, version).license(license)].into())
}
