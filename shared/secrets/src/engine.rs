//! The matching engine: streams an entry through overlapping windows, runs the aho-corasick keyword
//! prefilter over each window, evaluates only the rules whose keywords occur, then checks the secret's
//! entropy, structural validator and allowlists. Produces [`Hit`]s that carry a fingerprint and a line number
//! — never the value, which lives only inside the window buffer.
//!
//! Windows: each pass holds `context + window + overlap` bytes, where `overlap` ≥ the longest match any rule
//! can produce. A match is reported by the pass whose *accept range* holds its start; accept ranges tile the
//! file without overlap, so a secret straddling a boundary is found exactly once, and the `overlap` bytes of
//! leading context stop `^`/boundary assertions from matching falsely at a window start.

use std::io::{self, Read};
use std::ops::Range;

use sha2::{Digest, Sha256};

use crate::rules::{AllowTarget, Allowlist, Rule, RuleSet, Validator};

/// Default window size (new bytes per pass).
pub const DEFAULT_WINDOW: usize = 1024 * 1024;

/// One reported secret: no value, only where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index of the rule in the rule set.
    pub rule: usize,
    /// 1-based line of the secret's first byte.
    pub line: u64,
    /// `sha256:` + 16 hex chars over (rule id, value).
    pub fingerprint: String,
}

/// Fingerprint of a secret value under a rule: `sha256:` + the first 16 hex digits of SHA-256 over
/// `rule_id \0 value`. One-way; the value itself is never stored.
pub fn fingerprint(rule_id: &str, value: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update(b"\0");
    h.update(value);
    let d = h.finalize();
    format!("sha256:{}", &hex::encode(&d[..8]))
}

/// Shannon entropy in bits per byte.
pub fn shannon_entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in data {
        counts[b as usize] += 1;
    }
    let len = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

fn b64url_decode(s: &[u8]) -> Option<Vec<u8>> {
    let s: Vec<u8> = s.iter().copied().filter(|&b| b != b'=').collect();
    if s.len() % 4 == 1 {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        })
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

fn valid_jwt(value: &[u8]) -> bool {
    let mut parts = value.split(|&b| b == b'.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return false;
    };
    let json = |p: &[u8]| {
        b64url_decode(p).and_then(|d| serde_json::from_slice::<serde_json::Value>(&d).ok())
    };
    matches!(json(header), Some(serde_json::Value::Object(_))) && json(payload).is_some()
}

fn line_around(hay: &[u8], span: &Range<usize>) -> Range<usize> {
    let start = memchr::memrchr(b'\n', &hay[..span.start]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &hay[span.end..]).map_or(hay.len(), |i| span.end + i);
    start..end
}

fn contains_ci(hay: &[u8], needle_lower: &str) -> bool {
    let n = needle_lower.as_bytes();
    if n.is_empty() || n.len() > hay.len() {
        return n.is_empty();
    }
    hay.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

fn allowed(
    list: &Allowlist,
    path: &str,
    hay: &[u8],
    secret: &Range<usize>,
    matched: &Range<usize>,
) -> bool {
    if list.paths.iter().any(|p| p.is_match(path)) {
        return true;
    }
    let value = &hay[secret.clone()];
    if list.stopwords.iter().any(|w| contains_ci(value, w)) {
        return true;
    }
    if list.regexes.is_empty() {
        return false;
    }
    let target = match list.target {
        AllowTarget::Secret => value,
        AllowTarget::Match => &hay[matched.clone()],
        AllowTarget::Line => &hay[line_around(hay, matched)],
    };
    list.regexes.iter().any(|r| r.is_match(target))
}

/// Why a candidate was dropped (for tests and accuracy diagnostics; never carries the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Reported.
    Reported,
    /// Below the rule's entropy threshold.
    LowEntropy,
    /// Failed the structural validator.
    Invalid,
    /// Allowlisted.
    Allowlisted,
}

/// Checks one candidate secret against its rule's filters.
pub fn judge(
    set: &RuleSet,
    rule: &Rule,
    path: &str,
    hay: &[u8],
    secret: &Range<usize>,
    matched: &Range<usize>,
) -> Verdict {
    let value = &hay[secret.clone()];
    if let Some(min) = rule.entropy
        && shannon_entropy(value) < min
    {
        return Verdict::LowEntropy;
    }
    if rule.validator == Some(Validator::Jwt) && !valid_jwt(value) {
        return Verdict::Invalid;
    }
    if rule
        .allowlists
        .iter()
        .chain(set.global.iter())
        .any(|a| allowed(a, path, hay, secret, matched))
    {
        return Verdict::Allowlisted;
    }
    Verdict::Reported
}

/// A candidate inside one window (offsets relative to the window).
#[derive(Debug, Clone)]
struct Candidate {
    rule: usize,
    secret: Range<usize>,
}

/// Scans one in-memory window; reports matches whose whole-match start lies in `accept`.
fn scan_window(
    set: &RuleSet,
    path: &str,
    hay: &[u8],
    accept: Range<usize>,
    active: &mut Vec<bool>,
) -> io::Result<Vec<Candidate>> {
    active.clear();
    active.resize(set.rules.len(), false);
    for &i in &set.unconditional {
        active[i] = true;
    }
    if let Some(ac) = &set.keywords {
        let mut remaining = set
            .keyword_rules
            .iter()
            .flatten()
            .filter(|&&i| !active[i])
            .count();
        if remaining > 0 {
            for m in ac.find_overlapping_iter(hay) {
                for &ri in &set.keyword_rules[m.pattern().as_usize()] {
                    if !active[ri] {
                        active[ri] = true;
                        remaining = remaining.saturating_sub(1);
                    }
                }
                if remaining == 0 {
                    break;
                }
            }
        }
    }
    let mut found: Vec<Candidate> = Vec::new();
    for (ri, rule) in set.rules.iter().enumerate() {
        if !active[ri] {
            continue;
        }
        if let Some(p) = &rule.path
            && !p.is_match(path)
        {
            continue;
        }
        let regex = rule.regex.get(&rule.id).map_err(io::Error::other)?;
        for caps in regex.captures_iter(hay) {
            let Some(whole) = caps.get_match() else {
                continue;
            };
            if !accept.contains(&whole.start()) {
                continue;
            }
            let Some(span) = caps.get_group(rule.secret_group) else {
                continue;
            };
            let secret = span.start..span.end;
            if secret.is_empty() {
                continue;
            }
            let matched = whole.start()..whole.end();
            if judge(set, rule, path, hay, &secret, &matched) == Verdict::Reported {
                found.push(Candidate { rule: ri, secret });
            }
        }
    }
    // Generic (fallback) rules yield to a specific rule that matched an overlapping value.
    if found.iter().any(|c| set.rules[c.rule].fallback) {
        let specific: Vec<Range<usize>> = found
            .iter()
            .filter(|c| !set.rules[c.rule].fallback)
            .map(|c| c.secret.clone())
            .collect();
        found.retain(|c| {
            !set.rules[c.rule].fallback
                || !specific
                    .iter()
                    .any(|s| s.start < c.secret.end && c.secret.start < s.end)
        });
    }
    found.sort_by_key(|c| (c.secret.start, c.rule));
    Ok(found)
}

/// Scans a whole stream in bounded memory (`window + 2 × overlap` bytes).
pub fn scan_stream(
    set: &RuleSet,
    path: &str,
    reader: &mut dyn Read,
    window: usize,
) -> io::Result<Vec<Hit>> {
    let overlap = set.overlap;
    let window = window.max(overlap);
    let cap = window + 2 * overlap;
    let mut buf: Vec<u8> = Vec::with_capacity(cap);
    let mut hits = Vec::new();
    let mut active = Vec::new();
    // File offset of buf[0], line number at buf[0], and the file offset from which matches are accepted.
    let mut base: u64 = 0;
    let mut base_line: u64 = 1;
    let mut accept_from: u64 = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        // Fill the buffer.
        let mut eof = false;
        while buf.len() < cap {
            let want = (cap - buf.len()).min(chunk.len());
            let n = reader.read(&mut chunk[..want])?;
            if n == 0 {
                eof = true;
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let a = usize::try_from(accept_from - base).unwrap_or(usize::MAX);
        let z = if eof { buf.len() } else { buf.len() - overlap };
        if a < z {
            let cands = scan_window(set, path, &buf, a..z, &mut active)?;
            let mut counted_to = 0usize;
            let mut line = base_line;
            for c in cands {
                line += memchr::memchr_iter(b'\n', &buf[counted_to..c.secret.start]).count() as u64;
                counted_to = c.secret.start;
                let rule = &set.rules[c.rule];
                hits.push(Hit {
                    rule: c.rule,
                    line,
                    fingerprint: fingerprint(&rule.id, &buf[c.secret.clone()]),
                });
            }
        }
        if eof {
            break;
        }
        // Keep `overlap` bytes of context before the next accept range plus the `overlap` not yet accepted.
        let shift = z - overlap;
        base_line += memchr::memchr_iter(b'\n', &buf[..shift]).count() as u64;
        buf.drain(..shift);
        base += shift as u64;
        accept_from = base + overlap as u64;
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_known_strings() {
        assert_eq!(shannon_entropy(b""), 0.0);
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn base64url_decodes() {
        assert_eq!(b64url_decode(b"eyJhIjoxfQ").unwrap(), b"{\"a\":1}");
        assert!(b64url_decode(b"a").is_none());
        assert!(b64url_decode(b"a*bc").is_none());
    }

    #[test]
    fn fingerprint_shape_and_no_value() {
        let f = fingerprint("r", b"hunter2hunter2");
        assert!(f.starts_with("sha256:"));
        assert_eq!(f.len(), 7 + 16);
        assert!(!f.contains("hunter2"));
        assert_ne!(f, fingerprint("other", b"hunter2hunter2"));
    }
}
