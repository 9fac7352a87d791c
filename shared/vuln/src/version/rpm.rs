//! RPM ordering (`rpmvercmp` on `[epoch:]version[-release]`): alphanumeric segments, separators ignored,
//! digit segments numerically (leading zeros ignored) and greater than letter segments, `~` sorts before
//! everything (even the end), `^` after the end but before anything else. A missing release sorts before any
//! release, even an empty one (`1 < 1-`).

use std::cmp::Ordering;

/// A parsed RPM EVR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpmVersion<'a> {
    /// Epoch (`0` when absent), compared with rpmvercmp.
    pub epoch: &'a str,
    /// Version.
    pub version: &'a str,
    /// Release, when there is a `-`.
    pub release: Option<&'a str>,
}

impl<'a> RpmVersion<'a> {
    /// Splits an EVR string (never fails).
    pub fn parse(s: &'a str) -> RpmVersion<'a> {
        let s = s.trim();
        let (epoch, rest) = match s.split_once(':') {
            Some((e, r)) => (if e.is_empty() { "0" } else { e }, r),
            None => ("0", s),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((v, r)) => (v, Some(r)),
            None => (rest, None),
        };
        RpmVersion {
            epoch,
            version,
            release,
        }
    }
}

impl Ord for RpmVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        rpmvercmp(self.epoch.as_bytes(), other.epoch.as_bytes())
            .then_with(|| rpmvercmp(self.version.as_bytes(), other.version.as_bytes()))
            .then_with(|| match (self.release, other.release) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(a), Some(b)) => rpmvercmp(a.as_bytes(), b.as_bytes()),
            })
    }
}

impl PartialOrd for RpmVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// rpm's `rpmvercmp`.
pub fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut i, mut j) = (0usize, 0usize);
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    while i < a.len() || j < b.len() {
        while i < a.len() && sep(a[i]) {
            i += 1;
        }
        while j < b.len() && sep(b[j]) {
            j += 1;
        }
        let ca = a.get(i).copied();
        let cb = b.get(j).copied();
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            break;
        };
        let (si, sj) = (i, j);
        let isnum = ca.is_ascii_digit();
        if isnum {
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
        } else {
            while i < a.len() && a[i].is_ascii_alphabetic() {
                i += 1;
            }
            while j < b.len() && b[j].is_ascii_alphabetic() {
                j += 1;
            }
        }
        if sj == j {
            return if isnum {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut sa, mut sb) = (&a[si..i], &b[sj..j]);
        if isnum {
            while sa.first() == Some(&b'0') {
                sa = &sa[1..];
            }
            while sb.first() == Some(&b'0') {
                sb = &sb[1..];
            }
            match sa.len().cmp(&sb.len()) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match sa.cmp(sb) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// Compares two RPM EVR strings.
pub fn compare(a: &str, b: &str) -> Ordering {
    RpmVersion::parse(a).cmp(&RpmVersion::parse(b))
}
