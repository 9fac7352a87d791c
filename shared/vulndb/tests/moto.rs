//! Integration tests against a real moto_server (`PORTCULLIS_TEST_S3_ENDPOINT`; `scripts/test.sh` starts
//! one). Without it these tests FAIL with a message: they never pass silently.
//!
//! sync (file:// source of small OSV zips) → `osv/index.db` in S3 → DbCache (ETag reuse) → vuln-scan
//! handler → result with the advisory → rescan against a newer index → exactly the new event; plus the
//! stale-database, SHA-256 and checksum cases, and the cold-load measurement of the full index.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use chrono::Utc;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

use portcullis_aws::store::{Outcome, ResultStore, sbom_key};
use portcullis_aws::{ScanConfig, ScanState, handle_scan, local_s3_client};
use portcullis_core::events::EventPayload;
use portcullis_core::{
    ArtifactRef, FindingDetail, Policy, S3ObjectRef, SecurityTool, ToolChainResult,
    UnscannableReason, Verdict,
};
use portcullis_vuln::Database;
use portcullis_vulndb::cache::{CacheConfig, DbCache, DbLocation};
use portcullis_vulndb::rescan::{RescanState, RescanStatus, handle_rescan};
use portcullis_vulndb::sync::{FileFetcher, SourceUrl, SyncConfig, sync};
use portcullis_vulndb::{CachedVulnTool, SyncState, VulnDbError, handle_sync};

const OLD_ADVISORY: &str = "GHSA-p6mc-m468-83gw";
const NEW_ADVISORY: &str = "GHSA-35jh-r3h4-6jhm";

fn endpoint() -> String {
    match std::env::var("PORTCULLIS_TEST_S3_ENDPOINT") {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "PORTCULLIS_TEST_S3_ENDPOINT is not set: these tests need a real moto_server \
             (`moto_server -H 127.0.0.1 -p 5055 &` then `export PORTCULLIS_TEST_S3_ENDPOINT=http://127.0.0.1:5055`, \
             or run scripts/test.sh)"
        ),
    }
}

fn shared_data() -> PathBuf {
    let p = std::env::var("PORTCULLIS_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(
        p.join("osv").is_dir(),
        "shared test data missing at {}",
        p.display()
    );
    p
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or(0)
    )
}

async fn bucket(s3: &Client, name: &str) -> Result<()> {
    s3.create_bucket().bucket(name).send().await?;
    Ok(())
}

/// The id of the unversioned object `bucket`/`key`.
fn artifact_id(bucket: &str, key: &str) -> portcullis_core::ArtifactId {
    ArtifactRef::S3(S3ObjectRef {
        bucket: bucket.to_string(),
        key: key.to_string(),
        version_id: None,
        etag: None,
        size: None,
        sequencer: None,
    })
    .artifact_id()
}

/// A client, fresh index/results/artifacts buckets and a temporary directory.
struct Buckets {
    s3: Client,
    dbb: String,
    results: String,
    arts: String,
    tmp: tempfile::TempDir,
}

impl Buckets {
    async fn new() -> Result<Buckets> {
        let s3 = local_s3_client(&endpoint());
        let (dbb, results, arts) = (
            unique("pc-osv"),
            unique("pc-results"),
            unique("pc-artifacts"),
        );
        for b in [&dbb, &results, &arts] {
            bucket(&s3, b).await?;
        }
        Ok(Buckets {
            s3,
            dbb,
            results,
            arts,
            tmp: tempfile::tempdir()?,
        })
    }
}

fn zip_records(out: &Path, files: &[PathBuf]) -> Result<()> {
    std::fs::create_dir_all(out.parent().unwrap())?;
    let mut z = zip::ZipWriter::new(std::fs::File::create(out)?);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for f in files {
        z.start_file(f.file_name().unwrap().to_string_lossy(), opts)?;
        z.write_all(&std::fs::read(f)?)?;
    }
    z.finish()?;
    Ok(())
}

fn records(dir: &Path, n: usize, exclude_lodash: bool) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| {
            !exclude_lodash
                || !std::fs::read_to_string(p)
                    .unwrap_or_default()
                    .contains("\"lodash\"")
        })
        .collect();
    v.sort();
    v.truncate(n);
    Ok(v)
}

/// A file:// source tree: 30 PyPI + 30 npm records (with `OLD_ADVISORY`; `NEW_ADVISORY` when `newer`).
fn source_tree(root: &Path, newer: bool) -> Result<()> {
    let osv = shared_data().join("osv");
    zip_records(
        &root.join("PyPI/all.zip"),
        &records(&osv.join("PyPI"), 30, false)?,
    )?;
    let mut npm = records(&osv.join("npm"), 29, true)?;
    npm.push(osv.join(format!("npm/{OLD_ADVISORY}.json")));
    if newer {
        npm.push(osv.join(format!("npm/{NEW_ADVISORY}.json")));
    }
    zip_records(&root.join("npm/all.zip"), &npm)?;
    Ok(())
}

fn sync_config(src: &Path, bucket: &str, work: &Path) -> SyncConfig {
    SyncConfig {
        source: SourceUrl::File(src.to_path_buf()),
        ecosystems: vec!["PyPI".into(), "npm".into()],
        bucket: bucket.into(),
        index_key: "osv/index.db".into(),
        work_dir: work.to_path_buf(),
    }
}

fn cache(s3: &Client, bucket: &str, dir: &Path) -> DbCache {
    DbCache::new(
        s3.clone(),
        CacheConfig {
            location: DbLocation::S3 {
                bucket: bucket.into(),
                key: "osv/index.db".into(),
            },
            check_interval: Duration::ZERO,
            cache_dir: dir.to_path_buf(),
        },
    )
}

fn s3_event(bucket: &str, key: &str) -> Value {
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-28T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "portcullis-artifacts",
               "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": key, "size": 10, "sequencer": "0055AED6DCD90281E5"}}
    }]})
}

const LOCKFILE: &str = r#"{
  "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {
    "": {"name": "app", "version": "1.0.0", "dependencies": {"lodash": "4.17.15"}},
    "node_modules/lodash": {"version": "4.17.15", "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.15.tgz"}
  }
}"#;

fn scan_state(s3: &Client, results: &str, policy: Policy, cache: Arc<DbCache>) -> ScanState {
    let env: BTreeMap<String, String> = [
        ("RESULTS_BUCKET".to_string(), results.to_string()),
        ("ARTIFACT_PREFIX".to_string(), "uploads/".to_string()),
    ]
    .into_iter()
    .collect();
    let config = ScanConfig::from_env(&env).unwrap();
    let tool: Arc<dyn SecurityTool> = Arc::new(CachedVulnTool::new(cache));
    ScanState::new(s3.clone(), config, Arc::new(policy), tool)
}

fn vuln_only_policy() -> Result<Policy> {
    Ok(Policy::from_document(
        "test.toml",
        "version = 1\n[tools]\nenabled = [\"vuln\"]\n",
    )?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_cache_scan_rescan_end_to_end() -> Result<()> {
    let Buckets {
        s3,
        dbb,
        results,
        arts,
        tmp,
    } = Buckets::new().await?;
    let src = tmp.path().join("src");
    source_tree(&src, false)?;

    // GIVEN a sync from a file:// source
    let cfg = sync_config(&src, &dbb, tmp.path());
    let report = sync(&s3, &cfg, &FileFetcher::new(&src)).await?;
    assert!(report.advisories >= 55, "{report:?}");
    assert!(report.missing.is_empty());
    for key in [
        "osv/PyPI/all.zip",
        "osv/npm/all.zip",
        "osv/index.db",
        "osv/index.json",
    ] {
        s3.head_object()
            .bucket(&dbb)
            .key(key)
            .send()
            .await
            .context(key.to_string())?;
    }
    let head = s3
        .head_object()
        .bucket(&dbb)
        .key("osv/index.db")
        .send()
        .await?;
    assert_eq!(
        head.metadata().and_then(|m| m.get("sha256")),
        Some(&report.sha256)
    );

    // WHEN the cache loads twice with an unchanged ETag THEN one download
    let cache_dir = tmp.path().join("cache");
    let c = Arc::new(cache(&s3, &dbb, &cache_dir));
    let db1 = c.get().await?;
    let db2 = c.get().await?;
    assert!(Arc::ptr_eq(&db1, &db2));
    // (the first load into the empty cache directory is one GET without a HEAD; the second get, with a
    // zero check interval, is one HEAD)
    assert_eq!((c.downloads(), c.probes(), c.loads()), (1, 1, 1));
    assert!(db1.advisory(OLD_ADVISORY).unwrap().is_some());
    assert!(db1.advisory(NEW_ADVISORY).unwrap().is_none());
    // a second container on the same /tmp reuses the file
    let c2 = cache(&s3, &dbb, &cache_dir);
    c2.get().await?;
    assert_eq!(c2.downloads(), 0);

    // WHEN vuln-scan handles an upload of a vulnerable lockfile
    let key = "uploads/app/package-lock.json";
    s3.put_object()
        .bucket(&arts)
        .key(key)
        .body(ByteStream::from(LOCKFILE.as_bytes().to_vec()))
        .send()
        .await?;
    let policy = vuln_only_policy()?;
    let state = scan_state(&s3, &results, policy.clone(), Arc::clone(&c));
    handle_scan(
        &state,
        LambdaEvent::new(s3_event(&arts, key), Context::default()),
    )
    .await?;
    let artifact = ArtifactRef::S3(S3ObjectRef {
        bucket: arts.clone(),
        key: key.into(),
        version_id: None,
        etag: None,
        size: None,
        sequencer: None,
    });
    let id = artifact.artifact_id();
    let store = ResultStore::new(s3.clone(), results.clone());
    let stored = store.results(&id).await?;
    assert_eq!(stored.len(), 1);
    let Outcome::Result(result) = &stored[0].outcome else {
        panic!("tool error: {:?}", stored[0].outcome)
    };
    let text = serde_json::to_string(result)?;
    assert!(text.contains(OLD_ADVISORY), "{text}");
    assert!(!text.contains(NEW_ADVISORY));

    // GIVEN a chain + CycloneDX SBOM for it, and a newer index with one more lodash advisory
    let mut chain = ToolChainResult::new(stored[0].artifact.clone(), result.started_at);
    chain.add_tool_result((**result).clone());
    chain.finalize(&policy, Utc::now());
    assert_eq!(chain.verdict, Verdict::Quarantined, "{:?}", chain.reasons);
    store.put_chain(&chain).await?;
    let packages = result.inventory.as_ref().unwrap().packages.clone();
    let sbom = portcullis_inventory::to_cyclonedx(&packages, &chain.artifact, None);
    s3.put_object()
        .bucket(&results)
        .key(sbom_key(&id))
        .body(ByteStream::from(serde_json::to_vec(&sbom)?))
        .send()
        .await?;
    source_tree(&src, true)?;
    // the vulndb-sync handler, with an EventBridge Scheduled Event payload
    let scheduled = json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
        "time": "2026-11-28T01:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/portcullis-vulndb-sync"],
        "detail": {}
    });
    let sync_state = SyncState {
        s3: s3.clone(),
        config: cfg.clone(),
    };
    let report2 = handle_sync(&sync_state, LambdaEvent::new(scheduled, Context::default())).await?;
    assert_eq!(report2.advisories, report.advisories + 1);

    // WHEN rescan runs
    let rs = RescanState {
        s3: s3.clone(),
        bucket: results.clone(),
        policy: Arc::new(policy.clone()),
        cache: Arc::clone(&c),
        margin: Duration::from_secs(5),
    };
    let resp = handle_rescan(
        &rs,
        LambdaEvent::new(
            json!({"artifact_ids": [id.to_string()]}),
            Context::default(),
        ),
    )
    .await?;
    assert_eq!(
        c.downloads(),
        2,
        "the new ETag triggers exactly one more download"
    );
    // THEN exactly the new advisory's event, and the chain is rewritten
    assert!(resp.failed.is_empty(), "{:?}", resp.failed);
    assert_eq!(resp.artifacts.len(), 1);
    let a = &resp.artifacts[0];
    assert_eq!(a.status, RescanStatus::Updated);
    let vulns: Vec<_> = a
        .new_events
        .iter()
        .filter(|e| matches!(e.payload, EventPayload::VulnerabilityDetected { .. }))
        .collect();
    assert_eq!(vulns.len(), 1, "{:#?}", a.new_events);
    assert!(serde_json::to_string(vulns[0])?.contains(NEW_ADVISORY));
    let after = store.chain(&id).await?.unwrap();
    let text = serde_json::to_string(&after)?;
    assert!(text.contains(NEW_ADVISORY) && text.contains(OLD_ADVISORY));

    // AND a second rescan changes nothing (no rewrite, no events)
    let resp = handle_rescan(
        &rs,
        LambdaEvent::new(json!({"all": true}), Context::default()),
    )
    .await?;
    assert_eq!(resp.artifacts.len(), 1);
    assert_eq!(resp.artifacts[0].status, RescanStatus::Unchanged);
    assert!(resp.artifacts[0].new_events.is_empty());
    assert!(resp.continuation_token.is_none());
    Ok(())
}

async fn put_index(s3: &Client, bucket: &str, bytes: Vec<u8>, sha: &str) -> Result<()> {
    s3.put_object()
        .bucket(bucket)
        .key("osv/index.db")
        .metadata("sha256", sha)
        .body(ByteStream::from(bytes))
        .send()
        .await?;
    Ok(())
}

fn small_db(built_at: chrono::DateTime<Utc>) -> Result<Database> {
    let osv = shared_data().join("osv/npm");
    Ok(Database::build_at(&[osv.join(format!("{OLD_ADVISORY}.json"))], built_at)?.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_database_is_unscannable_never_clean() -> Result<()> {
    let Buckets {
        s3,
        dbb,
        results,
        arts,
        tmp,
    } = Buckets::new().await?;
    // GIVEN a 10-day-old index and a policy allowing 24 h
    let bytes = small_db(Utc::now() - chrono::Duration::days(10))?.to_bytes()?;
    let sha = portcullis_vulndb::s3util::sha256_hex(&bytes);
    put_index(&s3, &dbb, bytes, &sha).await?;
    let policy = Policy::from_document(
        "stale.toml",
        "version = 1\n[tools]\nenabled = [\"vuln\"]\n[vulnerabilities]\nmax_db_age_hours = 24\n",
    )?;
    let c = Arc::new(cache(&s3, &dbb, tmp.path()));
    // a clean artifact: nothing in it matches
    let key = "uploads/clean/package-lock.json";
    s3.put_object()
        .bucket(&arts)
        .key(key)
        .body(ByteStream::from(
            LOCKFILE.replace("4.17.15", "4.17.21").into_bytes(),
        ))
        .send()
        .await?;
    let state = scan_state(&s3, &results, policy.clone(), Arc::clone(&c));
    // WHEN scanned
    handle_scan(
        &state,
        LambdaEvent::new(s3_event(&arts, key), Context::default()),
    )
    .await?;
    let store = ResultStore::new(s3.clone(), results.clone());
    let id = artifact_id(&arts, key);
    let stored = store.results(&id).await?;
    let Outcome::Result(result) = &stored[0].outcome else {
        panic!("{:?}", stored[0].outcome)
    };
    // THEN an unscannable tool_input_unavailable finding, and the chain is not CLEAN
    assert!(result.findings.iter().any(|f| matches!(
        &f.detail,
        FindingDetail::Unscannable(u) if u.reason == UnscannableReason::ToolInputUnavailable
    )));
    let mut chain = ToolChainResult::new(stored[0].artifact.clone(), result.started_at);
    chain.add_tool_result((**result).clone());
    chain.finalize(&policy, Utc::now());
    assert_eq!(chain.verdict, Verdict::Unscannable, "{:?}", chain.reasons);
    // AND a rescan refuses the stale index
    let rs = RescanState {
        s3: s3.clone(),
        bucket: results.clone(),
        policy: Arc::new(policy),
        cache: c,
        margin: Duration::from_secs(5),
    };
    let err = handle_rescan(
        &rs,
        LambdaEvent::new(json!({"all": true}), Context::default()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, VulnDbError::Stale(_)), "{err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_index_fails_the_message_and_stores_no_result() -> Result<()> {
    let Buckets {
        s3,
        dbb,
        results,
        arts,
        tmp,
    } = Buckets::new().await?;
    let key = "uploads/app/package-lock.json";
    s3.put_object()
        .bucket(&arts)
        .key(key)
        .body(ByteStream::from(LOCKFILE.as_bytes().to_vec()))
        .send()
        .await?;
    // GIVEN no index at the configured location, and its background load started (as at a cold start)
    let c = Arc::new(cache(&s3, &dbb, tmp.path()));
    let loading = portcullis_vulndb::scan::start_loading(&c);
    let state = scan_state(&s3, &results, vuln_only_policy()?, Arc::clone(&c));
    // WHEN the artifact is scanned
    let err = handle_scan(
        &state,
        LambdaEvent::new(s3_event(&arts, key), Context::default()),
    )
    .await
    .unwrap_err();
    // THEN the invocation fails as ToolUnavailable (retried, then dead-lettered), and no result is stored
    assert_eq!(err.error_type(), "ToolUnavailable", "{err}");
    assert!(err.to_string().contains("vulnerability database"), "{err}");
    assert!(matches!(loading.await?, Err(VulnDbError::DbMissing(_))));
    let store = ResultStore::new(s3.clone(), results.clone());
    let id = artifact_id(&arts, key);
    assert!(store.results(&id).await?.is_empty());
    // WHEN the index appears and the message is retried
    let bytes = small_db(Utc::now())?.to_bytes()?;
    let sha = portcullis_vulndb::s3util::sha256_hex(&bytes);
    put_index(&s3, &dbb, bytes, &sha).await?;
    handle_scan(
        &state,
        LambdaEvent::new(s3_event(&arts, key), Context::default()),
    )
    .await?;
    // THEN the result is stored, with the advisory matched after the walk
    let stored = store.results(&id).await?;
    let Outcome::Result(result) = &stored[0].outcome else {
        panic!("{:?}", stored[0].outcome)
    };
    assert!(
        result.tool_version.contains("+db."),
        "{}",
        result.tool_version
    );
    assert!(
        result.findings.iter().any(|f| matches!(
            &f.detail,
            FindingDetail::Vulnerability(v) if v.advisory_id == OLD_ADVISORY
        )),
        "{:?}",
        result.findings
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_or_foreign_index_is_a_typed_error() -> Result<()> {
    let s3 = local_s3_client(&endpoint());
    let dbb = unique("pc-osv");
    bucket(&s3, &dbb).await?;
    let tmp = tempfile::tempdir()?;
    let good = small_db(Utc::now())?.to_bytes()?;
    let good_sha = portcullis_vulndb::s3util::sha256_hex(&good);

    // published digest does not match the bytes
    put_index(&s3, &dbb, good.clone(), &"0".repeat(64)).await?;
    let err = cache(&s3, &dbb, tmp.path()).get().await.unwrap_err();
    assert!(matches!(err, VulnDbError::Sha256Mismatch { .. }), "{err}");

    // one payload byte flipped, digest recomputed: the DB's own checksum catches it
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let sha = portcullis_vulndb::s3util::sha256_hex(&bad);
    put_index(&s3, &dbb, bad, &sha).await?;
    let err = cache(&s3, &dbb, tmp.path()).get().await.unwrap_err();
    assert!(
        matches!(
            err,
            VulnDbError::Db {
                source: portcullis_vuln::DbError::Checksum,
                ..
            }
        ),
        "{err}"
    );

    // not our format at all
    let junk = b"{\"not\": \"a database\"}".to_vec();
    let sha = portcullis_vulndb::s3util::sha256_hex(&junk);
    put_index(&s3, &dbb, junk, &sha).await?;
    let err = cache(&s3, &dbb, tmp.path()).get().await.unwrap_err();
    assert!(
        matches!(
            err,
            VulnDbError::Db {
                source: portcullis_vuln::DbError::BadMagic,
                ..
            }
        ),
        "{err}"
    );

    // missing object
    let err = cache(&s3, &unique("pc-none"), tmp.path())
        .get()
        .await
        .unwrap_err();
    assert!(!matches!(err, VulnDbError::Db { .. }), "{err}");

    // and the good one loads
    put_index(&s3, &dbb, good, &good_sha).await?;
    cache(&s3, &dbb, tmp.path()).get().await?;
    Ok(())
}

/// Cold load of the full index (every record under shared/data/osv) from S3 into memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measure_cold_load_of_the_full_index() -> Result<()> {
    let s3 = local_s3_client(&endpoint());
    let dbb = unique("pc-osv");
    bucket(&s3, &dbb).await?;
    let tmp = tempfile::tempdir()?;
    let osv = shared_data().join("osv");
    let sources: Vec<PathBuf> = ["PyPI", "npm", "crates.io", "Go", "Maven", "harvested-other"]
        .iter()
        .map(|d| osv.join(d))
        .collect();
    let t = Instant::now();
    let (db, _) = Database::build(&sources)?;
    let build = t.elapsed();
    let bytes = db.to_bytes()?;
    let size = bytes.len();
    let sha = portcullis_vulndb::s3util::sha256_hex(&bytes);
    put_index(&s3, &dbb, bytes, &sha).await?;
    let c = cache(&s3, &dbb, tmp.path());
    let t = Instant::now();
    let loaded = c.get().await?;
    let cold = t.elapsed();
    let t = Instant::now();
    c.get().await?;
    let warm_check = t.elapsed();
    let c2 = cache(&s3, &dbb, tmp.path());
    let t = Instant::now();
    c2.get().await?;
    let from_tmp = t.elapsed();
    eprintln!(
        "FULL INDEX: {} advisories, {size} bytes; build {build:?}; cold load from S3 (HEAD+GET+verify+decode) {cold:?}; \
         unchanged-ETag check {warm_check:?}; reload from /tmp file {from_tmp:?}",
        loaded.metadata().advisories
    );
    assert_eq!(loaded.metadata().advisories, db.metadata().advisories);
    Ok(())
}
