//! The OSV sync (the `vulndb-sync` function, scheduled): fetch each ecosystem's OSV export
//! (`<OSV_SOURCE_URL>/<Ecosystem>/all.zip`), store it in S3 beside the index (`<prefix><Ecosystem>/all.zip`,
//! with the source's ETag/Last-Modified and our SHA-256 as object metadata), rebuild the index from those
//! files with `Database::build`, and publish `<prefix>index.db` (`x-amz-meta-sha256`, checked by every
//! loader) plus the sidecar `<prefix>index.json` (built_at, counts, sources). The index is written last, so
//! a reader never sees an index without its exports.
//!
//! An ecosystem whose fetch fails is rebuilt from the copy stored by the previous sync (and listed as
//! such in the sidecar); one with neither is listed under `missing`. No usable export at all is an error,
//! and nothing is published.
//!
//! | Variable | Meaning |
//! |---|---|
//! | `VULN_DB_URI` | required: `s3://bucket/<prefix>index.db`; exports go under the same prefix |
//! | `OSV_SOURCE_URL` | export base URL; default [`DEFAULT_SOURCE_URL`] (the public OSV bucket). `file:///dir` and `s3://bucket/prefix` mirrors work too |
//! | `OSV_ECOSYSTEMS` | comma list; default [`DEFAULT_ECOSYSTEMS`] |
//! | `VULN_DB_WORK_DIR` | scratch directory (default the temp dir, `/tmp` on Lambda) |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use portcullis_aws::ConfigError;
use portcullis_aws::config::Env;
use portcullis_vuln::Database;

use crate::error::{VulnDbError, io_err};
use crate::s3util::{Class, classify, download_to_file, parse_s3_uri, request_error};

/// The public OSV export bucket (HTTPS).
pub const DEFAULT_SOURCE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";
/// Ecosystems synced by default.
pub const DEFAULT_ECOSYSTEMS: &str =
    "PyPI,npm,crates.io,Go,Maven,NuGet,RubyGems,Packagist,Debian,Alpine";

/// Where exports come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceUrl {
    /// `file:///dir`: `<dir>/<Ecosystem>/all.zip`.
    File(PathBuf),
    /// `s3://bucket/prefix`: `<prefix>/<Ecosystem>/all.zip`.
    S3 {
        /// Bucket.
        bucket: String,
        /// Prefix (no trailing slash).
        prefix: String,
    },
    /// `https://host/base`: `<base>/<Ecosystem>/all.zip`.
    Https(String),
}

impl SourceUrl {
    /// Parses `OSV_SOURCE_URL`.
    pub fn parse(value: &str) -> Result<SourceUrl, ConfigError> {
        let v = value.trim().trim_end_matches('/');
        let invalid = |m: String| ConfigError::Invalid {
            name: "OSV_SOURCE_URL",
            message: m,
        };
        if let Some(path) = v.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(invalid(format!(
                    "`{value}`: file:// needs an absolute path"
                )));
            }
            return Ok(SourceUrl::File(PathBuf::from(path)));
        }
        if v.starts_with("s3://") {
            let (bucket, prefix) =
                parse_s3_uri(v, true).ok_or_else(|| invalid(format!("`{value}` has no bucket")))?;
            return Ok(SourceUrl::S3 {
                bucket,
                prefix: prefix.trim_end_matches('/').to_string(),
            });
        }
        if v.starts_with("https://") {
            return Ok(SourceUrl::Https(v.to_string()));
        }
        Err(invalid(format!(
            "`{value}`: expected https://, s3:// or file:///"
        )))
    }

    /// The URL of one ecosystem's export.
    pub fn export_url(&self, ecosystem: &str) -> String {
        match self {
            SourceUrl::File(d) => format!("file://{}/{ecosystem}/all.zip", d.display()),
            SourceUrl::S3 { bucket, prefix } if prefix.is_empty() => {
                format!("s3://{bucket}/{ecosystem}/all.zip")
            }
            SourceUrl::S3 { bucket, prefix } => {
                format!("s3://{bucket}/{prefix}/{ecosystem}/all.zip")
            }
            SourceUrl::Https(base) => format!("{base}/{}/all.zip", url_path_escape(ecosystem)),
        }
    }
}

fn url_path_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sync settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    /// Export source.
    pub source: SourceUrl,
    /// Ecosystems to sync.
    pub ecosystems: Vec<String>,
    /// Bucket of the index and the stored exports.
    pub bucket: String,
    /// Key of the index.
    pub index_key: String,
    /// Scratch directory.
    pub work_dir: PathBuf,
}

impl SyncConfig {
    /// Reads the sync settings.
    pub fn from_env(env: &dyn Env) -> Result<SyncConfig, ConfigError> {
        let uri = env
            .var("VULN_DB_URI")
            .filter(|v| !v.trim().is_empty())
            .ok_or(ConfigError::Missing("VULN_DB_URI"))?;
        let (bucket, index_key) =
            parse_s3_uri(uri.trim(), false).ok_or_else(|| ConfigError::Invalid {
                name: "VULN_DB_URI",
                message: format!("`{uri}`: the sync publishes to S3 (s3://bucket/key)"),
            })?;
        let source = SourceUrl::parse(
            &env.var("OSV_SOURCE_URL")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_SOURCE_URL.to_string()),
        )?;
        let ecosystems: Vec<String> = env
            .var("OSV_ECOSYSTEMS")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_ECOSYSTEMS.to_string())
            .split(',')
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect();
        if let Some(bad) = ecosystems
            .iter()
            .find(|e| e.contains('/') || e.contains("..") || e.contains('\\'))
        {
            return Err(ConfigError::Invalid {
                name: "OSV_ECOSYSTEMS",
                message: format!("`{bad}` is not an ecosystem name"),
            });
        }
        if ecosystems.is_empty() {
            return Err(ConfigError::Invalid {
                name: "OSV_ECOSYSTEMS",
                message: "no ecosystem listed".into(),
            });
        }
        Ok(SyncConfig {
            source,
            ecosystems,
            bucket,
            index_key,
            work_dir: env
                .var("VULN_DB_WORK_DIR")
                .filter(|v| !v.trim().is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir),
        })
    }

    /// The prefix under which exports are stored (the index key's directory).
    pub fn prefix(&self) -> &str {
        match self.index_key.rfind('/') {
            Some(i) => &self.index_key[..=i],
            None => "",
        }
    }

    /// Key of a stored export.
    pub fn export_key(&self, ecosystem: &str) -> String {
        format!("{}{ecosystem}/all.zip", self.prefix())
    }

    /// Key of the JSON sidecar (`index.db` → `index.json`).
    pub fn sidecar_key(&self) -> String {
        match self.index_key.strip_suffix(".db") {
            Some(stem) => format!("{stem}.json"),
            None => format!("{}.json", self.index_key),
        }
    }
}

/// One fetched export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fetched {
    /// Where it came from.
    pub url: String,
    /// The source's ETag, if it gave one.
    pub etag: Option<String>,
    /// The source's Last-Modified, if it gave one.
    pub last_modified: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256.
    pub sha256: String,
}

/// Fetches OSV exports (pluggable: file, S3 and HTTPS implementations).
#[async_trait]
pub trait ExportFetcher: Send + Sync {
    /// Writes `ecosystem`'s export to `dest`. `Ok(None)`: the source has no export for it.
    async fn fetch(&self, ecosystem: &str, dest: &Path) -> Result<Option<Fetched>, VulnDbError>;
}

/// Reads `<dir>/<Ecosystem>/all.zip`.
#[derive(Debug, Clone)]
pub struct FileFetcher {
    dir: PathBuf,
}

impl FileFetcher {
    /// A fetcher over a directory.
    pub fn new(dir: impl Into<PathBuf>) -> FileFetcher {
        FileFetcher { dir: dir.into() }
    }
}

#[async_trait]
impl ExportFetcher for FileFetcher {
    async fn fetch(&self, ecosystem: &str, dest: &Path) -> Result<Option<Fetched>, VulnDbError> {
        let src = self.dir.join(ecosystem).join("all.zip");
        let meta = match tokio::fs::metadata(&src).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&src)(e)),
        };
        let bytes = tokio::fs::read(&src).await.map_err(io_err(&src))?;
        tokio::fs::write(dest, &bytes).await.map_err(io_err(dest))?;
        let last_modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .and_then(|d| DateTime::<Utc>::from_timestamp(d.as_secs() as i64, 0))
            .map(|t| t.to_rfc2822());
        let sha256 = hex::encode(Sha256::digest(&bytes));
        Ok(Some(Fetched {
            url: format!("file://{}", src.display()),
            etag: Some(sha256.clone()),
            last_modified,
            size: bytes.len() as u64,
            sha256,
        }))
    }
}

/// Reads `s3://bucket/<prefix>/<Ecosystem>/all.zip` (a mirror).
#[derive(Debug, Clone)]
pub struct S3Fetcher {
    s3: Client,
    bucket: String,
    prefix: String,
}

impl S3Fetcher {
    /// A fetcher over an S3 mirror.
    pub fn new(s3: Client, bucket: impl Into<String>, prefix: impl Into<String>) -> S3Fetcher {
        S3Fetcher {
            s3,
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }
}

#[async_trait]
impl ExportFetcher for S3Fetcher {
    async fn fetch(&self, ecosystem: &str, dest: &Path) -> Result<Option<Fetched>, VulnDbError> {
        let key = if self.prefix.is_empty() {
            format!("{ecosystem}/all.zip")
        } else {
            format!("{}/{ecosystem}/all.zip", self.prefix)
        };
        let head = match self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(h) => h,
            Err(e) => {
                return match classify(&e) {
                    Class::NotFound => Ok(None),
                    Class::PreconditionFailed => Ok(None),
                    Class::Other(m) => {
                        Err(request_error("HeadObject", &self.bucket, &key, m).into())
                    }
                };
            }
        };
        let etag = head.e_tag().map(|e| e.trim_matches('"').to_string());
        let Some(got) =
            download_to_file(&self.s3, &self.bucket, &key, etag.as_deref(), dest).await?
        else {
            return Ok(None);
        };
        let (sha256, size) = (got.sha256, got.len);
        Ok(Some(Fetched {
            url: format!("s3://{}/{key}", self.bucket),
            etag,
            last_modified: head.last_modified().map(|t| t.to_string()),
            size,
            sha256,
        }))
    }
}

/// The fetcher for a source URL.
pub fn fetcher_for(source: &SourceUrl, s3: &Client) -> Box<dyn ExportFetcher> {
    match source {
        SourceUrl::File(dir) => Box::new(FileFetcher::new(dir.clone())),
        SourceUrl::S3 { bucket, prefix } => {
            Box::new(S3Fetcher::new(s3.clone(), bucket.clone(), prefix.clone()))
        }
        SourceUrl::Https(base) => Box::new(crate::http::HttpsFetcher::new(base.clone())),
    }
}

/// How one ecosystem was obtained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// Ecosystem.
    pub ecosystem: String,
    /// `source` (fetched now) or `stored` (the previous sync's copy, the fetch having failed).
    pub origin: String,
    /// The export.
    pub export: Fetched,
    /// Key of the stored copy.
    pub stored_key: String,
    /// Why the fetch failed, when `origin` is `stored`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_error: Option<String>,
}

/// The sidecar `index.json` and the sync's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    /// When the index was built.
    pub built_at: DateTime<Utc>,
    /// Index key.
    pub index_key: String,
    /// Hex SHA-256 of the index file (also `x-amz-meta-sha256`).
    pub sha256: String,
    /// Index size in bytes.
    pub size: u64,
    /// Advisories indexed.
    pub advisories: u64,
    /// Per-ecosystem counts.
    pub ecosystems: BTreeMap<String, portcullis_vuln::db::EcosystemCounts>,
    /// Records read / skipped while building.
    pub files_skipped: usize,
    /// How each ecosystem was obtained.
    pub sources: Vec<SourceRecord>,
    /// Ecosystems with neither a fresh nor a stored export.
    pub missing: Vec<String>,
    /// Index build time.
    pub build_ms: u64,
    /// Whole sync time.
    pub total_ms: u64,
}

/// Runs one sync.
pub async fn sync(
    s3: &Client,
    config: &SyncConfig,
    fetcher: &dyn ExportFetcher,
) -> Result<SyncReport, VulnDbError> {
    let started = Instant::now();
    let run_dir = config.work_dir.join(format!(
        "portcullis-osv-sync-{}-{}",
        std::process::id(),
        Utc::now().timestamp_millis()
    ));
    tokio::fs::create_dir_all(&run_dir)
        .await
        .map_err(io_err(&run_dir))?;
    let result = sync_in(s3, config, fetcher, &run_dir, started).await;
    let _ = tokio::fs::remove_dir_all(&run_dir).await;
    result
}

async fn sync_in(
    s3: &Client,
    config: &SyncConfig,
    fetcher: &dyn ExportFetcher,
    run_dir: &Path,
    started: Instant,
) -> Result<SyncReport, VulnDbError> {
    let mut sources = Vec::new();
    let mut missing = Vec::new();
    let mut paths = Vec::new();
    for eco in &config.ecosystems {
        let dir = run_dir.join(eco);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(io_err(&dir))?;
        let dest = dir.join("all.zip");
        let key = config.export_key(eco);
        let fetched = fetcher.fetch(eco, &dest).await;
        match fetched {
            Ok(Some(f)) => {
                store_export(s3, &config.bucket, &key, &dest, &f).await?;
                tracing::info!(ecosystem = %eco, url = %f.url, size = f.size, "export fetched and stored");
                sources.push(SourceRecord {
                    ecosystem: eco.clone(),
                    origin: "source".into(),
                    export: f,
                    stored_key: key,
                    fetch_error: None,
                });
                paths.push(dest);
            }
            other => {
                let fetch_error = match other {
                    Err(e) => portcullis_aws::error_chain(&e),
                    _ => "the source has no export for this ecosystem".to_string(),
                };
                tracing::warn!(ecosystem = %eco, error = %fetch_error, "export fetch failed; using the stored copy");
                match download_to_file(s3, &config.bucket, &key, None, &dest).await? {
                    Some(got) => {
                        let (sha256, size) = (got.sha256, got.len);
                        sources.push(SourceRecord {
                            ecosystem: eco.clone(),
                            origin: "stored".into(),
                            export: Fetched {
                                url: format!("s3://{}/{key}", config.bucket),
                                etag: None,
                                last_modified: None,
                                size,
                                sha256,
                            },
                            stored_key: key,
                            fetch_error: Some(fetch_error),
                        });
                        paths.push(dest);
                    }
                    None => {
                        tracing::error!(ecosystem = %eco, "no export and no stored copy");
                        missing.push(eco.clone());
                    }
                }
            }
        }
    }
    if paths.is_empty() {
        return Err(VulnDbError::Fetch {
            url: config.source.export_url("*"),
            message: format!(
                "no export could be obtained for any of {:?}",
                config.ecosystems
            ),
        });
    }
    let index_path = run_dir.join("index.db");
    let build_started = Instant::now();
    let (paths2, index2) = (paths.clone(), index_path.clone());
    let (db_meta, stats, size) = tokio::task::spawn_blocking(move || {
        let (db, stats) = Database::build(&paths2)?;
        let size = db.write(&index2)?;
        Ok::<_, portcullis_vuln::DbError>((db.metadata().clone(), stats, size))
    })
    .await
    .map_err(|e| VulnDbError::Internal(format!("index build task: {e}")))?
    .map_err(|source| VulnDbError::Db {
        location: index_path.display().to_string(),
        source,
    })?;
    let build_ms = build_started.elapsed().as_millis() as u64;
    let sha256 = file_sha256(&index_path).await?;
    let mut report = SyncReport {
        built_at: db_meta.built_at,
        index_key: config.index_key.clone(),
        sha256: sha256.clone(),
        size,
        advisories: db_meta.advisories,
        ecosystems: db_meta.ecosystems.clone(),
        files_skipped: stats.skipped.len(),
        sources,
        missing,
        build_ms,
        total_ms: 0,
    };
    let body = ByteStream::from_path(&index_path)
        .await
        .map_err(|e| VulnDbError::Io {
            path: index_path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
    s3.put_object()
        .bucket(&config.bucket)
        .key(&config.index_key)
        .content_type("application/octet-stream")
        .metadata("sha256", &sha256)
        .metadata("built-at", db_meta.built_at.to_rfc3339())
        .metadata("advisories", db_meta.advisories.to_string())
        .body(body)
        .send()
        .await
        .map_err(|e| {
            request_error(
                "PutObject",
                &config.bucket,
                &config.index_key,
                format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e)),
            )
        })?;
    report.total_ms = duration_ms(started.elapsed());
    let sidecar = serde_json::to_vec_pretty(&report)
        .map_err(|e| VulnDbError::Internal(format!("sidecar JSON: {e}")))?;
    let sidecar_key = config.sidecar_key();
    s3.put_object()
        .bucket(&config.bucket)
        .key(&sidecar_key)
        .content_type("application/json")
        .body(ByteStream::from(sidecar))
        .send()
        .await
        .map_err(|e| {
            request_error(
                "PutObject",
                &config.bucket,
                &sidecar_key,
                format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e)),
            )
        })?;
    tracing::info!(
        index = %format!("s3://{}/{}", config.bucket, config.index_key),
        advisories = report.advisories,
        size = report.size,
        build_ms = report.build_ms,
        missing = ?report.missing,
        "index published"
    );
    Ok(report)
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

async fn file_sha256(path: &Path) -> Result<String, VulnDbError> {
    let p = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut f = std::fs::File::open(&p).map_err(io_err(&p))?;
        let mut h = Sha256::new();
        std::io::copy(&mut f, &mut h).map_err(io_err(&p))?;
        Ok::<_, VulnDbError>(hex::encode(h.finalize()))
    })
    .await
    .map_err(|e| VulnDbError::Internal(format!("hash task: {e}")))?
}

async fn store_export(
    s3: &Client,
    bucket: &str,
    key: &str,
    path: &Path,
    f: &Fetched,
) -> Result<(), VulnDbError> {
    let body = ByteStream::from_path(path)
        .await
        .map_err(|e| VulnDbError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
    let mut req = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/zip")
        .metadata("sha256", &f.sha256)
        .metadata("source-url", &f.url);
    if let Some(e) = &f.etag {
        req = req.metadata("source-etag", e.trim_matches('"'));
    }
    if let Some(lm) = &f.last_modified {
        req = req.metadata("source-last-modified", lm);
    }
    req.body(body).send().await.map_err(|e| {
        request_error(
            "PutObject",
            bucket,
            key,
            format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e)),
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn config_defaults_and_layout() {
        let c = SyncConfig::from_env(&env(&[("VULN_DB_URI", "s3://b/osv/index.db")])).unwrap();
        assert_eq!(c.source, SourceUrl::Https(DEFAULT_SOURCE_URL.into()));
        assert_eq!(c.ecosystems.len(), 10);
        assert_eq!(c.prefix(), "osv/");
        assert_eq!(c.export_key("crates.io"), "osv/crates.io/all.zip");
        assert_eq!(c.sidecar_key(), "osv/index.json");
        assert_eq!(
            c.source.export_url("crates.io"),
            "https://osv-vulnerabilities.storage.googleapis.com/crates.io/all.zip"
        );
        assert_eq!(
            SourceUrl::Https("https://x".into()).export_url("Red Hat"),
            "https://x/Red%20Hat/all.zip"
        );
    }

    #[test]
    fn config_rejects_bad_values() {
        assert!(SyncConfig::from_env(&env(&[])).is_err());
        assert!(SyncConfig::from_env(&env(&[("VULN_DB_URI", "/tmp/x.db")])).is_err());
        assert!(
            SyncConfig::from_env(&env(&[
                ("VULN_DB_URI", "s3://b/k.db"),
                ("OSV_ECOSYSTEMS", "npm,../etc")
            ]))
            .is_err()
        );
        assert!(SourceUrl::parse("http://insecure").is_err());
        assert!(SourceUrl::parse("file://relative").is_err());
        assert_eq!(
            SourceUrl::parse("s3://mirror/osv/").unwrap(),
            SourceUrl::S3 {
                bucket: "mirror".into(),
                prefix: "osv".into()
            }
        );
        assert_eq!(
            SourceUrl::parse("file:///data/osv").unwrap(),
            SourceUrl::File(PathBuf::from("/data/osv"))
        );
    }
}
