//! RPM databases of images: the SQLite rpmdb (`var/lib/rpm/rpmdb.sqlite`, `usr/lib/sysimage/rpm/…`; RHEL 9,
//! Fedora ≥ 33, Rocky/Alma 9). Each `Packages.blob` is an RPM header parsed like a package file's. The
//! Berkeley DB (`Packages`, RHEL ≤ 8) and ndb (`Packages.db`, SUSE) formats are not read.

use std::io::Write;

use portcullis_core::reader::EntryInfo;
use rusqlite::{Connection, OpenFlags};

use super::{ExtractError, Extracted, Extractor, inner_path};

pub(crate) const RPMDB_SQLITE: Extractor = Extractor {
    id: "rpm/rpmdb-sqlite",
    wants: |e| {
        e.name == "rpmdb.sqlite" && {
            let p = inner_path(&e.path);
            p.ends_with("var/lib/rpm/rpmdb.sqlite")
                || p.ends_with("usr/lib/sysimage/rpm/rpmdb.sqlite")
        }
    },
    extract: extract_rpmdb,
};

fn sql(e: impl std::fmt::Display) -> ExtractError {
    ExtractError::Format(format!("rpmdb: {e}"))
}

fn extract_rpmdb(_e: &EntryInfo, data: &[u8]) -> Result<Extracted, ExtractError> {
    if data.len() < 100 || !data.starts_with(b"SQLite format 3\0") {
        return Err(sql("not an SQLite database"));
    }
    // SQLite needs a file. Our private copy is switched from WAL to rollback-journal mode (header bytes
    // 18/19), so it opens read-only without -wal/-shm companions (images ship checkpointed databases).
    let dir = tempfile::tempdir().map_err(sql)?;
    let path = dir.path().join("rpmdb.sqlite");
    let mut copy = data.to_vec();
    if copy[18] == 2 && copy[19] == 2 {
        copy[18] = 1;
        copy[19] = 1;
    }
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(&copy))
        .map_err(sql)?;
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql)?;
    let mut stmt = conn.prepare("SELECT blob FROM Packages").map_err(sql)?;
    let rows = stmt
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .map_err(sql)?;
    let mut out = Vec::new();
    for blob in rows {
        let blob = blob.map_err(sql)?;
        // Stored without the 8-byte header magic.
        let mut header = vec![0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
        header.extend_from_slice(&blob);
        let f = super::rpm::header_to_found(&header)?;
        if f.name == "gpg-pubkey" {
            continue; // imported signing keys are stored as pseudo-packages
        }
        out.push(f);
    }
    Ok(out.into())
}
