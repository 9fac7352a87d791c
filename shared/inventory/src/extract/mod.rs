//! The extractor registry: one module per package format, each with a cheap name/path check
//! (`wants`) and a parser over the (bounded) file content.

use portcullis_core::reader::EntryInfo;

pub(crate) mod alpine;
pub(crate) mod binary;
pub(crate) mod cargo;
pub(crate) mod composer;
pub(crate) mod debian;
pub(crate) mod golang;
pub(crate) mod java;
pub(crate) mod npm;
pub(crate) mod nuget;
pub(crate) mod python;
pub(crate) mod rpm;
pub(crate) mod rpmdb;
pub(crate) mod ruby;
pub(crate) mod sbom_input;

/// Largest file content an extractor buffers (lockfiles, manifests, package databases).
pub const MAX_CONTENT: u64 = 64 * 1024 * 1024;
/// Largest executable buffered for its build info (Go and cargo-auditable binaries of 64–256 MiB are common).
pub const MAX_BINARY: u64 = 256 * 1024 * 1024;

/// Why one file could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// JSON syntax or shape error.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// TOML syntax or shape error.
    #[error("invalid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// YAML syntax, shape or budget error.
    #[error("invalid YAML: {0}")]
    Yaml(String),
    /// XML syntax error.
    #[error("invalid XML: {0}")]
    Xml(#[from] roxmltree::Error),
    /// The file is not valid UTF-8 text.
    #[error("not UTF-8 text")]
    NotText,
    /// The content is syntactically fine but not the expected format.
    #[error("{0}")]
    Format(String),
    /// The file is larger than the inventory reads.
    #[error("file larger than {0} bytes, not parsed")]
    TooLarge(u64),
}

pub(crate) fn bad(msg: impl Into<String>) -> ExtractError {
    ExtractError::Format(msg.into())
}

pub(crate) fn text(data: &[u8]) -> Result<&str, ExtractError> {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    std::str::from_utf8(data).map_err(|_| ExtractError::NotText)
}

/// A package as an extractor sees it; the visitor adds location, layer, purl and `found_by`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Found {
    /// OSV ecosystem.
    pub ecosystem: String,
    /// Name as the ecosystem spells it.
    pub name: String,
    /// Version.
    pub version: String,
    /// Source package / origin.
    pub source_name: Option<String>,
    /// Source package version when it differs (Debian `Source: x (ver)`); used only for comparisons.
    pub source_version: Option<String>,
    /// Declared licence.
    pub license: Option<String>,
    /// Identity is a guess.
    pub inferred: bool,
    /// A purl given by the input (SBOMs); otherwise one is built.
    pub purl: Option<String>,
    /// Overrides the extractor id (SBOM inputs, manifest fallbacks).
    pub found_by: Option<&'static str>,
}

impl Found {
    pub(crate) fn new(
        ecosystem: &str,
        name: impl Into<String>,
        version: impl Into<String>,
    ) -> Found {
        Found {
            ecosystem: ecosystem.to_string(),
            name: name.into(),
            version: version.into(),
            ..Found::default()
        }
    }

    pub(crate) fn license(mut self, l: Option<String>) -> Found {
        self.license = l.filter(|s| !s.trim().is_empty());
        self
    }
}

/// What one file gave.
#[derive(Debug, Default)]
pub struct Extracted {
    /// Packages.
    pub packages: Vec<Found>,
    /// Requirements without a pinned version: (name, constraint as written).
    pub unpinned: Vec<(String, String)>,
    /// Other files this one includes, as written (`-r base.txt`): relative to its directory. The visitor parses them when they are in the artifact and says so when they are not.
    pub includes: Vec<String>,
}

impl From<Vec<Found>> for Extracted {
    fn from(packages: Vec<Found>) -> Extracted {
        Extracted {
            packages,
            ..Extracted::default()
        }
    }
}

/// One extractor.
pub struct Extractor {
    /// `found_by` id (`npm/package-lock`).
    pub id: &'static str,
    /// Cheap check on the entry's name/path/format, before any content is read.
    pub wants: fn(&EntryInfo) -> bool,
    /// Parses the content.
    pub extract: fn(&EntryInfo, &[u8]) -> Result<Extracted, ExtractError>,
}

/// Every extractor, in the order they run.
pub static REGISTRY: &[Extractor] = &[
    npm::PACKAGE_JSON,
    npm::PACKAGE_LOCK,
    npm::YARN_LOCK,
    npm::PNPM_LOCK,
    python::METADATA,
    python::REQUIREMENTS,
    python::POETRY_LOCK,
    python::PIPFILE_LOCK,
    python::UV_LOCK,
    python::PDM_LOCK,
    cargo::CARGO_LOCK,
    cargo::CRATE_TOML,
    java::POM_PROPERTIES,
    java::MANIFEST,
    java::POM_XML,
    java::GRADLE_LOCK,
    golang::GO_MOD,
    binary::BINARY,
    debian::DPKG_STATUS,
    debian::DEB_CONTROL,
    alpine::APK_INSTALLED,
    rpm::RPM_HEADER,
    rpmdb::RPMDB_SQLITE,
    ruby::GEMFILE_LOCK,
    ruby::GEMSPEC,
    nuget::PACKAGES_LOCK,
    nuget::NUSPEC,
    composer::COMPOSER_LOCK,
    sbom_input::SBOM,
];

/// Looks an extractor up by id.
pub fn by_id(id: &str) -> Option<&'static Extractor> {
    REGISTRY.iter().find(|e| e.id == id)
}

/// The directory part of an entry path inside its innermost archive (`a.tar!/x/y/z` → `x/y`).
pub(crate) fn inner_path(path: &str) -> &str {
    path.rsplit_once("!/").map(|(_, p)| p).unwrap_or(path)
}

/// The parent directory name of an entry (`…/foo.dist-info/METADATA` → `foo.dist-info`).
pub(crate) fn parent_name(path: &str) -> &str {
    let p = inner_path(path);
    let dir = p.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    dir.rsplit('/').next().unwrap_or(dir)
}

/// Parses RFC-822-style `Key: value` headers with continuation lines (first block only when
/// `first_block`), as used by Python METADATA, Debian control and MANIFEST.MF.
pub(crate) fn rfc822_paragraphs(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = cur.last_mut() {
                last.1.push('\n');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub(crate) fn field<'a>(para: &'a [(String, String)], key: &str) -> Option<&'a str> {
    para.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}
