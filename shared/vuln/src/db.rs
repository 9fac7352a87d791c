//! The OSV database index: built from directories of OSV JSON files and OSV `all.zip` exports, stored as one
//! compact file (versioned header, SHA-256 checksum over header and payload, zstd-compressed postcard payload), loaded once and queried
//! per package. Checks on load: magic, format version, lengths, checksum, decoding and internal references, so
//! untrusted bytes give a typed [`DbError`], never a panic. Range evaluation follows osv-scalibr (CRATES.md
//! §6.2): explicit versions, then ECOSYSTEM/SEMVER ranges with sorted events (GIT ranges ignored), an empty
//! version counting as affected.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use portcullis_core::model::{PackageRef, Severity};
use portcullis_core::policy::VulnerabilityPolicy;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::cvss;
use crate::osv::{OsvAffected, OsvRecord, OsvSeverity};
use crate::version::{ParsedVersion, Scheme, canonical_ecosystem, scheme_for};

/// Version of the on-disk format; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 2;
const MAGIC: &[u8; 8] = b"PCVULNDB";
const HEADER_LEN: usize = 64;
const FLAG_ZSTD: u32 = 1;
/// Largest decompressed payload accepted on load.
pub const MAX_PAYLOAD: u64 = 2 << 30;
/// Largest single JSON file read from a source (directory entry or zip member).
pub const MAX_RECORD_BYTES: u64 = 64 << 20;
const MAX_SKIPPED_LISTED: usize = 100;

/// Errors of building, storing, loading and checking the database.
#[derive(Debug, Error)]
pub enum DbError {
    /// A source path does not exist.
    #[error("OSV source {0} does not exist")]
    MissingSource(PathBuf),
    /// I/O on a path.
    #[error("I/O on {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A source zip could not be opened or read.
    #[error("OSV zip {path}: {source}")]
    Zip {
        /// The zip file.
        path: PathBuf,
        /// The error.
        source: zip::result::ZipError,
    },
    /// The sources held no usable OSV record.
    #[error("no OSV records found in {0:?}")]
    NoRecords(Vec<PathBuf>),
    /// Encoding the index failed.
    #[error("encoding the database: {0}")]
    Encode(String),
    /// The bytes are not a database file.
    #[error("not a Portcullis vulnerability database (bad magic)")]
    BadMagic,
    /// The file is from another format version.
    #[error("database format version {found} is not supported (this build reads {expected})")]
    UnsupportedFormat {
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        expected: u32,
    },
    /// The file is shorter than its header says, or has trailing bytes.
    #[error("database truncated or malformed: {0}")]
    Truncated(String),
    /// The payload checksum does not match.
    #[error("database checksum mismatch (corrupt or tampered file)")]
    Checksum,
    /// Decompression failed.
    #[error("database payload could not be decompressed: {0}")]
    Decompress(String),
    /// Decoding failed.
    #[error("database payload could not be decoded: {0}")]
    Decode(String),
    /// Decoded, but internally inconsistent.
    #[error("database inconsistent: {0}")]
    Inconsistent(String),
    /// The database is older than the policy allows.
    #[error(transparent)]
    Stale(#[from] StaleDatabase),
}

/// The database is older than `vulnerabilities.max_db_age_hours` allows.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "vulnerability database built at {built_at} is {age_hours} h old; the policy allows at most {max_age_hours} h"
)]
pub struct StaleDatabase {
    /// When the database was built.
    pub built_at: DateTime<Utc>,
    /// Its age in whole hours.
    pub age_hours: u64,
    /// The policy's maximum, in hours.
    pub max_age_hours: u64,
}

/// Counters of one ecosystem.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcosystemCounts {
    /// Advisories with at least one affected package in this ecosystem.
    pub advisories: u64,
    /// Distinct package names.
    pub packages: u64,
    /// Affected entries.
    pub affected: u64,
}

/// What the database says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// On-disk format version.
    pub schema_version: u32,
    /// When the index was built.
    pub built_at: DateTime<Utc>,
    /// Newest `modified` time among the records (RFC 3339), when any had one.
    pub data_modified: Option<String>,
    /// The sources it was built from, as given.
    pub sources: Vec<String>,
    /// Advisories indexed (withdrawn ones excluded).
    pub advisories: u64,
    /// `MAL-` advisories among them.
    pub malware_advisories: u64,
    /// Per canonical ecosystem.
    pub ecosystems: BTreeMap<String, EcosystemCounts>,
}

/// One advisory, as the index keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// Advisory id.
    pub id: String,
    /// Other ids.
    pub aliases: Vec<String>,
    /// Summary (or the first line of the details).
    pub summary: Option<String>,
    /// A `MAL-` (malicious package) advisory.
    pub malware: bool,
    /// Severity: CVSS band when a vector was scored, else the database's own severity.
    pub severity: Severity,
    /// CVSS base score computed from `cvss_vector` (v3.x preferred, else v4.0).
    pub cvss_score: Option<f32>,
    /// The CVSS vector (v3.x preferred, else v4).
    pub cvss_vector: Option<String>,
}

/// A version event of a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Affected from this version on (`0`: from the beginning).
    Introduced(String),
    /// Not affected from this version on.
    Fixed(String),
    /// Affected up to and including this version.
    LastAffected(String),
}

impl Event {
    fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) => v,
        }
    }
}

/// An ECOSYSTEM or SEMVER range; its events are sorted at build time (`introduced: 0` first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// True for SEMVER, false for ECOSYSTEM.
    pub semver: bool,
    /// Sorted events.
    pub events: Vec<Event>,
    /// The events' versions parsed under the ecosystem's scheme (filled on load, not stored).
    #[serde(skip)]
    keys: Vec<ParsedVersion>,
}

/// One `affected[]` entry of one advisory for one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    /// Index of the advisory.
    pub advisory: u32,
    /// Ecosystem suffix (`12` of `Debian:12`), when the entry had one.
    pub release: Option<String>,
    /// Ranges (GIT ranges dropped).
    pub ranges: Vec<Range>,
    /// Explicit affected versions.
    pub versions: Vec<String>,
    /// Fixed versions from the ranges.
    pub fixed: Vec<String>,
}

/// One package of an ecosystem, as written: its affected entries encoded on their own (postcard
/// `Vec<Affected>`, explicit versions sorted), so that a load reads only the package's name and where its
/// entries are (format 2).
#[derive(Debug, Clone, PartialEq, Serialize)]
struct PackageEntry {
    name: String,
    #[serde(with = "byte_buf")]
    affected: Vec<u8>,
}

/// One advisory, as written: its id, and the whole record encoded on its own (postcard [`Advisory`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
struct AdvisoryEntry {
    id: String,
    #[serde(with = "byte_buf")]
    record: Vec<u8>,
}

/// What a load decodes of the payload: the metadata, and names and byte ranges borrowed from it — no
/// advisory record and no affected entry is decoded until a query needs it, and nothing is copied.
#[derive(Deserialize)]
struct BodyRef<'a> {
    metadata: Metadata,
    #[serde(borrow)]
    advisories: Vec<AdvisoryEntryRef<'a>>,
    #[serde(borrow)]
    ecosystems: Vec<EcosystemEntryRef<'a>>,
}

#[derive(Deserialize)]
struct AdvisoryEntryRef<'a> {
    #[serde(borrow)]
    id: &'a str,
    #[serde(borrow)]
    record: &'a [u8],
}

#[derive(Deserialize)]
struct EcosystemEntryRef<'a> {
    name: String,
    #[serde(borrow)]
    packages: Vec<PackageEntryRef<'a>>,
}

#[derive(Deserialize)]
struct PackageEntryRef<'a> {
    #[serde(borrow)]
    name: &'a str,
    #[serde(borrow)]
    affected: &'a [u8],
}

/// A byte range of the payload.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    /// The range `part` occupies in `whole` (`part` borrowed from it).
    fn of(whole: &[u8], part: &[u8]) -> Span {
        let start = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
        Span {
            start,
            end: start + part.len(),
        }
    }
}

/// A `Vec<u8>` written as serde bytes (postcard: varint length + the bytes), so that a load can borrow it
/// as `&[u8]` from the payload.
mod byte_buf {
    use serde::ser::Serializer;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct EcosystemEntry {
    name: String,
    packages: Vec<PackageEntry>,
}

/// What a build produces, before it is encoded.
#[derive(Debug, Clone, PartialEq)]
struct Body {
    metadata: Metadata,
    advisories: Vec<Advisory>,
    ecosystems: Vec<EcosystemEntry>,
}

/// The payload as written.
#[derive(Serialize)]
struct BodyOut<'a> {
    metadata: &'a Metadata,
    advisories: Vec<AdvisoryEntry>,
    ecosystems: &'a [EcosystemEntry],
}

impl Body {
    /// The uncompressed payload.
    fn encode(&self) -> Result<Vec<u8>, DbError> {
        let advisories = self
            .advisories
            .iter()
            .map(|a| {
                Ok(AdvisoryEntry {
                    id: a.id.clone(),
                    record: postcard::to_allocvec(a)
                        .map_err(|e| DbError::Encode(format!("{}: {e}", a.id)))?,
                })
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        postcard::to_allocvec(&BodyOut {
            metadata: &self.metadata,
            advisories,
            ecosystems: &self.ecosystems,
        })
        .map_err(|e| DbError::Encode(e.to_string()))
    }
}

/// An advisory of the loaded index: where its record is, decoded on first use.
struct LazyAdvisory {
    id: Span,
    record: Span,
    decoded: OnceLock<Result<Advisory, String>>,
}

/// A package of the loaded index: where its name and its entries are, and the entries decoded with their
/// lookup table, built on its first query (or the reason they could not be).
struct LoadedPackage {
    name: Span,
    affected: Span,
    prepared: OnceLock<Result<Prepared, String>>,
}

struct LoadedEcosystem {
    name: String,
    packages: Vec<LoadedPackage>,
}

struct EcoIndex {
    scheme: Scheme,
    entry: usize,
    names: HashMap<String, u32, FastHash>,
}

/// A package's affected entries, decoded, with the lookup table over them.
struct Prepared {
    entries: Vec<Affected>,
    lookup: PackageLookup,
}

impl Prepared {
    /// Decodes a package's entries (checking that every advisory index is one of the `advisories`) and
    /// builds its lookup table.
    fn decode(blob: &[u8], scheme: Scheme, advisories: usize) -> Result<Prepared, String> {
        let mut entries: Vec<Affected> =
            postcard::from_bytes(blob).map_err(|e| format!("affected entries: {e}"))?;
        if let Some(a) = entries.iter().find(|a| a.advisory as usize >= advisories) {
            return Err(format!(
                "refers to advisory #{} of {advisories}",
                a.advisory
            ));
        }
        for a in &mut entries {
            // Explicit versions are searched by bisection.
            if !a.versions.is_sorted() {
                a.versions.sort();
            }
        }
        let lookup = PackageLookup::build(&entries, scheme);
        Ok(Prepared { entries, lookup })
    }
}

/// FxHash-style hasher for the name maps: keys are short package names from the index itself (not chosen
/// by an attacker who could exploit collisions to slow lookups down more than the linear scan they replace).
#[derive(Default, Clone, Copy)]
struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            h = (h.rotate_left(26) ^ u64::from_le_bytes(a)).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut a = [0u8; 8];
            a[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(26) ^ u64::from_le_bytes(a) ^ rest.len() as u64).wrapping_mul(K);
        }
        self.0 = h;
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(26) ^ u64::from(i)).wrapping_mul(0xf135_7aea_2e62_a9c5);
    }
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

type FastHash = std::hash::BuildHasherDefault<FastHasher>;

/// Largest number of (cell, entry) pairs one package's lookup table may hold; a package over it (none in
/// the OSV data) is evaluated entry by entry instead.
const MAX_CELL_ENTRIES: usize = 1 << 22;

/// The lookup table of one package, built when the package is first queried (a cold start decodes the
/// index and names its packages; parsing event versions and building tables for every package would cost
/// more than the decoding and is only needed for the packages an artifact contains). The distinct versions named by the events of all its
/// ranges, sorted, cut the version line into cells: `2j` is the open gap just below point `j` (`2k` the
/// gap above the last of `k` points) and `2j + 1` is point `j` itself. Range membership only depends on how
/// a version compares with the event versions, so it is constant within a cell: the table lists, per cell,
/// the entries whose ranges contain it. A lookup is one parse, a binary search over the points and the
/// cell's list (plus a bisection of the explicit versions), whatever the number of advisories.
#[derive(Debug, Default)]
struct PackageLookup {
    /// Per entry, per range: the events' versions parsed under the ecosystem's scheme.
    keys: Vec<Vec<Vec<ParsedVersion>>>,
    /// No table (comparator inconsistent with the points' order, or too large): evaluate every entry.
    linear: bool,
    points: Vec<ParsedVersion>,
    /// Cell `c` holds `cell_entries[cell_start[c]..cell_start[c + 1]]`, ascending entry indexes.
    cell_start: Vec<u32>,
    cell_entries: Vec<u32>,
    /// Explicit affected versions as (entry, index in its `versions`), sorted by the version string.
    explicit: Vec<(u32, u32)>,
}

/// Stable merge sort that cannot panic whatever the comparator answers (the standard sorts may panic
/// when a comparator is not a total order, and version comparators are lenient on odd input).
fn merge_sort_by<T: Clone>(v: &mut Vec<T>, mut less: impl FnMut(&T, &T) -> bool) {
    let n = v.len();
    if n < 2 {
        return;
    }
    let mut src = v.clone();
    let mut dst = v.clone();
    let mut width = 1;
    while width < n {
        let mut i = 0;
        while i < n {
            let mid = (i + width).min(n);
            let end = (i + 2 * width).min(n);
            let (mut a, mut b, mut o) = (i, mid, i);
            while a < mid && b < end {
                if less(&src[b], &src[a]) {
                    dst[o] = src[b].clone();
                    b += 1;
                } else {
                    dst[o] = src[a].clone();
                    a += 1;
                }
                o += 1;
            }
            while a < mid {
                dst[o] = src[a].clone();
                a += 1;
                o += 1;
            }
            while b < end {
                dst[o] = src[b].clone();
                b += 1;
                o += 1;
            }
            i = end;
        }
        std::mem::swap(&mut src, &mut dst);
        width *= 2;
    }
    *v = src;
}

impl PackageLookup {
    /// The cell of a version: `2j + 1` when it equals point `j`, else `2j` with `j` the first point above it.
    fn cell(&self, v: &ParsedVersion, scheme: Scheme) -> usize {
        let (mut lo, mut hi) = (0usize, self.points.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.points.get(mid).map(|p| v.compare(p, scheme)) {
                Some(Ordering::Less) => hi = mid,
                Some(Ordering::Greater) => lo = mid + 1,
                _ => return 2 * mid + 1,
            }
        }
        2 * lo
    }

    /// The entries whose ranges contain every version of `cell`.
    fn cell_entries(&self, cell: usize) -> &[u32] {
        let (Some(&s), Some(&e)) = (self.cell_start.get(cell), self.cell_start.get(cell + 1))
        else {
            return &[];
        };
        self.cell_entries.get(s as usize..e as usize).unwrap_or(&[])
    }

    fn build(affected: &[Affected], scheme: Scheme) -> PackageLookup {
        let mut out = PackageLookup {
            keys: affected
                .iter()
                .map(|a| a.ranges.iter().map(|r| r.parsed_keys(scheme)).collect())
                .collect(),
            ..PackageLookup::default()
        };
        // Maven's ComparableVersion is not transitive (4.0.0-1 < 4.0.0.Alpha1 < 4.0.0 < 4.0.0-1), so no
        // sorted table can agree with comparing against each event: Maven packages are walked entry by entry.
        if scheme == Scheme::Maven {
            out.linear = true;
            return out;
        }
        // Explicit versions, by string.
        for (ei, a) in affected.iter().enumerate() {
            for vi in 0..a.versions.len() {
                if let (Ok(ei), Ok(vi)) = (u32::try_from(ei), u32::try_from(vi)) {
                    out.explicit.push((ei, vi));
                }
            }
        }
        let version_of = |&(e, v): &(u32, u32)| -> &str {
            affected
                .get(e as usize)
                .and_then(|a| a.versions.get(v as usize))
                .map_or("", String::as_str)
        };
        out.explicit
            .sort_by(|x, y| version_of(x).cmp(version_of(y)).then(x.cmp(y)));
        // Points: every event version except `introduced: 0` (always satisfied), sorted, deduplicated.
        let mut points: Vec<&ParsedVersion> = Vec::new();
        for (a, keys) in affected.iter().zip(&out.keys) {
            for (r, keys) in a.ranges.iter().zip(keys) {
                for (e, k) in r.events.iter().zip(keys) {
                    if !matches!(e, Event::Introduced(v) if v == "0") {
                        points.push(k);
                    }
                }
            }
        }
        merge_sort_by(&mut points, |a, b| a.compare(b, scheme) == Ordering::Less);
        points.dedup_by(|b, a| a.compare(b, scheme) == Ordering::Equal);
        let points: Vec<ParsedVersion> = points.into_iter().cloned().collect();
        out.points = points;
        let n_cells = 2 * out.points.len() + 1;
        // Per entry: the cells its ranges cover, as merged [start, end) intervals.
        let mut covered: Vec<Vec<(usize, usize)>> = Vec::with_capacity(affected.len());
        let mut total = 0usize;
        for (ai, a) in affected.iter().enumerate() {
            let mut iv: Vec<(usize, usize)> = Vec::new();
            for (ri, r) in a.ranges.iter().enumerate() {
                let Some(keys) = out.keys.get(ai).and_then(|k| k.get(ri)) else {
                    out.linear = true;
                    return out;
                };
                // Each event's point; an event version that does not find itself means the comparator
                // disagrees with the sorted order: no table for this package.
                let mut pts: Vec<Option<usize>> = Vec::with_capacity(r.events.len());
                for (e, k) in r.events.iter().zip(keys) {
                    if matches!(e, Event::Introduced(v) if v == "0") {
                        pts.push(None);
                    } else {
                        let c = out.cell(k, scheme);
                        if c.is_multiple_of(2) {
                            out.linear = true;
                            return out;
                        }
                        pts.push(Some(c / 2));
                    }
                }
                // Membership is constant between consecutive event points: evaluate once per segment.
                let mut starts: Vec<usize> = vec![0];
                let mut sorted: Vec<usize> = pts.iter().flatten().copied().collect();
                sorted.sort_unstable();
                sorted.dedup();
                for p in sorted {
                    starts.push(2 * p + 1);
                    starts.push(2 * p + 2);
                }
                starts.retain(|&c| c < n_cells);
                starts.dedup();
                for (i, &s) in starts.iter().enumerate() {
                    let end = starts.get(i + 1).copied().unwrap_or(n_cells);
                    if walk_cell(&r.events, &pts, s) {
                        match iv.last_mut() {
                            Some(last) if last.1 == s => last.1 = end,
                            _ => iv.push((s, end)),
                        }
                    }
                }
            }
            iv.sort_unstable();
            let mut merged: Vec<(usize, usize)> = Vec::with_capacity(iv.len());
            for (s, e) in iv {
                match merged.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => merged.push((s, e)),
                }
            }
            total += merged.iter().map(|(s, e)| e - s).sum::<usize>();
            if total > MAX_CELL_ENTRIES {
                out.linear = true;
                return out;
            }
            covered.push(merged);
        }
        // Counting pass (difference array), then fill in entry order.
        let mut counts = vec![0i64; n_cells + 1];
        for iv in &covered {
            for &(s, e) in iv {
                counts[s] += 1;
                counts[e] -= 1;
            }
        }
        let mut start = Vec::with_capacity(n_cells + 1);
        let (mut run, mut acc) = (0i64, 0u32);
        for c in counts.iter().take(n_cells) {
            start.push(acc);
            run += c;
            acc += u32::try_from(run).unwrap_or(0);
        }
        start.push(acc);
        let mut cursor: Vec<u32> = start.clone();
        let mut entries = vec![0u32; acc as usize];
        for (ei, iv) in covered.iter().enumerate() {
            let Ok(ei) = u32::try_from(ei) else { continue };
            for &(s, e) in iv {
                for cur in cursor.iter_mut().take(e).skip(s) {
                    if let Some(slot) = entries.get_mut(*cur as usize) {
                        *slot = ei;
                    }
                    *cur += 1;
                }
            }
        }
        out.cell_start = start;
        out.cell_entries = entries;
        out
    }
}

/// Whether an entry applies to the queried release (`12` of `Debian:12`): entries and queries without one
/// apply to every release.
fn release_wanted(release: Option<&str>, a: &Affected) -> bool {
    match (release, a.release.as_deref()) {
        (Some(want), Some(have)) => want == have,
        _ => true,
    }
}

/// osv-scalibr's walk over a range's sorted events for the versions of `cell` (see [`PackageLookup`]):
/// `pts[i]` is event `i`'s point, `None` for `introduced: 0`.
fn walk_cell(events: &[Event], pts: &[Option<usize>], cell: usize) -> bool {
    let cmp = |p: usize| -> Ordering {
        if cell % 2 == 1 {
            (cell / 2).cmp(&p)
        } else if cell / 2 <= p {
            Ordering::Less
        } else {
            Ordering::Greater
        }
    };
    let mut affected = false;
    for (e, p) in events.iter().zip(pts) {
        if !affected {
            if let Event::Introduced(_) = e
                && p.is_none_or(|p| cmp(p) != Ordering::Less)
            {
                affected = true;
            }
        } else {
            match (e, p) {
                (Event::Fixed(_), Some(p)) if cmp(*p) != Ordering::Less => affected = false,
                (Event::LastAffected(_), Some(p)) if cmp(*p) == Ordering::Greater => {
                    affected = false;
                }
                _ => {}
            }
        }
    }
    affected
}

/// The loaded index: the decompressed payload, with the advisories' and packages' byte ranges in it. An
/// advisory record or a package's entries are decoded on first use (a cold start decodes names only).
pub struct Database {
    raw: Vec<u8>,
    metadata: Metadata,
    advisories: Vec<LazyAdvisory>,
    ecosystems: Vec<LoadedEcosystem>,
    index: HashMap<String, EcoIndex, FastHash>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

/// A file of the sources that was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    /// Path (`x.zip!member.json` for zip members).
    pub path: String,
    /// Why.
    pub reason: String,
}

/// What a build did.
#[derive(Debug, Clone, Default)]
pub struct BuildStats {
    /// JSON files read (directory files and zip members).
    pub files_read: u64,
    /// Records indexed.
    pub advisories: u64,
    /// Withdrawn records skipped.
    pub withdrawn_skipped: u64,
    /// `MAL-` records indexed.
    pub malware: u64,
    /// Records whose id was already read (their affected entries are merged).
    pub duplicates_merged: u64,
    /// Files that were not OSV records or did not parse (count).
    pub skipped_count: u64,
    /// The first skipped files, with reasons.
    pub skipped: Vec<SkippedFile>,
    /// Affected entries indexed, per canonical ecosystem.
    pub per_ecosystem: BTreeMap<String, EcosystemCounts>,
    /// Time to read and index the sources.
    pub build_time: Duration,
    /// Size of the encoded file, when written.
    pub file_size: Option<u64>,
}

/// A package of some ecosystem normalized for lookup: PEP 503 for PyPI, lowercase for case-insensitive
/// ecosystems, Go's toolchain as `stdlib`, everything else as written.
pub fn normalize_name<'a>(ecosystem: &str, name: &'a str) -> Cow<'a, str> {
    normalize_name_canonical(canonical_ecosystem(ecosystem), name)
}

/// [`normalize_name`] for an ecosystem already in canonical spelling.
fn normalize_name_canonical<'a>(ecosystem: &str, name: &'a str) -> Cow<'a, str> {
    let name = name.trim();
    match ecosystem {
        "PyPI" => {
            let b = name.as_bytes();
            let normalized = !b
                .iter()
                .any(|c| matches!(c, b'_' | b'.') || c.is_ascii_uppercase())
                && b.first() != Some(&b'-')
                && b.last() != Some(&b'-')
                && !name.contains("--");
            if normalized {
                return Cow::Borrowed(name);
            }
            let mut out = String::with_capacity(name.len());
            let mut sep = false;
            for c in name.chars() {
                if matches!(c, '-' | '_' | '.') {
                    sep = true;
                } else {
                    if sep && !out.is_empty() {
                        out.push('-');
                    }
                    sep = false;
                    out.push(c.to_ascii_lowercase());
                }
            }
            if out == name {
                Cow::Borrowed(name)
            } else {
                Cow::Owned(out)
            }
        }
        "Go" if name == "go" || name == "toolchain" => Cow::Borrowed("stdlib"),
        "crates.io" | "NuGet" | "Packagist" | "Hex" | "Pub" | "Debian" | "Ubuntu" | "Alpine"
        | "Wolfi" | "Chainguard" | "Hackage" => {
            if name.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(name.to_ascii_lowercase())
            } else {
                Cow::Borrowed(name)
            }
        }
        _ => Cow::Borrowed(name),
    }
}

/// Insertion sort that cannot panic on an inconsistent comparator (event lists are short).
fn sort_events(events: &mut [Event], scheme: Scheme) {
    let less = |a: &Event, b: &Event| -> bool {
        let a0 = matches!(a, Event::Introduced(v) if v == "0");
        let b0 = matches!(b, Event::Introduced(v) if v == "0");
        match (a0, b0) {
            (true, false) => true,
            (_, true) => false,
            _ => scheme.compare(a.version(), b.version()) == Ordering::Less,
        }
    };
    for i in 1..events.len() {
        let mut j = i;
        while j > 0 && less(&events[j], &events[j - 1]) {
            events.swap(j, j - 1);
            j -= 1;
        }
    }
}

impl Range {
    /// The events' versions parsed under `scheme` (the builder's copy when it has one).
    fn parsed_keys(&self, scheme: Scheme) -> Vec<ParsedVersion> {
        if self.keys.len() == self.events.len() {
            return self.keys.clone();
        }
        self.events
            .iter()
            .map(|e| ParsedVersion::parse(scheme, e.version()))
            .collect()
    }
}

/// Whether `version` is inside a range (osv-scalibr's walk over sorted events).
fn range_contains(range: &Range, scheme: Scheme, version: &str, parsed: &ParsedVersion) -> bool {
    range_contains_keyed(range, &range.keys, scheme, version, parsed)
}

/// [`range_contains`] with the events' parsed versions (`keys`, one per event; else each event is parsed
/// when compared).
fn range_contains_keyed(
    range: &Range,
    keys: &[ParsedVersion],
    scheme: Scheme,
    version: &str,
    parsed: &ParsedVersion,
) -> bool {
    let pre_parsed = keys.len() == range.events.len();
    let cmp = |i: usize, v: &str| -> Ordering {
        match keys.get(i) {
            Some(k) if pre_parsed => parsed.compare(k, scheme),
            _ => scheme.compare(version, v),
        }
    };
    let mut affected = false;
    for (i, e) in range.events.iter().enumerate() {
        if !affected {
            if let Event::Introduced(v) = e
                && (v == "0" || cmp(i, v) != Ordering::Less)
            {
                affected = true;
            }
        } else {
            match e {
                Event::Fixed(v) if cmp(i, v) != Ordering::Less => affected = false,
                Event::LastAffected(v) if cmp(i, v) == Ordering::Greater => affected = false,
                _ => {}
            }
        }
    }
    affected
}

impl Affected {
    /// Whether `version` (of a package in this entry's ecosystem, ordered by `scheme`) is affected.
    pub fn contains(&self, scheme: Scheme, version: &str) -> bool {
        let version = version.trim();
        self.contains_parsed(scheme, version, &ParsedVersion::parse(scheme, version))
    }

    /// [`Affected::contains`] with the (trimmed) version already parsed under `scheme`.
    pub fn contains_parsed(&self, scheme: Scheme, version: &str, parsed: &ParsedVersion) -> bool {
        self.contains_keyed(&[], scheme, version, parsed)
    }

    /// [`Affected::contains_parsed`] with its ranges' parsed event versions (`keys[range]`; a range
    /// without them parses its events as it compares).
    fn contains_keyed(
        &self,
        keys: &[Vec<ParsedVersion>],
        scheme: Scheme,
        version: &str,
        parsed: &ParsedVersion,
    ) -> bool {
        if version.is_empty() {
            return true;
        }
        if self
            .versions
            .binary_search_by(|v| v.as_str().cmp(version))
            .is_ok()
        {
            return true;
        }
        self.ranges
            .iter()
            .enumerate()
            .any(|(i, r)| match keys.get(i) {
                Some(k) => range_contains_keyed(r, k, scheme, version, parsed),
                None => range_contains(r, scheme, version, parsed),
            })
    }
}

/// One advisory affecting a queried package.
#[derive(Debug, Clone, Copy)]
pub struct Match<'a> {
    /// The advisory.
    pub advisory: &'a Advisory,
    /// The matching `affected` entry (ranges, fixed versions).
    pub affected: &'a Affected,
}

fn summarize(rec: &OsvRecord) -> Option<String> {
    let s = rec
        .summary
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let s = s.or_else(|| {
        rec.details
            .as_deref()
            .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
    });
    s.map(|s| {
        if s.chars().count() > 300 {
            let mut t: String = s.chars().take(297).collect();
            t.push('…');
            t
        } else {
            s.to_string()
        }
    })
}

fn db_severity(v: Option<&serde_json::Value>) -> Option<Severity> {
    let v = v?.get("severity")?;
    match v {
        serde_json::Value::String(s) => {
            Severity::parse_loose(s).filter(|s| *s != Severity::Unknown)
        }
        _ => None,
    }
}

fn pick_cvss(lists: &[&[OsvSeverity]]) -> (Option<String>, Option<f32>) {
    let all = || lists.iter().flat_map(|l| l.iter());
    for s in all() {
        if s.kind == "CVSS_V3"
            && let Ok(score) = cvss::base_score_v3(&s.score)
        {
            return (Some(s.score.trim().to_string()), Some(score));
        }
    }
    for s in all() {
        if s.kind == "CVSS_V4"
            && let Ok(score) = cvss::base_score_v4(&s.score)
        {
            return (Some(s.score.trim().to_string()), Some(score));
        }
    }
    // A vector that could not be scored is still reported; the severity then comes from the database.
    for s in all() {
        if s.kind == "CVSS_V4" || s.kind == "CVSS_V3" {
            return (Some(s.score.trim().to_string()), None);
        }
    }
    (None, None)
}

struct Builder {
    advisories: Vec<Advisory>,
    // ecosystem → name → affected
    ecosystems: BTreeMap<String, BTreeMap<String, Vec<Affected>>>,
    eco_advisories: BTreeMap<String, u64>,
    eco_advisory_seen: std::collections::HashSet<(String, u32)>,
    stats: BuildStats,
    data_modified: Option<String>,
    seen: HashMap<String, usize>,
}

impl Builder {
    fn skip(&mut self, path: String, reason: String) {
        self.stats.skipped_count += 1;
        if self.stats.skipped.len() < MAX_SKIPPED_LISTED {
            self.stats.skipped.push(SkippedFile { path, reason });
        }
    }

    fn add_json(&mut self, path: String, bytes: &[u8]) {
        self.stats.files_read += 1;
        let rec: OsvRecord = match serde_json::from_slice(bytes) {
            Ok(r) => r,
            Err(e) => return self.skip(path, format!("not an OSV record: {e}")),
        };
        if rec.id.trim().is_empty() {
            return self.skip(path, "OSV record without an id".to_string());
        }
        if rec
            .withdrawn
            .as_deref()
            .is_some_and(|w| !w.trim().is_empty())
        {
            self.stats.withdrawn_skipped += 1;
            return;
        }
        if let Some(m) = &rec.modified
            && self.data_modified.as_deref().is_none_or(|d| m.as_str() > d)
        {
            self.data_modified = Some(m.clone());
        }
        if let Some(&prev) = self.seen.get(&rec.id) {
            // The same id from another source (harvested copies): merge its affected entries.
            self.stats.duplicates_merged += 1;
            if let Ok(prev) = u32::try_from(prev) {
                self.add_affected(prev, rec.affected.as_deref().unwrap_or(&[]));
            }
            return;
        }
        let malware = rec.id.starts_with("MAL-");
        let empty: &[OsvSeverity] = &[];
        let affected_list = rec.affected.as_deref().unwrap_or(&[]);
        let mut sev_lists: Vec<&[OsvSeverity]> = vec![rec.severity.as_deref().unwrap_or(empty)];
        sev_lists.extend(
            affected_list
                .iter()
                .map(|a| a.severity.as_deref().unwrap_or(empty)),
        );
        let (cvss_vector, cvss_score) = pick_cvss(&sev_lists);
        let informational = affected_list.iter().any(|a| {
            a.database_specific
                .as_ref()
                .and_then(|d| d.get("informational"))
                .is_some_and(|i| !i.is_null())
        });
        let severity = if malware {
            Severity::Critical
        } else if let Some(score) = cvss_score {
            Severity::from_cvss(score)
        } else if let Some(s) = db_severity(rec.database_specific.as_ref()) {
            s
        } else if let Some(s) = affected_list
            .iter()
            .find_map(|a| db_severity(a.database_specific.as_ref()))
        {
            s
        } else if informational {
            Severity::Info
        } else {
            Severity::Unknown
        };
        let idx = self.advisories.len();
        let Ok(idx32) = u32::try_from(idx) else {
            return self.skip(path, "too many advisories".to_string());
        };
        let mut aliases: Vec<String> = rec.aliases.clone().unwrap_or_default();
        aliases.retain(|a| a != &rec.id);
        aliases.dedup();
        self.advisories.push(Advisory {
            id: rec.id.clone(),
            aliases,
            summary: summarize(&rec),
            malware,
            severity,
            cvss_score,
            cvss_vector,
        });
        self.seen.insert(rec.id.clone(), idx);
        self.stats.advisories += 1;
        if malware {
            self.stats.malware += 1;
        }
        self.add_affected(idx32, affected_list);
    }

    fn add_affected(&mut self, advisory: u32, affected: &[OsvAffected]) {
        for a in affected {
            if let Some((eco, name, entry)) = Self::affected_entry(advisory, a) {
                let list = self
                    .ecosystems
                    .entry(eco.clone())
                    .or_default()
                    .entry(name)
                    .or_default();
                if list.contains(&entry) {
                    continue;
                }
                list.push(entry);
                if self.eco_advisory_seen.insert((eco.clone(), advisory)) {
                    *self.eco_advisories.entry(eco).or_default() += 1;
                }
            }
        }
    }

    fn affected_entry(advisory: u32, a: &OsvAffected) -> Option<(String, String, Affected)> {
        let pkg = a.package.as_ref()?;
        if pkg.name.trim().is_empty() || pkg.ecosystem.trim().is_empty() {
            return None;
        }
        let eco = canonical_ecosystem(&pkg.ecosystem).to_string();
        let release = pkg
            .ecosystem
            .split_once(':')
            .map(|(_, r)| r.trim().to_string())
            .filter(|r| !r.is_empty());
        let scheme = scheme_for(&eco);
        let name = normalize_name(&eco, &pkg.name).into_owned();
        let mut ranges = Vec::new();
        let mut fixed = Vec::new();
        for r in a.ranges.as_deref().unwrap_or(&[]) {
            let semver = match r.kind.as_str() {
                "SEMVER" => true,
                "ECOSYSTEM" => false,
                _ => continue, // GIT ranges are not walked
            };
            let mut events = Vec::new();
            for e in &r.events {
                if let Some(v) = &e.introduced {
                    events.push(Event::Introduced(v.trim().to_string()));
                } else if let Some(v) = &e.fixed {
                    events.push(Event::Fixed(v.trim().to_string()));
                    if !fixed.contains(v) {
                        fixed.push(v.trim().to_string());
                    }
                } else if let Some(v) = &e.last_affected {
                    events.push(Event::LastAffected(v.trim().to_string()));
                }
            }
            sort_events(&mut events, scheme);
            let keys = events
                .iter()
                .map(|e| ParsedVersion::parse(scheme, e.version()))
                .collect();
            ranges.push(Range {
                semver,
                events,
                keys,
            });
        }
        let mut versions: Vec<String> = a
            .versions
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .map(|v| v.trim().to_string())
            .collect();
        versions.sort();
        versions.dedup();
        // Explicit versions the ranges already cover add nothing (PyPI lists every affected release): drop them
        // so lookups only bisect what the ranges do not express.
        versions.retain(|v| {
            let parsed = ParsedVersion::parse(scheme, v);
            !ranges.iter().any(|r| range_contains(r, scheme, v, &parsed))
        });
        Some((
            eco,
            name,
            Affected {
                advisory,
                release,
                ranges,
                versions,
                fixed,
            },
        ))
    }

    fn add_path(&mut self, path: &Path) -> Result<(), DbError> {
        let meta = std::fs::metadata(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                DbError::MissingSource(path.to_path_buf())
            } else {
                DbError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|source| DbError::Io {
                    path: path.to_path_buf(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for p in entries {
                let ft = std::fs::symlink_metadata(&p).map_err(|source| DbError::Io {
                    path: p.clone(),
                    source,
                })?;
                if ft.is_dir() {
                    self.add_path(&p)?;
                } else if ft.is_file() && has_ext(&p, "zip") {
                    self.add_zip(&p)?;
                } else if ft.is_file() && has_ext(&p, "json") {
                    self.add_file(&p, ft.len())?;
                }
            }
            Ok(())
        } else if has_ext(path, "zip") {
            self.add_zip(path)
        } else {
            self.add_file(path, meta.len())
        }
    }

    fn add_file(&mut self, p: &Path, len: u64) -> Result<(), DbError> {
        if len > MAX_RECORD_BYTES {
            self.skip(
                p.display().to_string(),
                format!("{len} bytes, over the {MAX_RECORD_BYTES} limit"),
            );
            return Ok(());
        }
        let bytes = std::fs::read(p).map_err(|source| DbError::Io {
            path: p.to_path_buf(),
            source,
        })?;
        self.add_json(p.display().to_string(), &bytes);
        Ok(())
    }

    fn add_zip(&mut self, path: &Path) -> Result<(), DbError> {
        let zerr = |source| DbError::Zip {
            path: path.to_path_buf(),
            source,
        };
        let f = std::fs::File::open(path).map_err(|source| DbError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut archive = zip::ZipArchive::new(std::io::BufReader::new(f)).map_err(zerr)?;
        let mut buf = Vec::new();
        for i in 0..archive.len() {
            let mut member = archive.by_index(i).map_err(zerr)?;
            if member.is_dir() {
                continue;
            }
            let member_name = match member.name() {
                Ok(n) => n.into_owned(),
                Err(e) => {
                    self.skip(
                        format!("{}!#{i}", path.display()),
                        format!("bad member name: {e}"),
                    );
                    continue;
                }
            };
            if !member_name.ends_with(".json") {
                continue;
            }
            let name = format!("{}!{member_name}", path.display());
            buf.clear();
            let read = (&mut member)
                .take(MAX_RECORD_BYTES + 1)
                .read_to_end(&mut buf);
            match read {
                Ok(_) if buf.len() as u64 > MAX_RECORD_BYTES => {
                    self.skip(name, format!("over the {MAX_RECORD_BYTES} byte limit"));
                }
                Ok(_) => {
                    let bytes = std::mem::take(&mut buf);
                    self.add_json(name, &bytes);
                    buf = bytes;
                }
                Err(e) => self.skip(name, format!("unreadable zip member: {e}")),
            }
        }
        Ok(())
    }

    fn finish(
        self,
        sources: &[PathBuf],
        built_at: DateTime<Utc>,
    ) -> Result<(Body, BuildStats), DbError> {
        let mut stats = self.stats;
        let mut meta_ecos = BTreeMap::new();
        let mut ecosystems = Vec::new();
        for (eco, names) in self.ecosystems {
            let counts = EcosystemCounts {
                advisories: self.eco_advisories.get(&eco).copied().unwrap_or(0),
                packages: names.len() as u64,
                affected: names.values().map(|v| v.len() as u64).sum(),
            };
            meta_ecos.insert(eco.clone(), counts);
            let packages = names
                .into_iter()
                .map(|(name, mut affected)| {
                    for a in &mut affected {
                        a.versions.sort();
                    }
                    let affected = postcard::to_allocvec(&affected)
                        .map_err(|e| DbError::Encode(format!("{eco}/{name}: {e}")))?;
                    Ok(PackageEntry { name, affected })
                })
                .collect::<Result<Vec<_>, DbError>>()?;
            ecosystems.push(EcosystemEntry {
                name: eco,
                packages,
            });
        }
        stats.per_ecosystem = meta_ecos.clone();
        let metadata = Metadata {
            schema_version: FORMAT_VERSION,
            built_at,
            data_modified: self.data_modified,
            sources: sources.iter().map(|p| p.display().to_string()).collect(),
            advisories: stats.advisories,
            malware_advisories: stats.malware,
            ecosystems: meta_ecos,
        };
        Ok((
            Body {
                metadata,
                advisories: self.advisories,
                ecosystems,
            },
            stats,
        ))
    }
}

fn has_ext(p: &Path, ext: &str) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        a.copy_from_slice(s);
    }
    u64::from_le_bytes(a)
}

impl Database {
    /// Builds the index from OSV sources: directories (read recursively: `*.json` files and `*.zip` OSV
    /// exports), zip files, or single JSON files. Withdrawn records are skipped; files that are not OSV
    /// records are counted in [`BuildStats::skipped`]. `built_at` is now.
    pub fn build(sources: &[PathBuf]) -> Result<(Database, BuildStats), DbError> {
        Database::build_at(sources, Utc::now())
    }

    /// [`Database::build`] with an explicit build time (reproducible builds, tests).
    pub fn build_at(
        sources: &[PathBuf],
        built_at: DateTime<Utc>,
    ) -> Result<(Database, BuildStats), DbError> {
        let started = Instant::now();
        let mut b = Builder {
            advisories: Vec::new(),
            ecosystems: BTreeMap::new(),
            eco_advisories: BTreeMap::new(),
            eco_advisory_seen: std::collections::HashSet::new(),
            stats: BuildStats::default(),
            data_modified: None,
            seen: HashMap::new(),
        };
        for s in sources {
            b.add_path(s)?;
        }
        if b.advisories.is_empty() {
            return Err(DbError::NoRecords(sources.to_vec()));
        }
        let (body, mut stats) = b.finish(sources, built_at)?;
        let db = Database::from_raw(body.encode()?)?;
        stats.build_time = started.elapsed();
        Ok((db, stats))
    }

    /// Loads an uncompressed payload: decodes the metadata, the advisory ids and the package names, and
    /// notes where each record is.
    fn from_raw(raw: Vec<u8>) -> Result<Database, DbError> {
        let body: BodyRef<'_> =
            postcard::from_bytes(&raw).map_err(|e| DbError::Decode(e.to_string()))?;
        if body.metadata.schema_version != FORMAT_VERSION {
            return Err(DbError::UnsupportedFormat {
                found: body.metadata.schema_version,
                expected: FORMAT_VERSION,
            });
        }
        let advisories = body
            .advisories
            .iter()
            .map(|a| LazyAdvisory {
                id: Span::of(&raw, a.id.as_bytes()),
                record: Span::of(&raw, a.record),
                decoded: OnceLock::new(),
            })
            .collect();
        let mut index =
            HashMap::with_capacity_and_hasher(body.ecosystems.len(), FastHash::default());
        let mut ecosystems = Vec::with_capacity(body.ecosystems.len());
        for (ei, eco) in body.ecosystems.into_iter().enumerate() {
            let scheme = scheme_for(&eco.name);
            let mut names =
                HashMap::with_capacity_and_hasher(eco.packages.len(), FastHash::default());
            let mut packages = Vec::with_capacity(eco.packages.len());
            for (pi, p) in eco.packages.iter().enumerate() {
                let pi = u32::try_from(pi)
                    .map_err(|_| DbError::Inconsistent("too many packages".to_string()))?;
                names.insert(p.name.to_string(), pi);
                packages.push(LoadedPackage {
                    name: Span::of(&raw, p.name.as_bytes()),
                    affected: Span::of(&raw, p.affected),
                    prepared: OnceLock::new(),
                });
            }
            index.insert(
                eco.name.clone(),
                EcoIndex {
                    scheme,
                    entry: ei,
                    names,
                },
            );
            ecosystems.push(LoadedEcosystem {
                name: eco.name,
                packages,
            });
        }
        Ok(Database {
            metadata: body.metadata,
            raw,
            advisories,
            ecosystems,
            index,
        })
    }

    /// The bytes of `span` (empty if it is not inside the payload: never, spans come from it).
    fn bytes(&self, span: Span) -> &[u8] {
        self.raw.get(span.start..span.end).unwrap_or(&[])
    }

    /// The string at `span` (a `&str` the load decoded, so UTF-8).
    fn text(&self, span: Span) -> &str {
        std::str::from_utf8(self.bytes(span)).unwrap_or("")
    }

    /// Advisory `i`, decoded on first use.
    fn advisory_at(&self, i: usize) -> Result<Option<&Advisory>, DbError> {
        let Some(a) = self.advisories.get(i) else {
            return Ok(None);
        };
        a.decoded
            .get_or_init(|| {
                postcard::from_bytes(self.bytes(a.record))
                    .map_err(|e| format!("advisory #{i}: {e}"))
            })
            .as_ref()
            .map(Some)
            .map_err(|e| DbError::Inconsistent(e.clone()))
    }

    /// How many packages have had their lookup prepared (parsed event versions + table): each is prepared
    /// on its first query, none at load.
    pub fn prepared_packages(&self) -> usize {
        self.ecosystems
            .iter()
            .flat_map(|e| &e.packages)
            .filter(|p| p.prepared.get().is_some())
            .count()
    }

    /// The database's metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// All advisories (each decoded on first use; an error if one does not decode).
    pub fn advisories(&self) -> Result<Vec<&Advisory>, DbError> {
        (0..self.advisories.len())
            .filter_map(|i| self.advisory_at(i).transpose())
            .collect()
    }

    /// The advisory with this id, if indexed (an error if its record does not decode).
    pub fn advisory(&self, id: &str) -> Result<Option<&Advisory>, DbError> {
        match self
            .advisories
            .iter()
            .position(|a| self.bytes(a.id) == id.as_bytes())
        {
            Some(i) => self.advisory_at(i),
            None => Ok(None),
        }
    }

    /// Every (ecosystem, normalized name) in the index, for benchmarks and diagnostics.
    pub fn package_names(&self) -> impl Iterator<Item = (&str, &str)> {
        self.ecosystems.iter().flat_map(move |e| {
            e.packages
                .iter()
                .map(move |p| (e.name.as_str(), self.text(p.name)))
        })
    }

    /// The affected entries indexed for a package (any version). An error when its entries cannot be
    /// decoded (a database written by another build with the same format version, or a bug).
    pub fn affected_entries(&self, ecosystem: &str, name: &str) -> Result<&[Affected], DbError> {
        let eco = canonical_ecosystem(ecosystem);
        let Some(ix) = self.index.get(eco) else {
            return Ok(&[]);
        };
        let name = normalize_name_canonical(eco, name);
        let Some(&pi) = ix.names.get(name.as_ref()) else {
            return Ok(&[]);
        };
        Ok(self
            .prepared(eco, ix, pi)?
            .map_or(&[][..], |p| p.entries.as_slice()))
    }

    /// Package `pi` of `ix`, decoded and prepared on first use (`None`: no such package).
    fn prepared<'a>(
        &'a self,
        eco: &str,
        ix: &'a EcoIndex,
        pi: u32,
    ) -> Result<Option<&'a Prepared>, DbError> {
        let Some(p) = self
            .ecosystems
            .get(ix.entry)
            .and_then(|e| e.packages.get(pi as usize))
        else {
            return Ok(None);
        };
        p.prepared
            .get_or_init(|| {
                Prepared::decode(self.bytes(p.affected), ix.scheme, self.advisories.len())
            })
            .as_ref()
            .map(Some)
            .map_err(|e| DbError::Inconsistent(format!("{eco}/{}: {e}", self.text(p.name))))
    }

    /// Advisories affecting a package version, one [`Match`] per advisory, in index order.
    /// An error when the package's entries cannot be decoded: the caller must not take it for "no match".
    pub fn query(&self, package: &PackageRef) -> Result<Vec<Match<'_>>, DbError> {
        self.query_parts(&package.ecosystem, &package.name, &package.version)
    }

    /// [`Database::query`] on loose parts.
    pub fn query_parts(
        &self,
        ecosystem: &str,
        name: &str,
        version: &str,
    ) -> Result<Vec<Match<'_>>, DbError> {
        self.query_impl(ecosystem, name, version, true)
    }

    /// [`Database::query_parts`] evaluating every affected entry's ranges one by one instead of the
    /// per-package lookup table (the reference the table is checked against; slower).
    #[doc(hidden)]
    pub fn query_parts_linear(
        &self,
        ecosystem: &str,
        name: &str,
        version: &str,
    ) -> Result<Vec<Match<'_>>, DbError> {
        self.query_impl(ecosystem, name, version, false)
    }

    fn push_match<'a>(
        &'a self,
        out: &mut Vec<Match<'a>>,
        a: &'a Affected,
        release: Option<&str>,
    ) -> Result<(), DbError> {
        if release_wanted(release, a)
            && let Some(adv) = self.advisory_at(a.advisory as usize)?
        {
            out.push(Match {
                advisory: adv,
                affected: a,
            });
        }
        Ok(())
    }

    fn query_impl(
        &self,
        ecosystem: &str,
        name: &str,
        version: &str,
        use_table: bool,
    ) -> Result<Vec<Match<'_>>, DbError> {
        let mut out: Vec<Match<'_>> = Vec::new();
        let base = crate::version::base_ecosystem(ecosystem);
        let (eco, ix) = match self.index.get_key_value(base) {
            Some((k, ix)) => (k.as_str(), ix),
            None => {
                let eco = canonical_ecosystem(base);
                match self.index.get_key_value(eco) {
                    Some((k, ix)) => (k.as_str(), ix),
                    None => return Ok(out),
                }
            }
        };
        let release = ecosystem
            .split_once(':')
            .map(|(_, r)| r.trim())
            .filter(|r| !r.is_empty());
        let name = normalize_name_canonical(eco, name);
        let Some(&pi) = ix.names.get(name.as_ref()) else {
            return Ok(out);
        };
        let Some(Prepared { entries, lookup }) = self.prepared(eco, ix, pi)? else {
            return Ok(out);
        };
        if entries.is_empty() {
            return Ok(out);
        }
        let version = version.trim();
        let table = (use_table && !lookup.linear).then_some(lookup);
        match table {
            Some(t) if !version.is_empty() => {
                let parsed = ParsedVersion::parse(ix.scheme, version);
                let in_cell = t.cell_entries(t.cell(&parsed, ix.scheme));
                let version_at = |&(e, v): &(u32, u32)| -> &str {
                    entries
                        .get(e as usize)
                        .and_then(|a| a.versions.get(v as usize))
                        .map_or("", String::as_str)
                };
                let lo = t.explicit.partition_point(|x| version_at(x) < version);
                let hi = lo
                    + t.explicit
                        .get(lo..)
                        .unwrap_or(&[])
                        .partition_point(|x| version_at(x) == version);
                let explicit = t.explicit.get(lo..hi).unwrap_or(&[]);
                if explicit.is_empty() {
                    for &e in in_cell {
                        if let Some(a) = entries.get(e as usize) {
                            self.push_match(&mut out, a, release)?;
                        }
                    }
                } else {
                    let mut all: Vec<u32> = in_cell.to_vec();
                    all.extend(explicit.iter().map(|&(e, _)| e));
                    all.sort_unstable();
                    all.dedup();
                    for e in all {
                        if let Some(a) = entries.get(e as usize) {
                            self.push_match(&mut out, a, release)?;
                        }
                    }
                }
            }
            _ => {
                let parsed = ParsedVersion::parse(ix.scheme, version);
                let mut last = None;
                for (ei, a) in entries.iter().enumerate() {
                    // Entries of one advisory are adjacent; skip the rest once it matched.
                    if last == Some(a.advisory) || !release_wanted(release, a) {
                        continue;
                    }
                    let keys = lookup.keys.get(ei).map_or(&[][..], Vec::as_slice);
                    if a.contains_keyed(keys, ix.scheme, version, &parsed) {
                        last = Some(a.advisory);
                        self.push_match(&mut out, a, release)?;
                    }
                }
            }
        }
        if out.len() > 1 {
            out.sort_by_key(|m| m.affected.advisory);
            out.dedup_by_key(|m| m.affected.advisory);
        }
        Ok(out)
    }

    /// Encodes the database (header + zstd-compressed postcard payload).
    pub fn to_bytes(&self) -> Result<Vec<u8>, DbError> {
        let raw = &self.raw;
        let payload = zstd::bulk::compress(raw, 9).map_err(|e| DbError::Encode(e.to_string()))?;
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&FLAG_ZSTD.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&(raw.len() as u64).to_le_bytes());
        // The checksum covers the header fields before it and the payload.
        let digest = Sha256::new()
            .chain_update(&out[..32])
            .chain_update(&payload)
            .finalize();
        out.extend_from_slice(&digest);
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// Writes the database to `path` (via a temporary file in the same directory, then renamed).
    pub fn write(&self, path: &Path) -> Result<u64, DbError> {
        let bytes = self.to_bytes()?;
        let io = |source| DbError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, &bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(bytes.len() as u64)
    }

    /// Loads a database file.
    pub fn open(path: &Path) -> Result<Database, DbError> {
        let bytes = std::fs::read(path).map_err(|source| DbError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Database::from_bytes(&bytes)
    }

    /// Decodes a database from bytes, verifying header, lengths, checksum and internal references.
    pub fn from_bytes(bytes: &[u8]) -> Result<Database, DbError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(DbError::BadMagic);
        }
        if bytes.len() < HEADER_LEN {
            return Err(DbError::Truncated(format!(
                "{} bytes, header is {HEADER_LEN}",
                bytes.len()
            )));
        }
        let version = read_u32(bytes, 8);
        if version != FORMAT_VERSION {
            return Err(DbError::UnsupportedFormat {
                found: version,
                expected: FORMAT_VERSION,
            });
        }
        let flags = read_u32(bytes, 12);
        if flags & !FLAG_ZSTD != 0 {
            return Err(DbError::Truncated(format!(
                "unknown header flags {flags:#x}"
            )));
        }
        let payload_len = read_u64(bytes, 16);
        let raw_len = read_u64(bytes, 24);
        let payload = &bytes[HEADER_LEN..];
        if payload.len() as u64 != payload_len {
            return Err(DbError::Truncated(format!(
                "payload is {} bytes, header says {payload_len}",
                payload.len()
            )));
        }
        if raw_len > MAX_PAYLOAD {
            return Err(DbError::Truncated(format!(
                "declared size {raw_len} over the {MAX_PAYLOAD} limit"
            )));
        }
        let digest = Sha256::new()
            .chain_update(&bytes[..32])
            .chain_update(payload)
            .finalize();
        if digest.as_slice() != &bytes[32..64] {
            return Err(DbError::Checksum);
        }
        let raw: Cow<'_, [u8]> = if flags & FLAG_ZSTD != 0 {
            let raw = zstd::bulk::decompress(payload, raw_len as usize)
                .map_err(|e| DbError::Decompress(e.to_string()))?;
            Cow::Owned(raw)
        } else {
            Cow::Borrowed(payload)
        };
        if raw.len() as u64 != raw_len {
            return Err(DbError::Truncated(format!(
                "payload decoded to {} bytes, header says {raw_len}",
                raw.len()
            )));
        }
        Database::from_raw(raw.into_owned())
    }

    /// Checks the database's age against `max_age` at `now` (`None`: no limit).
    pub fn check_age(
        &self,
        max_age: Option<Duration>,
        now: DateTime<Utc>,
    ) -> Result<(), StaleDatabase> {
        let Some(max) = max_age else {
            return Ok(());
        };
        let built_at = self.metadata.built_at;
        let age = (now - built_at).to_std().unwrap_or(Duration::ZERO);
        if age > max {
            return Err(StaleDatabase {
                built_at,
                age_hours: age.as_secs() / 3600,
                max_age_hours: max.as_secs() / 3600,
            });
        }
        Ok(())
    }

    /// Checks the database's age against the policy's `max_db_age`, now.
    pub fn check_policy(&self, policy: &VulnerabilityPolicy) -> Result<(), StaleDatabase> {
        self.check_age(policy.max_db_age, Utc::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One PyPI package `pkg` whose encoded entries are `affected`, one advisory.
    fn body_with(affected: Vec<u8>) -> Body {
        Body {
            metadata: Metadata {
                schema_version: FORMAT_VERSION,
                built_at: Utc::now(),
                data_modified: None,
                sources: Vec::new(),
                advisories: 1,
                malware_advisories: 0,
                ecosystems: BTreeMap::new(),
            },
            advisories: vec![Advisory {
                id: "PYSEC-1".to_string(),
                aliases: Vec::new(),
                summary: None,
                malware: false,
                severity: Severity::High,
                cvss_score: None,
                cvss_vector: None,
            }],
            ecosystems: vec![EcosystemEntry {
                name: "PyPI".to_string(),
                packages: vec![PackageEntry {
                    name: "pkg".to_string(),
                    affected,
                }],
            }],
        }
    }

    fn body_with_raw(affected: Vec<u8>) -> Vec<u8> {
        body_with(affected).encode().unwrap()
    }

    fn entries(advisory: u32) -> Vec<u8> {
        postcard::to_allocvec(&vec![Affected {
            advisory,
            release: None,
            ranges: Vec::new(),
            versions: vec!["1.0".to_string()],
            fixed: Vec::new(),
        }])
        .unwrap()
    }

    #[test]
    fn entries_are_decoded_on_a_packages_first_query() {
        let db = Database::from_raw(body_with_raw(entries(0))).unwrap();
        assert_eq!(db.prepared_packages(), 0);
        let m = db.query_parts("PyPI", "pkg", "1.0").unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].advisory.id, "PYSEC-1");
        assert_eq!(db.prepared_packages(), 1);
        assert!(db.query_parts("PyPI", "pkg", "2.0").unwrap().is_empty());
    }

    #[test]
    fn entries_that_do_not_decode_are_an_error_not_no_match() {
        // GIVEN a package whose encoded entries are garbage (the file checksum cannot catch an encoder bug)
        let db = Database::from_raw(body_with_raw(vec![0xff; 7])).unwrap();
        // THEN querying it is an error, every time, and the other packages still answer
        for _ in 0..2 {
            assert!(matches!(
                db.query_parts("PyPI", "pkg", "1.0"),
                Err(DbError::Inconsistent(_))
            ));
        }
        assert!(db.affected_entries("PyPI", "pkg").is_err());
        assert!(db.query_parts("PyPI", "other", "1.0").unwrap().is_empty());
    }

    #[test]
    fn an_advisory_record_that_does_not_decode_is_an_error_not_no_match() {
        // GIVEN a payload whose one advisory record is garbage (written as such, checksum and all)
        let body = body_with(entries(0));
        let raw = postcard::to_allocvec(&BodyOut {
            metadata: &body.metadata,
            advisories: vec![AdvisoryEntry {
                id: "PYSEC-1".to_string(),
                record: vec![0xff; 3],
            }],
            ecosystems: &body.ecosystems,
        })
        .unwrap();
        // THEN it loads (records are decoded on use) and a query that matches it is an error
        let db = Database::from_raw(raw).unwrap();
        assert!(matches!(
            db.query_parts("PyPI", "pkg", "1.0"),
            Err(DbError::Inconsistent(_))
        ));
        assert!(db.advisory("PYSEC-1").is_err());
        assert!(db.advisories().is_err());
        // AND a query that matches nothing still answers
        assert!(db.query_parts("PyPI", "pkg", "2.0").unwrap().is_empty());
        assert_eq!(db.advisory("PYSEC-2").unwrap(), None);
    }

    #[test]
    fn an_entry_naming_a_missing_advisory_is_an_error() {
        let db = Database::from_raw(body_with_raw(entries(5))).unwrap();
        let e = db.query_parts("PyPI", "pkg", "1.0").unwrap_err();
        assert!(e.to_string().contains("advisory #5 of 1"), "{e}");
    }
}
