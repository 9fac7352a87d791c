//! SBOM input: CycloneDX 1.4–1.6 JSON and SPDX 2.3 JSON documents found inside the artifact (or the
//! artifact itself) → their components with a purl.

use portcullis_core::Format;
use portcullis_core::reader::EntryInfo;
use serde_json::Value;

use super::{ExtractError, Extracted, Extractor, Found, bad};
use crate::purl;

pub(crate) const SBOM: Extractor = Extractor {
    id: "sbom/document",
    wants: wants_sbom,
    extract: extract_sbom,
};

pub(crate) const CYCLONEDX: &str = "sbom/cyclonedx";
pub(crate) const SPDX: &str = "sbom/spdx";

fn wants_sbom(e: &EntryInfo) -> bool {
    let n = e.name.to_ascii_lowercase();
    n.ends_with(".cdx.json")
        || n.ends_with(".spdx.json")
        || n.ends_with(".sbom.json")
        || n.ends_with(".cyclonedx.json")
        || n == "bom.json"
        || n == "sbom.json"
        || (e.depth == 0 && e.format == Format::Json)
}

fn extract_sbom(e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    match parse(data) {
        Ok(found) => Ok(found.into()),
        // A top-level JSON artifact that is not an SBOM is simply not one of ours.
        Err(ExtractError::Format(_))
            if e.depth == 0 && !e.name.to_ascii_lowercase().contains("bom") =>
        {
            Ok(Extracted::default())
        }
        Err(err) => Err(err),
    }
}

fn from_purl(
    p: &str,
    version: Option<&str>,
    license: Option<String>,
    by: &'static str,
) -> Option<Found> {
    let parsed = purl::parse(p)?;
    let (eco, pname) = parsed.ecosystem_and_name();
    let version = parsed
        .version
        .clone()
        .or_else(|| version.map(str::to_string))
        .unwrap_or_default();
    let mut f = Found::new(&eco, pname, version).license(license);
    f.purl = Some(p.to_string());
    f.found_by = Some(by);
    Some(f)
}

fn cdx_license(c: &Value) -> Option<String> {
    let ls = c.get("licenses")?.as_array()?;
    let mut ids = Vec::new();
    for l in ls {
        if let Some(e) = l.get("expression").and_then(Value::as_str) {
            return Some(e.to_string());
        }
        let lic = l.get("license")?;
        if let Some(id) = lic
            .get("id")
            .and_then(Value::as_str)
            .or_else(|| lic.get("name").and_then(Value::as_str))
        {
            ids.push(id.to_string());
        }
    }
    match ids.len() {
        0 => None,
        1 => Some(ids.remove(0)),
        _ => Some(ids.join(" AND ")),
    }
}

fn cdx_walk(components: &[Value], out: &mut Vec<Found>, depth: u32) {
    if depth > 64 {
        return;
    }
    for c in components {
        if let Some(p) = c.get("purl").and_then(Value::as_str)
            && let Some(f) = from_purl(
                p,
                c.get("version").and_then(Value::as_str),
                cdx_license(c),
                CYCLONEDX,
            )
        {
            out.push(f);
        }
        if let Some(Value::Array(sub)) = c.get("components") {
            cdx_walk(sub, out, depth + 1);
        }
    }
}

/// Parses a CycloneDX or SPDX JSON document.
pub(crate) fn parse(data: &[u8]) -> Result<Vec<Found>, ExtractError> {
    let v: Value = serde_json::from_slice(data)?;
    let mut out = Vec::new();
    if v.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        let spec = v.get("specVersion").and_then(Value::as_str).unwrap_or("");
        if !matches!(spec, "1.2" | "1.3" | "1.4" | "1.5" | "1.6" | "1.7") {
            return Err(bad(format!("unsupported CycloneDX specVersion `{spec}`")));
        }
        if let Some(Value::Array(cs)) = v.get("components") {
            cdx_walk(cs, &mut out, 0);
        }
        return Ok(out);
    }
    if let Some(sv) = v.get("spdxVersion").and_then(Value::as_str) {
        if !sv.starts_with("SPDX-2.") {
            return Err(bad(format!("unsupported SPDX version `{sv}`")));
        }
        for p in v
            .get("packages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let purl = p
                .get("externalRefs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find_map(|r| {
                    (r.get("referenceType").and_then(Value::as_str) == Some("purl"))
                        .then(|| r.get("referenceLocator").and_then(Value::as_str))
                        .flatten()
                });
            let Some(purl) = purl else { continue };
            let license = p
                .get("licenseDeclared")
                .and_then(Value::as_str)
                .filter(|l| !matches!(*l, "NOASSERTION" | "NONE"))
                .map(str::to_string);
            if let Some(f) = from_purl(
                purl,
                p.get("versionInfo").and_then(Value::as_str),
                license,
                SPDX,
            ) {
                out.push(f);
            }
        }
        return Ok(out);
    }
    Err(bad(
        "not an SBOM: neither CycloneDX (bomFormat) nor SPDX (spdxVersion)",
    ))
}
