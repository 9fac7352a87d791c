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
    fn strip(s: &[u8]) -> &[u8] {
        let n = s.iter().take_while(|c| **c == b'0').count();
        &s[n..]
    }
    let a = strip(a.as_bytes());
    let b = strip(b.as_bytes());
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// True when `s` is non-empty and all ASCII digits.
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A version parsed once under a scheme, for repeated comparisons (range evaluation). Schemes whose
/// comparators work on the string directly keep it as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedVersion {
    /// Lenient SemVer / Pub / NuGet.
    Semver(semver::SemverLike),
    /// PyPI.
    PyPi(pep440::PyPiVersion),
    /// Maven.
    Maven(maven::MavenVersion),
    /// RubyGems.
    Gem(rubygems::GemVersion),
    /// Packagist.
    Packagist(packagist::PackagistVersion),
    /// CRAN.
    Cran(cran::CranVersion),
    /// Hackage.
    Hackage(hackage::HackageVersion),
    /// dpkg, RPM, apk: compared on the string.
    Raw(String),
}

impl ParsedVersion {
    /// Parses `v` under `scheme`.
    pub fn parse(scheme: Scheme, v: &str) -> ParsedVersion {
        match scheme {
            Scheme::Semver | Scheme::Pub => {
                ParsedVersion::Semver(semver::SemverLike::parse(v, 3, false))
            }
            Scheme::NuGet => ParsedVersion::Semver(semver::SemverLike::parse(v, 4, true)),
            Scheme::Pep440 => ParsedVersion::PyPi(pep440::PyPiVersion::parse(v)),
            Scheme::Maven => ParsedVersion::Maven(maven::MavenVersion::parse(v)),
            Scheme::RubyGems => ParsedVersion::Gem(rubygems::GemVersion::parse(v)),
            Scheme::Packagist => ParsedVersion::Packagist(packagist::PackagistVersion::parse(v)),
            Scheme::Cran => ParsedVersion::Cran(cran::CranVersion::parse(v)),
            Scheme::Hackage => ParsedVersion::Hackage(hackage::HackageVersion::parse(v)),
            Scheme::Dpkg | Scheme::Rpm | Scheme::Apk => ParsedVersion::Raw(v.to_string()),
        }
    }

    /// Compares two versions parsed under the same `scheme` (same result as [`Scheme::compare`] on the
    /// strings). Versions parsed under different schemes compare as their variants' order.
    pub fn compare(&self, other: &ParsedVersion, scheme: Scheme) -> Ordering {
        use ParsedVersion as P;
        match (self, other) {
            (P::Semver(a), P::Semver(b)) => match scheme {
                Scheme::Pub => semver::cmp_pub_parsed(a, b),
                _ => semver::cmp_parsed(a, b),
            },
            (P::PyPi(a), P::PyPi(b)) => a.cmp(b),
            (P::Maven(a), P::Maven(b)) => a.cmp(b),
            (P::Gem(a), P::Gem(b)) => a.cmp(b),
            (P::Packagist(a), P::Packagist(b)) => a.cmp(b),
            (P::Cran(a), P::Cran(b)) => a.cmp(b),
            (P::Hackage(a), P::Hackage(b)) => a.cmp(b),
            (P::Raw(a), P::Raw(b)) => scheme.compare(a, b),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            ParsedVersion::Semver(_) => 0,
            ParsedVersion::PyPi(_) => 1,
            ParsedVersion::Maven(_) => 2,
            ParsedVersion::Gem(_) => 3,
            ParsedVersion::Packagist(_) => 4,
            ParsedVersion::Cran(_) => 5,
            ParsedVersion::Hackage(_) => 6,
            ParsedVersion::Raw(_) => 7,
        }
    }
}
