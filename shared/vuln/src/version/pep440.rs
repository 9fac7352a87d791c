//! PyPI ordering: PEP 440 (epoch, release, `a`/`b`/`rc` pre-releases with their aliases, post, dev, local
//! segments) and, for strings that are not PEP 440, the legacy ordering of `packaging.version.LegacyVersion`
//! (always before every PEP 440 version), as the PyPI test vectors were produced.

use std::cmp::Ordering;

use super::{cmp_digits, is_digits};

/// A PEP 440 version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pep440Version {
    /// Epoch digits.
    pub epoch: String,
    /// Release components (trailing zeros removed).
    pub release: Vec<String>,
    /// Pre-release: rank (0 = a, 1 = b, 2 = rc) and number.
    pub pre: Option<(u8, String)>,
    /// Post-release number.
    pub post: Option<String>,
    /// Dev-release number.
    pub dev: Option<String>,
    /// Local version segments (lowercased).
    pub local: Option<Vec<String>>,
}

/// A PyPI version: PEP 440 or legacy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyPiVersion {
    /// Valid PEP 440.
    Pep440(Pep440Version),
    /// Anything else: the legacy comparison key.
    Legacy(Vec<String>),
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn digits(&mut self) -> Option<String> {
        let st = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        (self.i > st).then(|| String::from_utf8_lossy(&self.s[st..self.i]).into_owned())
    }
    fn sep(&mut self) -> bool {
        if matches!(self.peek(), Some(b'-' | b'_' | b'.')) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn word(&mut self, words: &[&str]) -> Option<usize> {
        let rest = &self.s[self.i..];
        let k = words.iter().position(|w| rest.starts_with(w.as_bytes()))?;
        self.i += words[k].len();
        Some(k)
    }
    /// `[-_.]? word [-_.]? digits?` with regex-like backtracking on separators.
    fn labelled(&mut self, words: &[&str]) -> Option<(usize, String)> {
        let save = self.i;
        self.sep();
        let Some(k) = self.word(words) else {
            self.i = save;
            return None;
        };
        let after_word = self.i;
        self.sep();
        match self.digits() {
            Some(n) => Some((k, n)),
            None => {
                self.i = after_word;
                Some((k, "0".to_string()))
            }
        }
    }
}

impl Pep440Version {
    /// Parses a PEP 440 version (case-insensitive, surrounding whitespace and a leading `v` allowed).
    pub fn parse(s: &str) -> Option<Pep440Version> {
        let lower = s.trim().to_ascii_lowercase();
        let body = lower.strip_prefix('v').unwrap_or(&lower);
        let mut p = P {
            s: body.as_bytes(),
            i: 0,
        };
        let first = p.digits()?;
        let mut epoch = "0".to_string();
        let mut release = Vec::new();
        if p.peek() == Some(b'!') {
            p.i += 1;
            epoch = first;
            release.push(p.digits()?);
        } else {
            release.push(first);
        }
        while p.peek() == Some(b'.') && p.s.get(p.i + 1).is_some_and(|c| c.is_ascii_digit()) {
            p.i += 1;
            release.push(p.digits()?);
        }
        while release.len() > 1 && release.last().is_some_and(|r| r.bytes().all(|b| b == b'0')) {
            release.pop();
        }
        // Pre-release. Longest spellings first.
        const PRE: [&str; 8] = ["alpha", "beta", "preview", "pre", "rc", "a", "b", "c"];
        let pre = p.labelled(&PRE).map(|(k, n)| {
            let rank = match PRE[k] {
                "alpha" | "a" => 0,
                "beta" | "b" => 1,
                _ => 2,
            };
            (rank, n)
        });
        // Post-release: `-N` or `[-_.]?(post|rev|r)[-_.]?N?`.
        let mut post = None;
        let save = p.i;
        if p.peek() == Some(b'-') {
            p.i += 1;
            match p.digits() {
                Some(n) => post = Some(n),
                None => p.i = save,
            }
        }
        if post.is_none() {
            post = p.labelled(&["post", "rev", "r"]).map(|(_, n)| n);
        }
        let dev = p.labelled(&["dev"]).map(|(_, n)| n);
        let mut local = None;
        if p.peek() == Some(b'+') {
            p.i += 1;
            let rest = std::str::from_utf8(&p.s[p.i..]).ok()?;
            let segs: Vec<String> = rest.split(['-', '_', '.']).map(str::to_string).collect();
            if segs
                .iter()
                .any(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric()))
            {
                return None;
            }
            p.i = p.s.len();
            local = Some(segs);
        }
        if p.i != p.s.len() {
            return None;
        }
        Some(Pep440Version {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }
}

/// Rank of an optional part: negative infinity, a value, or positive infinity.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Inf<T> {
    Neg,
    Val(T),
    Pos,
}

fn num_key(n: &str) -> NumKey<'_> {
    NumKey(n)
}

#[derive(PartialEq, Eq)]
struct NumKey<'a>(&'a str);
impl Ord for NumKey<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digits(self.0, other.0)
    }
}
impl PartialOrd for NumKey<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn pre_key(v: &Pep440Version) -> Inf<(u8, NumKey<'_>)> {
    match (&v.pre, &v.post, &v.dev) {
        (None, None, Some(_)) => Inf::Neg,
        (None, _, _) => Inf::Pos,
        (Some((r, n)), _, _) => Inf::Val((*r, num_key(n))),
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let cmp_release = || {
            let n = self.release.len().max(other.release.len());
            for i in 0..n {
                let a = self.release.get(i).map(String::as_str).unwrap_or("0");
                let b = other.release.get(i).map(String::as_str).unwrap_or("0");
                match cmp_digits(a, b) {
                    Ordering::Equal => {}
                    o => return o,
                }
            }
            Ordering::Equal
        };
        cmp_digits(&self.epoch, &other.epoch)
            .then_with(cmp_release)
            .then_with(|| {
                let (a, b) = (pre_key(self), pre_key(other));
                a.cmp(&b)
            })
            .then_with(|| {
                let a = self
                    .post
                    .as_deref()
                    .map_or(Inf::Neg, |n| Inf::Val(num_key(n)));
                let b = other
                    .post
                    .as_deref()
                    .map_or(Inf::Neg, |n| Inf::Val(num_key(n)));
                a.cmp(&b)
            })
            .then_with(|| {
                let a = self
                    .dev
                    .as_deref()
                    .map_or(Inf::Pos, |n| Inf::Val(num_key(n)));
                let b = other
                    .dev
                    .as_deref()
                    .map_or(Inf::Pos, |n| Inf::Val(num_key(n)));
                a.cmp(&b)
            })
            .then_with(|| match (&self.local, &other.local) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(a), Some(b)) => cmp_local(a, b),
            })
    }
}

fn cmp_local(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b.iter()) {
        let o = match (is_digits(x), is_digits(y)) {
            (true, true) => cmp_digits(x, y),
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The legacy (`LegacyVersion`) comparison key of a string.
pub fn legacy_key(s: &str) -> Vec<String> {
    let lower = s.to_ascii_lowercase();
    // Split into runs of digits, runs of letters, `.`, `-`, and runs of anything else (as `re.split` does).
    let mut raw: Vec<&str> = Vec::new();
    let b = lower.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let st = i;
        let c = b[i];
        if c.is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        } else if c.is_ascii_lowercase() {
            while i < b.len() && b[i].is_ascii_lowercase() {
                i += 1;
            }
        } else if c == b'.' || c == b'-' {
            i += 1;
        } else {
            while i < b.len() && !(b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'-') {
                i += 1;
            }
        }
        raw.push(&lower[st..i]);
    }
    let mut parts: Vec<String> = Vec::new();
    let mapped = raw.into_iter().filter_map(|p| {
        let p = match p {
            "pre" | "preview" | "rc" => "c",
            "-" => "final-",
            "dev" => "@",
            other => other,
        };
        if p.is_empty() || p == "." {
            None
        } else if p.as_bytes()[0].is_ascii_digit() {
            Some(format!("{p:0>8}"))
        } else {
            Some(format!("*{p}"))
        }
    });
    for part in mapped.chain(std::iter::once("*final".to_string())) {
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while parts.last().is_some_and(|p| p == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|p| p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    }
    parts
}

impl PyPiVersion {
    /// Parses as PEP 440, else as a legacy version.
    pub fn parse(s: &str) -> PyPiVersion {
        match Pep440Version::parse(s) {
            Some(v) => PyPiVersion::Pep440(v),
            None => PyPiVersion::Legacy(legacy_key(s.trim())),
        }
    }
}

impl Ord for PyPiVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PyPiVersion::Pep440(a), PyPiVersion::Pep440(b)) => a.cmp(b),
            (PyPiVersion::Legacy(a), PyPiVersion::Legacy(b)) => a.cmp(b),
            (PyPiVersion::Legacy(_), PyPiVersion::Pep440(_)) => Ordering::Less,
            (PyPiVersion::Pep440(_), PyPiVersion::Legacy(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for PyPiVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two PyPI versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    PyPiVersion::parse(a).cmp(&PyPiVersion::parse(b))
}
