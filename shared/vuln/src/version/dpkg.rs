//! Debian/Ubuntu ordering, as dpkg does it: `[epoch:]upstream[-revision]`, epochs numerically, then upstream
//! and revision by alternating non-digit and digit runs (`~` sorts before everything, even the end; letters
//! before other characters; digit runs numerically).

use std::cmp::Ordering;

use super::cmp_digits;

/// A parsed dpkg version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpkgVersion<'a> {
    /// Epoch digits (`0` when absent).
    pub epoch: &'a str,
    /// Upstream version.
    pub upstream: &'a str,
    /// Debian revision (empty when absent).
    pub revision: &'a str,
}

impl<'a> DpkgVersion<'a> {
    /// Splits a version string (never fails).
    pub fn parse(s: &'a str) -> DpkgVersion<'a> {
        let s = s.trim();
        let (epoch, rest) = match s.split_once(':') {
            Some((e, r)) if e.bytes().all(|b| b.is_ascii_digit()) => {
                (if e.is_empty() { "0" } else { e }, r)
            }
            _ => ("0", s),
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((u, r)) => (u, r),
            None => (rest, ""),
        };
        DpkgVersion {
            epoch,
            upstream,
            revision,
        }
    }
}

impl Ord for DpkgVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digits(self.epoch, other.epoch)
            .then_with(|| verrevcmp(self.upstream.as_bytes(), other.upstream.as_bytes()))
            .then_with(|| verrevcmp(self.revision.as_bytes(), other.revision.as_bytes()))
    }
}

impl PartialOrd for DpkgVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp` over one part.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied().filter(|c| !c.is_ascii_digit()));
            let bc = order(b.get(j).copied().filter(|c| !c.is_ascii_digit()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            if i < a.len() && !a[i].is_ascii_digit() {
                i += 1;
            }
            if j < b.len() && !b[j].is_ascii_digit() {
                j += 1;
            }
        }
        let si = i;
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        let sj = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        // Both runs are ASCII digits.
        let da = std::str::from_utf8(&a[si..i]).unwrap_or("");
        let db = std::str::from_utf8(&b[sj..j]).unwrap_or("");
        match cmp_digits(da, db) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    Ordering::Equal
}

/// Compares two dpkg versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    DpkgVersion::parse(a).cmp(&DpkgVersion::parse(b))
}
