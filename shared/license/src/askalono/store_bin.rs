//! portcullis: reads the store from the decompressed askalono cache body (the `spdx` crate's
//! `cache.bin.zstd` after its 13-byte version header, decompressed by `build.rs`), borrowing every n-gram
//! from the `'static` bytes. The layout is upstream's `Bin` encoding (little-endian):
//!
//! ```text
//! store   = u16 count, count × (string name, entry)
//! entry   = text original, u16 n × string alias, u16 n × text header, u16 n × text alternate
//! text    = u16 n × (string gram, u32 count), u8 ngram size, u64 total, u64 view start, u64 view end,
//!           u16 n × string normalized line, string processed text
//! string  = u16 len, len bytes of UTF-8
//! ```
//!
//! Entries are found with a walk over the length prefixes (no allocation), then parsed on up to `threads`
//! threads. Malformed bytes give a [`StoreLoadError`], never a panic.

use std::borrow::Cow;
use std::collections::HashMap;

use super::ngram::{GramMap, NgramSet};
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
    /// Bytes left after the last entry.
    #[error("licence store has {0} trailing bytes")]
    Trailing(usize),
    /// A parser thread panicked.
    #[error("licence store parser thread failed")]
    Thread,
}

struct Reader {
    bytes: &'static [u8],
    pos: usize,
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

    fn u32(&mut self) -> Result<u32, StoreLoadError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<usize, StoreLoadError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a) as usize)
    }

    fn str(&mut self) -> Result<&'static str, StoreLoadError> {
        let n = self.u16()?;
        let at = self.pos;
        std::str::from_utf8(self.take(n)?).map_err(|_| StoreLoadError::Utf8(at))
    }

    fn skip_str(&mut self) -> Result<(), StoreLoadError> {
        let n = self.u16()?;
        self.take(n).map(|_| ())
    }

    fn skip_text(&mut self) -> Result<(), StoreLoadError> {
        for _ in 0..self.u16()? {
            self.skip_str()?;
            self.take(4)?;
        }
        self.take(1 + 8 + 8 + 8)?;
        for _ in 0..self.u16()? {
            self.skip_str()?;
        }
        self.skip_str()
    }

    fn skip_entry(&mut self) -> Result<(), StoreLoadError> {
        self.skip_str()?; // name
        self.skip_text()?;
        for _ in 0..self.u16()? {
            self.skip_str()?;
        }
        for _ in 0..2 {
            for _ in 0..self.u16()? {
                self.skip_text()?;
            }
        }
        Ok(())
    }

    fn text(&mut self) -> Result<TextData, StoreLoadError> {
        let grams = self.u16()?;
        let mut map = GramMap::with_capacity_and_hasher(grams, Default::default());
        for _ in 0..grams {
            let gram = self.str()?;
            let count = self.u32()?;
            map.insert(Cow::Borrowed(gram), count);
        }
        let n = self.u8()?;
        let size = self.u64()?;
        let lines_view = (self.u64()?, self.u64()?);
        let lines = self.u16()?;
        let mut lines_normalized = Vec::with_capacity(lines);
        for _ in 0..lines {
            lines_normalized.push(self.str()?.to_string());
        }
        let text_processed = self.str()?.to_string();
        Ok(TextData {
            match_data: NgramSet { map, n, size },
            lines_view,
            lines_normalized,
            text_processed,
        })
    }

    fn entry(&mut self) -> Result<(String, LicenseEntry), StoreLoadError> {
        let name = self.str()?.to_string();
        let original = self.text()?;
        let mut aliases = Vec::new();
        for _ in 0..self.u16()? {
            aliases.push(self.str()?.to_string());
        }
        let mut headers = Vec::new();
        for _ in 0..self.u16()? {
            headers.push(self.text()?);
        }
        let mut alternates = Vec::new();
        for _ in 0..self.u16()? {
            alternates.push(self.text()?);
        }
        Ok((
            name,
            LicenseEntry {
                original,
                aliases,
                headers,
                alternates,
            },
        ))
    }
}

impl Store {
    /// Reads a store from decompressed cache bytes, parsing its entries on up to `threads` threads.
    pub fn from_static_bytes(
        bytes: &'static [u8],
        threads: usize,
    ) -> Result<Store, StoreLoadError> {
        let mut r = Reader { bytes, pos: 0 };
        let count = r.u16()?;
        let mut starts = Vec::with_capacity(count + 1);
        for _ in 0..count {
            starts.push(r.pos);
            r.skip_entry()?;
        }
        starts.push(r.pos);
        if r.pos != bytes.len() {
            return Err(StoreLoadError::Trailing(bytes.len() - r.pos));
        }
        let per = count.div_ceil(threads.max(1)).max(1);
        let parse = |first: usize| -> Result<Vec<(String, LicenseEntry)>, StoreLoadError> {
            let last = (first + per).min(count);
            let mut r = Reader {
                bytes,
                pos: starts[first],
            };
            (first..last).map(|_| r.entry()).collect()
        };
        let parts: Vec<Result<Vec<_>, StoreLoadError>> = if threads <= 1 || count <= per {
            vec![parse(0)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..count)
                    .step_by(per)
                    .map(|first| {
                        let parse = &parse;
                        scope.spawn(move || parse(first))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or(Err(StoreLoadError::Thread)))
                    .collect()
            })
        };
        let mut licenses = HashMap::with_capacity(count);
        for part in parts {
            licenses.extend(part?);
        }
        Ok(Store { licenses })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_bytes_are_errors_not_panics() {
        // count 1, then a name that runs past the end
        assert!(matches!(
            Store::from_static_bytes(&[1, 0, 5, 0, b'a'], 2),
            Err(StoreLoadError::Truncated(_))
        ));
        // count 0 then garbage
        assert!(matches!(
            Store::from_static_bytes(&[0, 0, 9], 1),
            Err(StoreLoadError::Trailing(1))
        ));
        // a name that is not UTF-8 (entry otherwise complete: empty text, no aliases/headers/alternates)
        let mut b = vec![1, 0, 1, 0, 0xff];
        b.extend([0, 0, 2]); // no grams, n = 2
        b.extend([0u8; 24]); // size, view
        b.extend([0, 0, 0, 0]); // no lines, empty processed text
        b.extend([0, 0, 0, 0, 0, 0]); // aliases, headers, alternates
        assert!(matches!(
            Store::from_static_bytes(Box::leak(b.into_boxed_slice()), 1),
            Err(StoreLoadError::Utf8(4))
        ));
        // empty input
        assert!(matches!(
            Store::from_static_bytes(&[], 1),
            Err(StoreLoadError::Truncated(0))
        ));
    }
}
