//! Go: `go.mod` `require` lines with `replace` directives applied. Binaries' build info is in `binary`.

use portcullis_core::reader::EntryInfo;

use super::{ExtractError, Extracted, Extractor, Found, bad, text};

pub(crate) const GO: &str = "Go";

pub(crate) const GO_MOD: Extractor = Extractor {
    id: "go/go-mod",
    wants: |e| e.name == "go.mod",
    extract: extract_go_mod,
};

/// `v1.2.3` → `1.2.3` (OSV Go versions have no `v`).
pub(crate) fn go_version(v: &str) -> String {
    v.strip_prefix('v').unwrap_or(v).to_string()
}

struct Replace {
    from: String,
    from_version: Option<String>,
    to: String,
    to_version: Option<String>,
}

fn words(line: &str) -> Vec<String> {
    let line = line.split("//").next().unwrap_or(line);
    line.split_whitespace()
        .map(|w| w.trim_matches('"').to_string())
        .collect()
}

fn extract_go_mod(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let t = text(data)?;
    let mut requires: Vec<(String, String)> = Vec::new();
    let mut replaces: Vec<Replace> = Vec::new();
    let mut go_directive: Option<String> = None;
    let mut block: Option<String> = None;
    let mut saw_directive = t.trim().is_empty();
    for raw in t.lines() {
        let line = raw.split("//").next().unwrap_or(raw).trim();
        if line.is_empty() {
            continue;
        }
        if let Some(b) = &block {
            if line == ")" {
                block = None;
                continue;
            }
            let b = b.clone();
            handle(&b, &words(line), &mut requires, &mut replaces);
            continue;
        }
        let w = words(line);
        let Some(kw) = w.first() else { continue };
        match kw.as_str() {
            "go" => {
                saw_directive = true;
                go_directive = w.get(1).cloned();
            }
            "module" | "toolchain" | "exclude" | "retract" | "godebug" | "tool" | "ignore" => {
                saw_directive = true;
                if w.get(1).map(String::as_str) == Some("(") {
                    block = Some(kw.clone());
                }
            }
            "require" | "replace" => {
                saw_directive = true;
                if w.get(1).map(String::as_str) == Some("(") {
                    block = Some(kw.clone());
                } else {
                    handle(kw, &w[1..], &mut requires, &mut replaces);
                }
            }
            _ => {}
        }
    }
    if !saw_directive {
        return Err(bad("not a go.mod: no module/go/require directive"));
    }
    let mut out = Vec::new();
    if let Some(v) = go_directive {
        // The `go` directive is the minimum language version, not the toolchain that builds it: a guess.
        let mut f = Found::new(GO, "stdlib", v);
        f.inferred = true;
        out.push(f);
    }
    for (path, version) in requires {
        let rep = replaces
            .iter()
            .rev()
            .find(|r| r.from == path && r.from_version.as_ref().is_none_or(|v| *v == version));
        match rep {
            Some(r) => {
                let v = r.to_version.as_deref().map(go_version).unwrap_or_default();
                out.push(Found::new(GO, r.to.clone(), v));
            }
            None => out.push(Found::new(GO, path, go_version(&version))),
        }
    }
    Ok(out.into())
}

fn handle(
    kind: &str,
    w: &[String],
    requires: &mut Vec<(String, String)>,
    replaces: &mut Vec<Replace>,
) {
    match kind {
        "require" if w.len() >= 2 => requires.push((w[0].clone(), w[1].clone())),
        "replace" => {
            let Some(arrow) = w.iter().position(|x| x == "=>") else {
                return;
            };
            let (l, r) = (&w[..arrow], &w[arrow + 1..]);
            if l.is_empty() || r.is_empty() {
                return;
            }
            replaces.push(Replace {
                from: l[0].clone(),
                from_version: l.get(1).cloned(),
                to: r[0].clone(),
                to_version: r.get(1).cloned(),
            });
        }
        _ => {}
    }
}
