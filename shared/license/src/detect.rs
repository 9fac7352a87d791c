//! Detection of licence *texts* (LICENSE, LICENCE, COPYING, NOTICE, `*license*.txt` …) with the askalono
//! engine (vendored from the `spdx` crate in [`crate::askalono`], its store packed at build time): the text
//! is normalized and compared with the SPDX licence texts of the embedded store by bigram similarity
//! (Sørensen–Dice); the best match is reported with its score as the confidence.
//!
//! SPDX licence *exceptions* (Classpath-exception-2.0, LLVM-exception …) come from the `spdx` crate's
//! exception texts: a text that is an exception is identified as that exception id, and a licence text that
//! also contains an exception text is reported as `<licence> WITH <exception>` (word-bigram containment of
//! the exception in the file).

use std::collections::HashMap;
use std::sync::OnceLock;

use rustc_hash::FxHashSet;

use crate::askalono::scan::Scanner;
use crate::askalono::{PackedException, PackedStore, Store, TextData, hash_words};

/// Default minimum score for a detected text to count as identified.
pub const DEFAULT_CONFIDENCE: f32 = 0.8;

/// Largest licence file read for detection.
pub const MAX_TEXT_BYTES: usize = 512 * 1024;

static STORE: OnceLock<Option<PackedStore>> = OnceLock::new();

/// The packed licence store and exception texts that `build.rs` builds from the `spdx` crate.
static STORE_BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/licence-store.bin"));

fn packed() -> Option<&'static PackedStore> {
    STORE
        .get_or_init(|| match PackedStore::from_static_bytes(STORE_BYTES) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "embedded SPDX licence store failed to load");
                None
            }
        })
        .as_ref()
}

/// The embedded licence store (loaded once per process; `None` if the embedded bytes are unusable, which
/// the tool reports as a scan error rather than a clean result).
pub fn store() -> Option<&'static Store> {
    packed().map(|p| &p.store)
}

/// The SPDX exception texts (empty when the store is unusable).
fn exceptions() -> &'static [PackedException] {
    packed().map_or(&[], |p| p.exceptions.as_slice())
}

/// Distinct word-bigram hashes of askalono's normalized lines (the normalization and hash `build.rs` used
/// for the exception texts).
fn bigrams(data: &TextData) -> FxHashSet<u64> {
    let words: Vec<&str> = data
        .lines()
        .iter()
        .flat_map(|l| l.split_whitespace())
        .collect();
    words
        .windows(2)
        .map(|w| hash_words(w.iter().copied()))
        .collect()
}

/// How many of `small`'s bigrams (ascending) are also in `big` (ascending).
fn shared_bigrams(small: &PackedException, big: &PackedException) -> usize {
    let mut big = big.bigram_hashes().peekable();
    small
        .bigram_hashes()
        .filter(|h| {
            while big.next_if(|b| b < h).is_some() {}
            big.peek() == Some(h)
        })
        .count()
}

/// Smallest share of an exception's word bigrams that must appear in a file for the exception to count as
/// contained in it.
pub const EXCEPTION_CONTAINMENT: f32 = 0.9;

/// Fewest word bigrams an exception text needs to be looked for inside a larger text (shorter ones are
/// only identified as whole texts: a dozen words can occur by accident).
const MIN_EXCEPTION_BIGRAMS: usize = 20;

/// The best whole-text exception match: `(exception id, score)`.
pub fn best_exception(text: &str) -> Option<(&'static str, f32)> {
    let data = TextData::new(text);
    best_exception_data(&data)
}

fn best_exception_data(data: &TextData) -> Option<(&'static str, f32)> {
    exceptions()
        .iter()
        .map(|e| (e.id, e.data.match_score(data)))
        .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(a.0)))
}

/// Exceptions whose text is contained in `text` (≥ [`EXCEPTION_CONTAINMENT`] of their word bigrams), best
/// first; when one exception's text contains another's (a `-short` variant), only the longer one is kept.
pub fn contained_exceptions(text: &str) -> Vec<(&'static str, f32)> {
    contained_exceptions_data(&TextData::new(text))
}

fn contained_exceptions_data(data: &TextData) -> Vec<(&'static str, f32)> {
    let have = bigrams(data);
    let mut found: Vec<(&PackedException, f32)> = exceptions()
        .iter()
        .filter(|e| e.bigram_count() >= MIN_EXCEPTION_BIGRAMS)
        .filter_map(|e| {
            let hit = e.bigram_hashes().filter(|b| have.contains(b)).count();
            let share = hit as f32 / e.bigram_count() as f32;
            (share >= EXCEPTION_CONTAINMENT).then_some((e, share))
        })
        .collect();
    // Longest (most specific) first, then best share, then id.
    found.sort_by(|a, b| {
        b.0.bigram_count()
            .cmp(&a.0.bigram_count())
            .then_with(|| b.1.total_cmp(&a.1))
            .then_with(|| a.0.id.cmp(b.0.id))
    });
    let mut kept: Vec<(&PackedException, f32)> = Vec::new();
    for f in found {
        let covered = kept.iter().any(|(big, _)| {
            shared_bigrams(f.0, big) as f32 / f.0.bigram_count().max(1) as f32
                >= EXCEPTION_CONTAINMENT
        });
        if !covered {
            kept.push(f);
        }
    }
    kept.into_iter().map(|(e, s)| (e.id, s)).collect()
}

/// True when `id` is an SPDX exception id.
pub fn is_exception(id: &str) -> bool {
    spdx::exception_id(id).is_some()
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
    ranked_data(&TextData::new(text))
}

fn ranked_data(data: &TextData) -> Vec<(String, f32)> {
    let Some(store) = store() else {
        return Vec::new();
    };
    let mut scores: Vec<(String, f32)> = store
        .iter()
        .map(|(name, entry)| {
            let best = entry
                .texts()
                .map(|t| t.match_score(data))
                .fold(f32::NEG_INFINITY, f32::max);
            (name.clone(), best)
        })
        .collect();
    sort_ranked(&mut scores);
    scores
}

/// Best first; ties broken by [`tie_key`].
fn sort_ranked(scores: &mut [(String, f32)]) {
    scores.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| tie_key(&a.0).cmp(&tie_key(&b.0)))
    });
}

/// Like [`ranked_data`], but only the licences scoring within `margin` of the best (at least those; others
/// may be listed too), computed with a bound: texts are scored in decreasing order of the best score their
/// n-gram count allows ([`TextData::match_score_bound`]), and scoring stops once that bound falls below the
/// best score so far minus `margin` — no remaining text can come within `margin` of the best. A long licence
/// text is then compared with the few texts of similar length instead of all ~1,900 (AGPL-3.0: 19 → ~1 ms).
fn ranked_near_best(data: &TextData, margin: f32) -> Vec<(String, f32)> {
    let Some(store) = store() else {
        return Vec::new();
    };
    let mut texts: Vec<(f32, &String, &TextData)> = store
        .iter()
        .flat_map(|(name, entry)| {
            entry
                .texts()
                .map(move |t| (t.match_score_bound(data), name, t))
        })
        .collect();
    texts.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut best: HashMap<&String, f32> = HashMap::new();
    let mut top = f32::NEG_INFINITY;
    for (bound, name, t) in texts {
        if bound < top - margin {
            break;
        }
        let score = t.match_score(data);
        top = top.max(score);
        let e = best.entry(name).or_insert(score);
        *e = e.max(score);
    }
    let mut scores: Vec<(String, f32)> = best
        .into_iter()
        .filter(|(_, s)| *s >= top - margin)
        .map(|(n, s)| (n.clone(), s))
        .collect();
    sort_ranked(&mut scores);
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
    best_match_data(&TextData::new(text))
}

fn best_match_data(data: &TextData) -> Option<(String, f32)> {
    // Only the licences near the best matter below: the best, and a preferred one within the margin.
    let ranked = ranked_near_best(data, PREFERENCE_MARGIN);
    let (best, score) = ranked.first()?.clone();
    // An exception text alone (no licence around it) is that exception.
    // The store also holds legacy combined ids (`GPL-2.0-with-bison-exception`, `wxWindows`) whose text is
    // the exception's: on a tie with a deprecated id, the exception id is the answer.
    let deprecated = spdx::license_id(&best).is_none_or(|l| l.is_deprecated());
    // A licence text scoring ≥ 0.9 is that licence unless it is such a legacy id: exceptions are only
    // scored below that (keeps the common case as fast as before).
    if (score < 0.9 || deprecated)
        && let Some((exc, s)) = best_exception_data(data)
        && (s > score || (deprecated && s >= score))
    {
        return Some((exc.to_string(), s));
    }
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
///
/// A licence found together with an exception text in the same file is reported as `<licence> WITH
/// <exception>` (the first licence that is not itself an exception); an exception text alone is reported
/// as the exception id.
pub fn detect(text: &str, threshold: f32) -> Vec<(String, f32)> {
    let data = TextData::new(text);
    let mut found = detect_licences(&data, threshold);
    if found.iter().all(|(id, _)| is_exception(id)) {
        return found;
    }
    if let Some((exc, _)) = contained_exceptions_data(&data).first()
        && let Some(lic) = found.iter_mut().find(|(id, _)| !is_exception(id))
    {
        lic.0 = format!("{} WITH {exc}", lic.0);
        // The exception is now part of the expression, not a licence of its own.
        found.retain(|(id, _)| id.as_str() != *exc);
    }
    found
}

/// Same-text ids of a detected expression: the store aliases of its licence, with the same `WITH` part.
pub fn expression_aliases(expression: &str) -> Vec<String> {
    match expression.split_once(" WITH ") {
        Some((lic, exc)) => aliases(lic)
            .into_iter()
            .map(|a| format!("{a} WITH {exc}"))
            .collect(),
        None => aliases(expression),
    }
}

fn detect_licences(data: &TextData, threshold: f32) -> Vec<(String, f32)> {
    let Some((id, score)) = best_match_data(data) else {
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
    let result = scanner.scan(data);
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
    fn vendored_store_is_the_spdx_crates_store() {
        // GIVEN the store read from build.rs's bytes and the spdx crate's own (Store::load_inline)
        let ours = store().expect("embedded store");
        let theirs = spdx::detection::Store::load_inline().unwrap();
        // THEN the same licences with the same aliases
        assert_eq!(ours.len(), theirs.len());
        for (name, entry) in theirs.iter() {
            assert_eq!(ours.aliases(name), Some(&entry.aliases), "{name}");
        }
        // AND the same best score for SPDX texts (a sample: every 15th), with the same licence unless the
        // best score is shared (then hash order picks one; `ranked` breaks such ties deterministically)
        let mut checked = 0;
        for (id, text) in spdx::text::LICENSE_TEXTS.iter().step_by(15) {
            let a = ours.analyze(&TextData::new(text));
            let b = theirs.analyze(&spdx::detection::TextData::new(text));
            assert_eq!(a.score, b.score, "{id}: {} vs {}", a.name, b.name);
            if a.name != b.name {
                let tie = ranked(text).iter().filter(|(_, s)| *s == a.score).count();
                assert!(tie > 1, "{id}: {} vs {} at {}", a.name, b.name, a.score);
            }
            checked += 1;
        }
        assert!(checked > 40, "{checked}");
    }

    #[test]
    fn packed_exceptions_are_the_exception_texts_normalized_now() {
        // GIVEN the exception texts build.rs normalized and hashed at build time
        let packed = exceptions();
        let want: Vec<_> = spdx::text::EXCEPTION_TEXTS
            .iter()
            .filter(|(id, _)| is_exception(id))
            .collect();
        assert_eq!(packed.len(), want.len());
        assert!(packed.len() > 40, "{}", packed.len());
        for (e, (id, text)) in packed.iter().zip(want) {
            // THEN each is the same exception, with the n-grams and word bigrams computed at run time
            assert_eq!(e.id, *id);
            let now = TextData::new(text);
            assert!(e.data.ngram_matches(&now), "{id}: n-grams differ");
            let mut have: Vec<u64> = bigrams(&now).into_iter().collect();
            have.sort_unstable();
            assert_eq!(
                e.bigram_hashes().collect::<Vec<_>>(),
                have,
                "{id}: bigrams differ"
            );
        }
    }

    #[test]
    fn packed_store_grams_are_sorted_and_distinct() {
        let store = store().expect("embedded store");
        let mut texts = 0;
        for (name, entry) in store.iter() {
            for t in entry.texts() {
                let h: Vec<u64> = t.match_data.hashes().collect();
                assert!(h.windows(2).all(|w| w[0] < w[1]), "{name}");
                texts += 1;
            }
        }
        assert!(texts > 700, "{texts}");
    }

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
