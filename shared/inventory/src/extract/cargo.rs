//! crates.io: `Cargo.lock` (v1–v4) and the normalized `Cargo.toml` of a `.crate` tarball
//! (`<name>-<version>/Cargo.toml`). Audited binaries (`.dep-v0`) are handled in `binary`.

use portcullis_core::reader::EntryInfo;
use serde::Deserialize;

use super::{ExtractError, Extracted, Extractor, Found, bad, inner_path, text};

pub(crate) const CRATES: &str = "crates.io";

pub(crate) const CARGO_LOCK: Extractor = Extractor {
    id: "rust/cargo-lock",
    wants: |e| e.name == "Cargo.lock",
    extract: extract_lock,
};
pub(crate) const CRATE_TOML: Extractor = Extractor {
    id: "rust/crate-manifest",
    wants: wants_crate_toml,
    extract: extract_crate_toml,
};

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockPkg>,
}

#[derive(Deserialize)]
struct LockPkg {
    name: String,
    version: String,
}

fn extract_lock(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let lock: Lock = toml::from_str(text(data)?)?;
    Ok(lock
        .package
        .into_iter()
        .map(|p| Found::new(CRATES, p.name, p.version))
        .collect::<Vec<_>>()
        .into())
}

/// `x.crate!/x-1.0.0/Cargo.toml`: the manifest at the top of a `.crate` archive.
fn wants_crate_toml(e: &EntryInfo) -> bool {
    if e.name != "Cargo.toml" {
        return false;
    }
    let Some((outer, inner)) = e.path.rsplit_once("!/") else {
        return false;
    };
    let outer_name = outer.rsplit(['/', '!']).next().unwrap_or(outer);
    outer_name.ends_with(".crate")
        && inner_path(&e.path).matches('/').count() == 1
        && !inner.is_empty()
}

#[derive(Deserialize)]
struct Manifest {
    package: Option<ManifestPkg>,
}

#[derive(Deserialize)]
struct ManifestPkg {
    name: String,
    version: Option<toml::Value>,
    license: Option<toml::Value>,
}

fn extract_crate_toml(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let m: Manifest = toml::from_str(text(data)?)?;
    let p = m
        .package
        .ok_or_else(|| bad("Cargo.toml without [package]"))?;
    let version = p
        .version
        .as_ref()
        .and_then(|v| v.as_str())
        .unwrap_or("0.0.0")
        .to_string();
    let license = p
        .license
        .as_ref()
        .and_then(|v| v.as_str())
        .map(str::to_string);
    Ok(vec![Found::new(CRATES, p.name, version).license(license)].into())
}
