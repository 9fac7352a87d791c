//! Composer (Packagist): `composer.lock` (`packages` and `packages-dev`) and installed
//! `vendor/composer/installed.json`.

use portcullis_core::reader::EntryInfo;
use serde_json::Value;

use super::{ExtractError, Extracted, Extractor, Found, bad};

pub(crate) const COMPOSER_LOCK: Extractor = Extractor {
    id: "php/composer-lock",
    wants: |e| {
        e.name == "composer.lock"
            || (e.name == "installed.json" && e.path.contains("vendor/composer/"))
    },
    extract: extract_lock,
};

fn extract_lock(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let v: Value = serde_json::from_slice(data)?;
    let mut lists: Vec<&Vec<Value>> = Vec::new();
    match &v {
        Value::Array(a) => lists.push(a),
        Value::Object(o) => {
            for key in ["packages", "packages-dev"] {
                if let Some(Value::Array(a)) = o.get(key) {
                    lists.push(a);
                }
            }
        }
        _ => return Err(bad("composer lock is neither an object nor an array")),
    }
    let mut out = Vec::new();
    for p in lists.into_iter().flatten() {
        let (Some(name), Some(version)) = (
            p.get("name").and_then(Value::as_str),
            p.get("version").and_then(Value::as_str),
        ) else {
            continue;
        };
        let license = match p.get("license") {
            Some(Value::Array(a)) => {
                let ids: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
                (!ids.is_empty()).then(|| {
                    if ids.len() == 1 {
                        ids[0].to_string()
                    } else {
                        format!("({})", ids.join(" OR "))
                    }
                })
            }
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        out.push(Found::new("Packagist", name, version).license(license));
    }
    Ok(out.into())
}
