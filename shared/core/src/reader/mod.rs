//! The safe artifact reader used by every tool.
//!
//! It opens a local file or a byte stream (an S3 GET body), detects formats by content, and walks nested
//! archives recursively — zip family, tar, gzip (multi-member), bzip2, xz, zstd, ar/.deb, rpm (cpio payload),
//! docker-save and OCI image layouts (layers in order, whiteouts applied, per-layer attribution) — handing
//! each file to a [`Visitor`] with its full path (`app.war!/WEB-INF/lib/x.jar!/META-INF/MANIFEST.MF`).
//!
//! Defenses: every decoder output is budgeted (total bytes, per-stream ratio, overall ratio against the
//! artifact — or, for a stream of unknown size, against the bytes consumed so far — and wall time); every
//! entry is bounded (size, declared-vs-actual in both directions; decompressed leaves too); entry counts and
//! nesting depth are capped; decoder memory is capped (xz dictionary, zstd window, RPM headers, in-memory
//! spools across nesting levels); zip entries that overlap are refused; `..`/absolute names, hard links
//! escaping the archive, entries written through an earlier symlink, PAX/ustar size disagreements (member
//! smuggling) and encrypted entries are reported; nothing is ever written to disk under an entry's name and
//! links are never followed. Anything not fully scanned is reported as an [`Issue`] with an
//! [`UnscannableReason`] — the caller turns issues into an UNSCANNABLE verdict. Walk-wide limits (time,
//! total, ratio, entry count, artifact size) abort the walk; per-entry problems are reported and the walk
//! goes on. The hostile corpus in `tests/reader_hostile.rs` pins each of these outcomes.

mod formats;
pub(crate) mod guard;
mod image;
pub mod sniff;

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::model::{ArtifactMetadata, EntryError, Format, UnscannableReason};
use guard::{Budget, EntryGuard, read_full};
pub use guard::{LimitHit, classify};
pub use sniff::sniff;

/// Reader limits (from the policy's `[limits]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest artifact scanned.
    pub max_artifact_bytes: u64,
    /// Total decompressed bytes across all nesting levels.
    pub max_total_bytes: u64,
    /// Largest single entry.
    pub max_entry_bytes: u64,
    /// Highest uncompressed/compressed ratio of one stream (×4 across the whole artifact).
    pub max_ratio: u64,
    /// Most entries.
    pub max_entries: u64,
    /// Deepest nesting of containers (compression layers count).
    pub max_depth: u32,
    /// Wall-time budget of one walk.
    pub max_wall: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        const MIB: u64 = 1024 * 1024;
        Limits {
            max_artifact_bytes: 5120 * MIB,
            max_total_bytes: 8192 * MIB,
            max_entry_bytes: 2048 * MIB,
            max_ratio: 200,
            max_entries: 500_000,
            max_depth: 8,
            max_wall: Duration::from_secs(600),
        }
    }
}

/// What kind of entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// Regular file (content available).
    File,
    /// Directory.
    Directory,
    /// Symbolic link (never followed).
    Symlink {
        /// Link target as stored.
        target: String,
    },
    /// Hard link (tar).
    Hardlink {
        /// Link target as stored.
        target: String,
    },
    /// Devices, FIFOs, metadata records.
    Other,
}

/// One entry as seen by a visitor.
#[derive(Debug, Clone)]
pub struct EntryInfo {
    /// Full path (`outer!/inner!/file`). Untrusted names are normalized and never touch the filesystem.
    pub path: String,
    /// Last path component (transparent compression suffixes like `.gz` stripped).
    pub name: String,
    /// Size declared by the container, when it declares one.
    pub declared_size: Option<u64>,
    /// Format detected from the content.
    pub format: Format,
    /// Nesting depth (0 = the artifact itself).
    pub depth: u32,
    /// Image layer that wrote it.
    pub layer: Option<String>,
    /// Entry kind.
    pub kind: EntryKind,
}

/// Receives the entries of a walk.
///
/// `file` gets a bounded reader over the (decompressed) content. Errors returned from `file` are treated as
/// read failures of that entry: a visitor handles its own parse errors and only propagates I/O errors.
pub trait Visitor {
    /// Whether the visitor wants the content of this file (default: yes). Skipped files are still counted.
    fn wants(&mut self, _entry: &EntryInfo) -> bool {
        true
    }
    /// A file's content.
    fn file(&mut self, entry: &EntryInfo, content: &mut dyn Read) -> io::Result<()>;
    /// A nested container about to be unpacked (its entries follow).
    fn container(&mut self, _entry: &EntryInfo) {}
    /// Directories, links and special entries.
    fn other(&mut self, _entry: &EntryInfo) {}
}

/// Something that was not (fully) scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Where.
    pub path: String,
    /// Why.
    pub reason: UnscannableReason,
    /// Details: limit values, offsets, the underlying error.
    pub detail: String,
}

/// The outcome of a walk.
#[derive(Debug, Clone)]
pub struct WalkReport {
    /// Artifact metadata (digest, size, outer format).
    pub metadata: ArtifactMetadata,
    /// Entries seen (files, directories, links), all levels.
    pub entries: u64,
    /// Files handed to (or offered to) the visitor.
    pub files: u64,
    /// Bytes the visitor read.
    pub bytes_read: u64,
    /// Bytes produced by decompression.
    pub decompressed: u64,
    /// What could not be scanned (capped at [`MAX_ISSUES`], see `issues_dropped`).
    pub issues: Vec<Issue>,
    /// Issues beyond the cap.
    pub issues_dropped: u64,
    /// Per-entry read errors reported by the visitor.
    pub errors: Vec<EntryError>,
    /// True when a walk-wide limit stopped the walk early.
    pub aborted: bool,
}

impl WalkReport {
    /// True when everything was scanned.
    pub fn complete(&self) -> bool {
        self.issues.is_empty() && !self.aborted
    }
}

/// Most issues kept in a report.
pub const MAX_ISSUES: usize = 200;

/// Errors that prevent a walk from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReaderError {
    /// The artifact does not exist.
    #[error("artifact not found: {path}")]
    NotFound {
        /// The path or name.
        path: String,
    },
    /// The artifact could not be opened or spooled.
    #[error("cannot read artifact {path}: {source}")]
    Io {
        /// The path or name.
        path: String,
        /// Cause.
        #[source]
        source: io::Error,
    },
}

/// Options of one walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Limits.
    pub limits: Limits,
    /// An external deadline (e.g. the Lambda deadline minus a margin); the earlier of this and
    /// `limits.max_wall` applies.
    pub deadline: Option<Instant>,
    /// Directory for spool files (default: the system temp dir).
    pub spool_dir: Option<std::path::PathBuf>,
}

impl WalkOptions {
    /// Options with the given limits and no external deadline.
    pub fn new(limits: Limits) -> WalkOptions {
        WalkOptions {
            limits,
            deadline: None,
            spool_dir: None,
        }
    }

    fn deadline(&self) -> Instant {
        let now = Instant::now();
        // A huge `max_wall` from a policy must not overflow `Instant` (that panics): cap it at a year.
        let own = now
            .checked_add(self.limits.max_wall)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600));
        match self.deadline {
            Some(d) if d < own => d,
            _ => own,
        }
    }
}

/// Nested archives up to this size are spooled in memory; larger ones go to an anonymous temp file.
const MEM_SPOOL: u64 = 32 * 1024 * 1024;

/// Most bytes spooled in memory at once across nesting levels (a zip in a zip in a zip… each up to
/// [`MEM_SPOOL`] would otherwise multiply).
const MEM_SPOOL_TOTAL: u64 = 64 * 1024 * 1024;

/// xz decoder memory cap in KiB (`xz -9` needs about 65 MiB to decode).
const XZ_MEM_LIMIT_KIB: u32 = 96 * 1024;

/// Walks a local file.
pub fn walk_path(
    path: &Path,
    display_name: &str,
    opts: &WalkOptions,
    visitor: &mut dyn Visitor,
) -> Result<WalkReport, ReaderError> {
    let io_err = |source: io::Error| {
        if source.kind() == io::ErrorKind::NotFound {
            ReaderError::NotFound {
                path: display_name.to_string(),
            }
        } else {
            ReaderError::Io {
                path: display_name.to_string(),
                source,
            }
        }
    };
    let file = File::open(path).map_err(io_err)?;
    let size = file.metadata().map_err(io_err)?.len();
    let mut walker = Walker::new(opts, visitor);
    let top_name = base_name(display_name);
    walker.budget.artifact_size.set(size);
    if size > opts.limits.max_artifact_bytes {
        let mut head = vec![0u8; sniff::SNIFF_LEN];
        let n = read_full(&mut &file, &mut head).map_err(io_err)?;
        walker.issue(
            &top_name,
            UnscannableReason::ArtifactTooLarge,
            format!(
                "{size} bytes exceeds the {}-byte artifact limit",
                opts.limits.max_artifact_bytes
            ),
        );
        return Ok(walker.finish(ArtifactMetadata {
            sha256: None,
            size,
            format: sniff(&head[..n]),
        }));
    }
    let format = if walker.deadline_passed(&top_name) {
        let mut head = vec![0u8; sniff::SNIFF_LEN];
        let n = read_full(&mut &file, &mut head).map_err(io_err)?;
        sniff(&head[..n])
    } else {
        walker.walk_file(file, &top_name, size).map_err(io_err)?
    };
    let sha256 = if walker.timed_out() {
        None
    } else {
        Some(hash_file(path).map_err(io_err)?)
    };
    Ok(walker.finish(ArtifactMetadata {
        sha256,
        size,
        format,
    }))
}

/// Walks a byte stream (e.g. an S3 body). Formats that need random access (zip, and tar so that container
/// images can be recognised) are spooled to a temp file first; everything else is streamed.
pub fn walk_reader(
    reader: &mut dyn Read,
    display_name: &str,
    size_hint: Option<u64>,
    opts: &WalkOptions,
    visitor: &mut dyn Visitor,
) -> Result<WalkReport, ReaderError> {
    let io_err = |source: io::Error| ReaderError::Io {
        path: display_name.to_string(),
        source,
    };
    let top_name = base_name(display_name);
    let mut walker = Walker::new(opts, visitor);
    let limit = opts.limits.max_artifact_bytes;
    if let Some(size) = size_hint {
        walker.budget.artifact_size.set(size);
        if size > limit {
            walker.issue(
                &top_name,
                UnscannableReason::ArtifactTooLarge,
                format!("{size} bytes exceeds the {limit}-byte artifact limit"),
            );
            return Ok(walker.finish(ArtifactMetadata {
                sha256: None,
                size,
                format: Format::Binary,
            }));
        }
    }
    let mut hashing = HashingReader {
        inner: reader,
        hasher: Sha256::new(),
        count: 0,
        limit,
        progress: None,
    };
    let mut head = vec![0u8; sniff::SNIFF_LEN];
    let n = match read_full(&mut hashing, &mut head) {
        Ok(n) => n,
        // The artifact limit can be hit while reading the first bytes of a stream of unknown size.
        Err(e) if classify(&e).is_some() => {
            let _ = walker.fail(&top_name, &e);
            return Ok(walker.finish(ArtifactMetadata {
                sha256: None,
                size: hashing.count,
                format: sniff(&head),
            }));
        }
        Err(e) => return Err(io_err(e)),
    };
    head.truncate(n);
    let format = sniff(&head);
    if walker.deadline_passed(&top_name) {
        return Ok(walker.finish(ArtifactMetadata {
            sha256: None,
            size: hashing.count,
            format,
        }));
    }
    if matches!(format, Format::Zip | Format::Tar) {
        // Spool to an anonymous temp file (no name of ours or the artifact's on disk), hashing as we go.
        let mut spool = match &opts.spool_dir {
            Some(d) => tempfile::tempfile_in(d),
            None => tempfile::tempfile(),
        }
        .map_err(io_err)?;
        spool.write_all(&head).map_err(io_err)?;
        let copied = io::copy(&mut hashing, &mut spool);
        if let Err(e) = copied {
            if let Some(hit) = classify(&e) {
                walker.issue(&top_name, hit.reason, hit.detail);
                return Ok(walker.finish(ArtifactMetadata {
                    sha256: None,
                    size: hashing.count,
                    format,
                }));
            }
            return Err(io_err(e));
        }
        let size = hashing.count;
        let sha = hex::encode(hashing.hasher.finalize());
        spool.seek(SeekFrom::Start(0)).map_err(io_err)?;
        walker.budget.artifact_size.set(size);
        walker.walk_file(spool, &top_name, size).map_err(io_err)?;
        return Ok(walker.finish(ArtifactMetadata {
            sha256: Some(sha),
            size,
            format,
        }));
    }
    if size_hint.is_none() {
        // Unknown size: the overall ratio is judged against the compressed bytes consumed so far (at least
        // what the decoders have used, so never an overestimate of the ratio).
        walker.budget.artifact_size.set(hashing.count);
        hashing.progress = Some(walker.budget.clone());
    }
    let mut stream = Cursor::new(head).chain(&mut hashing);
    let _ = walker.stream(&top_name, &top_name, None, None, 0, false, &mut stream);
    let timed_out = walker.timed_out();
    drop(stream);
    // Finish the digest over the whole body unless time is up (bounded by the artifact limit).
    let complete = if timed_out {
        false
    } else {
        match guard::drain(&mut hashing) {
            Ok(_) => true,
            Err(e) => {
                if let Some(hit) = classify(&e) {
                    walker.issue(&top_name, hit.reason, hit.detail);
                    false
                } else {
                    return Err(io_err(e));
                }
            }
        }
    };
    let size = hashing.count;
    let sha256 = complete.then(|| hex::encode(hashing.hasher.clone().finalize()));
    Ok(walker.finish(ArtifactMetadata {
        sha256,
        size,
        format,
    }))
}

fn hash_file(path: &Path) -> io::Result<String> {
    let mut f = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

struct HashingReader<'a> {
    inner: &'a mut dyn Read,
    hasher: Sha256,
    count: u64,
    limit: u64,
    /// When the size is unknown: the budget whose artifact size follows the bytes read.
    progress: Option<Rc<Budget>>,
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        if let Some(b) = &self.progress {
            b.artifact_size.set(self.count);
        }
        if self.count > self.limit {
            return Err(LimitHit::io(
                UnscannableReason::ArtifactTooLarge,
                format!("more than {} bytes exceeds the artifact limit", self.limit),
            ));
        }
        Ok(n)
    }
}

/// Last component of a display name (`s3://b/dir/x.tgz` → `x.tgz`).
pub fn base_name(display: &str) -> String {
    let trimmed = display.trim_end_matches('/');
    let name = trimmed.rsplit(['/', '\\']).next().unwrap_or(trimmed);
    if name.is_empty() {
        "artifact".to_string()
    } else {
        name.to_string()
    }
}

/// Walk-wide stop signal: a limit that ends the whole walk was hit (already recorded as an issue).
#[derive(Debug)]
pub(crate) struct Abort;

pub(crate) type Flow = Result<(), Abort>;

pub(crate) struct Walker<'v> {
    pub budget: Rc<Budget>,
    visitor: &'v mut dyn Visitor,
    issues: Vec<Issue>,
    issues_dropped: u64,
    errors: Vec<EntryError>,
    bytes_read: u64,
    files: u64,
    aborted: bool,
    /// Set while a container-image layer is being opened; the first tar reached takes it (layer id).
    pub pending_layer: Option<String>,
    /// Whiteout/shadowing state of the image being walked (top layer first).
    pub image_filter: Option<image::LayerFilter>,
    /// Where spool files go.
    spool_dir: Option<std::path::PathBuf>,
    /// Bytes of nested archives currently spooled in memory (all nesting levels together).
    mem_spooled: u64,
}

impl<'v> Walker<'v> {
    fn new(opts: &WalkOptions, visitor: &'v mut dyn Visitor) -> Walker<'v> {
        Walker {
            budget: Budget::new(opts.limits.clone(), opts.deadline()),
            visitor,
            issues: Vec::new(),
            issues_dropped: 0,
            errors: Vec::new(),
            bytes_read: 0,
            files: 0,
            aborted: false,
            pending_layer: None,
            image_filter: None,
            spool_dir: opts.spool_dir.clone(),
            mem_spooled: 0,
        }
    }

    /// Records a timeout and returns true when the deadline has already passed before the walk starts.
    fn deadline_passed(&mut self, path: &str) -> bool {
        match self.budget.check_time() {
            Ok(()) => false,
            Err(e) => {
                let _ = self.fail(path, &e);
                true
            }
        }
    }

    fn finish(self, metadata: ArtifactMetadata) -> WalkReport {
        WalkReport {
            metadata,
            entries: self.budget.entries.get(),
            files: self.files,
            bytes_read: self.bytes_read,
            decompressed: self.budget.decompressed.get(),
            issues: self.issues,
            issues_dropped: self.issues_dropped,
            errors: self.errors,
            aborted: self.aborted,
        }
    }

    fn timed_out(&self) -> bool {
        self.issues
            .iter()
            .any(|i| i.reason == UnscannableReason::Timeout)
    }

    pub fn issue(&mut self, path: &str, reason: UnscannableReason, detail: String) {
        if self.issues.len() >= MAX_ISSUES {
            self.issues_dropped += 1;
            return;
        }
        // One issue per (path, reason) is enough.
        if self
            .issues
            .iter()
            .any(|i| i.path == path && i.reason == reason)
        {
            return;
        }
        self.issues.push(Issue {
            path: path.to_string(),
            reason,
            detail,
        });
    }

    /// Records an error met while reading `path`. Walk-wide limits abort the walk.
    pub fn fail(&mut self, path: &str, err: &(dyn std::error::Error + 'static)) -> Flow {
        match classify(err) {
            Some(hit) => {
                let walk_wide = matches!(
                    hit.reason,
                    UnscannableReason::Timeout
                        | UnscannableReason::TotalSizeExceeded
                        | UnscannableReason::TooManyEntries
                        | UnscannableReason::CompressionRatioExceeded
                        | UnscannableReason::ArtifactTooLarge
                );
                self.issue(path, hit.reason, hit.detail);
                if walk_wide {
                    self.aborted = true;
                    return Err(Abort);
                }
                Ok(())
            }
            None => {
                self.issue(path, UnscannableReason::Corrupt, error_chain(err));
                Ok(())
            }
        }
    }

    /// Walks an artifact that is a seekable file (top level).
    fn walk_file(&mut self, mut file: File, name: &str, _size: u64) -> io::Result<Format> {
        let mut head = vec![0u8; sniff::SNIFF_LEN];
        let n = read_full(&mut file, &mut head)?;
        head.truncate(n);
        let format = sniff(&head);
        file.seek(SeekFrom::Start(0))?;
        let info = EntryInfo {
            path: name.to_string(),
            name: name.to_string(),
            declared_size: None,
            format,
            depth: 0,
            layer: None,
            kind: EntryKind::File,
        };
        match format {
            Format::Zip => {
                self.visitor.container(&info);
                let _ = self.zip(name, 0, BufReader::with_capacity(64 * 1024, file), None);
            }
            Format::Tar => {
                let _ = self.top_tar(name, file, &info);
            }
            _ => {
                let mut r = BufReader::with_capacity(256 * 1024, file);
                let _ = self.stream(name, name, None, None, 0, false, &mut r);
            }
        }
        Ok(format)
    }

    /// Handles one entry of a container: counts it, reports non-files, bounds and streams files.
    ///
    /// `short` is what ending before the declared size means: [`UnscannableReason::LyingSize`] where the
    /// container's framing does not depend on the size (zip), [`UnscannableReason::Corrupt`] (truncated)
    /// for stream containers.
    #[allow(clippy::too_many_arguments)]
    pub fn entry(
        &mut self,
        parent: &str,
        raw_name: &str,
        kind: EntryKind,
        declared: Option<u64>,
        layer: Option<&str>,
        depth: u32,
        short: UnscannableReason,
        reader: &mut dyn Read,
    ) -> Flow {
        let (norm, unsafe_name) = normalize_name(raw_name);
        let path = format!("{parent}!/{norm}");
        if let Err(e) = self.budget.count_entry() {
            return self.fail(&path, &e);
        }
        if unsafe_name {
            self.issue(
                &path,
                UnscannableReason::UnsafeEntryName,
                format!(
                    "entry name `{}` escapes the archive",
                    raw_name.escape_debug()
                ),
            );
        }
        let name = norm.rsplit('/').next().unwrap_or(&norm).to_string();
        if kind != EntryKind::File {
            if let EntryKind::Hardlink { target } | EntryKind::Symlink { target } = &kind
                && matches!(kind, EntryKind::Hardlink { .. })
                && normalize_name(target).1
            {
                self.issue(
                    &path,
                    UnscannableReason::UnsafeEntryName,
                    format!(
                        "hard link to `{}` escapes the archive",
                        target.escape_debug()
                    ),
                );
            }
            let info = EntryInfo {
                path,
                name,
                declared_size: declared,
                format: Format::Empty,
                depth,
                layer: layer.map(str::to_string),
                kind,
            };
            self.visitor.other(&info);
            return Ok(());
        }
        let max = self.budget.limits.max_entry_bytes;
        if let Some(d) = declared
            && d > max
        {
            self.issue(
                &path,
                UnscannableReason::EntryTooLarge,
                format!("declares {d} bytes, over the {max}-byte entry limit"),
            );
            return Ok(());
        }
        let path_rc: Rc<str> = Rc::from(path.as_str());
        let mut guarded = EntryGuard {
            inner: reader,
            read: 0,
            max,
            declared,
            path: path_rc,
            short,
        };
        self.stream(&path, &name, declared, layer, depth, false, &mut guarded)
    }

    /// Sniffs a stream and either unpacks it (container) or hands it to the visitor (leaf).
    ///
    /// `bound_leaf`: the stream is not already an entry bounded by [`EntryGuard`] (decompressed output, an
    /// image layer): if it turns out to be a leaf, the per-entry size limit is applied here. Containers are
    /// not bounded by it (a 3 GiB layer of small files is fine); their entries are.
    #[allow(clippy::too_many_arguments)]
    pub fn stream(
        &mut self,
        path: &str,
        name: &str,
        declared: Option<u64>,
        layer: Option<&str>,
        depth: u32,
        bound_leaf: bool,
        r: &mut dyn Read,
    ) -> Flow {
        let mut head = vec![0u8; sniff::SNIFF_LEN];
        let n = match read_full(r, &mut head) {
            Ok(n) => n,
            Err(e) => return self.fail(path, &e),
        };
        head.truncate(n);
        let format = sniff(&head);
        let info = EntryInfo {
            path: path.to_string(),
            name: name.to_string(),
            declared_size: declared,
            format,
            depth,
            layer: layer.map(str::to_string),
            kind: EntryKind::File,
        };
        let mut chained = Cursor::new(head).chain(r);
        if format.is_container() && depth < self.budget.limits.max_depth {
            self.visitor.container(&info);
            return self.container(info, &mut chained);
        }
        if format.is_container() {
            self.issue(
                path,
                UnscannableReason::DepthExceeded,
                format!(
                    "{format} nested deeper than {} levels",
                    self.budget.limits.max_depth
                ),
            );
        }
        if matches!(format, Format::SevenZip | Format::Rar) {
            self.issue(
                path,
                UnscannableReason::UnsupportedFormat,
                format!("{format} archives are recognised but not unpacked"),
            );
        }
        if bound_leaf {
            let mut bounded = EntryGuard {
                inner: &mut chained,
                read: 0,
                max: self.budget.limits.max_entry_bytes,
                declared: None,
                path: Rc::from(path),
                short: UnscannableReason::Corrupt,
            };
            return self.leaf(info, &mut bounded);
        }
        self.leaf(info, &mut chained)
    }

    fn leaf(&mut self, info: EntryInfo, r: &mut dyn Read) -> Flow {
        self.files += 1;
        if !self.visitor.wants(&info) {
            return Ok(());
        }
        let counter = Rc::new(Cell::new(0u64));
        let mut counting = guard::LeafReader {
            inner: r,
            count: counter.clone(),
            budget: self.budget.clone(),
            next_check: 0,
        };
        let res = self.visitor.file(&info, &mut counting);
        self.bytes_read += counter.get();
        match res {
            Ok(()) => Ok(()),
            Err(e) => {
                if classify(&e).is_none() {
                    self.errors.push(EntryError {
                        path: info.path.clone(),
                        message: error_chain(&e),
                    });
                }
                self.fail(&info.path, &e)
            }
        }
    }

    fn container(&mut self, info: EntryInfo, r: &mut dyn Read) -> Flow {
        let path = info.path.as_str();
        let depth = info.depth;
        let layer = info.layer.as_deref();
        match info.format {
            Format::Gzip | Format::Bzip2 | Format::Xz | Format::Zstd => {
                let input = Rc::new(Cell::new(0u64));
                let counted = guard::Counting {
                    inner: r,
                    count: input.clone(),
                };
                let inner_name = strip_compression_suffix(&info.name);
                let decoder: Box<dyn Read + '_> = match info.format {
                    Format::Gzip => {
                        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(counted)))
                    }
                    Format::Bzip2 => {
                        Box::new(bzip2::read::MultiBzDecoder::new(BufReader::new(counted)))
                    }
                    Format::Xz => {
                        // Decoder memory cap: xz presets use at most 64 MiB dictionaries (-9/-9e).
                        Box::new(lzma_rust2::XzReader::new_mem_limit(
                            counted,
                            true,
                            XZ_MEM_LIMIT_KIB,
                        ))
                    }
                    _ => match zstd::stream::read::Decoder::new(counted) {
                        Ok(mut d) => {
                            // Refuse windows above 128 MiB (memory cap against zstd window bombs).
                            if let Err(e) = d.window_log_max(27) {
                                return self.fail(path, &e);
                            }
                            Box::new(d)
                        }
                        Err(e) => return self.fail(path, &e),
                    },
                };
                let mut guarded = guard::DecodeGuard {
                    inner: decoder,
                    budget: self.budget.clone(),
                    input,
                    output: 0,
                    what: info.format.as_str(),
                };
                let issues_before = (self.issues.len(), self.issues_dropped);
                self.stream(
                    path,
                    &inner_name,
                    None,
                    layer,
                    depth + 1,
                    true,
                    &mut guarded,
                )?;
                // The visitor may have skipped the inner file (not a format it scans) or a tar may end before
                // the stream does: decode the rest, so a truncated or corrupt stream is reported whatever
                // the visitor wanted (budgets still apply). Not repeated when the inner walk already failed.
                if (self.issues.len(), self.issues_dropped) != issues_before {
                    return Ok(());
                }
                match io::copy(&mut guarded, &mut io::sink()) {
                    Ok(_) => Ok(()),
                    Err(e) => self.fail(path, &e),
                }
            }
            Format::Tar => self.tar(path, depth, r, layer),
            Format::Zip => match self.spool(path, r) {
                Ok(Some(spool)) => {
                    let held = spool.mem_len();
                    let flow = self.zip(path, depth, spool, layer);
                    self.mem_spooled = self.mem_spooled.saturating_sub(held);
                    flow
                }
                Ok(None) => Ok(()),
                Err(abort) => Err(abort),
            },
            Format::Ar => self.ar(path, depth, r, layer),
            Format::Rpm => self.rpm(path, depth, r, layer),
            Format::Cpio => self.cpio(path, depth, r, layer),
            _ => self.leaf(info, r),
        }
    }

    /// Copies a nested archive that needs random access into memory or an anonymous temp file. Memory
    /// spools of all nesting levels together stay under [`MEM_SPOOL_TOTAL`].
    fn spool(&mut self, path: &str, r: &mut dyn Read) -> Result<Option<Spool>, Abort> {
        let cap = MEM_SPOOL.min(MEM_SPOOL_TOTAL.saturating_sub(self.mem_spooled));
        let mut mem = Vec::new();
        match r.take(cap + 1).read_to_end(&mut mem) {
            Ok(_) => {}
            Err(e) => {
                self.fail(path, &e)?;
                return Ok(None);
            }
        }
        if (mem.len() as u64) <= cap {
            mem.shrink_to_fit();
            self.mem_spooled += mem.len() as u64;
            return Ok(Some(Spool::Mem(Cursor::new(mem))));
        }
        let made = match &self.spool_dir {
            Some(d) => tempfile::tempfile_in(d),
            None => tempfile::tempfile(),
        };
        let mut file = match made {
            Ok(f) => f,
            Err(e) => {
                self.fail(path, &e)?;
                return Ok(None);
            }
        };
        let res = file
            .write_all(&mem)
            .and_then(|_| {
                drop(std::mem::take(&mut mem));
                io::copy(r, &mut file)
            })
            .and_then(|_| file.seek(SeekFrom::Start(0)));
        if let Err(e) = res {
            self.fail(path, &e)?;
            return Ok(None);
        }
        Ok(Some(Spool::File(BufReader::new(file))))
    }
}

/// A random-access copy of a nested archive.
pub(crate) enum Spool {
    Mem(Cursor<Vec<u8>>),
    File(BufReader<File>),
}

impl Spool {
    /// Bytes held in memory.
    fn mem_len(&self) -> u64 {
        match self {
            Spool::Mem(c) => c.get_ref().len() as u64,
            Spool::File(_) => 0,
        }
    }
}

impl Read for Spool {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Spool::Mem(c) => c.read(buf),
            Spool::File(f) => f.read(buf),
        }
    }
}

impl Seek for Spool {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Spool::Mem(c) => c.seek(pos),
            Spool::File(f) => f.seek(pos),
        }
    }
}

/// Renders an error with its causes (`a: b: c`).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let m = e.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = e.source();
    }
    s
}

/// Normalizes an entry name for display and matching: backslashes to `/`, leading `./` and `/` removed,
/// `.` segments dropped. Returns whether the name was unsafe (absolute, drive-letter or `..` segment).
pub fn normalize_name(raw: &str) -> (String, bool) {
    let unified = raw.replace('\\', "/");
    let mut unsafe_name = unified.starts_with('/')
        || (unified.len() >= 2
            && unified.as_bytes()[1] == b':'
            && unified.as_bytes()[0].is_ascii_alphabetic());
    let mut parts: Vec<&str> = Vec::new();
    for seg in unified.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                unsafe_name = true;
                parts.push("..");
            }
            s => parts.push(s),
        }
    }
    let mut norm = parts.join("/");
    if norm.is_empty() {
        norm = ".".to_string();
    }
    // Control characters would make logs and paths ambiguous.
    if norm.chars().any(|c| c.is_control()) {
        norm = norm
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
    }
    (norm, unsafe_name)
}

fn strip_compression_suffix(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    for (suffix, replacement) in [
        (".tgz", ".tar"),
        (".tbz2", ".tar"),
        (".txz", ".tar"),
        (".tzst", ".tar"),
        (".gz", ""),
        (".bz2", ""),
        (".xz", ""),
        (".zst", ""),
    ] {
        if lower.ends_with(suffix) && name.len() > suffix.len() {
            return format!("{}{}", &name[..name.len() - suffix.len()], replacement);
        }
    }
    name.to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized_and_unsafe_ones_flagged() {
        assert_eq!(normalize_name("./a/b.txt"), ("a/b.txt".into(), false));
        assert_eq!(
            normalize_name("../../etc/passwd"),
            ("../../etc/passwd".into(), true)
        );
        assert_eq!(normalize_name("/etc/passwd"), ("etc/passwd".into(), true));
        assert_eq!(normalize_name("a\\..\\..\\x"), ("a/../../x".into(), true));
        assert_eq!(normalize_name("C:/win.ini"), ("C:/win.ini".into(), true));
        assert_eq!(normalize_name("a/./b//c"), ("a/b/c".into(), false));
        assert_eq!(normalize_name("a\u{1b}[31m"), ("a?[31m".into(), false));
    }

    #[test]
    fn compression_suffixes() {
        assert_eq!(strip_compression_suffix("x.tgz"), "x.tar");
        assert_eq!(strip_compression_suffix("x.tar.gz"), "x.tar");
        assert_eq!(strip_compression_suffix("README.GZ"), "README");
        assert_eq!(strip_compression_suffix(".gz"), ".gz");
    }

    #[test]
    fn base_names() {
        assert_eq!(base_name("s3://b/dir/x.tgz"), "x.tgz");
        assert_eq!(base_name("x"), "x");
        assert_eq!(base_name("dir/"), "dir");
    }
}
