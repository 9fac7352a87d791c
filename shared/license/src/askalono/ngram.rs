// Copyright 2018 Amazon.com, Inc. or its affiliates. All Rights Reserved.
// SPDX-License-Identifier: Apache-2.0

use std::cmp::{Ordering, min};

use super::gramhash::{hash_gram, hash_words};

/// portcullis: an n-gram set is its grams' hashes ([`super::gramhash`]) in ascending order with their
/// counts — owned for a scanned text, read in place from the embedded store bytes for a store text (so the
/// ~435,000 store grams are never parsed or hashed at run time; `build.rs` writes them sorted). The Dice
/// score is the same as upstream's map-based one: a merge (or, for very different sizes, a binary search)
/// over the two sorted lists instead of a lookup per gram.
#[derive(Clone, Debug)]
pub struct NgramSet {
    grams: Grams,
    pub(crate) n: u8,
    pub(crate) size: usize,
}

#[derive(Clone, Debug)]
enum Grams {
    /// Hashes ascending, counts alongside.
    Owned { hashes: Vec<u64>, counts: Vec<u32> },
    /// 8 little-endian bytes per hash (ascending), 4 per count.
    Packed {
        hashes: &'static [u8],
        counts: &'static [u8],
    },
}

/// A borrowed view of either representation, with random access.
#[derive(Clone, Copy)]
enum View<'a> {
    Owned(&'a [u64], &'a [u32]),
    Packed(&'a [u8], &'a [u8]),
}

impl View<'_> {
    #[inline]
    fn len(&self) -> usize {
        match self {
            View::Owned(h, _) => h.len(),
            View::Packed(h, _) => h.len() / 8,
        }
    }

    #[inline]
    fn hash(&self, i: usize) -> u64 {
        match self {
            View::Owned(h, _) => h[i],
            View::Packed(h, _) => u64::from_le_bytes(h[i * 8..i * 8 + 8].try_into().unwrap()),
        }
    }

    #[inline]
    fn count(&self, i: usize) -> u32 {
        match self {
            View::Owned(_, c) => c[i],
            View::Packed(_, c) => u32::from_le_bytes(c[i * 4..i * 4 + 4].try_into().unwrap()),
        }
    }

    /// The count of `hash`, 0 when absent (binary search).
    fn find(&self, hash: u64) -> u32 {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.hash(mid).cmp(&hash) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return self.count(mid),
            }
        }
        0
    }
}

impl NgramSet {
    #[inline]
    pub fn new(n: u8) -> Self {
        Self {
            grams: Grams::Owned {
                hashes: Vec::new(),
                counts: Vec::new(),
            },
            n,
            size: 0,
        }
    }

    /// The n-grams of `s`'s words (split on single spaces, as upstream).
    pub fn from_str(s: &str, n: u8) -> Self {
        let mut all: Vec<u64> = Vec::new();
        if n > 0 {
            let words: Vec<&str> = s.split(' ').collect();
            all = words
                .windows(n as usize)
                .map(|w| hash_words(w.iter().copied()))
                .collect();
        }
        let size = all.len();
        all.sort_unstable();
        let mut hashes: Vec<u64> = Vec::with_capacity(all.len());
        let mut counts: Vec<u32> = Vec::with_capacity(all.len());
        for h in all {
            if hashes.last() == Some(&h) {
                if let Some(c) = counts.last_mut() {
                    *c += 1;
                }
            } else {
                hashes.push(h);
                counts.push(1);
            }
        }
        Self {
            grams: Grams::Owned { hashes, counts },
            n,
            size,
        }
    }

    /// A store text's grams read in place: `hashes` 8 little-endian bytes per distinct gram in ascending
    /// order, `counts` 4 bytes each. `None` when the two lengths disagree.
    pub(crate) fn packed(
        hashes: &'static [u8],
        counts: &'static [u8],
        n: u8,
        size: usize,
    ) -> Option<Self> {
        (hashes.len().is_multiple_of(8)
            && counts.len().is_multiple_of(4)
            && hashes.len() / 8 == counts.len() / 4)
            .then_some(Self {
                grams: Grams::Packed { hashes, counts },
                n,
                size,
            })
    }

    fn view(&self) -> View<'_> {
        match &self.grams {
            Grams::Owned { hashes, counts } => View::Owned(hashes, counts),
            Grams::Packed { hashes, counts } => View::Packed(hashes, counts),
        }
    }

    /// The number of distinct grams.
    pub fn distinct(&self) -> usize {
        self.view().len()
    }

    /// The distinct grams' hashes, ascending.
    pub fn hashes(&self) -> impl Iterator<Item = u64> + '_ {
        let v = self.view();
        (0..v.len()).map(move |i| v.hash(i))
    }

    #[inline]
    pub fn get(&self, gram: &str) -> u32 {
        self.view().find(hash_gram(gram))
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.size
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    pub fn dice(&self, other: &Self) -> f32 {
        // no sense comparing sets of different sizes
        if other.n != self.n {
            return 0f32;
        }

        // there's obviously no match if either are empty strings;
        // if we don't check here we could end up with NaN below
        // when both are empty
        if self.is_empty() || other.is_empty() {
            return 0f32;
        }

        let (a, b) = (self.view(), other.view());
        let (x, y) = if a.len() < b.len() { (a, b) } else { (b, a) };
        let mut matches: u64 = 0;
        // A binary search per gram of the smaller set when that is cheaper than walking both.
        let log = (usize::BITS - y.len().leading_zeros()) as usize;
        if x.len().saturating_mul(log) < x.len() + y.len() {
            for i in 0..x.len() {
                matches += u64::from(min(x.count(i), y.find(x.hash(i))));
            }
        } else {
            let (mut i, mut j) = (0, 0);
            while i < x.len() && j < y.len() {
                match x.hash(i).cmp(&y.hash(j)) {
                    Ordering::Less => i += 1,
                    Ordering::Greater => j += 1,
                    Ordering::Equal => {
                        matches += u64::from(min(x.count(i), y.count(j)));
                        i += 1;
                        j += 1;
                    }
                }
            }
        }

        (2.0 * matches as f32) / ((self.len() + other.len()) as f32)
    }
}

impl PartialEq for NgramSet {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.view(), other.view());
        self.n == other.n
            && self.size == other.size
            && a.len() == b.len()
            && (0..a.len()).all(|i| a.hash(i) == b.hash(i) && a.count(i) == b.count(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // this is a pretty banal test, but it's a starting point :P
    #[test]
    fn can_construct() {
        let set = NgramSet::new(2);
        assert_eq!(set.size, 0);
        assert_eq!(set.distinct(), 0);
        assert_eq!(set.n, 2);
    }

    #[test]
    fn no_nan() {
        let a = NgramSet::from_str("", 2);
        let b = NgramSet::from_str("", 2);

        let score = a.dice(&b);

        assert!(!score.is_nan());
    }

    #[test]
    fn same_size() {
        let a = NgramSet::from_str("", 2);
        let b = NgramSet::from_str("", 3);

        let score = a.dice(&b);

        assert_eq!(0f32, score);
    }

    #[test]
    fn identical() {
        let a = NgramSet::from_str("one two three apple banana", 2);
        let b = NgramSet::from_str("one two three apple banana", 2);

        let score = a.dice(&b);

        assert_eq!(1f32, score);
    }

    // portcullis: counts, the merge and the binary-search paths agree with a map-based Dice
    #[test]
    fn dice_counts_repeated_grams_like_upstream() {
        let a = NgramSet::from_str("a b a b a b c", 2);
        assert_eq!((a.len(), a.distinct()), (6, 3));
        assert_eq!(
            (a.get("a b"), a.get("b a"), a.get("b c"), a.get("c d")),
            (3, 2, 1, 0)
        );
        // upstream: matches = Σ min(count) over the smaller map; "a b"×3 vs ×1, "b c"×1 vs ×1
        let b = NgramSet::from_str("a b c", 2);
        assert_eq!(a.dice(&b), (2.0 * 2.0) / 8.0);
        // a long text against a short one takes the binary-search path: "w1 w2", "w2 w3" and "x y" match
        let long: String = (0..5000).map(|i| format!("w{i} ")).collect::<String>() + "x y";
        let long = NgramSet::from_str(&long, 2);
        let short = NgramSet::from_str("w1 w2 w3 x y", 2);
        assert_eq!(long.dice(&short), (2.0 * 3.0) / ((long.len() + 4) as f32));
        assert_eq!(long.dice(&short), short.dice(&long));
    }

    #[test]
    fn packed_grams_read_like_owned_ones() {
        let owned = NgramSet::from_str("one two three one two", 2);
        let hashes: Vec<u8> = owned.hashes().flat_map(u64::to_le_bytes).collect();
        let counts: Vec<u8> = owned
            .hashes()
            .map(|h| owned.view().find(h))
            .flat_map(u32::to_le_bytes)
            .collect();
        let packed = NgramSet::packed(
            Box::leak(hashes.into_boxed_slice()),
            Box::leak(counts.into_boxed_slice()),
            2,
            owned.len(),
        )
        .expect("lengths agree");
        assert!(packed == owned);
        assert_eq!(packed.dice(&owned), 1.0);
        assert_eq!(packed.get("one two"), 2);
        assert!(NgramSet::packed(&[0; 8], &[0; 8], 2, 1).is_none());
    }
}
