//! portcullis: reads the packed licence store that `build.rs` writes (its layout is documented there) in
//! place from the `'static` bytes: the header (licence names, aliases, one record per text, the exceptions)
//! is walked once — about 1,500 small records — and every text's n-grams stay where they are, as sorted
//! hashes and counts that [`NgramSet`] reads directly. Loading no longer depends on the ~435,000 grams; a
//! scan touches only the texts it scores. Malformed bytes give a [`StoreLoadError`], never a panic.

use std::collections::HashMap;

use super::ngram::NgramSet;
use super::{LicenseEntry, Store, TextData};

/// Why the embedded store could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StoreLoadError {
    /// The bytes end inside a record.
    #[error("licence store truncated at byte {0}")]
    Truncated(usize),
    /// A string is not UTF-8.
    #[error("licence store string at byte {0} is not UTF-8")]
    Utf8(usize),
    /// Bytes left after the last section.
    #[error("licence store has {0} trailing bytes")]
    Trailing(usize),
    /// Not the packed layout `build.rs` writes.
    #[error("licence store does not start with the packed-store magic")]
    Magic,
    /// A text's grams lie outside the gram arrays, or a licence has no original text first.
    #[error("licence store record at byte {0} is inconsistent")]
    Record(usize),
}

/// One SPDX exception text: its id, its n-grams (for whole-text scoring) and its distinct word-bigram
/// hashes, ascending (8 little-endian bytes each; for containment in a larger text).
pub struct PackedException {
    pub id: &'static str,
    pub data: TextData,
    pub bigrams: &'static [u8],
}

impl PackedException {
    /// The number of distinct word bigrams.
    pub fn bigram_count(&self) -> usize {
        self.bigrams.len() / 8
    }

    /// The distinct word-bigram hashes, ascending.
    pub fn bigram_hashes(&self) -> impl Iterator<Item = u64> + '_ {
        self.bigrams
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
    }
}

/// The licence store and the exception texts, read from one packed file.
pub struct PackedStore {
    pub store: Store,
    pub exceptions: Vec<PackedException>,
}

struct Reader {
    bytes: &'static [u8],
    pos: usize,
}

/// A text record before its grams are located: kind, n, size, first gram, distinct grams.
struct TextRecord {
    at: usize,
    kind: u8,
    n: u8,
    size: usize,
    first: usize,
    distinct: usize,
}

impl Reader {
    fn take(&mut self, n: usize) -> Result<&'static [u8], StoreLoadError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or(StoreLoadError::Truncated(self.pos))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, StoreLoadError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<usize, StoreLoadError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]) as usize)
    }

    fn u32(&mut self) -> Result<usize, StoreLoadError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn str(&mut self) -> Result<&'static str, StoreLoadError> {
        let n = self.u16()?;
        let at = self.pos;
        std::str::from_utf8(self.take(n)?).map_err(|_| StoreLoadError::Utf8(at))
    }

    fn text(&mut self) -> Result<TextRecord, StoreLoadError> {
        Ok(TextRecord {
            at: self.pos,
            kind: self.u8()?,
            n: self.u8()?,
            size: self.u32()?,
            first: self.u32()?,
            distinct: self.u32()?,
        })
    }
}

/// The gram arrays, once their position is known.
struct Grams {
    total: usize,
    hashes: &'static [u8],
    counts: &'static [u8],
}

impl Grams {
    fn text(&self, r: &TextRecord) -> Result<TextData, StoreLoadError> {
        let end = r
            .first
            .checked_add(r.distinct)
            .filter(|e| *e <= self.total)
            .ok_or(StoreLoadError::Record(r.at))?;
        let match_data = NgramSet::packed(
            &self.hashes[r.first * 8..end * 8],
            &self.counts[r.first * 4..end * 4],
            r.n,
            r.size,
        )
        .ok_or(StoreLoadError::Record(r.at))?;
        // askalono keeps store texts without their text (`TextData::without_text`): only the n-grams score.
        Ok(TextData {
            match_data,
            lines_view: (0, 0),
            lines_normalized: Vec::new(),
            text_processed: String::new(),
        })
    }
}

impl PackedStore {
    /// Reads the packed store from `bytes` (the file `build.rs` writes).
    pub fn from_static_bytes(bytes: &'static [u8]) -> Result<PackedStore, StoreLoadError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(8).map_err(|_| StoreLoadError::Magic)? != b"PCLSTOR1" {
            return Err(StoreLoadError::Magic);
        }
        let gram_total = r.u32()?;
        let bigram_total = r.u32()?;
        let mut licences = Vec::with_capacity(r.u16()?);
        for _ in 0..licences.capacity() {
            let at = r.pos;
            let name = r.str()?;
            let aliases = (0..r.u16()?)
                .map(|_| r.str().map(str::to_string))
                .collect::<Result<Vec<_>, _>>()?;
            let texts = (0..r.u16()?)
                .map(|_| r.text())
                .collect::<Result<Vec<_>, _>>()?;
            licences.push((at, name, aliases, texts));
        }
        let mut exceptions = Vec::with_capacity(r.u16()?);
        for _ in 0..exceptions.capacity() {
            let id = r.str()?;
            let text = r.text()?;
            let (first, count) = (r.u32()?, r.u32()?);
            exceptions.push((id, text, first, count));
        }
        let grams = Grams {
            total: gram_total,
            hashes: r.take(
                gram_total
                    .checked_mul(8)
                    .ok_or(StoreLoadError::Truncated(r.pos))?,
            )?,
            counts: r.take(
                gram_total
                    .checked_mul(4)
                    .ok_or(StoreLoadError::Truncated(r.pos))?,
            )?,
        };
        let bigrams = r.take(
            bigram_total
                .checked_mul(8)
                .ok_or(StoreLoadError::Truncated(r.pos))?,
        )?;
        if r.pos != bytes.len() {
            return Err(StoreLoadError::Trailing(bytes.len() - r.pos));
        }

        let mut store = HashMap::with_capacity(licences.len());
        for (at, name, aliases, texts) in licences {
            let mut texts = texts.iter();
            let original = match texts.next() {
                Some(t) if t.kind == 0 => grams.text(t)?,
                _ => return Err(StoreLoadError::Record(at)),
            };
            let mut entry = LicenseEntry::new(original);
            entry.aliases = aliases;
            for t in texts {
                match t.kind {
                    1 => entry.alternates.push(grams.text(t)?),
                    2 => entry.headers.push(grams.text(t)?),
                    _ => return Err(StoreLoadError::Record(t.at)),
                }
            }
            store.insert(name.to_string(), entry);
        }
        let exceptions = exceptions
            .into_iter()
            .map(|(id, text, first, count)| {
                let end = first
                    .checked_add(count)
                    .filter(|e| *e <= bigram_total)
                    .ok_or(StoreLoadError::Record(text.at))?;
                Ok(PackedException {
                    id,
                    data: grams.text(&text)?,
                    bigrams: &bigrams[first * 8..end * 8],
                })
            })
            .collect::<Result<Vec<_>, StoreLoadError>>()?;
        Ok(PackedStore {
            store: Store { licenses: store },
            exceptions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-licence store: `name`, no aliases, one original text with the given grams, no exceptions.
    fn one_licence(name: &[u8], grams: &[(u64, u32)], first: u32) -> Vec<u8> {
        let mut b = b"PCLSTOR1".to_vec();
        b.extend((grams.len() as u32).to_le_bytes());
        b.extend(0u32.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend((name.len() as u16).to_le_bytes());
        b.extend(name);
        b.extend(0u16.to_le_bytes()); // aliases
        b.extend(1u16.to_le_bytes()); // texts
        b.extend([0, 2]); // original, bigrams
        b.extend((grams.iter().map(|g| g.1).sum::<u32>()).to_le_bytes());
        b.extend(first.to_le_bytes());
        b.extend((grams.len() as u32).to_le_bytes());
        b.extend(0u16.to_le_bytes()); // exceptions
        b.extend(grams.iter().flat_map(|g| g.0.to_le_bytes()));
        b.extend(grams.iter().flat_map(|g| g.1.to_le_bytes()));
        b
    }

    fn load(b: Vec<u8>) -> Result<PackedStore, StoreLoadError> {
        PackedStore::from_static_bytes(Box::leak(b.into_boxed_slice()))
    }

    #[test]
    fn a_well_formed_store_reads_back() {
        let s = load(one_licence(b"MIT", &[(1, 2), (5, 1)], 0)).expect("loads");
        assert_eq!(s.store.len(), 1);
        let mit = s.store.get_original("MIT").expect("MIT");
        assert_eq!((mit.match_data.len(), mit.match_data.distinct()), (3, 2));
        assert!(s.exceptions.is_empty());
    }

    #[test]
    fn malformed_bytes_are_errors_not_panics() {
        assert!(matches!(load(Vec::new()), Err(StoreLoadError::Magic)));
        assert!(matches!(
            load(b"PCLSTOR0xxxxxxxx".to_vec()),
            Err(StoreLoadError::Magic)
        ));
        let good = one_licence(b"MIT", &[(1, 2), (5, 1)], 0);
        // every truncation is an error
        for cut in 0..good.len() {
            assert!(load(good[..cut].to_vec()).is_err(), "cut at {cut}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(load(trailing), Err(StoreLoadError::Trailing(1))));
        // a text whose grams lie past the arrays
        assert!(matches!(
            load(one_licence(b"MIT", &[(1, 2)], 1)),
            Err(StoreLoadError::Record(_))
        ));
        // a name that is not UTF-8
        assert!(matches!(
            load(one_licence(&[0xff], &[(1, 1)], 0)),
            Err(StoreLoadError::Utf8(_))
        ));
        // a gram total so large its byte length overflows
        let mut huge = good.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(load(huge).is_err());
    }
}
