//! Maven: `META-INF/maven/**/pom.properties` inside jars (one per embedded artifact in shaded/fat jars),
//! `META-INF/MANIFEST.MF` as a fallback for jars without pom.properties (resolved by the visitor),
//! `pom.xml` (direct dependencies whose version is literal or a property of the same pom) and
//! `gradle.lockfile`. The jar-file-name fallback (`name-1.2.3.jar`, inferred) lives in the visitor.

use std::collections::HashMap;

use portcullis_core::reader::EntryInfo;

use super::{
    ExtractError, Extracted, Extractor, Found, bad, field, parent_name, rfc822_paragraphs, text,
};

pub(crate) const MAVEN: &str = "Maven";

pub(crate) const POM_PROPERTIES: Extractor = Extractor {
    id: "java/pom-properties",
    wants: |e| e.name == "pom.properties" && e.path.contains("META-INF/maven/"),
    extract: extract_pom_properties,
};
pub(crate) const MANIFEST: Extractor = Extractor {
    id: "java/manifest",
    wants: |e| {
        e.name == "MANIFEST.MF" && parent_name(&e.path) == "META-INF" && e.path.contains("!/")
    },
    extract: extract_manifest,
};
pub(crate) const POM_XML: Extractor = Extractor {
    id: "java/pom-xml",
    wants: |e| {
        (e.name == "pom.xml" || e.name.ends_with(".pom")) && !e.path.contains("META-INF/maven/")
    },
    extract: extract_pom_xml,
};
pub(crate) const GRADLE_LOCK: Extractor = Extractor {
    id: "java/gradle-lockfile",
    wants: |e| {
        e.name == "gradle.lockfile"
            || (e.name.ends_with(".lockfile") && e.path.contains("dependency-locks/"))
    },
    extract: extract_gradle_lock,
};

fn properties(t: &str) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for line in t.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        if let Some((k, v)) = line.split_once(['=', ':']) {
            m.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    m
}

fn extract_pom_properties(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let p = properties(&String::from_utf8_lossy(data));
    let (Some(g), Some(a), Some(v)) = (p.get("groupId"), p.get("artifactId"), p.get("version"))
    else {
        return Err(bad(
            "pom.properties without groupId, artifactId and version",
        ));
    };
    Ok(vec![Found::new(MAVEN, format!("{g}:{a}"), v.clone())].into())
}

/// The artifact id a jar's file name suggests (`guice-assistedinject-4.2.3.jar` / `guice-assistedinject.jar`).
pub(crate) fn jar_stem(jar: &str) -> Option<String> {
    if let Some((name, _)) = jar_name_guess(jar) {
        return Some(name);
    }
    let lower = jar.to_ascii_lowercase();
    [".jar", ".war", ".ear", ".hpi", ".jpi"]
        .iter()
        .find_map(|s| {
            lower
                .ends_with(s)
                .then(|| jar[..jar.len() - s.len()].to_string())
        })
        .filter(|s| !s.is_empty())
}

/// Bundle symbolic names of well-known jars whose Maven coordinates cannot be derived from the name
/// (`org.apache.log4j` is `log4j:log4j`, not `org.apache:log4j`). Distribution-built jars (Debian's) often
/// ship without pom.properties, so this is what advisories are matched on.
const KNOWN_BUNDLES: &[(&str, &str)] = &[
    ("org.apache.log4j", "log4j:log4j"),
    ("org.apache.commons.lang", "commons-lang:commons-lang"),
    (
        "org.apache.commons.lang3",
        "org.apache.commons:commons-lang3",
    ),
    ("org.apache.commons.text", "org.apache.commons:commons-text"),
    (
        "org.apache.commons.compress",
        "org.apache.commons:commons-compress",
    ),
    (
        "org.apache.commons.collections",
        "commons-collections:commons-collections",
    ),
    ("org.apache.commons.io", "commons-io:commons-io"),
    ("org.apache.commons.codec", "commons-codec:commons-codec"),
    (
        "org.apache.commons.logging",
        "commons-logging:commons-logging",
    ),
    (
        "org.apache.commons.beanutils",
        "commons-beanutils:commons-beanutils",
    ),
    (
        "org.apache.commons.fileupload",
        "commons-fileupload:commons-fileupload",
    ),
    ("com.google.guava", "com.google.guava:guava"),
    (
        "com.fasterxml.jackson.core.jackson-databind",
        "com.fasterxml.jackson.core:jackson-databind",
    ),
    ("org.yaml.snakeyaml", "org.yaml:snakeyaml"),
    (
        "com.thoughtworks.xstream",
        "com.thoughtworks.xstream:xstream",
    ),
];

/// MANIFEST.MF of a jar without pom.properties: the version is declared (Implementation-/Bundle-Version), the
/// Maven coordinates are a guess: group from Implementation-Vendor-Id or the bundle symbolic name, artifact
/// from the jar's file name (or the last segment of the symbolic name). Always `inferred`.
fn extract_manifest(e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let t = String::from_utf8_lossy(data);
    // MANIFEST.MF continuation lines start with one space and continue the value without a separator.
    let joined = t.replace("\r\n", "\n").replace("\n ", "");
    let paras = rfc822_paragraphs(&joined);
    let Some(main) = paras.first() else {
        return Ok(Extracted::default());
    };
    let version = field(main, "Implementation-Version").or_else(|| field(main, "Bundle-Version"));
    let Some(version) = version.filter(|v| !v.is_empty()) else {
        return Ok(Extracted::default());
    };
    let bsn = field(main, "Bundle-SymbolicName")
        .map(|s| s.split(';').next().unwrap_or(s).trim().to_string());
    if let Some(known) = bsn
        .as_deref()
        .and_then(|b| KNOWN_BUNDLES.iter().find(|(k, _)| *k == b))
    {
        let mut f = Found::new(MAVEN, known.1, version)
            .license(field(main, "Bundle-License").map(str::to_string));
        f.inferred = true;
        return Ok(vec![f].into());
    }
    let jar = e
        .path
        .rsplit_once("!/")
        .map(|(owner, _)| owner.rsplit(['/', '!']).next().unwrap_or(owner));
    let artifact = jar
        .and_then(jar_stem)
        .or_else(|| {
            bsn.as_deref()
                .map(|b| b.rsplit('.').next().unwrap_or(b).to_string())
        })
        .or_else(|| {
            field(main, "Implementation-Title")
                .filter(|t| !t.contains(' '))
                .map(str::to_string)
        });
    let Some(artifact) = artifact else {
        return Ok(Extracted::default());
    };
    let group = field(main, "Implementation-Vendor-Id")
        .map(str::to_string)
        .or_else(|| {
            bsn.as_deref().map(|b| {
                // `org.acme.util` for artifact `util` → group `org.acme`
                match b.strip_suffix(&format!(".{artifact}")) {
                    Some(g) if !g.is_empty() => g.to_string(),
                    _ => b.to_string(),
                }
            })
        });
    let name = match group {
        Some(g) => format!("{g}:{artifact}"),
        None => artifact,
    };
    let mut f =
        Found::new(MAVEN, name, version).license(field(main, "Bundle-License").map(str::to_string));
    f.inferred = true;
    Ok(vec![f].into())
}

fn interpolate(v: &str, props: &HashMap<String, String>) -> Option<String> {
    let mut out = v.to_string();
    for _ in 0..8 {
        let Some(start) = out.find("${") else { break };
        let end = out[start..].find('}')? + start;
        let key = &out[start + 2..end];
        let val = props.get(key)?;
        out = format!("{}{}{}", &out[..start], val, &out[end + 1..]);
    }
    (!out.contains("${")).then_some(out)
}

fn child<'a>(n: roxmltree::Node<'a, 'a>, name: &str) -> Option<&'a str> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
        .and_then(|c| c.text())
        .map(str::trim)
}

fn extract_pom_xml(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let t = text(data)?;
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 1_000_000,
    };
    let doc = roxmltree::Document::parse_with_options(t, opts)?;
    let root = doc.root_element();
    if root.tag_name().name() != "project" {
        return Err(bad("not a Maven POM: root element is not <project>"));
    }
    let mut props: HashMap<String, String> = HashMap::new();
    if let Some(p) = root
        .children()
        .find(|c| c.tag_name().name() == "properties")
    {
        for c in p.children().filter(|c| c.is_element()) {
            props.insert(
                c.tag_name().name().to_string(),
                c.text().unwrap_or("").trim().to_string(),
            );
        }
    }
    if let Some(v) = child(root, "version") {
        props.insert("project.version".into(), v.to_string());
    }
    if let Some(parent) = root.children().find(|c| c.tag_name().name() == "parent")
        && let Some(v) = child(parent, "version")
    {
        props.insert("project.parent.version".into(), v.to_string());
        props
            .entry("project.version".into())
            .or_insert_with(|| v.to_string());
    }
    // <project>/<dependencies> first; <dependencyManagement> entries only for artifacts not declared there.
    let mut direct: Vec<Found> = Vec::new();
    let mut managed: Vec<Found> = Vec::new();
    for dep in root
        .descendants()
        .filter(|n| n.tag_name().name() == "dependency")
    {
        let in_plugin = dep
            .ancestors()
            .any(|a| matches!(a.tag_name().name(), "plugin" | "profile" | "plugins"));
        if in_plugin {
            continue;
        }
        let (Some(g), Some(a)) = (child(dep, "groupId"), child(dep, "artifactId")) else {
            continue;
        };
        let Some(raw) = child(dep, "version") else {
            continue;
        };
        let Some(mut v) = interpolate(raw, &props) else {
            continue;
        };
        // Placeholders are not versions: Debian's maven-repo-helper rewrites dependency versions of the poms
        // it installs under /usr/share/maven-repo to `debian` (the package manager resolves them).
        if !v.bytes().any(|b| b.is_ascii_digit()) {
            continue;
        }
        let g = interpolate(g, &props).unwrap_or_else(|| g.to_string());
        let a = interpolate(a, &props).unwrap_or_else(|| a.to_string());
        // Ranges `[1.2,2.0)`: report the lower bound (what the peer does); `(,1.0]` has none and is skipped.
        if v.starts_with('[') || v.starts_with('(') {
            let inner = v
                .trim_start_matches(['[', '('])
                .trim_end_matches([']', ')']);
            let lower = inner.split(',').next().unwrap_or("").trim();
            if lower.is_empty() {
                continue;
            }
            v = lower.to_string();
        }
        let f = Found::new(MAVEN, format!("{g}:{a}"), v);
        if dep
            .ancestors()
            .any(|a| a.tag_name().name() == "dependencyManagement")
        {
            managed.push(f);
        } else {
            direct.push(f);
        }
    }
    let mut out = direct;
    for m in managed {
        if !out.iter().any(|d| d.name == m.name) {
            out.push(m);
        }
    }
    Ok(out.into())
}

fn extract_gradle_lock(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    let t = text(data)?;
    let mut out = Vec::new();
    for line in t.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("empty=") {
            continue;
        }
        let coord = line.split('=').next().unwrap_or(line);
        let parts: Vec<&str> = coord.split(':').collect();
        if let [g, a, v] = parts.as_slice() {
            out.push(Found::new(MAVEN, format!("{g}:{a}"), *v));
        }
    }
    Ok(out.into())
}

/// `name-1.2.3.jar` → (`name`, `1.2.3`): the version starts at the first `-<digit>`.
pub(crate) fn jar_name_guess(file: &str) -> Option<(String, String)> {
    let lower = file.to_ascii_lowercase();
    let stem = [".jar", ".war", ".ear", ".hpi", ".jpi"]
        .iter()
        .find_map(|s| lower.ends_with(s).then(|| &file[..file.len() - s.len()]))?;
    let bytes = stem.as_bytes();
    let idx = (1..bytes.len()).find(|&i| bytes[i - 1] == b'-' && bytes[i].is_ascii_digit())?;
    let (name, version) = (&stem[..idx - 1], &stem[idx..]);
    (!name.is_empty() && !version.is_empty()).then(|| (name.to_string(), version.to_string()))
}
