//! CycloneDX 1.6 JSON output: the artifact as `metadata.component` (name, SHA-256), every package as a
//! `library` component with purl, declared licence and `portcullis:*` properties (location, layer,
//! found_by, source name). The serial number is derived from the artifact id, so the same artifact always
//! gives the same document. [`packages_from_portcullis_cyclonedx`] reads such a document back without loss
//! (the fan-in stores one per artifact; `rescan` re-matches it against a newer database).

use crate::model::{ArtifactMetadata, ArtifactRef, Package, PackageRef};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// `urn:uuid:` built from a SHA-256 of `seed` (RFC 4122 layout, version 5 bits, variant 10).
pub fn deterministic_uuid(seed: &str) -> String {
    let d = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// True when `s` only uses characters of SPDX expressions (ids, `AND`/`OR`/`WITH`, parentheses).
fn looks_like_spdx_expression(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 256
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | ' ' | '(' | ')' | ':')
        })
        && !s.trim().contains("  ")
        && s.split_whitespace().all(|w| {
            let w = w.trim_matches(['(', ')']);
            matches!(w, "AND" | "OR" | "WITH")
                || w.is_empty()
                || !w.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        })
}

fn bom_ref(p: &Package, idx: usize) -> String {
    let mut h = Sha256::new();
    for part in [
        &p.package.ecosystem,
        &p.package.name,
        &p.package.version,
        &p.location,
        &p.found_by,
    ] {
        h.update(part.as_bytes());
        h.update(b"\0");
    }
    h.update(idx.to_le_bytes());
    format!("pkg-{}", &hex::encode(h.finalize())[..20])
}

/// Builds the CycloneDX 1.6 document for `packages` found in `artifact`.
pub fn to_cyclonedx(
    packages: &[Package],
    artifact: &ArtifactRef,
    metadata: Option<&ArtifactMetadata>,
) -> Value {
    let id = artifact.artifact_id();
    let name = crate::reader::base_name(&artifact.display_name());
    let mut subject = json!({
        "type": "file",
        "bom-ref": id.to_string(),
        "name": name,
        "properties": [{ "name": "portcullis:artifact", "value": artifact.display_name() }],
    });
    if let Some(sha) = metadata.and_then(|m| m.sha256.as_deref()) {
        subject["hashes"] = json!([{ "alg": "SHA-256", "content": sha }]);
    }
    let mut components = Vec::with_capacity(packages.len());
    for (i, p) in packages.iter().enumerate() {
        let mut c = json!({
            "type": "library",
            "bom-ref": bom_ref(p, i),
            "name": p.package.name,
        });
        if !p.package.version.is_empty() {
            c["version"] = json!(p.package.version);
        }
        if let Some(purl) = &p.package.purl {
            c["purl"] = json!(purl);
        }
        if let Some(l) = &p.license {
            c["licenses"] = if looks_like_spdx_expression(l) {
                json!([{ "expression": l }])
            } else {
                json!([{ "license": { "name": l } }])
            };
        }
        let mut props = vec![
            json!({ "name": "portcullis:ecosystem", "value": p.package.ecosystem }),
            json!({ "name": "portcullis:location", "value": p.location }),
            json!({ "name": "portcullis:found_by", "value": p.found_by }),
        ];
        if let Some(layer) = &p.layer {
            props.push(json!({ "name": "portcullis:layer", "value": layer }));
        }
        if let Some(s) = &p.source_name {
            props.push(json!({ "name": "portcullis:source_name", "value": s }));
        }
        if p.inferred {
            props.push(json!({ "name": "portcullis:inferred", "value": "true" }));
        }
        c["properties"] = Value::Array(props);
        components.push(c);
    }
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": deterministic_uuid(&id.0),
        "version": 1,
        "metadata": {
            "tools": { "components": [{
                "type": "application",
                "name": "portcullis",
                "version": env!("CARGO_PKG_VERSION"),
            }]},
            "component": subject,
        },
        "components": components,
    })
}

/// The SBOM of a tool chain's result: the packages of every tool's inventory (deduplicated, sorted) as
/// CycloneDX 1.6; `None` when no tool produced an inventory (no package-aware tool ran).
pub fn chain_cyclonedx(chain: &crate::chain::ToolChainResult) -> Option<Value> {
    if !chain.results.values().any(|r| r.inventory.is_some()) {
        return None;
    }
    let mut packages: Vec<Package> = chain
        .results
        .values()
        .filter_map(|r| r.inventory.as_ref())
        .flat_map(|inv| inv.packages.iter().cloned())
        .collect();
    packages.sort();
    packages.dedup();
    Some(to_cyclonedx(
        &packages,
        &chain.artifact,
        chain.metadata.as_ref(),
    ))
}

/// The packages of a CycloneDX document written by [`to_cyclonedx`], exactly as they were (ecosystem,
/// location, layer, source name, found_by, inferred, licence). `None` when the document is not CycloneDX or
/// a component lacks the `portcullis:*` properties (another tool's SBOM: parse it as a generic SBOM).
pub fn packages_from_portcullis_cyclonedx(doc: &Value) -> Option<Vec<Package>> {
    if doc.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return None;
    }
    let components = doc.get("components")?.as_array()?;
    let mut out = Vec::with_capacity(components.len());
    for c in components {
        let props: Vec<(&str, &str)> = c
            .get("properties")
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| Some((p.get("name")?.as_str()?, p.get("value")?.as_str()?)))
                    .collect()
            })
            .unwrap_or_default();
        let prop = |n: &str| {
            props
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        };
        let str_field = |n: &str| c.get(n).and_then(Value::as_str).map(str::to_string);
        let license = c
            .get("licenses")
            .and_then(Value::as_array)
            .and_then(|ls| ls.first())
            .and_then(|l| {
                l.get("expression")
                    .and_then(Value::as_str)
                    .or_else(|| l.pointer("/license/name").and_then(Value::as_str))
                    .or_else(|| l.pointer("/license/id").and_then(Value::as_str))
            })
            .map(str::to_string);
        out.push(Package {
            package: PackageRef {
                ecosystem: prop("portcullis:ecosystem")?,
                name: str_field("name")?,
                version: str_field("version").unwrap_or_default(),
                purl: str_field("purl"),
            },
            location: prop("portcullis:location")?,
            layer: prop("portcullis:layer"),
            source_name: prop("portcullis:source_name"),
            license,
            found_by: prop("portcullis:found_by")?,
            inferred: prop("portcullis:inferred").as_deref() == Some("true"),
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LocalFileRef;

    fn pkg(eco: &str, name: &str, version: &str, location: &str) -> Package {
        Package {
            package: PackageRef {
                ecosystem: eco.into(),
                name: name.into(),
                version: version.into(),
                purl: Some(format!("pkg:{}/{name}@{version}", eco.to_lowercase())),
            },
            location: location.into(),
            layer: None,
            source_name: None,
            license: None,
            found_by: "test/x".into(),
            inferred: false,
        }
    }

    #[test]
    fn our_cyclonedx_reads_back_exactly() {
        // GIVEN packages with every optional field used somewhere
        let mut a = pkg("npm", "lodash", "4.17.15", "app.tgz!/package/package.json");
        a.license = Some("MIT".into());
        let mut b = pkg("Debian", "libc6", "2.36-9", "img.tar!/var/lib/dpkg/status");
        b.layer = Some("sha256:abc".into());
        b.source_name = Some("glibc".into());
        b.license = Some("see COPYING, or not".into());
        let mut c = pkg("Maven", "org.x:y", "", "app.war!/WEB-INF/lib/y.jar");
        c.inferred = true;
        c.package.purl = None;
        let packages = vec![a, b, c];
        let artifact = ArtifactRef::Local(LocalFileRef {
            path: "/tmp/app.tgz".into(),
            size: None,
        });
        // WHEN written as CycloneDX and read back
        let doc = to_cyclonedx(&packages, &artifact, None);
        assert_eq!(doc["specVersion"], "1.6");
        let back = packages_from_portcullis_cyclonedx(&doc).expect("our own document");
        // THEN nothing is lost, and the serial number is stable
        assert_eq!(back, packages);
        assert_eq!(
            doc["serialNumber"],
            to_cyclonedx(&packages, &artifact, None)["serialNumber"]
        );
    }

    #[test]
    fn foreign_sboms_are_not_read_as_ours() {
        let foreign = serde_json::json!({
            "bomFormat": "CycloneDX", "specVersion": "1.5",
            "components": [{"type": "library", "name": "q", "version": "1", "purl": "pkg:npm/q@1"}]
        });
        assert_eq!(packages_from_portcullis_cyclonedx(&foreign), None);
        let spdx = serde_json::json!({"spdxVersion": "SPDX-2.3", "packages": []});
        assert_eq!(packages_from_portcullis_cyclonedx(&spdx), None);
    }
}
