//! The per-container database cache.
//!
//! The index named by `VULN_DB_URI` (`s3://bucket/key`, or a local file path for local runs) is loaded once
//! per container and kept in memory as an `Arc<Database>`:
//! - S3: `HeadObject` for the ETag (and the `x-amz-meta-sha256` the sync writes). If
//!   `<cache dir>/portcullis-osv-<hash of etag>.db` exists it is used; otherwise the object is streamed
//!   (`If-Match` on that ETag) to a temporary file, its SHA-256 checked against the published one, and the
//!   file renamed into place (atomic). Then `Database::open`, which checks magic, version, its own
//!   checksum and decoding: nothing but a file our own sync produced is accepted, and any failure is a
//!   typed error ([`VulnDbError::Db`], [`VulnDbError::Sha256Mismatch`]).
//! - The first load into a cache directory holding no index (a new sandbox's empty `/tmp`: every cold
//!   start) skips the HEAD: one GET, whose ETag and `x-amz-meta-sha256` name and check the file the same
//!   way.
//! - Later invocations re-check at most every `VULN_DB_CHECK_INTERVAL_SECS` (default 300) with one HEAD
//!   and reload only when the ETag changed. If that HEAD fails while a database is loaded, the loaded one
//!   stays in use (its age is still enforced by the policy's `max_db_age`) and the failure is logged.
//!
//! | Variable | Meaning |
//! |---|---|
//! | `VULN_DB_URI` | required: `s3://bucket/osv/index.db` or a file path |
//! | `VULN_DB_CHECK_INTERVAL_SECS` | seconds between ETag checks (default 300) |
//! | `VULN_DB_CACHE_DIR` | where downloaded indexes are kept (default the temp dir, `/tmp` on Lambda) |

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, UNIX_EPOCH};

use aws_sdk_s3::Client;
use portcullis_aws::ConfigError;
use portcullis_aws::config::Env;
use portcullis_vuln::Database;

use crate::error::{VulnDbError, io_err};
use crate::s3util::{
    Class, Downloaded, classify, download_to_file, parse_s3_uri, published_sha256, request_error,
    sha256_hex,
};

/// File-name prefix of cached indexes (and their partial downloads) in the cache directory.
const INDEX_FILE_PREFIX: &str = "portcullis-osv-";

/// Default seconds between ETag checks.
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(300);

/// Where the index lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbLocation {
    /// An S3 object.
    S3 {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// A local file.
    File(PathBuf),
}

impl DbLocation {
    /// Parses `s3://bucket/key` or a file path.
    pub fn parse(name: &'static str, value: &str) -> Result<DbLocation, ConfigError> {
        let value = value.trim();
        if value.starts_with("s3://") {
            let (bucket, key) = parse_s3_uri(value, false).ok_or_else(|| ConfigError::Invalid {
                name,
                message: format!("`{value}` needs a bucket and a key (s3://bucket/key)"),
            })?;
            return Ok(DbLocation::S3 { bucket, key });
        }
        if value.contains("://") {
            return Err(ConfigError::Invalid {
                name,
                message: format!("`{value}`: only s3:// URIs and file paths are supported"),
            });
        }
        if value.is_empty() {
            return Err(ConfigError::Missing(name));
        }
        Ok(DbLocation::File(PathBuf::from(value)))
    }

    /// Display form.
    pub fn describe(&self) -> String {
        match self {
            DbLocation::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
            DbLocation::File(p) => p.display().to_string(),
        }
    }
}

/// Cache settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// The index.
    pub location: DbLocation,
    /// Minimum time between ETag checks.
    pub check_interval: Duration,
    /// Directory for downloaded indexes.
    pub cache_dir: PathBuf,
}

impl CacheConfig {
    /// Reads `VULN_DB_URI`, `VULN_DB_CHECK_INTERVAL_SECS`, `VULN_DB_CACHE_DIR`.
    pub fn from_env(env: &dyn Env) -> Result<CacheConfig, ConfigError> {
        let uri = env
            .var("VULN_DB_URI")
            .filter(|v| !v.trim().is_empty())
            .ok_or(ConfigError::Missing("VULN_DB_URI"))?;
        let check_interval = match env.var("VULN_DB_CHECK_INTERVAL_SECS") {
            None => DEFAULT_CHECK_INTERVAL,
            Some(v) => Duration::from_secs(v.trim().parse().map_err(|e| ConfigError::Invalid {
                name: "VULN_DB_CHECK_INTERVAL_SECS",
                message: format!("`{v}` is not a number of seconds: {e}"),
            })?),
        };
        Ok(CacheConfig {
            location: DbLocation::parse("VULN_DB_URI", &uri)?,
            check_interval,
            cache_dir: env
                .var("VULN_DB_CACHE_DIR")
                .filter(|v| !v.trim().is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir),
        })
    }
}

/// What a HEAD says about the current index.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Probe {
    /// ETag (S3) or size+mtime (file).
    tag: String,
    /// Published SHA-256, when the object carries one.
    sha256: Option<String>,
}

struct Loaded {
    tag: String,
    db: Arc<Database>,
    checked: Instant,
    file: Option<PathBuf>,
}

/// The cached index (one per container).
pub struct DbCache {
    s3: Client,
    config: CacheConfig,
    state: tokio::sync::Mutex<Option<Loaded>>,
    snapshot: RwLock<Option<Arc<Database>>>,
    downloads: AtomicU64,
    probes: AtomicU64,
    loads: AtomicU64,
}

impl std::fmt::Debug for DbCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbCache")
            .field("config", &self.config)
            .field("downloads", &self.downloads())
            .finish_non_exhaustive()
    }
}

impl DbCache {
    /// An empty cache; call [`DbCache::get`] (at cold start, to fail fast) to load.
    pub fn new(s3: Client, config: CacheConfig) -> DbCache {
        DbCache {
            s3,
            config,
            state: tokio::sync::Mutex::new(None),
            snapshot: RwLock::new(None),
            downloads: AtomicU64::new(0),
            probes: AtomicU64::new(0),
            loads: AtomicU64::new(0),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// Objects downloaded from S3 so far.
    pub fn downloads(&self) -> u64 {
        self.downloads.load(Ordering::Relaxed)
    }

    /// HEAD checks (or file stats) made so far.
    pub fn probes(&self) -> u64 {
        self.probes.load(Ordering::Relaxed)
    }

    /// Databases decoded into memory so far.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// The last loaded database, without any I/O (`None` before the first load).
    pub fn snapshot(&self) -> Option<Arc<Database>> {
        self.snapshot.read().ok().and_then(|g| g.clone())
    }

    /// The current database: the loaded one if checked within the interval, else after one ETag check
    /// (reloading when it changed).
    pub async fn get(&self) -> Result<Arc<Database>, VulnDbError> {
        self.get_inner(false).await
    }

    /// Like [`DbCache::get`] but always checks the ETag now.
    pub async fn refresh(&self) -> Result<Arc<Database>, VulnDbError> {
        self.get_inner(true).await
    }

    async fn get_inner(&self, force: bool) -> Result<Arc<Database>, VulnDbError> {
        let mut state = self.state.lock().await;
        if let Some(l) = state.as_ref()
            && !force
            && l.checked.elapsed() < self.config.check_interval
        {
            return Ok(Arc::clone(&l.db));
        }
        let started = Instant::now();
        let (tag, db, file) = match self.first_download(state.is_none()).await? {
            Some(loaded) => loaded,
            None => {
                let probe = match self.probe().await {
                    Ok(p) => p,
                    Err(e) => {
                        if let Some(l) = state.as_mut() {
                            tracing::warn!(db = %self.config.location.describe(), error = %portcullis_aws::error_chain(&e), "database check failed; keeping the loaded database");
                            l.checked = Instant::now();
                            return Ok(Arc::clone(&l.db));
                        }
                        return Err(e);
                    }
                };
                if let Some(l) = state.as_mut()
                    && l.tag == probe.tag
                {
                    l.checked = Instant::now();
                    return Ok(Arc::clone(&l.db));
                }
                let (db, file) = self.load(&probe).await?;
                (probe.tag, db, file)
            }
        };
        let db = Arc::new(db);
        let m = db.metadata();
        tracing::info!(
            db = %self.config.location.describe(),
            %tag,
            built_at = %m.built_at,
            advisories = m.advisories,
            load_ms = started.elapsed().as_millis() as u64,
            "vulnerability database loaded"
        );
        self.loads.fetch_add(1, Ordering::Relaxed);
        let old = state.replace(Loaded {
            tag,
            db: Arc::clone(&db),
            checked: Instant::now(),
            file: file.clone(),
        });
        if let Some(old_file) = old.and_then(|o| o.file)
            && Some(&old_file) != file.as_ref()
        {
            // /tmp is small on Lambda; the previous index is no longer needed.
            let _ = tokio::fs::remove_file(&old_file).await;
        }
        if let Ok(mut g) = self.snapshot.write() {
            *g = Some(Arc::clone(&db));
        }
        Ok(db)
    }

    /// The first load of an S3 index into a cache directory holding no index (a new sandbox's empty
    /// `/tmp`): one GET, without the HEAD — the GET's own ETag and published SHA-256 name and check the
    /// file. `Ok(None)` when this does not apply (something is loaded or cached already, or a file location):
    /// then the HEAD decides.
    async fn first_download(
        &self,
        nothing_loaded: bool,
    ) -> Result<Option<(String, Database, Option<PathBuf>)>, VulnDbError> {
        let DbLocation::S3 { bucket, key } = &self.config.location else {
            return Ok(None);
        };
        if !nothing_loaded || self.has_cached_index().await {
            return Ok(None);
        }
        let (probe, db, path) = self.download(bucket, key, None).await?;
        Ok(Some((probe.tag, db, Some(path))))
    }

    /// Whether the cache directory holds an index file (of this or any location).
    async fn has_cached_index(&self) -> bool {
        let Ok(mut dir) = tokio::fs::read_dir(&self.config.cache_dir).await else {
            return false;
        };
        while let Ok(Some(entry)) = dir.next_entry().await {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(INDEX_FILE_PREFIX) && name.ends_with(".db") {
                return true;
            }
        }
        false
    }

    async fn probe(&self) -> Result<Probe, VulnDbError> {
        self.probes.fetch_add(1, Ordering::Relaxed);
        match &self.config.location {
            DbLocation::File(path) => {
                let meta = tokio::fs::metadata(path).await.map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        VulnDbError::DbMissing(path.display().to_string())
                    } else {
                        VulnDbError::Io {
                            path: path.clone(),
                            source: e,
                        }
                    }
                })?;
                let mtime = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                Ok(Probe {
                    tag: format!("{}-{mtime}", meta.len()),
                    sha256: None,
                })
            }
            DbLocation::S3 { bucket, key } => {
                match self.s3.head_object().bucket(bucket).key(key).send().await {
                    Ok(out) => {
                        let tag = out
                            .e_tag()
                            .map(|e| e.trim_matches('"').to_string())
                            .ok_or_else(|| {
                                request_error("HeadObject", bucket, key, "no ETag".into())
                            })?;
                        Ok(Probe {
                            tag,
                            sha256: published_sha256(out.metadata()),
                        })
                    }
                    Err(e) => match classify(&e) {
                        Class::NotFound => {
                            Err(VulnDbError::DbMissing(format!("s3://{bucket}/{key}")))
                        }
                        Class::PreconditionFailed => Err(request_error(
                            "HeadObject",
                            bucket,
                            key,
                            "precondition failed".into(),
                        )
                        .into()),
                        Class::Other(m) => Err(request_error("HeadObject", bucket, key, m).into()),
                    },
                }
            }
        }
    }

    /// Where the index of `bucket/key` at `tag` is cached.
    fn cached_path(&self, bucket: &str, key: &str, tag: &str) -> PathBuf {
        self.config.cache_dir.join(format!(
            "{INDEX_FILE_PREFIX}{}.db",
            &sha256_hex(format!("{bucket}/{key}@{tag}").as_bytes())[..24]
        ))
    }

    async fn load(&self, probe: &Probe) -> Result<(Database, Option<PathBuf>), VulnDbError> {
        let location = self.config.location.describe();
        match &self.config.location {
            DbLocation::File(path) => Ok((open_blocking(path.clone(), &location).await?, None)),
            DbLocation::S3 { bucket, key } => {
                let path = self.cached_path(bucket, key, &probe.tag);
                if tokio::fs::try_exists(&path).await.unwrap_or(false) {
                    match open_blocking(path.clone(), &location).await {
                        Ok(db) => return Ok((db, Some(path))),
                        Err(e) => {
                            tracing::warn!(path = %path.display(), error = %portcullis_aws::error_chain(&e), "cached index unusable; downloading again");
                            let _ = tokio::fs::remove_file(&path).await;
                        }
                    }
                }
                let (_, db, path) = self.download(bucket, key, Some(probe)).await?;
                Ok((db, Some(path)))
            }
        }
    }

    /// Streams the index to a temporary file (`If-Match` on the probed ETag, when there was a HEAD), checks
    /// its SHA-256 against the published one, renames it to its cache name (atomic) and opens it.
    async fn download(
        &self,
        bucket: &str,
        key: &str,
        probed: Option<&Probe>,
    ) -> Result<(Probe, Database, PathBuf), VulnDbError> {
        let location = self.config.location.describe();
        let dir = &self.config.cache_dir;
        tokio::fs::create_dir_all(dir).await.map_err(io_err(dir))?;
        let tmp = dir.join(format!(
            "{INDEX_FILE_PREFIX}download.{}.part",
            std::process::id()
        ));
        let got =
            download_to_file(&self.s3, bucket, key, probed.map(|p| p.tag.as_str()), &tmp).await;
        self.downloads.fetch_add(1, Ordering::Relaxed);
        let checked = got.and_then(|got| check_download(bucket, key, &location, probed, got));
        let probe = match checked {
            Ok(p) => p,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        let path = self.cached_path(bucket, key, &probe.tag);
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(io_err(&path))?;
        match open_blocking(path.clone(), &location).await {
            Ok(db) => Ok((probe, db, path)),
            Err(e) => {
                // not kept in the small /tmp: the next attempt downloads again
                let _ = tokio::fs::remove_file(&path).await;
                Err(e)
            }
        }
    }
}

/// What a download holds: the probed object, or (no HEAD before it) the object the GET returned, named by
/// its ETag; its bytes checked against the published SHA-256. `got` is `None` when the object is missing.
fn check_download(
    bucket: &str,
    key: &str,
    location: &str,
    probed: Option<&Probe>,
    got: Option<Downloaded>,
) -> Result<Probe, VulnDbError> {
    let got = got.ok_or_else(|| VulnDbError::DbMissing(location.to_string()))?;
    let probe = match probed {
        Some(p) => p.clone(),
        None => Probe {
            tag: got
                .etag
                .ok_or_else(|| request_error("GetObject", bucket, key, "no ETag".into()))?,
            sha256: got.published_sha256,
        },
    };
    if let Some(expected) = &probe.sha256
        && *expected != got.sha256
    {
        return Err(VulnDbError::Sha256Mismatch {
            location: location.to_string(),
            expected: expected.clone(),
            actual: got.sha256,
        });
    }
    Ok(probe)
}

async fn open_blocking(path: PathBuf, location: &str) -> Result<Database, VulnDbError> {
    let location = location.to_string();
    tokio::task::spawn_blocking(move || Database::open(&path))
        .await
        .map_err(|e| VulnDbError::Internal(format!("database load task: {e}")))?
        .map_err(|source| VulnDbError::Db { location, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn config_from_env() {
        let mut m = BTreeMap::new();
        assert!(matches!(
            CacheConfig::from_env(&m),
            Err(ConfigError::Missing("VULN_DB_URI"))
        ));
        m.insert("VULN_DB_URI".to_string(), "s3://b/osv/index.db".to_string());
        let c = CacheConfig::from_env(&m).unwrap();
        assert_eq!(
            c.location,
            DbLocation::S3 {
                bucket: "b".into(),
                key: "osv/index.db".into()
            }
        );
        assert_eq!(c.check_interval, DEFAULT_CHECK_INTERVAL);
        m.insert("VULN_DB_CHECK_INTERVAL_SECS".to_string(), "x".to_string());
        assert!(CacheConfig::from_env(&m).is_err());
        assert!(DbLocation::parse("V", "s3://b").is_err());
        assert!(DbLocation::parse("V", "https://x/y").is_err());
        assert_eq!(
            DbLocation::parse("V", "/opt/osv.db").unwrap(),
            DbLocation::File("/opt/osv.db".into())
        );
    }

    #[tokio::test]
    async fn local_file_is_loaded_once_and_missing_fails_fast() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("osv.db");
        // A minimal OSV record of its own: the test does not depend on where the clone sits.
        let data = dir.path().join("GHSA-test.json");
        std::fs::write(
            &data,
            r#"{"id":"GHSA-test","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.19"}]}]}]}"#,
        )
        .unwrap();
        portcullis_vuln::build_command(&[data], &path).unwrap();
        let s3 = portcullis_aws::local_s3_client("http://127.0.0.1:9");
        let cfg = |p: PathBuf| CacheConfig {
            location: DbLocation::File(p),
            check_interval: Duration::from_secs(300),
            cache_dir: dir.path().to_path_buf(),
        };
        let c = DbCache::new(s3.clone(), cfg(path));
        let a = c.get().await.unwrap();
        let b = c.get().await.unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!((c.probes(), c.loads()), (1, 1));
        let missing = DbCache::new(s3, cfg(dir.path().join("nope.db")));
        assert!(matches!(
            missing.get().await,
            Err(VulnDbError::DbMissing(_))
        ));
    }
}
