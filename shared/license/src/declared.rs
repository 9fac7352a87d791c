//! Lightweight extraction of *declared* licences from package metadata inside an artifact: npm
//! `package.json`, PyPI `METADATA`/`PKG-INFO`, `Cargo.toml`, Maven `pom.xml`/`*.pom`, NuGet `*.nuspec`, Debian
//! `usr/share/doc/<pkg>/copyright`, CycloneDX and SPDX JSON documents. Only the fields needed for licences are
//! read; full package extraction lives in the inventory tool.

use portcullis_core::model::PackageRef;

/// One declared licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// The package, when the metadata names one.
    pub package: Option<PackageRef>,
    /// The licence as written (an SPDX expression or a name).
    pub expression: String,
}

/// Which metadata kind a file name/path is, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataKind {
    /// npm package.json.
    Npm,
    /// Python core metadata.
    PyPi,
    /// Cargo manifest.
    Cargo,
    /// Maven POM.
    Maven,
    /// NuGet nuspec.
    NuGet,
    /// Debian machine-readable copyright file.
    Debian,
    /// A JSON document that may be a CycloneDX or SPDX SBOM.
    SbomJson,
}

/// Classifies an entry by its path.
pub fn metadata_kind(path: &str, name: &str) -> Option<MetadataKind> {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "package.json" => return Some(MetadataKind::Npm),
        "metadata" | "pkg-info" => return Some(MetadataKind::PyPi),
        "cargo.toml" => return Some(MetadataKind::Cargo),
        "pom.xml" => return Some(MetadataKind::Maven),
        "copyright" if path.contains("usr/share/doc/") => return Some(MetadataKind::Debian),
        _ => {}
    }
    if lower.ends_with(".pom") {
        Some(MetadataKind::Maven)
    } else if lower.ends_with(".nuspec") {
        Some(MetadataKind::NuGet)
    } else if lower.ends_with(".cdx.json")
        || lower.ends_with(".spdx.json")
        || lower == "bom.json"
        || lower == "sbom.json"
        || lower.ends_with(".sbom.json")
    {
        Some(MetadataKind::SbomJson)
    } else {
        None
    }
}

fn pkg(ecosystem: &str, name: &str, version: &str, purl: Option<String>) -> Option<PackageRef> {
    if name.is_empty() {
        return None;
    }
    Some(PackageRef {
        ecosystem: ecosystem.to_string(),
        name: name.to_string(),
        version: version.to_string(),
        purl,
    })
}

/// Extracts declared licences from one metadata file.
pub fn extract(kind: MetadataKind, path: &str, text: &str) -> Vec<Declared> {
    match kind {
        MetadataKind::Npm => npm(text),
        MetadataKind::PyPi => pypi(text),
        MetadataKind::Cargo => cargo(text),
        MetadataKind::Maven => maven(text),
        MetadataKind::NuGet => nuget(text),
        MetadataKind::Debian => debian(path, text),
        MetadataKind::SbomJson => sbom(text),
    }
}

fn npm(text: &str) -> Vec<Declared> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let name = v["name"].as_str().unwrap_or_default();
    let version = v["version"].as_str().unwrap_or_default();
    if name.is_empty() {
        return Vec::new();
    }
    let license = match &v["license"] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("type").and_then(|t| t.as_str()).map(str::to_string),
        _ => None,
    }
    .or_else(|| {
        // Legacy `licenses: [{type: …}]` means a choice.
        let list: Vec<String> = v["licenses"]
            .as_array()?
            .iter()
            .filter_map(|l| l["type"].as_str().or(l.as_str()).map(str::to_string))
            .collect();
        (!list.is_empty()).then(|| list.join(" OR "))
    });
    let purl = format!("pkg:npm/{}@{}", name.replace('@', "%40"), version);
    let package = pkg("npm", name, version, Some(purl));
    match license {
        Some(l) if !l.trim().is_empty() => vec![Declared {
            package,
            expression: l,
        }],
        // A published package without a licence field is an unknown licence.
        _ if !version.is_empty() && v.get("private").and_then(|p| p.as_bool()) != Some(true) => {
            vec![Declared {
                package,
                expression: "NOASSERTION".to_string(),
            }]
        }
        _ => Vec::new(),
    }
}

/// Maps common licence names (PyPI classifiers, Maven `<name>`s, Debian short names) to SPDX ids.
pub fn name_to_spdx(name: &str) -> Option<String> {
    let n = name.trim().trim_end_matches('.').to_ascii_lowercase();
    let table: &[(&[&str], &str)] = &[
        (
            &[
                "mit license",
                "mit",
                "the mit license",
                "expat",
                "mit/expat",
            ],
            "MIT",
        ),
        (
            &[
                "apache software license",
                "apache license, version 2.0",
                "the apache software license, version 2.0",
                "apache license 2.0",
                "apache 2.0",
                "apache-2.0",
                "apache 2",
                "apache license version 2.0",
                "the apache license, version 2.0",
                "asl 2.0",
            ],
            "Apache-2.0",
        ),
        (
            &[
                "bsd license",
                "bsd",
                "new bsd license",
                "bsd-3-clause",
                "the bsd license",
                "revised bsd license",
            ],
            "BSD-3-Clause",
        ),
        (
            &["bsd-2-clause", "simplified bsd license", "freebsd license"],
            "BSD-2-Clause",
        ),
        (&["isc license (iscl)", "isc license", "isc"], "ISC"),
        (
            &[
                "mozilla public license 2.0 (mpl 2.0)",
                "mozilla public license 2.0",
                "mpl 2.0",
                "mpl-2.0",
            ],
            "MPL-2.0",
        ),
        (
            &[
                "gnu general public license v2 (gplv2)",
                "gplv2",
                "gpl-2",
                "gpl-2.0",
            ],
            "GPL-2.0-only",
        ),
        (
            &[
                "gnu general public license v2 or later (gplv2+)",
                "gplv2+",
                "gpl-2+",
                "gpl-2.0+",
            ],
            "GPL-2.0-or-later",
        ),
        (
            &[
                "gnu general public license v3 (gplv3)",
                "gplv3",
                "gpl-3",
                "gpl-3.0",
            ],
            "GPL-3.0-only",
        ),
        (
            &[
                "gnu general public license v3 or later (gplv3+)",
                "gplv3+",
                "gpl-3+",
                "gpl-3.0+",
            ],
            "GPL-3.0-or-later",
        ),
        (
            &[
                "gnu lesser general public license v2 (lgplv2)",
                "lgpl-2",
                "lgpl-2.0",
            ],
            "LGPL-2.0-only",
        ),
        (
            &[
                "gnu lesser general public license v2 or later (lgplv2+)",
                "lgpl-2+",
                "lgpl-2.0+",
            ],
            "LGPL-2.0-or-later",
        ),
        (
            &["lgpl-2.1", "gnu lesser general public license v2.1"],
            "LGPL-2.1-only",
        ),
        (
            &[
                "lgpl-2.1+",
                "gnu lesser general public license v2.1 or later",
            ],
            "LGPL-2.1-or-later",
        ),
        (
            &[
                "gnu lesser general public license v3 (lgplv3)",
                "lgpl-3",
                "lgpl-3.0",
            ],
            "LGPL-3.0-only",
        ),
        (
            &[
                "gnu lesser general public license v3 or later (lgplv3+)",
                "lgpl-3+",
                "lgpl-3.0+",
            ],
            "LGPL-3.0-or-later",
        ),
        (
            &["gnu affero general public license v3", "agpl-3", "agpl-3.0"],
            "AGPL-3.0-only",
        ),
        (
            &[
                "gnu affero general public license v3 or later (agplv3+)",
                "agpl-3+",
                "agpl-3.0+",
            ],
            "AGPL-3.0-or-later",
        ),
        (
            &[
                "python software foundation license",
                "psf",
                "psf-2.0",
                "psf license",
            ],
            "PSF-2.0",
        ),
        (
            &[
                "eclipse public license 2.0",
                "eclipse public license - v 2.0",
                "epl 2.0",
                "epl-2.0",
            ],
            "EPL-2.0",
        ),
        (
            &[
                "eclipse public license 1.0",
                "eclipse public license - v 1.0",
                "epl 1.0",
                "epl-1.0",
            ],
            "EPL-1.0",
        ),
        (
            &["the unlicense (unlicense)", "the unlicense", "unlicense"],
            "Unlicense",
        ),
        (&["zlib/libpng license", "zlib"], "Zlib"),
        (
            &[
                "cc0 1.0 universal (cc0 1.0) public domain dedication",
                "cc0",
                "cc0-1.0",
            ],
            "CC0-1.0",
        ),
        (&["artistic license", "artistic"], "Artistic-1.0"),
        (
            &[
                "boost software license 1.0 (bsl-1.0)",
                "boost software license 1.0",
                "bsl-1.0",
            ],
            "BSL-1.0",
        ),
        (
            &[
                "common development and distribution license 1.0 (cddl-1.0)",
                "cddl 1.0",
                "cddl-1.0",
            ],
            "CDDL-1.0",
        ),
    ];
    for (names, id) in table {
        if names.contains(&n.as_str()) {
            return Some((*id).to_string());
        }
    }
    spdx::license_id(name.trim()).map(|id| id.name.to_string())
}

fn header_fields(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines()
        .take_while(|l| !l.is_empty())
        .filter(|l| !l.starts_with([' ', '\t']))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
}

fn pypi(text: &str) -> Vec<Declared> {
    let (mut name, mut version) = ("", "");
    let (mut expr, mut license) = (None, None);
    let mut classifiers = Vec::new();
    for (k, v) in header_fields(text) {
        match k.to_ascii_lowercase().as_str() {
            "name" => name = v,
            "version" => version = v,
            "license-expression" => expr = Some(v.to_string()),
            "license" => license = Some(v.to_string()),
            "classifier" => {
                if let Some(rest) = v.strip_prefix("License ::") {
                    let last = rest.rsplit("::").next().unwrap_or(rest).trim();
                    if last != "OSI Approved" {
                        classifiers.push(name_to_spdx(last).unwrap_or_else(|| last.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    if name.is_empty() {
        return Vec::new();
    }
    let norm = name.to_ascii_lowercase().replace(['_', '.'], "-");
    let package = pkg(
        "PyPI",
        name,
        version,
        Some(format!("pkg:pypi/{norm}@{version}")),
    );
    let chosen = expr
        .or_else(|| {
            // `License:` is free text; use it when it is short and names a licence.
            license
                .filter(|l| !l.is_empty() && l.len() <= 80 && !l.eq_ignore_ascii_case("unknown"))
                .map(|l| name_to_spdx(&l).unwrap_or(l))
        })
        .or_else(|| {
            classifiers.dedup();
            (!classifiers.is_empty()).then(|| classifiers.join(" OR "))
        });
    match chosen {
        Some(e) => vec![Declared {
            package,
            expression: e,
        }],
        None => vec![Declared {
            package,
            expression: "NOASSERTION".to_string(),
        }],
    }
}

fn cargo(text: &str) -> Vec<Declared> {
    let Ok(v) = toml::from_str::<toml::Value>(text) else {
        return Vec::new();
    };
    let Some(p) = v.get("package") else {
        return Vec::new();
    };
    let name = p.get("name").and_then(|n| n.as_str()).unwrap_or_default();
    let version = p
        .get("version")
        .and_then(|n| n.as_str())
        .unwrap_or_default();
    let Some(license) = p.get("license").and_then(|l| l.as_str()) else {
        return Vec::new();
    };
    vec![Declared {
        package: pkg(
            "crates.io",
            name,
            version,
            Some(format!("pkg:cargo/{name}@{version}")),
        ),
        expression: license.to_string(),
    }]
}

/// Text of the first `<tag>…</tag>` in `s`.
fn xml_tag<'a>(s: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = s.find(&open)? + open.len();
    let end = s[start..].find(&close)? + start;
    Some(s[start..end].trim())
}

/// Removes `<tag>…</tag>` blocks (all occurrences).
fn strip_block(s: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(&open) {
        out.push_str(&rest[..i]);
        match rest[i..].find(&close) {
            Some(j) => rest = &rest[i + j + close.len()..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn maven(text: &str) -> Vec<Declared> {
    let Some(project) = text.find("<project") else {
        return Vec::new();
    };
    let body = &text[project..];
    let top = strip_block(
        &strip_block(
            &strip_block(&strip_block(body, "parent"), "dependencies"),
            "dependencyManagement",
        ),
        "build",
    );
    let group = xml_tag(&top, "groupId")
        .or_else(|| xml_tag(body, "parent").and_then(|p| xml_tag(p, "groupId")))
        .unwrap_or_default();
    let artifact = xml_tag(&top, "artifactId").unwrap_or_default();
    let version = xml_tag(&top, "version")
        .or_else(|| xml_tag(body, "parent").and_then(|p| xml_tag(p, "version")))
        .unwrap_or_default();
    let Some(licenses) = xml_tag(&top, "licenses") else {
        return Vec::new();
    };
    let mut names = Vec::new();
    let mut rest = licenses;
    while let Some(l) = xml_tag(rest, "license") {
        if let Some(n) = xml_tag(l, "name") {
            names.push(name_to_spdx(n).unwrap_or_else(|| n.to_string()));
        }
        let Some(end) = rest.find("</license>") else {
            break;
        };
        rest = &rest[end + "</license>".len()..];
    }
    if names.is_empty() || artifact.is_empty() {
        return Vec::new();
    }
    let name = format!("{group}:{artifact}");
    let purl = format!("pkg:maven/{group}/{artifact}@{version}");
    vec![Declared {
        package: pkg("Maven", &name, version, Some(purl)),
        // Several <license> entries in a POM conventionally mean a choice.
        expression: names.join(" OR "),
    }]
}

fn nuget(text: &str) -> Vec<Declared> {
    let id = xml_tag(text, "id").unwrap_or_default();
    let version = xml_tag(text, "version").unwrap_or_default();
    let expression = text.find("<license ").and_then(|i| {
        let rest = &text[i..];
        let gt = rest.find('>')?;
        let attrs = &rest[..gt];
        let end = rest.find("</license>")?;
        let value = rest[gt + 1..end].trim();
        attrs.contains("expression").then(|| value.to_string())
    });
    let expression =
        expression.or_else(|| xml_tag(text, "licenseUrl").map(|_| "NOASSERTION".to_string()));
    match expression {
        Some(e) if !id.is_empty() => vec![Declared {
            package: pkg(
                "NuGet",
                id,
                version,
                Some(format!("pkg:nuget/{id}@{version}")),
            ),
            expression: e,
        }],
        _ => Vec::new(),
    }
}

fn debian(path: &str, text: &str) -> Vec<Declared> {
    let package = path
        .rsplit_once("usr/share/doc/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or_default();
    let mut out: Vec<Declared> = Vec::new();
    for line in text.lines() {
        let Some(v) = line.strip_prefix("License:") else {
            continue;
        };
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        let expr = debian_expression(v);
        if !out.iter().any(|d| d.expression == expr) {
            out.push(Declared {
                package: pkg(
                    "Debian",
                    package,
                    "",
                    Some(format!("pkg:deb/debian/{package}")),
                ),
                expression: expr,
            });
        }
    }
    out
}

/// A `License:` value of a Debian machine-readable copyright file (DEP-5) as an SPDX-style expression:
/// short names joined by `or` / `and` / `,` (`|` too), `<licence> with <name> exception` clauses. Each short
/// name goes through [`debian_short_name`]; an exception through [`debian_exception`]; what has no SPDX
/// equivalent is kept as written (the policy then treats it as an unknown licence).
pub fn debian_expression(value: &str) -> String {
    let words: Vec<&str> = value.split_whitespace().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let raw = words[i];
        let trailing_comma = raw.len() > 1 && raw.ends_with(',');
        let t = raw.trim_end_matches(',');
        match t.to_ascii_lowercase().as_str() {
            "or" | "|" => out.push("OR".into()),
            "and" | "," | "" => out.push("AND".into()),
            "with" => {
                // `with <words…> exception`: the words name the exception.
                let end = words[i + 1..]
                    .iter()
                    .position(|w| w.trim_end_matches(',').eq_ignore_ascii_case("exception"))
                    .map(|p| i + 1 + p);
                match end {
                    Some(end) => {
                        let name = words[i + 1..end].join(" ");
                        let licence = out.last().cloned().unwrap_or_default();
                        let exception = debian_exception(&name, &licence)
                            .unwrap_or_else(|| format!("{name} exception"));
                        out.push("WITH".into());
                        out.push(exception);
                        let comma = words[end].ends_with(',');
                        i = end + 1;
                        if comma {
                            out.push("AND".into());
                        }
                        continue;
                    }
                    None => out.push("WITH".into()),
                }
            }
            _ => out.push(debian_short_name(t).unwrap_or_else(|| t.to_string())),
        }
        if trailing_comma {
            out.push("AND".into());
        }
        i += 1;
    }
    out.join(" ")
}

/// A DEP-5 short name (`GPL-2+`, `LGPL-2.1`, `BSD-3-clause`, `Artistic-1`, `Expat`, `GFDL-NIV-1.3+`, …) as
/// an SPDX licence id, or `None` when it has none. Versionless GPL-family names stay unknown: which version
/// is meant is exactly what a licence review has to find out.
pub fn debian_short_name(name: &str) -> Option<String> {
    // `name_to_spdx` would drop a trailing `+` it does not know (`MPL-1.1+` → `MPL-1.1`).
    if let Some(id) = name_to_spdx(name)
        && (!name.ends_with('+') || id.ends_with("-or-later"))
    {
        return Some(id);
    }
    let exact_ci = |id: &str| {
        spdx::identifiers::LICENSES
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(id))
            .map(|l| l.name.to_string())
    };
    let (base, plus) = match name.strip_suffix('+') {
        Some(b) => (b, true),
        None => (name, false),
    };
    if let Some(id) = exact_ci(base) {
        return Some(if plus && !id.ends_with("-or-later") {
            format!("{id}+")
        } else {
            id
        });
    }
    // <family>-<version>: the version is the last `-` part made of digits and dots.
    let (family, version) = base.rsplit_once('-')?;
    if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let version = if version.contains('.') {
        version.to_string()
    } else {
        format!("{version}.0")
    };
    let family = family.to_ascii_uppercase();
    let gnu = match family.as_str() {
        "GPL" | "LGPL" | "AGPL" | "GFDL" => Some(format!("{family}-{version}")),
        "GFDL-NIV" => Some(format!("GFDL-{version}-no-invariants")),
        _ => None,
    };
    if let Some(stem) = gnu {
        let id = format!("{stem}-{}", if plus { "or-later" } else { "only" });
        return exact_ci(&id);
    }
    let id = exact_ci(&format!("{family}-{version}"))?;
    Some(if plus { format!("{id}+") } else { id })
}

/// A DEP-5 exception name (the words between `with` and `exception`) as an SPDX exception id; `licence`
/// (the SPDX id it modifies) picks the version where the exception has one per GPL version.
pub fn debian_exception(name: &str, licence: &str) -> Option<String> {
    let gpl3 = licence.starts_with("GPL-3") || licence.starts_with("LGPL-3");
    let id = match name.to_ascii_lowercase().as_str() {
        "bison" => "Bison-exception-2.2",
        "autoconf" if gpl3 => "Autoconf-exception-3.0",
        "autoconf" => "Autoconf-exception-2.0",
        "autoconf-data" => "Autoconf-exception-generic",
        "libtool" => "Libtool-exception",
        "texinfo" => "Texinfo-exception",
        "linux-syscall-note" | "linux syscall note" => "Linux-syscall-note",
        "llvm" => "LLVM-exception",
        "font" => "Font-exception-2.0",
        "gcc" | "gcc runtime library" if gpl3 => "GCC-exception-3.1",
        "gcc" => "GCC-exception-2.0",
        "classpath" => "Classpath-exception-2.0",
        "openssl" => "OpenSSL-exception",
        other => {
            return spdx::identifiers::EXCEPTIONS
                .iter()
                .find(|e| e.name.eq_ignore_ascii_case(other))
                .map(|e| e.name.to_string());
        }
    };
    spdx::exception_id(id).map(|e| e.name.to_string())
}

fn sbom(text: &str) -> Vec<Declared> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if v["bomFormat"].as_str() == Some("CycloneDX") {
        for c in v["components"].as_array().into_iter().flatten() {
            let name = c["name"].as_str().unwrap_or_default();
            let version = c["version"].as_str().unwrap_or_default();
            let purl = c["purl"].as_str().map(str::to_string);
            let eco = purl
                .as_deref()
                .and_then(|p| p.strip_prefix("pkg:"))
                .and_then(|p| p.split('/').next())
                .unwrap_or("generic")
                .to_string();
            let mut terms = Vec::new();
            for l in c["licenses"].as_array().into_iter().flatten() {
                if let Some(e) = l["expression"].as_str() {
                    terms.push(e.to_string());
                } else if let Some(id) = l["license"]["id"].as_str() {
                    terms.push(id.to_string());
                } else if let Some(n) = l["license"]["name"].as_str() {
                    terms.push(name_to_spdx(n).unwrap_or_else(|| n.to_string()));
                }
            }
            if !terms.is_empty() {
                out.push(Declared {
                    package: pkg(&eco, name, version, purl),
                    expression: terms.join(" AND "),
                });
            }
        }
    } else if v["spdxVersion"].is_string() {
        for p in v["packages"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap_or_default();
            let version = p["versionInfo"].as_str().unwrap_or_default();
            let lic = p["licenseDeclared"]
                .as_str()
                .filter(|l| *l != "NOASSERTION" && *l != "NONE")
                .or_else(|| {
                    p["licenseConcluded"]
                        .as_str()
                        .filter(|l| *l != "NOASSERTION" && *l != "NONE")
                });
            if let Some(l) = lic {
                out.push(Declared {
                    package: pkg("generic", name, version, None),
                    expression: l.to_string(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(kind: MetadataKind, path: &str, text: &str) -> (String, String) {
        let d = extract(kind, path, text);
        assert_eq!(d.len(), 1, "{d:?}");
        (
            d[0].package
                .as_ref()
                .map(|p| format!("{}@{}", p.name, p.version))
                .unwrap_or_default(),
            d[0].expression.clone(),
        )
    }

    #[test]
    fn npm_variants() {
        assert_eq!(
            one(
                MetadataKind::Npm,
                "p",
                r#"{"name":"a","version":"1.0.0","license":"MIT"}"#
            ),
            ("a@1.0.0".into(), "MIT".into())
        );
        assert_eq!(
            one(
                MetadataKind::Npm,
                "p",
                r#"{"name":"b","version":"1","license":{"type":"ISC"}}"#
            )
            .1,
            "ISC"
        );
        assert_eq!(
            one(
                MetadataKind::Npm,
                "p",
                r#"{"name":"c","version":"1","licenses":[{"type":"MIT"},{"type":"Apache-2.0"}]}"#
            )
            .1,
            "MIT OR Apache-2.0"
        );
        assert_eq!(
            one(MetadataKind::Npm, "p", r#"{"name":"d","version":"1"}"#).1,
            "NOASSERTION"
        );
        assert!(extract(MetadataKind::Npm, "p", r#"{"version":"1"}"#).is_empty());
        assert!(extract(MetadataKind::Npm, "p", "not json").is_empty());
    }

    #[test]
    fn pypi_cargo_maven_nuget_debian_sbom() {
        let meta = "Metadata-Version: 2.4\nName: Foo_Bar\nVersion: 2.0\nLicense-Expression: MIT OR Apache-2.0\n\nbody";
        assert_eq!(
            one(MetadataKind::PyPi, "m", meta),
            ("Foo_Bar@2.0".into(), "MIT OR Apache-2.0".into())
        );
        let meta = "Name: x\nVersion: 1\nClassifier: License :: OSI Approved :: BSD License\n";
        assert_eq!(one(MetadataKind::PyPi, "m", meta).1, "BSD-3-Clause");
        let cargo = "[package]\nname = \"k\"\nversion = \"0.1.0\"\nlicense = \"MIT/Apache-2.0\"\n";
        assert_eq!(
            one(MetadataKind::Cargo, "Cargo.toml", cargo),
            ("k@0.1.0".into(), "MIT/Apache-2.0".into())
        );
        let pom = "<project><parent><groupId>org.p</groupId><version>9</version></parent><artifactId>lib</artifactId>\
            <licenses><license><name>The Apache Software License, Version 2.0</name></license></licenses>\
            <dependencies><dependency><groupId>x</groupId><artifactId>y</artifactId><version>1</version></dependency></dependencies></project>";
        assert_eq!(
            one(MetadataKind::Maven, "pom.xml", pom),
            ("org.p:lib@9".into(), "Apache-2.0".into())
        );
        let nuspec = "<package><metadata><id>Newtonsoft.Json</id><version>13.0.1</version><license type=\"expression\">MIT</license></metadata></package>";
        assert_eq!(
            one(MetadataKind::NuGet, "x.nuspec", nuspec),
            ("Newtonsoft.Json@13.0.1".into(), "MIT".into())
        );
        let copyright = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+\n\nFiles: lib/*\nLicense: Expat\n";
        let d = extract(
            MetadataKind::Debian,
            "rootfs!/usr/share/doc/bash/copyright",
            copyright,
        );
        assert_eq!(
            d.iter().map(|d| d.expression.as_str()).collect::<Vec<_>>(),
            vec!["GPL-2.0-or-later", "MIT"]
        );
        assert_eq!(d[0].package.as_ref().unwrap().name, "bash");
    }

    #[test]
    fn debian_short_names_and_exceptions_become_spdx() {
        let cases: &[(&str, &str)] = &[
            ("GPL-1+", "GPL-1.0-or-later"),
            ("GPL-2", "GPL-2.0-only"),
            ("LGPL-2.1+", "LGPL-2.1-or-later"),
            ("BSD-4-clause", "BSD-4-Clause"),
            ("BSD-1-clause", "BSD-1-Clause"),
            ("Artistic-1", "Artistic-1.0"),
            ("Artistic-2.0", "Artistic-2.0"),
            ("GFDL-NIV-1.3+", "GFDL-1.3-no-invariants-or-later"),
            ("MPL-1.1", "MPL-1.1"),
            ("MPL-1.1+", "MPL-1.1+"),
            ("Apache-2.0", "Apache-2.0"),
            ("Expat", "MIT"),
            ("Zlib", "Zlib"),
            ("GPL-1+ or Artistic-1", "GPL-1.0-or-later OR Artistic-1.0"),
            ("Artistic or GPL-1+", "Artistic-1.0 OR GPL-1.0-or-later"),
            (
                "GPL-3+ with Bison exception",
                "GPL-3.0-or-later WITH Bison-exception-2.2",
            ),
            (
                "GPL-2+ with Autoconf exception",
                "GPL-2.0-or-later WITH Autoconf-exception-2.0",
            ),
            (
                "GPL-3+ with autoconf exception",
                "GPL-3.0-or-later WITH Autoconf-exception-3.0",
            ),
            (
                "GPL-2+ with Libtool exception",
                "GPL-2.0-or-later WITH Libtool-exception",
            ),
            (
                "GPL-2 with Linux-syscall-note exception",
                "GPL-2.0-only WITH Linux-syscall-note",
            ),
            (
                "Apache-2.0 with LLVM exception",
                "Apache-2.0 WITH LLVM-exception",
            ),
            (
                "GPL-3+ with GCC exception",
                "GPL-3.0-or-later WITH GCC-exception-3.1",
            ),
            (
                "LGPL-2.1+, BSD-3-clause",
                "LGPL-2.1-or-later AND BSD-3-Clause",
            ),
            // No SPDX equivalent: kept as written (unknown to the policy), never guessed.
            ("public-domain", "public-domain"),
            ("GPL", "GPL"),
            ("BSD-3-clause-pcre", "BSD-3-clause-pcre"),
            (
                "GPL-2+ with Frobnicator exception",
                "GPL-2.0-or-later WITH Frobnicator exception",
            ),
        ];
        for (dep5, want) in cases {
            assert_eq!(&debian_expression(dep5), want, "{dep5}");
        }
        let cdx = r#"{"bomFormat":"CycloneDX","components":[{"name":"q","version":"1","purl":"pkg:npm/q@1","licenses":[{"license":{"id":"MIT"}}]}]}"#;
        assert_eq!(
            one(MetadataKind::SbomJson, "bom.json", cdx),
            ("q@1".into(), "MIT".into())
        );
        let spdx = r#"{"spdxVersion":"SPDX-2.3","packages":[{"name":"r","versionInfo":"2","licenseDeclared":"BSD-2-Clause"}]}"#;
        assert_eq!(
            one(MetadataKind::SbomJson, "x.spdx.json", spdx),
            ("r@2".into(), "BSD-2-Clause".into())
        );
    }
}
