//! Builds the packed licence store that `src/askalono/store_bin.rs` reads in place at run time (see
//! `src/askalono/mod.rs` for why), `$OUT_DIR/licence-store.bin`:
//! - the licence texts come from askalono's store in the `spdx` crate's package
//!   (`src/detection/cache.bin.zstd`, the file behind `spdx::detection::Store::load_inline`), found with
//!   `cargo metadata` (registry, git or vendored sources alike; the version is pinned in Cargo.toml so the
//!   layout is known); their n-grams, kept there as strings, are written as sorted 64-bit hashes
//!   (`src/askalono/gramhash.rs`) with their counts;
//! - the SPDX exception texts (`spdx::text::EXCEPTION_TEXTS`) are normalized here with askalono's own
//!   preprocessing (`src/askalono/preproc.rs`, the same file the matcher uses) into the same n-gram form plus
//!   their sorted, distinct word-bigram hashes.
//!
//! Nothing is parsed, hashed or normalized for the store at run time. The build fails if two distinct grams
//! share a hash (so store-to-store scores are exact) or if the cache does not have the expected layout.
//!
//! Output layout (little-endian; `str` = u16 length + UTF-8):
//!
//! ```text
//! "PCLSTOR1", u32 gram_total, u32 bigram_total,
//! u16 licences × (str name, u16 × str alias, u16 × text),
//! u16 exceptions × (str id, text, u32 bigram_first, u32 bigram_count),
//! gram_total × u64 hash, gram_total × u32 count, bigram_total × u64 hash
//! text = u8 kind (0 original, 1 alternate, 2 header), u8 n, u32 size, u32 first, u32 distinct
//! ```

// Upstream code, as the matcher uses it (its unwraps are on constant regexes).
#[allow(dead_code, clippy::unwrap_used)]
#[path = "src/askalono/preproc.rs"]
mod preproc;

#[allow(dead_code)]
#[path = "src/askalono/gramhash.rs"]
mod gramhash;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

const SPDX_VERSION: &str = "0.13.6";
const CACHE_HEADER: &[u8] = b"spdx-crate-01";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/askalono/preproc.rs");
    println!("cargo:rerun-if-changed=src/askalono/gramhash.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"))
            .join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = std::env::var("TARGET").expect("TARGET");
    // --filter-platform: only this target's packages. --offline first: a workspace build has them all; a
    // build of one package in a fresh CARGO_HOME (cargo lambda build -p …) may not have the other members'
    // packages yet, and then cargo metadata may fetch them.
    let run = |offline: bool| {
        let mut c = Command::new(&cargo);
        c.args(["metadata", "--format-version", "1", "--filter-platform"])
            .arg(&target)
            .arg("--manifest-path")
            .arg(&manifest);
        if offline {
            c.arg("--offline");
        }
        c.output()
            .unwrap_or_else(|e| panic!("running cargo metadata: {e}"))
    };
    let mut meta = run(true);
    if !meta.status.success() {
        meta = run(false);
    }
    assert!(
        meta.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&meta.stderr)
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&meta.stdout).expect("cargo metadata JSON");
    let spdx_manifest = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "spdx" && p["version"] == SPDX_VERSION)
        .and_then(|p| p["manifest_path"].as_str())
        .unwrap_or_else(|| panic!("spdx {SPDX_VERSION} is not in the dependency graph"));
    let cache_path = PathBuf::from(spdx_manifest)
        .parent()
        .expect("spdx package dir")
        .join("src/detection/cache.bin.zstd");
    println!("cargo:rerun-if-changed={}", cache_path.display());
    let cache = std::fs::read(&cache_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", cache_path.display()));
    assert!(
        cache.starts_with(CACHE_HEADER),
        "{} does not start with the cache version {:?}",
        cache_path.display(),
        std::str::from_utf8(CACHE_HEADER)
    );
    let body = zstd::decode_all(&cache[CACHE_HEADER.len()..])
        .unwrap_or_else(|e| panic!("decompressing {}: {e}", cache_path.display()));
    let licences = parse_cache(&body);
    let packed = pack(&licences, &exceptions());
    std::fs::write(out.join("licence-store.bin"), packed).expect("writing licence-store.bin");
}

/// One text of the askalono cache: its n-gram strings with counts, the gram size and the gram total.
struct CacheText<'a> {
    grams: Vec<(&'a str, u32)>,
    n: u8,
    size: u64,
}

struct CacheLicence<'a> {
    name: &'a str,
    aliases: Vec<&'a str>,
    /// (kind, text): the original first, then alternates (kind 1), then headers (kind 2).
    texts: Vec<(u8, CacheText<'a>)>,
}

/// Reads askalono's `Bin` cache encoding (little-endian):
/// store = u16 count × (str name, entry); entry = text original, u16 × str alias, u16 × text header,
/// u16 × text alternate; text = u16 × (str gram, u32 count), u8 n, u64 size, u64 view start, u64 view end,
/// u16 × str normalized line, str processed text.
fn parse_cache(b: &[u8]) -> Vec<CacheLicence<'_>> {
    struct R<'a> {
        b: &'a [u8],
        pos: usize,
    }
    impl<'a> R<'a> {
        fn take(&mut self, n: usize) -> &'a [u8] {
            let s = self
                .b
                .get(self.pos..self.pos + n)
                .unwrap_or_else(|| panic!("licence cache truncated at byte {}", self.pos));
            self.pos += n;
            s
        }
        fn u16(&mut self) -> usize {
            u16::from_le_bytes(self.take(2).try_into().expect("length checked by take")) as usize
        }
        fn u32(&mut self) -> u32 {
            u32::from_le_bytes(self.take(4).try_into().expect("length checked by take"))
        }
        fn u64(&mut self) -> u64 {
            u64::from_le_bytes(self.take(8).try_into().expect("length checked by take"))
        }
        fn str(&mut self) -> &'a str {
            let n = self.u16();
            let at = self.pos;
            std::str::from_utf8(self.take(n))
                .unwrap_or_else(|_| panic!("licence cache string at byte {at} is not UTF-8"))
        }
        fn text(&mut self) -> CacheText<'a> {
            let grams = (0..self.u16()).map(|_| (self.str(), self.u32())).collect();
            let n = self.take(1)[0];
            let size = self.u64();
            self.u64();
            self.u64();
            for _ in 0..self.u16() {
                self.str();
            }
            self.str();
            CacheText { grams, n, size }
        }
    }
    let mut r = R { b, pos: 0 };
    let count = r.u16();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let name = r.str();
        let original = r.text();
        let aliases = (0..r.u16()).map(|_| r.str()).collect();
        let headers: Vec<_> = (0..r.u16()).map(|_| r.text()).collect();
        let alternates: Vec<_> = (0..r.u16()).map(|_| r.text()).collect();
        let mut texts = vec![(0u8, original)];
        texts.extend(alternates.into_iter().map(|t| (1, t)));
        texts.extend(headers.into_iter().map(|t| (2, t)));
        out.push(CacheLicence {
            name,
            aliases,
            texts,
        });
    }
    assert_eq!(r.pos, b.len(), "licence cache has trailing bytes");
    out
}

/// One exception text as askalono's `TextData::new` sees it: bigram strings (of the processed text,
/// split on single spaces) and the distinct word bigrams of its normalized lines.
struct ExceptionText {
    id: &'static str,
    grams: Vec<String>,
    bigrams: Vec<String>,
}

fn exceptions() -> Vec<ExceptionText> {
    spdx::text::EXCEPTION_TEXTS
        .iter()
        .filter(|(id, _)| spdx::exception_id(id).is_some())
        .map(|(id, text)| {
            let lines = preproc::apply_normalizers(text);
            let processed = preproc::apply_aggressive(&lines.join("\n"));
            let words: Vec<&str> = processed.split(' ').collect();
            let grams = words.windows(2).map(|w| w.join(" ")).collect();
            let line_words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
            let bigrams = line_words.windows(2).map(|w| w.join(" ")).collect();
            ExceptionText { id, grams, bigrams }
        })
        .collect()
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let n = u16::try_from(s.len()).expect("string under 64 KiB");
    out.extend(n.to_le_bytes());
    out.extend(s.as_bytes());
}

fn put_u16(out: &mut Vec<u8>, n: usize) {
    out.extend(u16::try_from(n).expect("count under 65,536").to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend(u32::try_from(n).expect("count under 2^32").to_le_bytes());
}

/// Hashes every gram, checking that no two distinct strings share a hash.
struct Hasher<'a> {
    seen: HashMap<u64, &'a str>,
}

impl<'a> Hasher<'a> {
    fn hash(&mut self, gram: &'a str) -> u64 {
        let h = gramhash::hash_gram(gram);
        let first = *self.seen.entry(h).or_insert(gram);
        assert_eq!(first, gram, "n-gram hash collision: {first:?} and {gram:?}");
        h
    }
}

/// Appends one text's grams (sorted by hash) to the gram arrays and writes its record.
fn put_text(
    header: &mut Vec<u8>,
    grams: &mut Vec<(u64, u32)>,
    kind: u8,
    n: u8,
    size: u64,
    mut own: Vec<(u64, u32)>,
) {
    own.sort_unstable();
    assert!(
        own.windows(2).all(|w| w[0].0 < w[1].0),
        "a text lists the same gram twice"
    );
    header.push(kind);
    header.push(n);
    put_u32(header, usize::try_from(size).expect("size"));
    put_u32(header, grams.len());
    put_u32(header, own.len());
    grams.extend(own);
}

fn pack<'a>(licences: &'a [CacheLicence<'a>], exceptions: &'a [ExceptionText]) -> Vec<u8> {
    let mut hasher = Hasher {
        seen: HashMap::with_capacity(500_000),
    };
    let mut header = Vec::new();
    let mut grams: Vec<(u64, u32)> = Vec::new();
    let mut bigrams: Vec<u64> = Vec::new();
    put_u16(&mut header, licences.len());
    for l in licences {
        put_str(&mut header, l.name);
        put_u16(&mut header, l.aliases.len());
        for a in &l.aliases {
            put_str(&mut header, a);
        }
        put_u16(&mut header, l.texts.len());
        for (kind, t) in &l.texts {
            let own = t.grams.iter().map(|(g, c)| (hasher.hash(g), *c)).collect();
            put_text(&mut header, &mut grams, *kind, t.n, t.size, own);
        }
    }
    put_u16(&mut header, exceptions.len());
    for e in exceptions {
        put_str(&mut header, e.id);
        let mut counts: HashMap<u64, u32> = HashMap::new();
        for g in &e.grams {
            *counts.entry(hasher.hash(g)).or_insert(0) += 1;
        }
        let size = e.grams.len() as u64;
        put_text(
            &mut header,
            &mut grams,
            0,
            2,
            size,
            counts.into_iter().collect(),
        );
        let mut own: Vec<u64> = e.bigrams.iter().map(|b| hasher.hash(b)).collect();
        own.sort_unstable();
        own.dedup();
        put_u32(&mut header, bigrams.len());
        put_u32(&mut header, own.len());
        bigrams.extend(own);
    }
    let mut out = b"PCLSTOR1".to_vec();
    put_u32(&mut out, grams.len());
    put_u32(&mut out, bigrams.len());
    out.extend(header);
    out.extend(grams.iter().flat_map(|(h, _)| h.to_le_bytes()));
    out.extend(grams.iter().flat_map(|(_, c)| c.to_le_bytes()));
    out.extend(bigrams.iter().flat_map(|h| h.to_le_bytes()));
    out
}
