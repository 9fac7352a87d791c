//! Detection of licence *texts* (LICENSE, LICENCE, COPYING, NOTICE, `*license*.txt` …) with the askalono
//! engine embedded in the `spdx` crate (`detection-inline-cache`): the text is normalized and compared with
//! every SPDX licence text in the embedded store by bigram similarity (Sørensen–Dice); the best match is
//! reported with its score as the confidence.

use std::sync::OnceLock;

use spdx::detection::scan::Scanner;
use spdx::detection::{Store, TextData};

/// Default minimum score for a detected text to count as identified.
pub const DEFAULT_CONFIDENCE: f32 = 0.8;

/// Largest licence file read for detection.
pub const MAX_TEXT_BYTES: usize = 512 * 1024;

static STORE: OnceLock<Option<Store>> = OnceLock::new();

/// The embedded licence store (loaded once per process; `None` if the embedded cache is unusable).
pub fn store() -> Option<&'static Store> {
    STORE
        .get_or_init(|| match Store::load_inline() {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "embedded SPDX licence store failed to load");
                None
            }
        })
        .as_ref()
}

/// True when the file name looks like a licence text.
pub fn is_license_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let (stem, ext) = match lower.split_once('.') {
        Some((s, e)) => (s, e.rsplit('.').next().unwrap_or(e)),
        None => (lower.as_str(), ""),
    };
    let base_names = ["license", "licence", "copying", "notice", "unlicense"];
    let licence_stem = base_names.iter().any(|b| {
        stem == *b
            || stem
                .strip_prefix(b)
                .is_some_and(|rest| rest.starts_with(['-', '_']))
    });
    const CODE: &[&str] = &[
        "js", "mjs", "cjs", "ts", "json", "map", "rs", "py", "pyc", "go", "java", "class", "c",
        "h", "cpp", "rb", "php", "cs", "sh", "yml", "yaml", "xml", "css", "scss", "tsx", "jsx",
        "vue", "d", "flow",
    ];
    if licence_stem {
        return !CODE.contains(&ext);
    }
    matches!(ext, "txt" | "md") && (stem.contains("license") || stem.contains("licence"))
}

/// Every store licence scored against `text` (original text, alternates and standard headers), best first.
/// Ties are broken deterministically: non-deprecated ids first, then `-only` before `-or-later`, then by id.
pub fn ranked(text: &str) -> Vec<(String, f32)> {
    let Some(store) = store() else {
        return Vec::new();
    };
    let data = TextData::new(text);
    let mut scores: Vec<(String, f32)> = store
        .iter()
        .map(|(name, entry)| {
            let best = entry
                .alternates
                .iter()
                .chain(entry.headers.iter())
                .map(|a| a.match_score(&data))
                .fold(entry.original.match_score(&data), f32::max);
            (name.clone(), best)
        })
        .collect();
    scores.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| tie_key(&a.0).cmp(&tie_key(&b.0)))
    });
    scores
}

fn tie_key(id: &str) -> (bool, bool, usize, String) {
    let deprecated = spdx::license_id(id).is_none_or(|l| l.is_deprecated());
    (
        deprecated,
        id.ends_with("-or-later") || id.ends_with('+'),
        id.len(),
        id.to_string(),
    )
}

/// The other ids a store entry stands for (ids whose licence text is the same), e.g. `GPL-2.0-only` and
/// `GPL-2.0` for the `GPL-2.0-or-later` entry.
pub fn aliases(id: &str) -> Vec<String> {
    store()
        .and_then(|s| s.aliases(id))
        .cloned()
        .unwrap_or_default()
}

/// True when `a` and `b` name the same licence text (equal ids, or one is a store alias of the other).
pub fn same_text(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || aliases(a).iter().any(|x| x.eq_ignore_ascii_case(b))
        || aliases(b).iter().any(|x| x.eq_ignore_ascii_case(a))
}

/// Licences that are far more common than their near-identical variants: when one of these scores within
/// [`PREFERENCE_MARGIN`] of the best match, it is reported instead (a real-world BSD-3-Clause file with a
/// reworded clause otherwise lands on a rare variant such as BSD-3-Clause-HP).
const PREFERRED: &[&str] = &[
    // The store keeps one entry per GNU text under its `-or-later` name (the `-only` ids are its aliases).
    "GPL-2.0-or-later",
    "GPL-3.0-or-later",
    "LGPL-2.1-or-later",
    "LGPL-3.0-or-later",
    "AGPL-3.0-or-later",
    "MIT",
    "Apache-2.0",
    "BSD-3-Clause",
    "BSD-2-Clause",
    "ISC",
    "0BSD",
    "MPL-2.0",
    "Unlicense",
    "CC0-1.0",
    "Zlib",
    "GPL-2.0-only",
    "GPL-3.0-only",
    "LGPL-2.1-only",
    "LGPL-3.0-only",
    "AGPL-3.0-only",
    "BSL-1.0",
    "EPL-2.0",
];

/// Score margin within which a [`PREFERRED`] licence wins over a rarer best match.
pub const PREFERENCE_MARGIN: f32 = 0.03;

/// The best match for a text: `(SPDX id, score 0–1)`.
pub fn best_match(text: &str) -> Option<(String, f32)> {
    let ranked = ranked(text);
    let (best, score) = ranked.first()?.clone();
    if score < 1.0
        && !PREFERRED.contains(&best.as_str())
        && let Some((id, s)) = ranked
            .iter()
            .take(8)
            .find(|(id, s)| PREFERRED.contains(&id.as_str()) && score - *s <= PREFERENCE_MARGIN)
    {
        return Some((id.clone(), *s));
    }
    Some((best, score))
}

/// The licences of a text: the best whole-text match when it reaches `threshold`; otherwise the licences
/// found *inside* the text (askalono's optimizing scan over line ranges — a MIT text after a long preamble,
/// several licences in one file). Empty when nothing reaches the threshold.
pub fn detect(text: &str, threshold: f32) -> Vec<(String, f32)> {
    let Some((id, score)) = best_match(text) else {
        return Vec::new();
    };
    if score >= threshold {
        return vec![(id, score)];
    }
    let Some(store) = store() else {
        return Vec::new();
    };
    let scanner = Scanner::new(store)
        .confidence_threshold(threshold)
        .optimize(true)
        .shallow_limit(0.99);
    let result = scanner.scan(&TextData::new(text));
    let mut found: Vec<(String, f32)> = Vec::new();
    for c in result.containing {
        if c.score >= threshold && !found.iter().any(|(n, _)| n == c.license.name) {
            found.push((c.license.name.to_string(), c.score));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licence_file_names() {
        for n in [
            "LICENSE",
            "LICENSE.md",
            "license.txt",
            "LICENCE",
            "COPYING",
            "NOTICE",
            "LICENSE-MIT",
            "LICENSE.APACHE",
            "third-party-licenses.txt",
        ] {
            assert!(is_license_file(n), "{n}");
        }
        for n in ["license.js", "README.md", "index.txt", "licensed.rs"] {
            assert!(!is_license_file(n), "{n}");
        }
    }

    #[test]
    fn detects_mit() {
        let text = "MIT License\n\nCopyright (c) 2024 Someone\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software and associated documentation files (the \"Software\"), to deal\nin the Software without restriction, including without limitation the rights\nto use, copy, modify, merge, publish, distribute, sublicense, and/or sell\ncopies of the Software, and to permit persons to whom the Software is\nfurnished to do so, subject to the following conditions:\n\nThe above copyright notice and this permission notice shall be included in all\ncopies or substantial portions of the Software.\n\nTHE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR\nIMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,\nFITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE\nAUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER\nLIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,\nOUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE\nSOFTWARE.\n";
        let (id, score) = best_match(text).unwrap();
        assert_eq!(id, "MIT");
        assert!(score > 0.9, "{score}");
        // A long preamble (lodash-style) pulls the whole-text score under the threshold; the optimizing scan
        // still finds the MIT text inside.
        let preamble = "This software consists of voluntary contributions made by many individuals. For exact\n\
            contribution history, see the revision history available at the project repository.\n\n\
            The following license applies to all parts of this software except as documented below:\n\n====\n\n"
            .repeat(3);
        let long = format!(
            "{preamble}{text}\n====\n\nCopyright and related rights for sample code are waived via CC0.\n{preamble}"
        );
        assert!(best_match(&long).unwrap().1 < 0.8);
        assert_eq!(
            detect(&long, 0.8)
                .into_iter()
                .map(|d| d.0)
                .collect::<Vec<_>>(),
            vec!["MIT".to_string()]
        );
    }
}
