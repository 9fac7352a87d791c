//! End-to-end tests of the `secrets/regex` tool through the reader: nested archives, binary skipping, window
//! boundaries, settings, conformance (determinism, empty, oversized, corrupt) and the no-leak guarantee.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use portcullis_core::model::{
    FindingDetail, ToolErrorKind, ToolResult, ToolStatus, UnscannableReason,
};
use portcullis_core::{LocalFile, Policy, SecurityTool, ToolConfiguration, ToolContext};
use portcullis_secrets::SecretTool;

// Synthetic secrets (random, never valid anywhere).
const AWS_ID: &str = "AKIA4HK2ZQ7XN3PLWB6D";
const GH: &str = "ghp_R8sT2vW4yZ6bD8fH0jL2nP4rT6vX8zB0dF2h";
const SLACK: &str = "xoxb-2847561930-7Hq3Lm9Xz2Wp4Kt8Rv1N";
const GENERIC: &str = "s8Kq2LzX9vRm4TwPq7Lm";
const PK_BODY: &str =
    "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9OiWkq7Lz3Xw7Vb2Nm6Pr4Ts9Yd1Fg5Hj0Ac3Qe7R";

fn all_values() -> Vec<&'static str> {
    vec![
        AWS_ID,
        GH,
        SLACK,
        GENERIC,
        PK_BODY,
        "7Hq3Lm9Xz2Wp4Kt8Rv1N",
        "R8sT2vW4yZ6bD8fH0jL2nP4rT6vX8zB0dF2h",
    ]
}

fn tar_gz(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn sample_artifact() -> Vec<u8> {
    let env = format!(
        "# app config\nAWS_ACCESS_KEY_ID={AWS_ID}\nGITHUB_TOKEN={GH}\nexport DB_PASSWORD={GENERIC}\n"
    );
    let key =
        format!("-----BEGIN RSA PRIVATE KEY-----\n{PK_BODY}\n-----END RSA PRIVATE KEY-----\n");
    let json = format!("{{\n  \"slack\": \"{SLACK}\"\n}}\n");
    let inner_zip = zip_of(&[("conf/settings.json", json.as_bytes())]);
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.extend_from_slice(format!("\0\0{GH}\0").as_bytes());
    tar_gz(&[
        ("app/.env", env.into_bytes()),
        ("app/keys/id_rsa", key.into_bytes()),
        ("app/lib/bundle.jar", inner_zip),
        ("app/bin/tool", elf),
        ("app/README.md", b"nothing to see\n".to_vec()),
    ])
}

fn ctx_for(path: &std::path::Path) -> ToolContext {
    ToolContext::for_local_file(path, Arc::new(Policy::default_policy()))
}

fn config(settings: serde_json::Value) -> ToolConfiguration {
    ToolConfiguration {
        enabled: true,
        settings,
    }
}

fn write_tmp(dir: &tempfile::TempDir, name: &str, data: &[u8]) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn secrets(r: &ToolResult) -> Vec<(String, String, u64)> {
    let mut v: Vec<_> = r
        .findings
        .iter()
        .filter_map(|f| match &f.detail {
            FindingDetail::Secret(s) => Some((
                f.location.clone().unwrap_or_default(),
                s.rule_id.clone(),
                s.line,
            )),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

/// A `MakeWriter` collecting everything logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[test]
fn finds_secrets_in_nested_archives_and_never_leaks_values() {
    // GIVEN a .tar.gz with secrets in a dotenv file, a key file, a JSON inside a nested zip and an ELF
    let dir = tempfile::tempdir().unwrap();
    let path = write_tmp(&dir, "app.tar.gz", &sample_artifact());
    let tool = SecretTool::new().unwrap();
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    // WHEN it is scanned with every log level captured — by the process-wide subscriber, so events from
    // any thread are seen whatever the other tests of this binary do concurrently (only this test sets it)
    tracing::subscriber::set_global_default(subscriber)
        .expect("only this test installs a global subscriber");
    tracing::callsite::rebuild_interest_cache();
    let result = tool
        .analyze_blocking(
            &LocalFile::new(&path),
            &config(serde_json::Value::Null),
            &ctx_for(&path),
        )
        .unwrap();
    // THEN each text secret is found with its line; the ELF is skipped
    assert_eq!(result.status, ToolStatus::Succeeded, "{result:?}");
    let found = secrets(&result);
    let expect = vec![
        (
            "app.tar.gz!/app/.env".to_string(),
            "aws-access-key-id".to_string(),
            2,
        ),
        (
            "app.tar.gz!/app/.env".to_string(),
            "generic-secret-env".to_string(),
            4,
        ),
        (
            "app.tar.gz!/app/.env".to_string(),
            "github-token".to_string(),
            3,
        ),
        (
            "app.tar.gz!/app/keys/id_rsa".to_string(),
            "private-key".to_string(),
            1,
        ),
        (
            "app.tar.gz!/app/lib/bundle.jar!/conf/settings.json".to_string(),
            "slack-token".to_string(),
            2,
        ),
    ];
    assert_eq!(found, expect);
    let crit = result
        .findings
        .iter()
        .filter(|f| f.severity == portcullis_core::Severity::Critical)
        .count();
    assert_eq!(crit, 2, "AWS key id and private key are critical");
    for f in &result.findings {
        if let FindingDetail::Secret(s) = &f.detail {
            assert!(s.fingerprint.starts_with("sha256:") && s.fingerprint.len() == 23);
        }
    }
    // AND no secret value appears in the JSON, the Debug output or the logs
    let json = serde_json::to_string_pretty(&result).unwrap();
    let debug = format!("{result:?}");
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("secret found") && logs.contains("fingerprint"),
        "logs were captured: {logs}"
    );
    for v in all_values() {
        assert!(!json.contains(v), "value leaked into JSON");
        assert!(!debug.contains(v), "value leaked into Debug");
        assert!(!logs.contains(v), "value leaked into logs");
    }
}

#[test]
fn binary_entries_are_scanned_when_asked_and_paths_can_be_allowlisted() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tmp(&dir, "app.tar.gz", &sample_artifact());
    let tool = SecretTool::new().unwrap();
    let ctx = ctx_for(&path);
    let r = tool
        .analyze_blocking(
            &LocalFile::new(&path),
            &config(serde_json::json!({"scan_binary": true})),
            &ctx,
        )
        .unwrap();
    assert!(
        secrets(&r)
            .iter()
            .any(|(p, id, _)| p.ends_with("app/bin/tool") && id == "github-token")
    );
    let r = tool
        .analyze_blocking(
            &LocalFile::new(&path),
            &config(serde_json::json!({"allow_paths": ["**/keys/**", "**/.env"]})),
            &ctx,
        )
        .unwrap();
    let found = secrets(&r);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "slack-token");
}

#[test]
fn user_rules_from_settings_and_constructor() {
    let dir = tempfile::tempdir().unwrap();
    let data = b"line one\nacme = acme_k3j5h7g9f1d3s5a7q9w2e4r6\n";
    let path = write_tmp(&dir, "notes.txt", data);
    let rules = "[[rules]]\nid = \"acme-token\"\ndescription = \"ACME token\"\nregex = '''\\b(acme_[a-z0-9]{24})\\b'''\nkeywords = [\"acme_\"]\n";
    let rules_path = write_tmp(&dir, "rules.toml", rules.as_bytes());
    let ctx = ctx_for(&path);
    // Through settings …
    let tool = SecretTool::new().unwrap();
    let r = tool
        .analyze_blocking(
            &LocalFile::new(&path),
            &config(serde_json::json!({"rules_file": rules_path, "builtin_rules": false})),
            &ctx,
        )
        .unwrap();
    assert_eq!(
        secrets(&r),
        vec![("notes.txt".to_string(), "acme-token".to_string(), 2)]
    );
    // … and through the constructor.
    let tool = SecretTool::with_user_rules(rules).unwrap();
    let r = tool
        .analyze_blocking(
            &LocalFile::new(&path),
            &config(serde_json::Value::Null),
            &ctx,
        )
        .unwrap();
    assert_eq!(secrets(&r).len(), 1);
    assert!(tool.rules().rules.len() > 10);
    // A broken rule file is a typed misconfiguration naming the rule.
    let bad = write_tmp(
        &dir,
        "bad.toml",
        b"[[rules]]\nid = \"broken-one\"\nregex = '''[a-'''\n",
    );
    let err = tool
        .analyze_blocking(
            &LocalFile::new(&path),
            &config(serde_json::json!({"rules_file": bad})),
            &ctx,
        )
        .unwrap_err();
    assert_eq!(err.kind, ToolErrorKind::Misconfigured);
    assert!(err.message.contains("broken-one"), "{}", err.message);
    let err = tool
        .analyze_blocking(
            &LocalFile::new(&path),
            &config(serde_json::json!({"no_such_setting": 1})),
            &ctx,
        )
        .unwrap_err();
    assert_eq!(err.kind, ToolErrorKind::Misconfigured);
}

#[test]
fn secrets_straddling_window_boundaries_are_found_once_with_correct_lines() {
    // GIVEN a 2 MiB text with GitHub tokens and private keys placed across every window boundary
    let tool = SecretTool::new().unwrap().with_window(64 * 1024);
    let overlap = tool.rules().overlap;
    let window = (64 * 1024usize).max(overlap);
    let filler_line = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do\n";
    let mut text = String::new();
    let mut expected = Vec::new();
    let mut line = 1u64;
    // Accept ranges end at window + overlap + k × window (see engine.rs); put a secret across each.
    let mut k = 0usize;
    while text.len() < 2 * 1024 * 1024 {
        let boundary = window + overlap + k * window;
        let lead = if k.is_multiple_of(2) {
            k * 7 % 50
        } else {
            60 + k * 13 % 150
        };
        while text.len() + filler_line.len() < boundary - lead {
            text.push_str(filler_line);
            line += 1;
        }
        text.push_str(&" ".repeat(boundary - lead - text.len()));
        if k.is_multiple_of(2) {
            text.push_str(&format!("{GH}\n"));
            expected.push(("github-token".to_string(), line));
            line += 1;
        } else {
            expected.push(("private-key".to_string(), line));
            text.push_str(&format!("-----BEGIN EC PRIVATE KEY-----\n{PK_BODY}\n{PK_BODY}\n-----END EC PRIVATE KEY-----\n"));
            line += 4;
        }
        k += 1;
    }
    // WHEN scanned in windows
    let mut found: Vec<(String, u64)> = tool
        .scan_bytes("big.txt", text.as_bytes())
        .into_iter()
        .map(|h| (h.0, h.1))
        .collect();
    found.sort_by_key(|f| (f.1, f.0.clone()));
    // THEN every secret is found exactly once on its line
    assert!(expected.len() > 25, "{} secrets", expected.len());
    assert_eq!(found, expected);
    // AND the result is the same as scanning in one window
    let single = SecretTool::new().unwrap().with_window(8 * 1024 * 1024);
    let mut all: Vec<(String, u64)> = single
        .scan_bytes("big.txt", text.as_bytes())
        .into_iter()
        .map(|h| (h.0, h.1))
        .collect();
    all.sort_by_key(|f| (f.1, f.0.clone()));
    assert_eq!(all, expected);
}

fn stable_json(mut r: ToolResult) -> String {
    r.started_at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    r.stats.duration_ms = 0;
    serde_json::to_string(&r).unwrap()
}

#[test]
fn conformance_determinism_empty_oversized_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let tool = SecretTool::new().unwrap();
    let null = config(serde_json::Value::Null);
    // Same input twice → identical JSON.
    let path = write_tmp(&dir, "app.tar.gz", &sample_artifact());
    let a = tool
        .analyze_blocking(&LocalFile::new(&path), &null, &ctx_for(&path))
        .unwrap();
    let b = tool
        .analyze_blocking(&LocalFile::new(&path), &null, &ctx_for(&path))
        .unwrap();
    assert_eq!(stable_json(a), stable_json(b));
    // Empty artifact → succeeded, nothing found.
    let empty = write_tmp(&dir, "empty.bin", b"");
    let r = tool
        .analyze_blocking(&LocalFile::new(&empty), &null, &ctx_for(&empty))
        .unwrap();
    assert_eq!(r.status, ToolStatus::Succeeded);
    assert!(r.findings.is_empty());
    // Oversized (tiny max_artifact) → unscannable finding, never clean.
    let mut ctx = ctx_for(&path);
    ctx.walk.limits.max_artifact_bytes = 16;
    let r = tool
        .analyze_blocking(&LocalFile::new(&path), &null, &ctx)
        .unwrap();
    assert_ne!(r.status, ToolStatus::Succeeded);
    assert!(r.findings.iter().any(|f| matches!(&f.detail, FindingDetail::Unscannable(u) if u.reason == UnscannableReason::ArtifactTooLarge)));
    // Corrupt archive (truncated gzip) → explicit unscannable/partial result, no panic.
    let full = sample_artifact();
    let corrupt = write_tmp(&dir, "broken.tar.gz", &full[..full.len() / 2]);
    let r = tool
        .analyze_blocking(&LocalFile::new(&corrupt), &null, &ctx_for(&corrupt))
        .unwrap();
    assert_ne!(r.status, ToolStatus::Succeeded, "{r:?}");
    assert!(
        r.findings
            .iter()
            .any(|f| matches!(&f.detail, FindingDetail::Unscannable(_)))
            || !r.errors.is_empty()
    );
    // Missing artifact → failed with a `missing` finding.
    let gone = dir.path().join("gone.zip");
    let r = tool
        .analyze_blocking(&LocalFile::new(&gone), &null, &ctx_for(&gone))
        .unwrap();
    assert_eq!(r.status, ToolStatus::Failed);
}

#[tokio::test]
async fn analyze_runs_through_the_security_tool_trait() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tmp(&dir, "app.tar.gz", &sample_artifact());
    let tool = SecretTool::new().unwrap();
    assert_eq!(tool.name(), "secrets/regex");
    assert_eq!(tool.slot(), "secrets");
    assert!(tool.version().contains("+rules."));
    let source: Arc<dyn portcullis_core::ArtifactSource> = Arc::new(LocalFile::new(&path));
    let r = tool
        .analyze(source, &config(serde_json::Value::Null), &ctx_for(&path))
        .await
        .unwrap();
    assert_eq!(secrets(&r).len(), 5);
}
