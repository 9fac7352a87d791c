//! The shared tool conformance check (feature `test-util`): every [`SecurityTool`] must give deterministic
//! results, an explicit result on hostile or broken input (never a panic, never `succeeded` without findings
//! when something was not scanned), report the limits the reader hit as typed unscannable findings, find what
//! it finds inside nested archives, and keep a non-empty, stable name and version.
//!
//! Every fixture is generated here in code (tar, gzip, zip, pseudo-random bytes): nothing binary is stored.
//! Each tool crate calls it from its own `tests/conformance.rs`:
//!
//! ```ignore
//! let tool = MyTool::new();
//! Conformance::new(&tool)
//!     .payload("package.json", br#"{"name":"x","version":"1.0.0","license":"AGPL-3.0-only"}"#.to_vec())
//!     .run()
//!     .await;
//! ```

use std::fmt;
use std::io::{Cursor, Read, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::FutureExt;

use crate::model::{
    ArtifactRef, Finding, FindingDetail, FindingKind, LocalFileRef, SCHEMA_VERSION, ToolResult,
    ToolStatus, UnscannableReason,
};
use crate::policy::Policy;
use crate::reader::{Limits, ReaderError};
use crate::tool::{ArtifactSource, LocalFile, SecurityTool, ToolConfiguration, ToolContext};

/// An in-memory artifact read as a stream (no local path): the path S3 objects take through the reader.
#[derive(Debug, Clone)]
pub struct MemorySource {
    name: String,
    bytes: Arc<Vec<u8>>,
}

impl MemorySource {
    /// `bytes` under the display name `name`.
    pub fn new(name: impl Into<String>, bytes: Vec<u8>) -> MemorySource {
        MemorySource {
            name: name.into(),
            bytes: Arc::new(bytes),
        }
    }
}

impl ArtifactSource for MemorySource {
    fn open(&self) -> Result<Box<dyn Read + Send>, ReaderError> {
        Ok(Box::new(Cursor::new(SharedBytes(self.bytes.clone()))))
    }
    fn local_path(&self) -> Option<&Path> {
        None
    }
    fn size_hint(&self) -> Option<u64> {
        Some(self.bytes.len() as u64)
    }
    fn display_name(&self) -> String {
        self.name.clone()
    }
}

struct SharedBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

/// Fixture builders (deterministic: the same call always gives the same bytes).
pub mod fixtures {
    use super::*;

    /// `len` pseudo-random bytes from `seed` (splitmix64): incompressible and reproducible.
    pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed;
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            out.extend_from_slice(&z.to_le_bytes());
        }
        out.truncate(len);
        // Never start with a known magic number: a leading 0x00 0xff pair matches no container format.
        if len >= 2 {
            out[0] = 0x00;
            out[1] = 0xff;
        }
        out
    }

    /// A ustar archive of `files` (mode 0644, mtime 0).
    pub fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(0);
            h.set_entry_type(tar::EntryType::Regular);
            // Writing into a Vec cannot fail; names are short ASCII literals of this module.
            if b.append_data(&mut h, name, *data).is_err() {
                unreachable_fixture("tar entry");
            }
        }
        b.into_inner()
            .unwrap_or_else(|_| unreachable_fixture("tar finish"))
    }

    /// gzip of `bytes` (default level, no name, mtime 0).
    pub fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        if enc.write_all(bytes).is_err() {
            unreachable_fixture("gzip write");
        }
        enc.finish()
            .unwrap_or_else(|_| unreachable_fixture("gzip finish"))
    }

    /// A zip of `files`, deflated (fixed timestamps).
    pub fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default());
        for (name, data) in files {
            if w.start_file(*name, opts).is_err() || w.write_all(data).is_err() {
                unreachable_fixture("zip entry");
            }
        }
        w.finish()
            .unwrap_or_else(|_| unreachable_fixture("zip finish"))
            .into_inner()
    }

    /// Fixture writers only write to memory; a failure is a defect of the harness itself.
    #[allow(clippy::panic)]
    fn unreachable_fixture(what: &str) -> ! {
        panic!("conformance fixture: in-memory {what} failed")
    }
}

/// One case the harness ran, with the outcome it saw.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    /// Case name (`truncated gzip`, `per-entry limit` …).
    pub case: &'static str,
    /// Status of the tool result (`None` when the tool returned an error or panicked).
    pub status: Option<ToolStatus>,
    /// Unscannable reasons reported.
    pub unscannable: Vec<UnscannableReason>,
    /// Findings of other kinds.
    pub findings: usize,
}

/// What a conformance run saw: every case with its outcome, and every violated rule.
#[derive(Debug, Clone, Default)]
pub struct ConformanceReport {
    /// Tool name.
    pub tool: String,
    /// Tool version.
    pub version: String,
    /// Cases run.
    pub cases: Vec<CaseOutcome>,
    /// Violations (empty when the tool conforms).
    pub failures: Vec<String>,
}

impl ConformanceReport {
    /// True when no rule was violated.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

impl fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "conformance of {} {}:", self.tool, self.version)?;
        for c in &self.cases {
            let status = c
                .status
                .map_or("no result".to_string(), |s| format!("{s:?}"));
            let reasons: Vec<&str> = c.unscannable.iter().map(|r| r.as_str()).collect();
            writeln!(
                f,
                "  {:<34} {:<20} unscannable {:?}, {} other findings",
                c.case, status, reasons, c.findings
            )?;
        }
        if self.failures.is_empty() {
            writeln!(f, "  all rules hold")
        } else {
            writeln!(f, "  {} violation(s):", self.failures.len())?;
            for v in &self.failures {
                writeln!(f, "  - {v}")?;
            }
            Ok(())
        }
    }
}

/// The conformance check of one tool. Build it with [`Conformance::new`], add what the tool needs, then
/// [`run`](Conformance::run) (asserts) or [`check`](Conformance::check) (returns the report).
pub struct Conformance<'a> {
    tool: &'a dyn SecurityTool,
    second: Option<&'a dyn SecurityTool>,
    config: ToolConfiguration,
    policy: Arc<Policy>,
    payload: Option<(String, Vec<u8>)>,
}

/// Name of the filler entry placed beside the payload (pseudo-random, incompressible).
pub const FILLER_NAME: &str = "filler.bin";
/// The smallest per-entry, total and artifact limit the limit cases set; raised to twice the payload size for
/// a larger payload, so the payload itself always fits and only the filler (four times the limit) does not.
pub const SMALL_LIMIT: u64 = 16 * 1024;

impl<'a> Conformance<'a> {
    /// Checks `tool` with an enabled, settings-free configuration under the default policy.
    pub fn new(tool: &'a dyn SecurityTool) -> Conformance<'a> {
        Conformance {
            tool,
            second: None,
            config: ToolConfiguration {
                enabled: true,
                settings: serde_json::Value::Null,
            },
            policy: Arc::new(Policy::default_policy()),
            payload: None,
        }
    }

    /// The tool configuration to pass to `analyze`.
    pub fn config(mut self, config: ToolConfiguration) -> Conformance<'a> {
        self.config = config;
        self
    }

    /// The policy (default: the embedded default policy).
    pub fn policy(mut self, policy: Policy) -> Conformance<'a> {
        self.policy = Arc::new(policy);
        self
    }

    /// A file on which the tool reports at least one finding that is not `unscannable` (a denied licence,
    /// the EICAR string, a key, a vulnerable lock file). The harness then also checks that the finding is
    /// found inside nested archives, next to an over-size entry and identically on every run.
    pub fn payload(mut self, name: &str, bytes: Vec<u8>) -> Conformance<'a> {
        self.payload = Some((name.to_string(), bytes));
        self
    }

    /// A second, independently built instance of the same tool: its name, version and results must equal
    /// the first one's (catches per-instance randomness such as unseeded fingerprints).
    pub fn second_instance(mut self, other: &'a dyn SecurityTool) -> Conformance<'a> {
        self.second = Some(other);
        self
    }

    /// Runs every case and panics with the full report when a rule is violated.
    #[allow(clippy::panic)]
    pub async fn run(self) -> ConformanceReport {
        let report = self.check().await;
        if !report.passed() {
            panic!("{report}");
        }
        report
    }

    /// Runs every case and returns the report (violations listed, nothing asserted).
    pub async fn check(self) -> ConformanceReport {
        let mut h = Harness::new(&self);
        h.identity();
        h.determinism().await;
        h.empty().await;
        h.random().await;
        h.truncated_gzip().await;
        h.corrupt_zip().await;
        h.limits().await;
        h.nested().await;
        h.missing().await;
        h.report
    }
}

struct Harness<'h, 'a> {
    c: &'h Conformance<'a>,
    dir: Option<tempfile::TempDir>,
    report: ConformanceReport,
    name: &'static str,
    version: String,
}

/// What a case expects of the result.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Anything explicit (a result that obeys the invariants).
    Explicit,
    /// Something was not scanned: not `succeeded`, with an unscannable finding of one of these reasons.
    NotScanned(&'static [UnscannableReason]),
}

impl<'h, 'a> Harness<'h, 'a> {
    fn new(c: &'h Conformance<'a>) -> Harness<'h, 'a> {
        let name = c.tool.name();
        let version = c.tool.version();
        let dir = tempfile::tempdir().ok();
        let mut report = ConformanceReport {
            tool: name.to_string(),
            version: version.clone(),
            ..ConformanceReport::default()
        };
        if dir.is_none() {
            report
                .failures
                .push("harness: cannot create a temporary directory".to_string());
        }
        Harness {
            c,
            dir,
            report,
            name,
            version,
        }
    }

    fn fail(&mut self, case: &str, msg: impl fmt::Display) {
        self.report.failures.push(format!("[{case}] {msg}"));
    }

    fn payload_files(&self) -> Vec<(&str, &[u8])> {
        match &self.c.payload {
            Some((n, b)) => vec![(n.as_str(), b.as_slice())],
            None => Vec::new(),
        }
    }

    fn ctx(&self, display: &str, limits: Option<Limits>) -> ToolContext {
        let mut ctx = ToolContext::new(
            ArtifactRef::Local(LocalFileRef {
                path: display.to_string(),
                size: None,
            }),
            self.c.policy.clone(),
            None,
        );
        if let Some(l) = limits {
            ctx.walk.limits = l;
        }
        ctx
    }

    fn write(&mut self, case: &str, name: &str, bytes: &[u8]) -> Option<PathBuf> {
        let path = self.dir.as_ref()?.path().join(name);
        match std::fs::write(&path, bytes) {
            Ok(()) => Some(path),
            Err(e) => {
                self.fail(
                    case,
                    format!("harness: cannot write {}: {e}", path.display()),
                );
                None
            }
        }
    }

    /// Runs `tool.analyze`, catching panics and errors as failures of `case`.
    async fn analyze(
        &mut self,
        case: &'static str,
        tool: &dyn SecurityTool,
        source: Arc<dyn ArtifactSource>,
        ctx: &ToolContext,
    ) -> Option<ToolResult> {
        let fut = tool.analyze(source, &self.c.config, ctx);
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(Ok(r)) => Some(r),
            Ok(Err(e)) => {
                self.fail(
                    case,
                    format!(
                        "analyze returned a tool error ({:?}: {}) instead of a result",
                        e.kind, e.message
                    ),
                );
                self.record(case, None);
                None
            }
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                self.fail(case, format!("analyze panicked: {msg}"));
                self.record(case, None);
                None
            }
        }
    }

    fn record(&mut self, case: &'static str, r: Option<&ToolResult>) {
        self.report.cases.push(CaseOutcome {
            case,
            status: r.map(|r| r.status),
            unscannable: r.map(unscannable_reasons).unwrap_or_default(),
            findings: r.map_or(0, |r| {
                r.findings
                    .iter()
                    .filter(|f| f.kind() != FindingKind::Unscannable)
                    .count()
            }),
        });
    }

    /// Scans `bytes` as a local file named `name` with `limits` and checks the invariants and `expect`.
    async fn scan(
        &mut self,
        case: &'static str,
        name: &str,
        bytes: &[u8],
        limits: Option<Limits>,
        expect: Expect,
    ) -> Option<ToolResult> {
        let path = self.write(case, name, bytes)?;
        let display = path.display().to_string();
        let ctx = self.ctx(&display, limits);
        let r = self
            .analyze(case, self.c.tool, Arc::new(LocalFile::new(&path)), &ctx)
            .await?;
        self.record(case, Some(&r));
        self.invariants(case, &r, &ctx);
        if let Expect::NotScanned(reasons) = expect {
            let got = unscannable_reasons(&r);
            if r.status == ToolStatus::Succeeded {
                self.fail(
                    case,
                    format!(
                        "status is succeeded although the artifact was not fully scanned (expected one of {reasons:?}); findings {:?}",
                        summary(&r)
                    ),
                );
            }
            if !got.iter().any(|g| reasons.contains(g)) {
                self.fail(
                    case,
                    format!(
                        "expected an unscannable finding with reason in {reasons:?}, got {got:?} (status {:?}): {:?}",
                        r.status,
                        unscannable_details(&r)
                    ),
                );
            }
        }
        Some(r)
    }

    /// Rules every result obeys.
    fn invariants(&mut self, case: &'static str, r: &ToolResult, ctx: &ToolContext) {
        if r.tool != self.name {
            self.fail(
                case,
                format!("result.tool {:?} != tool.name() {:?}", r.tool, self.name),
            );
        }
        if r.tool_version != self.version {
            self.fail(
                case,
                format!(
                    "result.tool_version {:?} != tool.version() {:?}",
                    r.tool_version, self.version
                ),
            );
        }
        if r.artifact_id != ctx.artifact_id {
            self.fail(
                case,
                format!(
                    "result.artifact_id {} != context id {}",
                    r.artifact_id, ctx.artifact_id
                ),
            );
        }
        if r.schema_version != SCHEMA_VERSION {
            self.fail(
                case,
                format!("schema_version {} != {SCHEMA_VERSION}", r.schema_version),
            );
        }
        let unscannable = unscannable_reasons(r);
        match r.status {
            ToolStatus::Succeeded => {
                if !unscannable.is_empty() {
                    self.fail(
                        case,
                        format!("status succeeded with unscannable findings {unscannable:?}"),
                    );
                }
            }
            ToolStatus::PartiallySucceeded | ToolStatus::Failed => {
                if r.failure_reason.as_deref().is_none_or(str::is_empty) {
                    self.fail(
                        case,
                        format!("status {:?} without a failure_reason", r.status),
                    );
                }
                if unscannable.is_empty() {
                    self.fail(
                        case,
                        format!(
                            "status {:?} without an unscannable finding saying what was not scanned (errors {:?})",
                            r.status, r.errors
                        ),
                    );
                }
            }
        }
        let mut ids: Vec<&str> = r.findings.iter().map(|f| f.id.as_str()).collect();
        let sorted = ids.windows(2).all(|w| w[0] < w[1]);
        ids.dedup();
        if !sorted || ids.len() != r.findings.len() {
            self.fail(
                case,
                "findings are not sorted by id and unique (ToolResult::normalize)",
            );
        }
        for f in &r.findings {
            if f.title.trim().is_empty() || f.id.is_empty() {
                self.fail(case, format!("finding without id or title: {f:?}"));
            }
            if let FindingDetail::Unscannable(u) = &f.detail
                && u.detail.trim().is_empty()
            {
                self.fail(
                    case,
                    format!("unscannable finding {} without a detail", u.reason),
                );
            }
        }
    }

    fn identity(&mut self) {
        let case = "name and version";
        let t = self.c.tool;
        if t.name().trim().is_empty() {
            self.fail(case, "tool name is empty");
        }
        if !t.name().contains('/') || t.name().starts_with('/') || t.name().ends_with('/') {
            self.fail(
                case,
                format!("tool name {:?} is not `slot/engine`", t.name()),
            );
        }
        if t.slot().is_empty() || !t.name().starts_with(t.slot()) {
            self.fail(
                case,
                format!("slot {:?} is not the prefix of {:?}", t.slot(), t.name()),
            );
        }
        if self.version.trim().is_empty() {
            self.fail(case, "tool version is empty");
        }
        if t.version() != self.version || t.name() != self.name {
            self.fail(case, "name or version changed between two calls");
        }
        if let Some(s) = self.c.second
            && (s.name() != self.name || s.version() != self.version)
        {
            self.fail(
                case,
                format!(
                    "a second instance is {} {}, the first {} {}",
                    s.name(),
                    s.version(),
                    self.name,
                    self.version
                ),
            );
        }
    }

    /// A mixed artifact (payload, text, filler, a nested zip) scanned twice as a file, once as a stream, and
    /// once by the second instance: identical results after removing durations and start times.
    async fn determinism(&mut self) {
        let case = "deterministic output";
        let mut inner: Vec<(&str, &[u8])> = self.payload_files();
        inner.push(("README.txt", b"conformance fixture\n".as_slice()));
        let nested_zip = fixtures::zip(&inner);
        let filler = fixtures::random_bytes(7, 4096);
        let mut files = self.payload_files();
        files.push(("docs/notes.txt", b"nothing to see here\n".as_slice()));
        files.push(("lib/bundle.zip", nested_zip.as_slice()));
        files.push((FILLER_NAME, filler.as_slice()));
        let bytes = fixtures::gzip(&fixtures::tar(&files));
        let Some(first) = self
            .scan(case, "mixed.tar.gz", &bytes, None, Expect::Explicit)
            .await
        else {
            return;
        };
        if first.status != ToolStatus::Succeeded {
            self.fail(
                case,
                format!(
                    "a small well-formed archive is not fully scanned: {:?} {:?} {:?}",
                    first.status,
                    first.failure_reason,
                    unscannable_reasons(&first)
                ),
            );
        }
        if self.c.payload.is_some() && payload_hits(&first).is_empty() {
            self.fail(
                case,
                format!(
                    "the payload gave no finding in a plain tar.gz (findings {:?})",
                    summary(&first)
                ),
            );
        }
        let Some(path) = self.dir.as_ref().map(|d| d.path().join("mixed.tar.gz")) else {
            return;
        };
        let display = path.display().to_string();
        let ctx = self.ctx(&display, None);
        let base = stable(&first);
        if let Some(again) = self
            .analyze(case, self.c.tool, Arc::new(LocalFile::new(&path)), &ctx)
            .await
            && stable(&again) != base
        {
            self.fail(
                case,
                format!(
                    "two runs on the same file differ:\n{}",
                    first_difference(&base, &stable(&again))
                ),
            );
        }
        let stream = Arc::new(MemorySource::new(display.clone(), bytes.clone()));
        if let Some(streamed) = self.analyze(case, self.c.tool, stream, &ctx).await
            && stable(&streamed) != base
        {
            self.fail(
                case,
                format!(
                    "the same bytes read as a stream (no local path) give another result:\n{}",
                    first_difference(&base, &stable(&streamed))
                ),
            );
        }
        if let Some(second) = self.c.second
            && let Some(other) = self
                .analyze(case, second, Arc::new(LocalFile::new(&path)), &ctx)
                .await
            && stable(&other) != base
        {
            self.fail(
                case,
                format!(
                    "a second instance of the tool gives another result:\n{}",
                    first_difference(&base, &stable(&other))
                ),
            );
        }
    }

    async fn empty(&mut self) {
        let case = "empty artifact";
        if let Some(r) = self
            .scan(case, "empty.bin", &[], None, Expect::Explicit)
            .await
        {
            if r.status == ToolStatus::Failed {
                self.fail(
                    case,
                    format!("a 0-byte artifact failed: {:?}", r.failure_reason),
                );
            }
            if let Some(meta) = &r.artifact
                && meta.size != 0
            {
                self.fail(case, format!("artifact size {} for 0 bytes", meta.size));
            }
        }
        // An empty file inside an archive, and an empty gzip member.
        let bytes = fixtures::tar(&[("empty.txt", b"".as_slice())]);
        self.scan(case, "has-empty.tar", &bytes, None, Expect::Explicit)
            .await;
    }

    async fn random(&mut self) {
        let case = "random bytes";
        let bytes = fixtures::random_bytes(0x5eed, 256 * 1024);
        self.scan(case, "random.bin", &bytes, None, Expect::Explicit)
            .await;
        // Random bytes under archive names: the content decides, never the name.
        let small = fixtures::random_bytes(0xbad, 4096);
        for name in ["random.zip", "random.tar.gz", "random.jar"] {
            self.scan(case, name, &small, None, Expect::Explicit).await;
        }
    }

    async fn truncated_gzip(&mut self) {
        let case = "truncated gzip";
        let filler = fixtures::random_bytes(11, 32 * 1024);
        let mut files = self.payload_files();
        files.push((FILLER_NAME, filler.as_slice()));
        let gz = fixtures::gzip(&fixtures::tar(&files));
        let cut = &gz[..gz.len() * 3 / 5];
        self.scan(
            case,
            "cut.tar.gz",
            cut,
            None,
            Expect::NotScanned(&[UnscannableReason::Corrupt]),
        )
        .await;
        // A single compressed file (no tar inside) cut in the middle: the tool may not want the inner file,
        // the artifact is still corrupt.
        let single = fixtures::gzip(&filler);
        self.scan(
            "truncated gzip (single file)",
            "blob.bin.gz",
            &single[..single.len() / 2],
            None,
            Expect::NotScanned(&[UnscannableReason::Corrupt]),
        )
        .await;
    }

    async fn corrupt_zip(&mut self) {
        let case = "corrupt zip";
        let filler = fixtures::random_bytes(13, 32 * 1024);
        let mut files = self.payload_files();
        files.push((FILLER_NAME, filler.as_slice()));
        files.push(("z.txt", b"last entry\n".as_slice()));
        let zip = fixtures::zip(&files);
        // Cut before the central directory.
        self.scan(
            case,
            "cut.zip",
            &zip[..zip.len() * 2 / 3],
            None,
            Expect::NotScanned(&[UnscannableReason::Corrupt]),
        )
        .await;
        // Central directory overwritten with garbage (the end record still points at it).
        let mut garbled = zip.clone();
        if let Some(cd) = find_last(&garbled, &[0x50, 0x4b, 0x01, 0x02]) {
            let start = find_first(&garbled, &[0x50, 0x4b, 0x01, 0x02]).unwrap_or(cd);
            let end = find_last(&garbled, &[0x50, 0x4b, 0x05, 0x06]).unwrap_or(garbled.len());
            for (i, b) in garbled[start..end].iter_mut().enumerate() {
                *b = (i as u8).wrapping_mul(31) ^ 0xa5;
            }
        } else {
            self.fail(case, "harness: no central directory in the generated zip");
        }
        self.scan(
            "corrupt zip (garbled central directory)",
            "garbled.zip",
            &garbled,
            None,
            Expect::NotScanned(&[UnscannableReason::Corrupt]),
        )
        .await;
    }

    async fn limits(&mut self) {
        let payload_len = self.c.payload.as_ref().map_or(0, |(_, b)| b.len() as u64);
        let small = SMALL_LIMIT.max(payload_len.saturating_mul(2));
        let filler = fixtures::random_bytes(17, usize::try_from(small * 4).unwrap_or(usize::MAX));
        let mut files = self.payload_files();
        files.push((FILLER_NAME, filler.as_slice()));
        let tarball = fixtures::tar(&files);

        let case = "per-entry limit";
        let limits = Limits {
            max_entry_bytes: small,
            ..Limits::default()
        };
        if let Some(r) = self
            .scan(
                case,
                "big-entry.tar",
                &tarball,
                Some(limits),
                Expect::NotScanned(&[UnscannableReason::EntryTooLarge]),
            )
            .await
        {
            self.rest_scanned(case, &r);
        }

        let case = "total bytes limit";
        let limits = Limits {
            max_total_bytes: small,
            ..Limits::default()
        };
        self.scan(
            case,
            "big-total.tar.gz",
            &fixtures::gzip(&tarball),
            Some(limits),
            Expect::NotScanned(&[UnscannableReason::TotalSizeExceeded]),
        )
        .await;

        let case = "artifact size limit";
        let limits = Limits {
            max_artifact_bytes: small,
            ..Limits::default()
        };
        self.scan(
            case,
            "big-artifact.tar",
            &tarball,
            Some(limits),
            Expect::NotScanned(&[UnscannableReason::ArtifactTooLarge]),
        )
        .await;
    }

    /// With a payload, its finding must survive an over-limit sibling (the rest is scanned).
    fn rest_scanned(&mut self, case: &'static str, r: &ToolResult) {
        if self.c.payload.is_some() && payload_hits(r).is_empty() {
            self.fail(
                case,
                format!(
                    "the payload beside the over-size entry was not scanned (findings {:?})",
                    summary(r)
                ),
            );
        }
    }

    async fn nested(&mut self) {
        let case = "nested archive";
        let mut inner = self.payload_files();
        inner.push(("inner.txt", b"innermost\n".as_slice()));
        let zip = fixtures::zip(&inner);
        let mid = fixtures::gzip(&fixtures::tar(&[("pkg/lib.zip", zip.as_slice())]));
        let outer = fixtures::zip(&[("vendor/mid.tar.gz", mid.as_slice())]);
        if let Some(r) = self
            .scan(case, "outer.zip", &outer, None, Expect::Explicit)
            .await
        {
            if r.status != ToolStatus::Succeeded {
                self.fail(
                    case,
                    format!(
                        "a 4-level archive within the default limits is not fully scanned: {:?} {:?}",
                        r.status,
                        unscannable_reasons(&r)
                    ),
                );
            }
            let want = 1 + u64::from(self.c.payload.is_some());
            if r.stats.entries_scanned < want {
                self.fail(
                    case,
                    format!(
                        "entries_scanned {} for an archive with {want} files three levels down",
                        r.stats.entries_scanned
                    ),
                );
            }
            if let Some((name, _)) = &self.c.payload {
                let deep = payload_hits(&r).into_iter().any(|loc| {
                    loc.matches("!/").count() >= 3 && loc.ends_with(&format!("!/{name}"))
                });
                if !deep {
                    self.fail(
                        case,
                        format!(
                            "the payload three archives down was not found at its nested path (findings {:?})",
                            summary(&r)
                        ),
                    );
                }
            }
        }
        let case = "nesting depth limit";
        let limits = Limits {
            max_depth: 1,
            ..Limits::default()
        };
        self.scan(
            case,
            "deep.zip",
            &outer,
            Some(limits),
            Expect::NotScanned(&[UnscannableReason::DepthExceeded]),
        )
        .await;
    }

    async fn missing(&mut self) {
        let case = "missing artifact";
        let Some(path) = self
            .dir
            .as_ref()
            .map(|d| d.path().join("does-not-exist.bin"))
        else {
            return;
        };
        let ctx = self.ctx(&path.display().to_string(), None);
        if let Some(r) = self
            .analyze(case, self.c.tool, Arc::new(LocalFile::new(&path)), &ctx)
            .await
        {
            self.record(case, Some(&r));
            self.invariants(case, &r, &ctx);
            if r.status != ToolStatus::Failed
                || !unscannable_reasons(&r).contains(&UnscannableReason::Missing)
            {
                self.fail(
                    case,
                    format!(
                        "expected failed with a `missing` finding, got {:?} {:?}",
                        r.status,
                        unscannable_reasons(&r)
                    ),
                );
            }
        }
    }
}

/// Unscannable reasons of a result, in finding order.
pub fn unscannable_reasons(r: &ToolResult) -> Vec<UnscannableReason> {
    r.findings
        .iter()
        .filter_map(|f| match &f.detail {
            FindingDetail::Unscannable(u) => Some(u.reason),
            _ => None,
        })
        .collect()
}

fn unscannable_details(r: &ToolResult) -> Vec<String> {
    r.findings
        .iter()
        .filter_map(|f| match &f.detail {
            FindingDetail::Unscannable(u) => Some(format!(
                "{} at {}: {}",
                u.reason,
                f.location.as_deref().unwrap_or("-"),
                u.detail
            )),
            _ => None,
        })
        .collect()
}

/// Locations of the findings that are not `unscannable`.
fn payload_hits(r: &ToolResult) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| f.kind() != FindingKind::Unscannable)
        .map(|f| f.location.clone().unwrap_or_default())
        .collect()
}

fn summary(r: &ToolResult) -> Vec<String> {
    r.findings.iter().map(short).collect()
}

fn short(f: &Finding) -> String {
    format!(
        "{} `{}` at {}",
        f.kind().as_str(),
        f.title,
        f.location.as_deref().unwrap_or("-")
    )
}

/// The result as JSON without what legitimately varies between runs (durations, start time).
pub fn stable(r: &ToolResult) -> String {
    let mut r = r.clone();
    r.stats.duration_ms = 0;
    r.started_at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    serde_json::to_string_pretty(&r).unwrap_or_else(|e| format!("unserializable result: {e}"))
}

fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("  line {}: {x}\n  vs      {y}", i + 1);
        }
    }
    format!(
        "  lengths differ ({} vs {} lines)",
        a.lines().count(),
        b.lines().count()
    )
}

fn find_first(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}
