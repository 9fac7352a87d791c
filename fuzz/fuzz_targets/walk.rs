//! Feeds arbitrary bytes to `walk_reader` (and, for the random-access formats, through the spool) under
//! tight limits: the reader must never panic, hang or allocate without bound, whatever the input.
#![no_main]

use std::io::{self, Read};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use portcullis_core::reader::{EntryInfo, Limits, Visitor, WalkOptions, walk_reader};

/// Reads every byte it is offered.
struct Null;

impl Visitor for Null {
    fn file(&mut self, _entry: &EntryInfo, content: &mut dyn Read) -> io::Result<()> {
        let mut buf = [0u8; 16 * 1024];
        while content.read(&mut buf)? > 0 {}
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_artifact_bytes: 4 << 20,
        max_total_bytes: 16 << 20,
        max_entry_bytes: 8 << 20,
        max_ratio: 100,
        max_entries: 500,
        max_depth: 4,
        max_wall: Duration::from_secs(5),
    };
    let mut opts = WalkOptions::new(limits);
    if std::path::Path::new("/dev/shm").is_dir() {
        opts.spool_dir = Some("/dev/shm".into());
    }
    let mut reader = data;
    // Unknown size (as an S3 stream without Content-Length) and known size take different paths.
    let _ = walk_reader(&mut reader, "fuzz.bin", None, &opts, &mut Null);
    let mut reader = data;
    let _ = walk_reader(
        &mut reader,
        "fuzz.bin",
        Some(data.len() as u64),
        &opts,
        &mut Null,
    );
});
