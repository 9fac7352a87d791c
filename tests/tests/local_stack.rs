//! The README's main job, end to end: `scripts/local-stack.sh` uploads the bundled samples to a real
//! moto_server, EventBridge rules route them to SQS, every function binary runs against the Lambda Runtime
//! API of `cargo lambda watch`, and the SecurityEvents are read back from the real tansu broker. This test
//! runs the script as a newcomer would and checks each sample's verdict, its `portcullis-status` tag and its
//! events on the topic.
//!
//! Runs under `scripts/test.sh` (which installs the servers and exports `PORTCULLIS_TEST_S3_ENDPOINT`);
//! a plain `cargo test` prints SKIPPED and passes without running it.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

#[test]
fn local_stack_scans_the_samples_through_the_whole_pipeline() {
    if std::env::var_os("PORTCULLIS_TEST_S3_ENDPOINT").is_none() {
        eprintln!(
            "SKIPPED: the local stack runs under scripts/test.sh (it installs moto, tansu, cargo-lambda)"
        );
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let scratch = std::env::temp_dir().join(format!("portcullis-it-stack-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let summary = scratch.join("summary.json");

    // WHEN the README's main-job command runs on the bundled samples
    let out = Command::new(root.join("scripts/local-stack.sh"))
        .current_dir(&root)
        .env("SUMMARY_JSON", &summary)
        .env("PORTCULLIS_LOCAL_DIR", &scratch)
        .output()
        .expect("run scripts/local-stack.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "local-stack.sh failed ({}):\n{stdout}\n{}",
        out.status,
        stderr.lines().rev().take(40).collect::<Vec<_>>().join("\n")
    );

    // THEN every sample got its verdict, its status tag, and its events on the topic
    let summary: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(summary["failed_invocations"], 0, "{summary:#}");
    let expected = [
        ("samples/Jinja2-2.10-py2.py3-none-any.whl", "CLEAN", 3),
        ("samples/agpl-project.tar.gz", "QUARANTINED", 4),
        ("samples/bomb-1gib.gz", "UNSCANNABLE", 1),
        ("samples/clean-docs.tar.gz", "CLEAN", 1),
        ("samples/eicar-in-zip.zip", "QUARANTINED", 3),
        ("samples/leaky-config.tgz", "QUARANTINED", 5),
        ("samples/lodash-4.17.15.tgz", "QUARANTINED", 5),
        ("samples/traversal.tar", "UNSCANNABLE", 1),
    ];
    let artifacts = summary["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), expected.len(), "{summary:#}");
    for (key, verdict, events) in expected {
        let a = artifacts
            .iter()
            .find(|a| a["key"] == key)
            .unwrap_or_else(|| panic!("{key} missing from {summary:#}"));
        assert_eq!(a["verdict"], verdict, "{key}: {a}");
        assert_eq!(a["status_tag"], verdict, "{key}: {a}");
        assert_eq!(a["events"], events, "{key}: {a}");
    }
    // AND no secret value of leaky-config reaches an event on the topic or any function's log
    let cache = std::env::var_os("PORTCULLIS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/portcullis")
        });
    let samples = cache.join("samples");
    let env = Command::new("tar")
        .arg("-xzOf")
        .arg(samples.join("leaky-config.tgz"))
        .arg("app/config/.env")
        .output()
        .unwrap();
    assert!(env.status.success());
    let secrets: Vec<String> = String::from_utf8(env.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("AWS_") || l.starts_with("GITHUB_"))
        .map(|l| l.split_once('=').unwrap().1.to_string())
        .collect();
    assert_eq!(secrets.len(), 3, "{secrets:?}");
    let events = serde_json::to_string(&summary["events"]).unwrap();
    assert!(
        events.contains("secret_exposed"),
        "no secret events read back"
    );
    let mut logs = String::new();
    for entry in std::fs::read_dir(&scratch).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "log") {
            logs.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    assert!(logs.contains("fan-in ready"), "function logs not captured");
    for s in &secrets {
        assert!(
            !events.contains(s.as_str()),
            "a secret value is in an event"
        );
        assert!(
            !logs.contains(s.as_str()),
            "a secret value is in a function log"
        );
        assert!(!stdout.contains(s.as_str()), "a secret value was printed");
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
