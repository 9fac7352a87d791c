//! Lenient SemVer-like ordering (npm, crates.io, Go, Hex, …), plus the Pub and NuGet variants: optional
//! leading `v`, any number of numeric components as unbounded integers (those past the scheme's maximum are
//! folded into the prerelease string), prerelease < release, prerelease identifiers compared numerically or
//! lexically per SemVer §11, build metadata ignored (Pub: compared last; NuGet: case-insensitive).

use std::cmp::Ordering;

use super::{cmp_digits, is_digits};

/// A parsed SemVer-like version. Components are digit strings (compared as unbounded integers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemverLike {
    /// Numeric components (at most the scheme's maximum; extra ones are in `prerelease`).
    pub components: Vec<String>,
    /// Prerelease part without the leading `-` (empty: a release).
    pub prerelease: String,
    /// Build metadata after `+` (empty: none).
    pub build: String,
    /// The components as integers when they fit in a `u64` (fast path of comparisons).
    small: Vec<Option<u64>>,
}

impl SemverLike {
    /// Parses with at most `max_components` numeric components; `fold_case` lowercases the suffix.
    pub fn parse(s: &str, max_components: usize, fold_case: bool) -> SemverLike {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let mut components: Vec<String> = Vec::new();
        let mut current = String::new();
        let mut rest = "";
        for (i, c) in s.char_indices() {
            if c.is_ascii_digit() {
                current.push(c);
            } else if c == '.' {
                components.push(if current.is_empty() {
                    "0".to_string()
                } else {
                    std::mem::take(&mut current)
                });
            } else {
                rest = &s[i..];
                break;
            }
        }
        if !current.is_empty() {
            components.push(current);
        }
        // Leading zeros are stripped once here, so comparisons are length-then-bytes.
        for c in &mut components {
            let t = c.trim_start_matches('0');
            if t.len() != c.len() {
                *c = if t.is_empty() {
                    "0".to_string()
                } else {
                    t.to_string()
                };
            }
        }
        let (pre, build) = match rest.split_once('+') {
            Some((p, b)) => (p, b),
            None => (rest, ""),
        };
        let mut prerelease = String::new();
        if components.len() > max_components {
            for extra in &components[max_components..] {
                prerelease.push('.');
                prerelease.push_str(extra);
            }
            components.truncate(max_components);
        }
        prerelease.push_str(pre);
        let mut prerelease = match prerelease.strip_prefix('-') {
            Some(p) => p.to_string(),
            None => prerelease,
        };
        let mut build = build.to_string();
        if fold_case {
            prerelease.make_ascii_lowercase();
            build.make_ascii_lowercase();
        }
        let small = components.iter().map(|c| c.parse::<u64>().ok()).collect();
        SemverLike {
            small,
            components,
            prerelease,
            build,
        }
    }

    fn cmp_release(&self, other: &SemverLike) -> Ordering {
        let n = self.components.len().max(other.components.len());
        for i in 0..n {
            let o = match (self.small.get(i).copied(), other.small.get(i).copied()) {
                (Some(Some(a)), Some(Some(b))) => a.cmp(&b),
                (None, Some(Some(b))) => 0.cmp(&b),
                (Some(Some(a)), None) => a.cmp(&0),
                _ => {
                    let a = self.components.get(i).map(String::as_str).unwrap_or("0");
                    let b = other.components.get(i).map(String::as_str).unwrap_or("0");
                    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
                }
            };
            match o {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match (self.prerelease.is_empty(), other.prerelease.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => cmp_identifiers(&self.prerelease, &other.prerelease),
        }
    }
}

/// Compares dot-separated identifier lists per SemVer §11 (numeric < alphanumeric; longer list wins).
pub(crate) fn cmp_identifiers(a: &str, b: &str) -> Ordering {
    let mut ai = a.split('.');
    let mut bi = b.split('.');
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                if x == y {
                    continue;
                }
                let o = match (is_digits(x), is_digits(y)) {
                    (true, true) => cmp_digits(x, y),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// Lenient SemVer (three numeric components, build ignored).
pub fn compare(a: &str, b: &str) -> Ordering {
    SemverLike::parse(a, 3, false).cmp_release(&SemverLike::parse(b, 3, false))
}

/// Compares two parsed versions, build metadata ignored.
pub fn cmp_parsed(a: &SemverLike, b: &SemverLike) -> Ordering {
    a.cmp_release(b)
}

/// Pub: lenient SemVer, then build metadata (absent < present, identifiers as for prereleases).
pub fn compare_pub(a: &str, b: &str) -> Ordering {
    cmp_pub_parsed(
        &SemverLike::parse(a, 3, false),
        &SemverLike::parse(b, 3, false),
    )
}

/// [`compare_pub`] on parsed versions.
pub fn cmp_pub_parsed(a: &SemverLike, b: &SemverLike) -> Ordering {
    a.cmp_release(b)
        .then_with(|| match (a.build.is_empty(), b.build.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => cmp_identifiers(&a.build, &b.build),
        })
}

/// NuGet: four numeric components, case-insensitive prerelease, build ignored.
pub fn compare_nuget(a: &str, b: &str) -> Ordering {
    SemverLike::parse(a, 4, true).cmp_release(&SemverLike::parse(b, 4, true))
}
