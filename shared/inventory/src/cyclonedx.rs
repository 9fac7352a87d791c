//! CycloneDX 1.6 JSON output: the artifact as `metadata.component` (name, SHA-256), every package as a
//! `library` component with purl, declared licence and `portcullis:*` properties (location, layer,
//! found_by, source name). The serial number is derived from the artifact id, so the same artifact always
//! gives the same document.

use portcullis_core::{ArtifactMetadata, ArtifactRef, Package};
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
    let name = portcullis_core::reader::base_name(&artifact.display_name());
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
                "name": "portcullis-inventory",
                "version": env!("CARGO_PKG_VERSION"),
            }]},
            "component": subject,
        },
        "components": components,
    })
}
