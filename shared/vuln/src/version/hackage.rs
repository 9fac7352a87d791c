//! Hackage (Haskell PVP) ordering: dot-separated numeric components compared as integers; when one version
//! is a prefix of the other, the longer one is greater (`1.0.0 > 1.0`).

use std::cmp::Ordering;

use super::cmp_digits;

/// A parsed Hackage version: numeric components (digit strings) and any non-numeric tail (lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HackageVersion {
    /// Numeric components.
    pub components: Vec<String>,
    /// Anything after the numeric part, lowercased (compared last).
    pub tail: String,
}

impl HackageVersion {
    /// Parses leniently.
    pub fn parse(s: &str) -> HackageVersion {
        let s = s.trim();
        let mut components = Vec::new();
        let mut tail = String::new();
        for (i, part) in s.split('.').enumerate() {
            let digits: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
            if digits.len() == part.len() && !digits.is_empty() {
                components.push(digits);
            } else {
                if !digits.is_empty() {
                    components.push(digits.clone());
                }
                let rest: Vec<&str> = s.split('.').skip(i).collect();
                tail = rest.join(".")[digits.len()..].to_ascii_lowercase();
                break;
            }
        }
        HackageVersion { components, tail }
    }
}

impl Ord for HackageVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.components.iter().zip(other.components.iter()) {
            match cmp_digits(a, b) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        self.components
            .len()
            .cmp(&other.components.len())
            .then_with(|| self.tail.cmp(&other.tail))
    }
}

impl PartialOrd for HackageVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two Hackage versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    HackageVersion::parse(a).cmp(&HackageVersion::parse(b))
}
