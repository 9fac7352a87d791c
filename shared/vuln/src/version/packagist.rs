//! Packagist ordering, PHP `version_compare` style: leading `v` dropped, `-`/`_`/`+` become `.`, a `.` is
//! inserted between digit and non-digit runs, then components compare numerically, or by special form
//! (`dev < alpha = a < beta = b < RC = rc < # (number) < pl = p`, anything else before `dev`).

use std::cmp::Ordering;

use super::{cmp_digits, is_digits};

/// A parsed Packagist version: canonical components (case kept: PHP's special forms are case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagistVersion {
    /// Components after canonicalization.
    pub components: Vec<String>,
}

impl PackagistVersion {
    /// Canonicalizes leniently.
    pub fn parse(s: &str) -> PackagistVersion {
        let s = s.trim();
        let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
        let mut components = Vec::new();
        let mut cur = String::new();
        let mut cur_digit = false;
        for c in s.chars() {
            if matches!(c, '-' | '_' | '+' | '.') {
                if !cur.is_empty() {
                    components.push(std::mem::take(&mut cur));
                }
                continue;
            }
            let d = c.is_ascii_digit();
            if !cur.is_empty() && d != cur_digit {
                components.push(std::mem::take(&mut cur));
            }
            cur_digit = d;
            cur.push(c);
        }
        if !cur.is_empty() {
            components.push(cur);
        }
        PackagistVersion { components }
    }
}

fn special_order(form: &str) -> i32 {
    const FORMS: [(&str, i32); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(name, _)| form.starts_with(name))
        .map(|(_, o)| *o)
        .unwrap_or(-1)
}

const NUMBER: &str = "#N#";

fn cmp_component(a: &str, b: &str) -> Ordering {
    match (is_digits(a), is_digits(b)) {
        (true, true) => cmp_digits(a, b),
        (false, false) => special_order(a).cmp(&special_order(b)),
        (true, false) => special_order(NUMBER).cmp(&special_order(b)),
        (false, true) => special_order(a).cmp(&special_order(NUMBER)),
    }
}

impl Ord for PackagistVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.components.iter().zip(other.components.iter()) {
            match cmp_component(a, b) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        let n = self.components.len().min(other.components.len());
        if self.components.len() > n {
            for c in &self.components[n..] {
                if is_digits(c) {
                    return Ordering::Greater;
                }
                match cmp_component(c, NUMBER) {
                    Ordering::Equal => {}
                    o => return o,
                }
            }
        } else if other.components.len() > n {
            for c in &other.components[n..] {
                if is_digits(c) {
                    return Ordering::Less;
                }
                match cmp_component(NUMBER, c) {
                    Ordering::Equal => {}
                    o => return o,
                }
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for PackagistVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two Packagist versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    PackagistVersion::parse(a).cmp(&PackagistVersion::parse(b))
}
