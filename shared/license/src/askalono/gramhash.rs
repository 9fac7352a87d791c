//! portcullis: the n-gram hash shared by `build.rs` (which writes the packed licence store) and the
//! matcher (which hashes a scanned text's n-grams the same way). FNV-1a, 64 bits, over the gram's words
//! joined by single spaces — fixed, so build host and target always agree. `build.rs` checks that no two
//! distinct grams of the store or of the exception texts share a hash, so the Dice scores between store
//! texts are exact; a scanned text's gram that is in no store text matches one only on a 64-bit collision.

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// The hash of `words` joined by single spaces (the same as hashing the joined string).
pub fn hash_words<'a>(words: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut h = OFFSET;
    for (i, w) in words.into_iter().enumerate() {
        if i > 0 {
            h = (h ^ u64::from(b' ')).wrapping_mul(PRIME);
        }
        for b in w.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(PRIME);
        }
    }
    h
}

/// The hash of one gram given as its joined string.
pub fn hash_gram(gram: &str) -> u64 {
    hash_words([gram])
}
