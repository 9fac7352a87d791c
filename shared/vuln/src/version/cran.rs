//! CRAN (R `package_version`) ordering: integers separated by `.` or `-`, compared numerically; when one is a
//! prefix of the other, the longer one is greater (`0.1-0 > 0.01`).

use std::cmp::Ordering;

use super::cmp_digits;

/// A parsed CRAN version: its integer components as digit strings (non-digit parts compared lexically).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CranVersion {
    /// Components split on `.` and `-`.
    pub components: Vec<String>,
}

impl CranVersion {
    /// Parses leniently.
    pub fn parse(s: &str) -> CranVersion {
        CranVersion {
            components: s.trim().split(['.', '-']).map(str::to_string).collect(),
        }
    }
}

impl Ord for CranVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.components.iter().zip(other.components.iter()) {
            let o = match (super::is_digits(a), super::is_digits(b)) {
                (true, true) => cmp_digits(a, b),
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => a.cmp(b),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        self.components.len().cmp(&other.components.len())
    }
}

impl PartialOrd for CranVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two CRAN versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    CranVersion::parse(a).cmp(&CranVersion::parse(b))
}
