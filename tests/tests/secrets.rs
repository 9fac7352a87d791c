//! A bad artifact end to end: a file with a synthetic AWS access key id goes through the real SecretTool,
//! the fan-in quarantines it (tag, and with `QUARANTINE_MODE=move` the copy + delete), and a clean
//! neighbour is not touched.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use portcullis_aws::config::QuarantineMode;
use portcullis_aws::fanin::{FanInOutcome, complete};
use portcullis_aws::gate::MoveOutcome;
use portcullis_aws::handle_scan;
use portcullis_core::tools::inventory::EntryInventory;
use portcullis_core::{Policy, Verdict};
use portcullis_it::{World, lambda_event, sqs_batch};
use portcullis_secrets::SecretTool;

fn policy() -> Arc<Policy> {
    Arc::new(
        Policy::from_toml("version = 1\n[tools]\nenabled = [\"inventory\", \"secrets\"]\n")
            .unwrap(),
    )
}

// Synthetic token (the rule file's own example), never a real credential.
const LEAKY: &[u8] =
    b"# deploy settings\naws_access_key_id = AKIA4HK2ZQ7XN3PLWB6D\nregion = eu-west-1\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_artifact_with_a_secret_is_quarantined_and_moved() {
    let w = World::new("secret").await;
    let policy = policy();
    let secrets = w.scan_state(&policy, Arc::new(SecretTool::new().unwrap()));
    let inventory = w.scan_state(&policy, Arc::new(EntryInventory));
    let fan_in = w.fan_in_state(
        &policy,
        QuarantineMode::Move {
            bucket: w.quarantine.clone(),
            prefix: "quarantine/".into(),
        },
    );
    // GIVEN a leaky config file and a clean one
    let bad = w
        .upload("configs/deploy.env", LEAKY, Some("owner=team-a"))
        .await;
    let good = w
        .upload("configs/readme.txt", b"nothing secret\n", None)
        .await;
    for ev in [&bad, &good] {
        for state in [&secrets, &inventory] {
            let r = handle_scan(
                state,
                lambda_event(sqs_batch("q", std::slice::from_ref(ev))),
            )
            .await
            .unwrap();
            assert!(r.batch_item_failures.is_empty());
        }
    }
    let id_of = |ev: &serde_json::Value| {
        let items = portcullis_aws::parse_event(ev).unwrap();
        let portcullis_aws::Parsed::Created(o) = items[0].parsed.as_ref().unwrap() else {
            panic!()
        };
        o.artifact_ref().artifact_id()
    };

    // WHEN the fan-in completes both
    let out = complete(&fan_in, &id_of(&bad)).await.unwrap();
    let FanInOutcome::Decided(report) = out else {
        panic!("{out:?}")
    };

    // THEN the leaky one is QUARANTINED, carried its tags to the quarantine bucket and left the artifacts bucket
    assert_eq!(
        report.chain.verdict,
        Verdict::Quarantined,
        "{:?}",
        report.chain.reasons
    );
    let secret = report
        .chain
        .findings()
        .find(|(slot, _)| *slot == "secrets")
        .expect("a secret finding")
        .1;
    let json = serde_json::to_string(&report.chain).unwrap();
    assert!(
        !json.contains("AKIA4HK2ZQ7XN3PLWB6D"),
        "the secret value never leaves the tool"
    );
    assert!(
        secret
            .location
            .as_deref()
            .unwrap_or("")
            .contains("deploy.env")
    );
    assert!(
        matches!(report.moved, MoveOutcome::Moved(_)),
        "{:?}",
        report.moved
    );
    let moved_tags = w.tags(&w.quarantine, "quarantine/configs/deploy.env").await;
    assert_eq!(
        moved_tags.get("portcullis-status").map(String::as_str),
        Some("QUARANTINED")
    );
    assert_eq!(moved_tags.get("owner").map(String::as_str), Some("team-a"));
    let listed =
        w.s3.list_object_versions()
            .bucket(&w.artifacts)
            .prefix("configs/deploy.env")
            .send()
            .await
            .unwrap();
    assert!(
        listed.versions().is_empty(),
        "the quarantined version is gone from the artifacts bucket"
    );

    // a retry after the move finds it at the destination and changes nothing
    let again = complete(&fan_in, &id_of(&bad)).await.unwrap();
    let FanInOutcome::Reapplied(r) = again else {
        panic!("{again:?}")
    };
    assert!(
        matches!(r.moved, MoveOutcome::AlreadyMoved(_)),
        "{:?}",
        r.moved
    );

    // and the clean neighbour is CLEAN and stays in place
    let out = complete(&fan_in, &id_of(&good)).await.unwrap();
    let FanInOutcome::Decided(report) = out else {
        panic!("{out:?}")
    };
    assert_eq!(report.chain.verdict, Verdict::Clean);
    assert_eq!(report.moved, MoveOutcome::NotApplicable);
    assert_eq!(
        w.tags(&w.artifacts, "configs/readme.txt")
            .await
            .get("portcullis-status")
            .map(String::as_str),
        Some("CLEAN")
    );
}
