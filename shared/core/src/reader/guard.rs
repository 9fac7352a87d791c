//! Budgets and guarded readers: every byte that comes out of a decoder passes through here, so total size,
//! per-stream compression ratio, per-entry size and wall time are enforced wherever the bytes are consumed
//! (by the walker or by a tool reading an entry). A limit hit surfaces as an `io::Error` carrying [`LimitHit`],
//! which [`classify`] recognises through any wrapping (zip, tar) and turns into an unscannable reason.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;
use std::time::Instant;

use crate::model::UnscannableReason;

use super::Limits;

/// A limit was reached; carried inside `io::Error`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct LimitHit {
    /// Which limit.
    pub reason: UnscannableReason,
    /// Values involved.
    pub detail: String,
}

impl LimitHit {
    pub(crate) fn io(reason: UnscannableReason, detail: String) -> io::Error {
        io::Error::other(LimitHit { reason, detail })
    }
}

/// Finds a [`LimitHit`] anywhere in an error's source chain (zip and tar wrap I/O errors).
pub fn classify(err: &(dyn std::error::Error + 'static)) -> Option<LimitHit> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(hit) = e.downcast_ref::<LimitHit>() {
            return Some(hit.clone());
        }
        if let Some(ioe) = e.downcast_ref::<io::Error>()
            && let Some(inner) = ioe.get_ref()
        {
            if let Some(hit) = inner.downcast_ref::<LimitHit>() {
                return Some(hit.clone());
            }
            if let Some(found) = classify(inner) {
                return Some(found);
            }
        }
        cur = e.source();
    }
    None
}

/// Walk-wide counters shared by every guarded reader of one walk.
#[derive(Debug)]
pub(crate) struct Budget {
    pub limits: Limits,
    pub deadline: Instant,
    /// Bytes produced by decompression, all levels.
    pub decompressed: Cell<u64>,
    /// Entries seen.
    pub entries: Cell<u64>,
    /// Size of the outermost artifact (for the overall ratio).
    pub artifact_size: Cell<u64>,
}

impl Budget {
    pub fn new(limits: Limits, deadline: Instant) -> Rc<Budget> {
        Rc::new(Budget {
            limits,
            deadline,
            decompressed: Cell::new(0),
            entries: Cell::new(0),
            artifact_size: Cell::new(0),
        })
    }

    pub fn check_time(&self) -> io::Result<()> {
        if Instant::now() >= self.deadline {
            return Err(LimitHit::io(
                UnscannableReason::Timeout,
                format!(
                    "wall-time budget of {} s exhausted",
                    self.limits.max_wall.as_secs()
                ),
            ));
        }
        Ok(())
    }

    pub fn count_entry(&self) -> io::Result<()> {
        let n = self.entries.get() + 1;
        self.entries.set(n);
        if n > self.limits.max_entries {
            return Err(LimitHit::io(
                UnscannableReason::TooManyEntries,
                format!("more than {} entries", self.limits.max_entries),
            ));
        }
        self.check_time()
    }

    fn add_decompressed(&self, n: u64) -> io::Result<()> {
        let total = self.decompressed.get() + n;
        self.decompressed.set(total);
        if total > self.limits.max_total_bytes {
            return Err(LimitHit::io(
                UnscannableReason::TotalSizeExceeded,
                format!(
                    "more than {} uncompressed bytes in total",
                    self.limits.max_total_bytes
                ),
            ));
        }
        // Overall ratio against the outermost artifact: catches nested bombs whose every level looks modest.
        let art = self.artifact_size.get().max(1);
        let floor = 64 * 1024 * 1024;
        if total > floor && total / art > self.limits.max_ratio.saturating_mul(4) {
            return Err(LimitHit::io(
                UnscannableReason::CompressionRatioExceeded,
                format!(
                    "{total} uncompressed bytes from a {art}-byte artifact exceeds {}× overall",
                    self.limits.max_ratio.saturating_mul(4)
                ),
            ));
        }
        Ok(())
    }
}

/// Counts bytes read through it (the compressed side of a decoder).
pub(crate) struct Counting<R> {
    pub inner: R,
    pub count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// What a visitor reads from a leaf: counts bytes and checks the wall-time budget every [`TIME_CHECK_EVERY`]
/// bytes, so a visitor reading one huge file cannot outlive the deadline.
pub(crate) struct LeafReader<R> {
    pub inner: R,
    pub count: Rc<Cell<u64>>,
    pub budget: Rc<Budget>,
    pub next_check: u64,
}

/// How often (in bytes read) a leaf reader checks the clock.
const TIME_CHECK_EVERY: u64 = 4 * 1024 * 1024;

impl<R: Read> Read for LeafReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.count.get() + n as u64;
        self.count.set(total);
        if total >= self.next_check {
            self.next_check = total + TIME_CHECK_EVERY;
            self.budget.check_time()?;
        }
        Ok(n)
    }
}

/// Guards the output of a decoder: total budget, ratio against its own compressed input, time.
pub(crate) struct DecodeGuard<R> {
    pub inner: R,
    pub budget: Rc<Budget>,
    /// Compressed bytes consumed so far (shared with the [`Counting`] under the decoder), or a fixed size.
    pub input: Rc<Cell<u64>>,
    pub output: u64,
    pub what: &'static str,
}

/// Output below this is never judged by ratio (tiny inputs have huge ratios legitimately).
const RATIO_FLOOR: u64 = 1024 * 1024;

impl<R: Read> Read for DecodeGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.budget.check_time()?;
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => return Err(self.locate(e)),
        };
        self.output += n as u64;
        self.budget.add_decompressed(n as u64)?;
        let input = self.input.get().max(1);
        if self.output > RATIO_FLOOR && self.output / input > self.budget.limits.max_ratio {
            return Err(LimitHit::io(
                UnscannableReason::CompressionRatioExceeded,
                format!(
                    "{} stream expanded {} compressed bytes to more than {} (ratio > {})",
                    self.what, input, self.output, self.budget.limits.max_ratio
                ),
            ));
        }
        Ok(n)
    }
}

impl<R> DecodeGuard<R> {
    /// Says where a decoder failed (limit hits pass through untouched so they keep their reason); decoder
    /// memory caps (xz dictionary, zstd window) become an explicit unsupported-format hit.
    fn locate(&self, e: io::Error) -> io::Error {
        if classify(&e).is_some() {
            return e;
        }
        let msg = e.to_string();
        if msg.contains("mem_limit")
            || msg.contains("too much memory")
            || msg.contains("memory limit")
        {
            return LimitHit::io(
                UnscannableReason::UnsupportedFormat,
                format!(
                    "{} stream needs more decoder memory than the reader allows (window/dictionary cap): {msg}",
                    self.what
                ),
            );
        }
        io::Error::new(
            e.kind(),
            format!(
                "{} stream corrupt or truncated near compressed byte {} (after {} bytes out): {msg}",
                self.what,
                self.input.get(),
                self.output
            ),
        )
    }
}

/// Bounds one entry: at most `max` bytes may be read, else [`UnscannableReason::EntryTooLarge`]; when a
/// declared size is known, reading more than it is [`UnscannableReason::LyingSize`], and reaching the end
/// before it is `short` (a lie for zip, a truncation for stream containers).
pub(crate) struct EntryGuard<R> {
    pub inner: R,
    pub read: u64,
    pub max: u64,
    pub declared: Option<u64>,
    pub path: Rc<str>,
    pub short: UnscannableReason,
}

impl<R: Read> Read for EntryGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Ask for one byte more than allowed so an overrun is detected rather than silently truncated.
        let allowed = self.max.saturating_sub(self.read).saturating_add(1);
        let want = (buf.len() as u64).min(allowed) as usize;
        let n = self.inner.read(&mut buf[..want])?;
        self.read += n as u64;
        if n == 0
            && want > 0
            && let Some(d) = self.declared
            && self.read < d
        {
            let what = if self.short == UnscannableReason::LyingSize {
                "holds only"
            } else {
                "is truncated after"
            };
            return Err(LimitHit::io(
                self.short,
                format!(
                    "{} declares {} bytes but {what} {}",
                    self.path, d, self.read
                ),
            ));
        }
        if let Some(d) = self.declared
            && self.read > d
        {
            return Err(LimitHit::io(
                UnscannableReason::LyingSize,
                format!("{} declares {} bytes but holds more", self.path, d),
            ));
        }
        if self.read > self.max {
            return Err(LimitHit::io(
                UnscannableReason::EntryTooLarge,
                format!(
                    "{} is larger than the {}-byte entry limit",
                    self.path, self.max
                ),
            ));
        }
        Ok(n)
    }
}

/// Reads until `buf` is full or EOF; returns the filled length.
pub(crate) fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads and discards the rest of a stream, returning how many bytes were skipped.
pub(crate) fn drain(r: &mut dyn Read) -> io::Result<u64> {
    let mut buf = [0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn classify_sees_through_wrapping() {
        let hit = LimitHit::io(UnscannableReason::LyingSize, "x".into());
        let wrapped = io::Error::other(zip::result::ZipError::Io(hit));
        let found = classify(&wrapped).expect("found");
        assert_eq!(found.reason, UnscannableReason::LyingSize);
        let plain = io::Error::new(io::ErrorKind::UnexpectedEof, "eof");
        assert!(classify(&plain).is_none());
    }
}
