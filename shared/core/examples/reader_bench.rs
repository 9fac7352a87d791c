//! Reader throughput benchmark (not a test): walks each file given on the command line with a null visitor
//! that reads every byte, and prints one line per file: uncompressed bytes read, wall seconds, MB/s, files,
//! issues and the process's peak RSS so far. Run one file per process for a clean peak RSS
//! (`scripts/bench-reader.sh` does).
//!
//! `cargo run --release -p portcullis-core --example reader_bench -- FILE...`

use std::io::{self, Read};
use std::path::Path;
use std::time::Instant;

use portcullis_core::reader::{EntryInfo, Limits, Visitor, WalkOptions, walk_path};

/// Reads every byte of every file into one reused buffer.
struct Null {
    buf: Vec<u8>,
}

impl Visitor for Null {
    fn file(&mut self, _entry: &EntryInfo, content: &mut dyn Read) -> io::Result<()> {
        loop {
            let n = content.read(&mut self.buf)?;
            if n == 0 {
                return Ok(());
            }
        }
    }
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        return Err("usage: reader_bench FILE...".into());
    }
    let opts = WalkOptions::new(Limits::default());
    let mut out = io::stdout().lock();
    for f in files {
        let mut v = Null {
            buf: vec![0u8; 256 * 1024],
        };
        let t = Instant::now();
        let r = walk_path(Path::new(&f), &f, &opts, &mut v)?;
        let secs = t.elapsed().as_secs_f64();
        let mbs = r.bytes_read as f64 / 1e6 / secs;
        use std::io::Write;
        writeln!(
            out,
            "file={f} format={} read_bytes={} decompressed={} secs={secs:.3} mb_s={mbs:.1} files={} issues={} rss_kb={}",
            r.metadata.format,
            r.bytes_read,
            r.decompressed,
            r.files,
            r.issues.len(),
            vm_hwm_kb()
        )?;
        for i in r.issues.iter().take(5) {
            writeln!(out, "  issue {} {}: {}", i.reason, i.path, i.detail)?;
        }
    }
    Ok(())
}
