//! Per-ecosystem version ordering, following the rules OSV data is written against (see `CRATES.md` §6.2):
//! one comparator per versioning scheme, each with a parsed type, and [`compare`] picking the scheme from an
//! OSV ecosystem name (any `:suffix` such as `Debian:12` is stripped first). Every comparator is total: any
//! string parses (leniently), so range evaluation never fails on an odd version.

use std::cmp::Ordering;

pub mod apk;
pub mod cran;
pub mod dpkg;
pub mod hackage;
pub mod maven;
pub mod packagist;
pub mod pep440;
pub mod rpm;
pub mod rubygems;
pub mod semver;

/// A versioning scheme (one comparator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Scheme {
    /// Lenient SemVer: npm, crates.io, Go, Hex, … (and the fallback for unknown ecosystems).
    Semver,
    /// Pub: SemVer with build metadata as a final tiebreak.
    Pub,
    /// NuGet: SemVer-like with four numeric components, case-insensitive prerelease.
    NuGet,
    /// PEP 440 with the legacy fallback (PyPI).
    Pep440,
    /// Maven `ComparableVersion`.
    Maven,
    /// dpkg (Debian, Ubuntu).
    Dpkg,
    /// rpmvercmp on `E:V-R` (Red Hat and other RPM distributions).
    Rpm,
    /// apk-tools (Alpine, Wolfi, Chainguard, …).
    Apk,
    /// RubyGems `Gem::Version`.
    RubyGems,
    /// PHP `version_compare` (Packagist).
    Packagist,
    /// CRAN (R).
    Cran,
    /// Hackage (Haskell).
    Hackage,
}

/// Strips an ecosystem suffix: `Debian:12` → `Debian`, `Alpine:v3.20` → `Alpine`.
pub fn base_ecosystem(ecosystem: &str) -> &str {
    match ecosystem.split_once(':') {
        Some((base, _)) => base.trim(),
        None => ecosystem.trim(),
    }
}

/// The canonical OSV spelling of an ecosystem name (suffix stripped, case-insensitive for the known ones).
/// Unknown ecosystems are returned as given (suffix stripped).
pub fn canonical_ecosystem(ecosystem: &str) -> &str {
    let base = base_ecosystem(ecosystem);
    const KNOWN: &[&str] = &[
        "npm",
        "crates.io",
        "Go",
        "PyPI",
        "Maven",
        "NuGet",
        "RubyGems",
        "Packagist",
        "Pub",
        "Hex",
        "CRAN",
        "Hackage",
        "Debian",
        "Ubuntu",
        "Alpine",
        "Wolfi",
        "Chainguard",
        "MinimOS",
        "Alpaquita",
        "BellSoft Hardened Containers",
        "Red Hat",
        "AlmaLinux",
        "Rocky Linux",
        "openSUSE",
        "SUSE",
        "Mageia",
        "openEuler",
        "Photon OS",
        "Azure Linux",
        "Bitnami",
        "Bioconductor",
        "ConanCenter",
        "SwiftURL",
        "GHC",
        "Julia",
        "Linux",
        "Android",
        "OSS-Fuzz",
        "GitHub Actions",
        "Docker Hardened Images",
        "GIT",
    ];
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(base))
        .copied()
        .unwrap_or(base)
}

/// The scheme an OSV ecosystem orders its versions with. Unknown ecosystems fall back to lenient SemVer.
pub fn scheme_for(ecosystem: &str) -> Scheme {
    match canonical_ecosystem(ecosystem) {
        "PyPI" => Scheme::Pep440,
        "Maven" => Scheme::Maven,
        "Debian" | "Ubuntu" => Scheme::Dpkg,
        "Red Hat" | "AlmaLinux" | "Rocky Linux" | "openSUSE" | "SUSE" | "Mageia" | "openEuler"
        | "Photon OS" | "Azure Linux" => Scheme::Rpm,
        "Alpine"
        | "Wolfi"
        | "Chainguard"
        | "MinimOS"
        | "Alpaquita"
        | "BellSoft Hardened Containers" => Scheme::Apk,
        "RubyGems" => Scheme::RubyGems,
        "Packagist" => Scheme::Packagist,
        "NuGet" => Scheme::NuGet,
        "Pub" => Scheme::Pub,
        "CRAN" => Scheme::Cran,
        "Hackage" => Scheme::Hackage,
        _ => Scheme::Semver,
    }
}

impl Scheme {
    /// Compares two versions under this scheme.
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Scheme::Semver => semver::compare(a, b),
            Scheme::Pub => semver::compare_pub(a, b),
            Scheme::NuGet => semver::compare_nuget(a, b),
            Scheme::Pep440 => pep440::compare(a, b),
            Scheme::Maven => maven::compare(a, b),
            Scheme::Dpkg => dpkg::compare(a, b),
            Scheme::Rpm => rpm::compare(a, b),
            Scheme::Apk => apk::compare(a, b),
            Scheme::RubyGems => rubygems::compare(a, b),
            Scheme::Packagist => packagist::compare(a, b),
            Scheme::Cran => cran::compare(a, b),
            Scheme::Hackage => hackage::compare(a, b),
        }
    }
}

/// Orders two versions of a package of `ecosystem` (OSV spelling, suffix allowed).
pub fn compare(ecosystem: &str, a: &str, b: &str) -> Ordering {
    scheme_for(ecosystem).compare(a, b)
}

/// Compares two strings of ASCII digits as unbounded non-negative integers (leading zeros ignored).
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// True when `s` is non-empty and all ASCII digits.
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}
