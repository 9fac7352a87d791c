//! Package inventory: finds the packages inside an artifact — language lockfiles and manifests (npm, PyPI,
//! crates.io, Maven, Go, RubyGems, NuGet, Packagist), installed-package databases of container images
//! (dpkg, apk, SQLite rpmdb), package files (`.deb`, `.rpm`, `.crate`, wheels, jars, nupkgs), Go and cargo-auditable
//! binaries and embedded SBOMs — and writes them as CycloneDX 1.6.
//!
//! Built on the core reader: [`PackageVisitor`] implements [`Visitor`], asks for a file's content only when
//! one extractor of the registry ([`extract::REGISTRY`]) recognizes its name or path, buffers at most
//! [`extract::MAX_CONTENT`] bytes ([`extract::MAX_BINARY`] for executables), and records parse failures as
//! [`EntryError`]s without stopping the walk.
#![cfg_attr(test, allow(clippy::unwrap_used))]

/// CycloneDX 1.6 output (in `portcullis-core`, so the fan-in writes SBOMs without linking the extractors).
pub use portcullis_core::cyclonedx;
pub mod extract;
pub mod purl;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Read};
use std::sync::Arc;

use async_trait::async_trait;
use portcullis_core::reader::{EntryInfo, Visitor};
use portcullis_core::tool::{VisitorOutput, run_walk, tool_error};
use portcullis_core::{
    ArtifactSource, EntryError, Format, Inventory, Package, PackageRef, SecurityTool,
    ToolConfiguration, ToolContext, ToolError, ToolErrorKind, ToolResult,
};

pub use cyclonedx::to_cyclonedx;
use extract::{ExtractError, Extractor, Found, MAX_BINARY, MAX_CONTENT, REGISTRY};

/// What a walk found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackageScan {
    /// Packages, sorted and de-duplicated.
    pub packages: Vec<Package>,
    /// Files that looked like package metadata but could not be parsed, and requirements includes that
    /// could not be followed.
    pub errors: Vec<EntryError>,
    /// Observations that are not packages: unpinned requirements (`requirements.txt` lines without `==`).
    pub notes: Vec<EntryError>,
}

struct JarSeen {
    path: String,
    name: String,
    layer: Option<String>,
}

/// The visitor that runs the extractors over a walk.
pub struct PackageVisitor {
    registry: &'static [Extractor],
    packages: Vec<Package>,
    errors: Vec<EntryError>,
    notes: Vec<EntryError>,
    formats: BTreeMap<Format, u64>,
    jars: Vec<JarSeen>,
    /// Jar path → artifact ids of the pom.properties found directly in it.
    jars_with_pom: HashMap<String, Vec<String>>,
    manifests: HashMap<String, Vec<Package>>,
    /// Archive prefix (`image.tar`) → os-release (ID, VERSION_ID) of the root filesystem inside it.
    distros: HashMap<String, (String, String)>,
    /// Requirements files named by `-r` in another one: full path → the including file.
    req_includes: HashMap<String, String>,
    /// Full paths of the files parsed as requirements files.
    req_parsed: HashSet<String>,
    /// Full paths of the `.txt`/`.in` files walked (to tell "not in the artifact" from "came before the
    /// file that includes it"); only those, so huge archives do not cost a path per entry.
    seen_paths: HashSet<String>,
    buf: Vec<u8>,
}

/// `target` (as written after `-r`) relative to the directory of `from` (a full entry path), inside the same
/// archive: `.` and `..` resolved, never above the archive's root.
fn resolve_include(from: &str, target: &str) -> Option<String> {
    let (archive, inner) = match from.rsplit_once("!/") {
        Some((a, i)) => (Some(a), i),
        None => (None, from),
    };
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        let mut p: Vec<&str> = inner.split('/').collect();
        p.pop();
        p
    };
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    let inner = parts.join("/");
    Some(match archive {
        Some(a) => format!("{a}!/{inner}"),
        None => inner,
    })
}

/// `etc/os-release` or `usr/lib/os-release` at the root of an archive (image root filesystem).
fn is_os_release(entry: &EntryInfo) -> bool {
    entry.name == "os-release"
        && entry
            .path
            .rsplit_once("!/")
            .is_some_and(|(_, inner)| inner == "etc/os-release" || inner == "usr/lib/os-release")
}

/// `ID` and `VERSION_ID` of an os-release file.
fn parse_os_release(text: &str) -> Option<(String, String)> {
    let mut id = None;
    let mut version = String::new();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches(['"', '\'']).to_string();
        match k.trim() {
            "ID" => id = Some(v.to_ascii_lowercase()),
            "VERSION_ID" => version = v,
            _ => {}
        }
    }
    id.filter(|i| !i.is_empty()).map(|i| (i, version))
}

/// Gives OS packages the distribution of the root filesystem they were found in: OSV ecosystem (`Ubuntu`
/// for dpkg databases of Ubuntu, the RPM distribution) and the purl's `distro` qualifier (`debian-12`).
fn apply_distro(p: &mut Package, id: &str, version: &str) {
    let eco = p.package.ecosystem.as_str();
    if !matches!(
        eco,
        "Debian"
            | "Ubuntu"
            | "Alpine"
            | "RPM"
            | "Red Hat"
            | "Rocky Linux"
            | "AlmaLinux"
            | "openSUSE"
            | "SUSE"
    ) || p.found_by.starts_with("sbom/")
    {
        return;
    }
    let new_eco = match (eco, id) {
        ("Debian", "ubuntu") => "Ubuntu",
        ("RPM", "rhel") => "Red Hat",
        ("RPM", "rocky") => "Rocky Linux",
        ("RPM", "almalinux") => "AlmaLinux",
        ("RPM", i) if i.starts_with("opensuse") => "openSUSE",
        ("RPM", "sles") => "SUSE",
        (e, _) => e,
    }
    .to_string();
    if let Some(base) = purl::build(&new_eco, &p.package.name, &p.package.version, None) {
        let distro = if version.is_empty() {
            id.to_string()
        } else {
            format!("{id}-{version}")
        };
        p.package.purl = Some(format!("{base}?distro={distro}"));
    }
    p.package.ecosystem = new_eco;
}

impl Default for PackageVisitor {
    fn default() -> Self {
        PackageVisitor::new()
    }
}

impl std::fmt::Debug for PackageVisitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackageVisitor")
            .field("packages", &self.packages.len())
            .field("errors", &self.errors.len())
            .finish()
    }
}

fn is_jar_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [".jar", ".war", ".ear", ".hpi", ".jpi"]
        .iter()
        .any(|s| n.ends_with(s))
}

/// Turns an extractor's result into a [`Package`] at `entry`.
pub(crate) fn to_package(
    f: Found,
    entry_path: &str,
    layer: Option<&str>,
    default_by: &'static str,
) -> Package {
    let purl = f
        .purl
        .clone()
        .or_else(|| purl::build(&f.ecosystem, &f.name, &f.version, None));
    Package {
        package: PackageRef {
            ecosystem: f.ecosystem,
            name: f.name,
            version: f.version,
            purl,
        },
        location: entry_path.to_string(),
        layer: layer.map(str::to_string),
        source_name: f.source_name,
        license: f.license,
        found_by: f.found_by.unwrap_or(default_by).to_string(),
        inferred: f.inferred,
    }
}

impl PackageVisitor {
    /// A visitor with every extractor of the registry.
    pub fn new() -> Self {
        PackageVisitor {
            registry: REGISTRY,
            packages: Vec::new(),
            errors: Vec::new(),
            notes: Vec::new(),
            formats: BTreeMap::new(),
            jars: Vec::new(),
            jars_with_pom: HashMap::new(),
            manifests: HashMap::new(),
            distros: HashMap::new(),
            req_includes: HashMap::new(),
            req_parsed: HashSet::new(),
            seen_paths: HashSet::new(),
            buf: Vec::new(),
        }
    }

    /// Count of leaf files per detected format seen so far.
    pub fn formats(&self) -> &BTreeMap<Format, u64> {
        &self.formats
    }

    /// Ends the walk: resolves jar fallbacks (MANIFEST.MF, then the file name) and returns the packages.
    pub fn finish(mut self) -> PackageScan {
        let mut includes: Vec<(String, String)> = std::mem::take(&mut self.req_includes)
            .into_iter()
            .filter(|(target, _)| !self.req_parsed.contains(target))
            .collect();
        includes.sort();
        for (target, from) in includes {
            let why = if self.seen_paths.contains(&target) {
                "came before the file that includes it and was not read as a requirements file"
            } else {
                "is not in the artifact"
            };
            self.errors.push(EntryError {
                path: from,
                message: format!(
                    "requirements include `{target}` {why}: its packages are not inventoried"
                ),
            });
        }
        let jars = std::mem::take(&mut self.jars);
        for jar in jars {
            let manifest = self.manifests.remove(&jar.path);
            if let Some(poms) = self.jars_with_pom.get(&jar.path) {
                // A shaded jar may carry only its dependencies' pom.properties (Debian's guice.jar has
                // cglib's): its own identity then comes from the manifest.
                let stem = extract::java::jar_stem(&jar.name);
                let own = stem.is_some_and(|s| poms.contains(&s));
                if !own && let Some(pkgs) = manifest {
                    self.packages.extend(pkgs);
                }
                continue;
            }
            if let Some(pkgs) = manifest {
                self.packages.extend(pkgs);
                continue;
            }
            if let Some((name, version)) = extract::java::jar_name_guess(&jar.name) {
                let mut f = Found::new(extract::java::MAVEN, name, version);
                f.inferred = true;
                self.packages.push(to_package(
                    f,
                    &jar.path,
                    jar.layer.as_deref(),
                    "java/jar-filename",
                ));
            }
        }
        let mut packages = self.packages;
        if !self.distros.is_empty() {
            for p in &mut packages {
                let prefix = p.location.rsplit_once("!/").map(|(a, _)| a).unwrap_or("");
                if let Some((id, version)) = self.distros.get(prefix) {
                    apply_distro(p, id, version);
                }
            }
        }
        packages.sort();
        packages.dedup();
        let mut errors = self.errors;
        errors.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
        errors.dedup();
        PackageScan {
            packages,
            errors,
            notes: self.notes,
        }
    }

    /// Runs the matching extractors on one file's bytes.
    fn run(&mut self, entry: &EntryInfo, data: &[u8]) {
        let included = self.req_includes.contains_key(&entry.path);
        let requirements = extract::python::REQUIREMENTS.id;
        for ext in self.registry {
            let forced = included && ext.id == requirements;
            if !(ext.wants)(entry) && !forced {
                continue;
            }
            match (ext.extract)(entry, data) {
                Ok(out) => {
                    if ext.id == requirements {
                        self.req_parsed.insert(entry.path.clone());
                        for target in &out.includes {
                            match resolve_include(&entry.path, target) {
                                Some(full) => {
                                    self.req_includes
                                        .entry(full)
                                        .or_insert_with(|| entry.path.clone());
                                }
                                None => self.errors.push(EntryError {
                                    path: entry.path.clone(),
                                    message: format!(
                                        "requirements include `{target}` points outside the artifact: its packages are not inventoried"
                                    ),
                                }),
                            }
                        }
                    }
                    for (name, constraint) in out.unpinned {
                        let c = if constraint.is_empty() {
                            "no version".to_string()
                        } else {
                            constraint
                        };
                        self.notes.push(EntryError {
                            path: entry.path.clone(),
                            message: format!(
                                "unpinned requirement `{name}` ({c}): not reported as a package"
                            ),
                        });
                    }
                    let layer = entry.layer.as_deref();
                    for f in out.packages {
                        let pkg = to_package(f, &entry.path, layer, ext.id);
                        match ext.id {
                            "java/manifest" => {
                                let owner = entry
                                    .path
                                    .rsplit_once("!/")
                                    .map(|(o, _)| o)
                                    .unwrap_or("")
                                    .to_string();
                                self.manifests.entry(owner).or_default().push(pkg);
                            }
                            "java/pom-properties" => {
                                if let Some((owner, _)) =
                                    entry.path.rsplit_once("!/META-INF/maven/")
                                {
                                    let artifact = pkg
                                        .package
                                        .name
                                        .rsplit(':')
                                        .next()
                                        .unwrap_or("")
                                        .to_string();
                                    self.jars_with_pom
                                        .entry(owner.to_string())
                                        .or_default()
                                        .push(artifact);
                                }
                                self.packages.push(pkg);
                            }
                            _ => self.packages.push(pkg),
                        }
                    }
                }
                Err(e) => self.errors.push(EntryError {
                    path: entry.path.clone(),
                    message: format!("{}: {}", ext.id, portcullis_core::reader::error_chain(&e)),
                }),
            }
        }
    }
}

impl Visitor for PackageVisitor {
    fn wants(&mut self, entry: &EntryInfo) -> bool {
        *self.formats.entry(entry.format).or_default() += 1;
        if entry.name.ends_with(".txt") || entry.name.ends_with(".in") {
            self.seen_paths.insert(entry.path.clone());
        }
        is_os_release(entry)
            || self.req_includes.contains_key(&entry.path)
            || self.registry.iter().any(|e| (e.wants)(entry))
    }

    fn file(&mut self, entry: &EntryInfo, content: &mut dyn Read) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let cap = if matches!(entry.format, Format::Elf | Format::MachO | Format::Pe) {
            MAX_BINARY
        } else {
            MAX_CONTENT
        };
        content.take(cap + 1).read_to_end(&mut buf)?;
        if buf.len() as u64 > cap {
            self.errors.push(EntryError {
                path: entry.path.clone(),
                message: ExtractError::TooLarge(cap).to_string(),
            });
        } else if is_os_release(entry) {
            if let Some(d) = parse_os_release(&String::from_utf8_lossy(&buf)) {
                let prefix = entry
                    .path
                    .rsplit_once("!/")
                    .map(|(a, _)| a)
                    .unwrap_or("")
                    .to_string();
                // usr/lib/os-release is the fallback; etc/os-release wins when both are files.
                if entry.path.ends_with("!/etc/os-release") || !self.distros.contains_key(&prefix) {
                    self.distros.insert(prefix, d);
                }
            }
        } else {
            self.run(entry, &buf);
        }
        // Keep a modest buffer for reuse, release big ones.
        if buf.capacity() <= 4 * 1024 * 1024 {
            self.buf = buf;
        }
        Ok(())
    }

    fn container(&mut self, entry: &EntryInfo) {
        if entry.format == Format::Zip && is_jar_name(&entry.name) {
            self.jars.push(JarSeen {
                path: entry.path.clone(),
                name: entry.name.clone(),
                layer: entry.layer.clone(),
            });
        }
    }
}

/// Errors reading an SBOM document given as bytes.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    /// Not valid JSON.
    #[error("SBOM is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Valid JSON but not a supported CycloneDX / SPDX document.
    #[error("unsupported SBOM: {0}")]
    Unsupported(String),
}

/// Packages listed in a CycloneDX 1.4–1.6 JSON or SPDX 2.3 JSON document (components with a purl).
pub fn packages_from_sbom(bytes: &[u8]) -> Result<Vec<Package>, SbomError> {
    let found = extract::sbom_input::parse(bytes).map_err(|e| match e {
        ExtractError::Json(j) => SbomError::Json(j),
        other => SbomError::Unsupported(other.to_string()),
    })?;
    let mut out: Vec<Package> = found
        .into_iter()
        .map(|f| to_package(f, "", None, "sbom/document"))
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The `inventory/packages` tool.
#[derive(Debug, Default, Clone)]
pub struct PackageInventoryTool;

/// Tool name.
pub const TOOL_NAME: &str = "inventory/packages";

#[async_trait]
impl SecurityTool for PackageInventoryTool {
    fn name(&self) -> &'static str {
        TOOL_NAME
    }

    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    async fn analyze(
        &self,
        source: Arc<dyn ArtifactSource>,
        _config: &ToolConfiguration,
        ctx: &ToolContext,
    ) -> Result<ToolResult, ToolError> {
        let ctx2 = ctx.clone();
        let version = self.version();
        tokio::task::spawn_blocking(move || {
            run_walk(
                TOOL_NAME,
                version,
                source.as_ref(),
                &ctx2,
                PackageVisitor::new(),
                |v, _| {
                    let formats = v.formats().clone();
                    let scan = v.finish();
                    VisitorOutput {
                        findings: Vec::new(),
                        inventory: Some(Inventory {
                            entries: Vec::new(),
                            entries_truncated: false,
                            formats,
                            packages: scan.packages,
                        }),
                        errors: scan.errors,
                    }
                },
            )
        })
        .await
        .map_err(|e| {
            tool_error(
                TOOL_NAME,
                &ctx.artifact_id,
                ToolErrorKind::Panicked,
                e.to_string(),
            )
        })
    }
}
