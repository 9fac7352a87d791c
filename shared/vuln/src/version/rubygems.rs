//! RubyGems ordering (`Gem::Version`): `-` means `.pre.`, segments are runs of digits or letters, trailing
//! zeros of the numeric and of the string part are dropped, and a letter segment (prerelease) sorts before
//! any number.

use std::cmp::Ordering;

use super::cmp_digits;

/// One segment of a gem version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Digits (compared as an unbounded integer).
    Num(String),
    /// Letters (compared bytewise, case-sensitive).
    Str(String),
}

impl Segment {
    fn is_zero(&self) -> bool {
        matches!(self, Segment::Num(n) if n.bytes().all(|b| b == b'0'))
    }
}

/// A parsed gem version: its canonical segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GemVersion {
    /// Canonical segments.
    pub segments: Vec<Segment>,
}

impl GemVersion {
    /// Parses leniently.
    pub fn parse(s: &str) -> GemVersion {
        let s = s.trim().replace('-', ".pre.");
        let mut segs = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let start = i;
            if b[i].is_ascii_digit() {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                segs.push(Segment::Num(s[start..i].to_string()));
            } else if b[i].is_ascii_alphabetic() {
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                segs.push(Segment::Str(s[start..i].to_string()));
            } else {
                i += 1;
            }
        }
        let split = segs
            .iter()
            .position(|s| matches!(s, Segment::Str(_)))
            .unwrap_or(segs.len());
        let mut strings = segs.split_off(split);
        while segs.last().is_some_and(Segment::is_zero) {
            segs.pop();
        }
        while strings.last().is_some_and(Segment::is_zero) {
            strings.pop();
        }
        segs.extend(strings);
        GemVersion { segments: segs }
    }
}

impl Ord for GemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Segment::Num("0".to_string());
        let n = self.segments.len().max(other.segments.len());
        for i in 0..n {
            let a = self.segments.get(i).unwrap_or(&zero);
            let b = other.segments.get(i).unwrap_or(&zero);
            let o = match (a, b) {
                (Segment::Num(x), Segment::Num(y)) => cmp_digits(x, y),
                (Segment::Str(_), Segment::Num(_)) => Ordering::Less,
                (Segment::Num(_), Segment::Str(_)) => Ordering::Greater,
                (Segment::Str(x), Segment::Str(y)) => x.cmp(y),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for GemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two gem versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    GemVersion::parse(a).cmp(&GemVersion::parse(b))
}
