//! End-to-end pipeline scenarios: scanner handlers → results bucket → fan-in → chain, tags, quarantine,
//! against a real moto_server (see `portcullis_it::endpoint`). Handlers are called in-process with
//! `LambdaEvent::new(payload, Context::default())`, exactly as the Lambda runtime would call them.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use portcullis_aws::config::QuarantineMode;
use portcullis_aws::fanin::{FanInOutcome, complete};
use portcullis_aws::store::Outcome;
use portcullis_aws::{handle_fan_in, handle_scan};
use portcullis_core::tools::inventory::EntryInventory;
use portcullis_core::{ArtifactId, Policy, ToolErrorKind, Verdict};
use portcullis_it::{World, eventbridge_created, lambda_event, result_events, sqs_batch};

fn policy(toml: &str) -> Arc<Policy> {
    Arc::new(Policy::from_toml(toml).unwrap())
}

fn inventory_only() -> Arc<Policy> {
    policy("version = 1\n[tools]\nenabled = [\"inventory\"]\n")
}

fn artifact_id(event: &serde_json::Value) -> ArtifactId {
    let items = portcullis_aws::parse_event(event).unwrap();
    let portcullis_aws::Parsed::Created(o) = items[0].parsed.as_ref().unwrap() else {
        panic!("not created")
    };
    o.artifact_ref().artifact_id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clean_artifact_is_scanned_decided_and_tagged_clean() {
    // GIVEN a plain text artifact and the inventory tool
    let w = World::new("clean").await;
    let policy = inventory_only();
    let scan = w.scan_state(&policy, Arc::new(EntryInventory));
    let fan_in = w.fan_in_state(&policy, QuarantineMode::Tag);
    let event = w
        .upload(
            "releases/notes v1.txt",
            b"hello, nothing to see here\n",
            None,
        )
        .await;
    let id = artifact_id(&event);

    // WHEN the scanner gets the SQS-wrapped EventBridge event, then the fan-in gets "result stored"
    let resp = handle_scan(
        &scan,
        lambda_event(sqs_batch("portcullis-inventory", &[event])),
    )
    .await
    .unwrap();
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(
        w.result_keys("results/").await,
        [format!("results/{id}/inventory.json")]
    );
    let resp = handle_fan_in(
        &fan_in,
        lambda_event(sqs_batch("portcullis-fan-in", &result_events(&w).await)),
    )
    .await
    .unwrap();
    assert!(resp.batch_item_failures.is_empty());

    // THEN one chain, verdict CLEAN, and the object carries the status tags
    let chain = fan_in
        .store
        .chain(&id)
        .await
        .unwrap()
        .expect("chain written");
    assert_eq!(chain.verdict, Verdict::Clean, "{:?}", chain.reasons);
    let meta = chain
        .metadata
        .as_ref()
        .expect("metadata from the streamed read");
    assert_eq!(meta.size, 27);
    assert!(meta.sha256.is_some());
    let tags = w.tags(&w.artifacts, "releases/notes v1.txt").await;
    assert_eq!(
        tags.get("portcullis-status").map(String::as_str),
        Some("CLEAN")
    );
    assert_eq!(tags.get("portcullis-risk").map(String::as_str), Some("0.0"));
    assert!(tags.contains_key("portcullis-scanned-at"));
    // the inventory produced a CycloneDX 1.6 SBOM beside the chain, naming the artifact by its SHA-256
    assert_eq!(w.result_keys("sboms/").await, [format!("sboms/{id}.json")]);
    let sbom = w.result_json(&format!("sboms/{id}.json")).await;
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert_eq!(sbom["specVersion"], "1.6");
    assert!(
        sbom["serialNumber"]
            .as_str()
            .unwrap()
            .starts_with("urn:uuid:")
    );
    assert_eq!(
        sbom["metadata"]["component"]["hashes"][0]["content"].as_str(),
        meta.sha256.as_deref()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_duplicate_events_give_one_result_per_tool_and_one_chain() {
    let w = World::new("dupes").await;
    let policy = inventory_only();
    let scan = Arc::new(w.scan_state(&policy, Arc::new(EntryInventory)));
    let fan_in = Arc::new(w.fan_in_state(&policy, QuarantineMode::Tag));
    let event = w.upload("dup.bin", &[7u8; 4096], None).await;
    let id = artifact_id(&event);

    // WHEN the same event arrives 10 times, concurrently (at-least-once delivery)
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let scan = Arc::clone(&scan);
        let ev = sqs_batch("portcullis-inventory", std::slice::from_ref(&event));
        tasks.push(tokio::spawn(async move {
            handle_scan(&scan, lambda_event(ev)).await
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().unwrap().batch_item_failures.is_empty());
    }
    assert_eq!(
        w.result_keys("results/").await.len(),
        1,
        "one result per tool"
    );

    // and the result notification is delivered 10 times too
    let mut outcomes = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let fan_in = Arc::clone(&fan_in);
        let id = id.clone();
        tasks.push(tokio::spawn(async move { complete(&fan_in, &id).await }));
    }
    for t in tasks {
        outcomes.push(t.await.unwrap().unwrap());
    }
    let decided = outcomes
        .iter()
        .filter(|o| matches!(o, FanInOutcome::Decided(_)))
        .count();
    assert_eq!(decided, 1, "exactly one invocation writes the chain");
    assert_eq!(
        w.result_keys("chains/").await,
        [format!("chains/{id}.json")]
    );
    let verdicts: Vec<Verdict> = outcomes
        .iter()
        .map(|o| match o {
            FanInOutcome::Decided(r) | FanInOutcome::Reapplied(r) => r.chain.verdict,
            FanInOutcome::Waiting(m) => panic!("waiting for {m:?}"),
        })
        .collect();
    assert!(verdicts.iter().all(|v| *v == Verdict::Clean));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_lettered_tool_is_recorded_and_the_verdict_is_error() {
    // GIVEN a policy requiring inventory and vuln, where vuln crashed on every retry
    let w = World::new("dlq").await;
    let policy = policy(
        "version = 1\n[tools]\nenabled = [\"inventory\", \"vuln\"]\non_error = \"fail_closed\"\n",
    );
    let scan = w.scan_state(&policy, Arc::new(EntryInventory));
    let fan_in = w.fan_in_state(&policy, QuarantineMode::Tag);
    let event = w.upload("app.tgz", b"not really a tarball", None).await;
    let id = artifact_id(&event);
    handle_scan(
        &scan,
        lambda_event(sqs_batch(
            "portcullis-inventory",
            std::slice::from_ref(&event),
        )),
    )
    .await
    .unwrap();

    // the inventory result alone is not enough
    let out = complete(&fan_in, &id).await.unwrap();
    assert_eq!(out, FanInOutcome::Waiting(vec!["vuln".to_string()]));

    // WHEN the vuln DLQ message (the original event body) reaches the fan-in
    let resp = handle_fan_in(
        &fan_in,
        lambda_event(sqs_batch("portcullis-vuln-dlq", &[event])),
    )
    .await
    .unwrap();
    assert!(resp.batch_item_failures.is_empty());

    // THEN a dead_lettered ToolError is stored for vuln and the fail-closed verdict is ERROR
    let stored = fan_in.store.results(&id).await.unwrap();
    let vuln = stored
        .iter()
        .find(|r| r.slot == "vuln")
        .expect("vuln outcome stored");
    let Outcome::Error(e) = &vuln.outcome else {
        panic!("expected an error, got {:?}", vuln.outcome)
    };
    assert_eq!(e.kind, ToolErrorKind::DeadLettered);
    let chain = fan_in.store.chain(&id).await.unwrap().unwrap();
    assert_eq!(chain.verdict, Verdict::Error);
    assert!(chain.errors.contains_key("vuln"));
    assert_eq!(
        w.tags(&w.artifacts, "app.tgz")
            .await
            .get("portcullis-status")
            .map(String::as_str),
        Some("ERROR")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_object_deleted_before_its_scan_is_unscannable_missing() {
    let w = World::new("deleted").await;
    let policy = inventory_only();
    let scan = w.scan_state(&policy, Arc::new(EntryInventory));
    let fan_in = w.fan_in_state(&policy, QuarantineMode::Tag);
    let event = w.upload("gone.zip", b"PK\x03\x04 short", None).await;
    let id = artifact_id(&event);
    let version = event["detail"]["object"]["version-id"]
        .as_str()
        .unwrap()
        .to_string();
    // GIVEN the version is deleted before the scanner runs
    w.s3.delete_object()
        .bucket(&w.artifacts)
        .key("gone.zip")
        .version_id(&version)
        .send()
        .await
        .unwrap();

    // WHEN scanned and fanned in — THEN no crash: an explicit `missing` result and UNSCANNABLE
    let resp = handle_scan(
        &scan,
        lambda_event(sqs_batch("portcullis-inventory", &[event])),
    )
    .await
    .unwrap();
    assert!(resp.batch_item_failures.is_empty());
    let stored = fan_in.store.results(&id).await.unwrap();
    let Outcome::Result(r) = &stored[0].outcome else {
        panic!("expected a result")
    };
    assert!(
        r.findings.iter().any(
            |f| matches!(&f.detail, portcullis_core::FindingDetail::Unscannable(u)
            if u.reason == portcullis_core::UnscannableReason::Missing)
        ),
        "{r:?}"
    );
    let out = complete(&fan_in, &id).await.unwrap();
    let FanInOutcome::Decided(report) = out else {
        panic!("{out:?}")
    };
    assert_eq!(report.chain.verdict, Verdict::Unscannable);
    assert_eq!(report.tags, portcullis_aws::gate::TagOutcome::ObjectMissing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tag_merge_keeps_user_tags_and_stays_within_ten() {
    let w = World::new("tags").await;
    let policy = inventory_only();
    let scan = w.scan_state(&policy, Arc::new(EntryInventory));
    let fan_in = w.fan_in_state(&policy, QuarantineMode::Tag);
    // GIVEN 8 user tags and a stale status tag of ours
    let user: Vec<String> = (0..8).map(|i| format!("team{i}=v{i}")).collect();
    let tagging = format!("{}&portcullis-status=ERROR", user.join("&"));
    let event = w.upload("tagged.txt", b"text", Some(&tagging)).await;
    let id = artifact_id(&event);
    handle_scan(&scan, lambda_event(event)).await.unwrap();
    complete(&fan_in, &id).await.unwrap();

    let tags = w.tags(&w.artifacts, "tagged.txt").await;
    assert!(tags.len() <= 10, "{tags:?}");
    for i in 0..8 {
        assert_eq!(
            tags.get(&format!("team{i}")),
            Some(&format!("v{i}")),
            "user tag kept: {tags:?}"
        );
    }
    assert_eq!(
        tags.get("portcullis-status").map(String::as_str),
        Some("CLEAN")
    );
    assert_eq!(tags.get("portcullis-risk").map(String::as_str), Some("0.0"));
    assert!(
        !tags.contains_key("portcullis-scanned-at"),
        "least important of ours dropped: {tags:?}"
    );

    // a retry (chain exists) re-applies the same tags: nothing changes
    let again = complete(&fan_in, &id).await.unwrap();
    let FanInOutcome::Reapplied(r) = again else {
        panic!("{again:?}")
    };
    assert_eq!(r.tags, portcullis_aws::gate::TagOutcome::Unchanged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_after_the_chain_is_written_is_completed_by_the_retry() {
    let w = World::new("retry").await;
    let policy = inventory_only();
    let scan = w.scan_state(&policy, Arc::new(EntryInventory));
    let fan_in = w.fan_in_state(&policy, QuarantineMode::Tag);
    let event = w.upload("r.txt", b"text", None).await;
    let id = artifact_id(&event);
    handle_scan(&scan, lambda_event(event.clone()))
        .await
        .unwrap();
    // GIVEN the chain was written but the function died before tagging (simulate: write the chain only)
    let results = fan_in.store.results(&id).await.unwrap();
    let Outcome::Result(r) = &results[0].outcome else {
        panic!()
    };
    let mut chain =
        portcullis_core::ToolChainResult::new(results[0].artifact.clone(), r.started_at);
    chain.add_tool_result((**r).clone());
    chain.finalize(&policy, chrono_now());
    fan_in.store.put_chain(&chain).await.unwrap();
    assert!(w.tags(&w.artifacts, "r.txt").await.is_empty());

    // WHEN the result notification is redelivered THEN the actions are applied from the stored chain
    let resp = handle_fan_in(
        &fan_in,
        lambda_event(sqs_batch("portcullis-fan-in", &result_events(&w).await)),
    )
    .await
    .unwrap();
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(
        w.tags(&w.artifacts, "r.txt")
            .await
            .get("portcullis-status")
            .map(String::as_str),
        Some("CLEAN")
    );

    // WHEN the result has since expired (lifecycle) and a late notification arrives, THEN the stored
    // chain is re-applied rather than waited on
    w.s3.delete_object()
        .bucket(&w.results)
        .key(format!("results/{id}/inventory.json"))
        .send()
        .await
        .unwrap();
    let outcome = complete(&fan_in, &id).await.unwrap();
    assert!(
        matches!(&outcome, FanInOutcome::Reapplied(r) if r.chain.verdict == Verdict::Clean),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pipelines_own_outputs_are_ignored_by_scanners() {
    let w = World::new("loops").await;
    let policy = inventory_only();
    let scan = w.scan_state(&policy, Arc::new(EntryInventory));
    // a result object in the results bucket, and a tagging event: nothing is scanned, nothing fails
    let ev = eventbridge_created(
        &w.results,
        "results/a00000000000000000000000000000000/vuln.json",
        10,
        "e",
        None,
    );
    let resp = handle_scan(&scan, lambda_event(sqs_batch("q", &[ev])))
        .await
        .unwrap();
    assert!(resp.batch_item_failures.is_empty());
    let tagging: serde_json::Value = serde_json::from_str(include_str!(
        "../../events/eventbridge-object-tags-added.json"
    ))
    .unwrap();
    handle_scan(&scan, lambda_event(tagging)).await.unwrap();
    assert!(w.result_keys("").await.is_empty());
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_batch_with_every_result_of_two_artifacts_decides_each_once_and_fails_per_artifact() {
    // GIVEN two artifacts, each scanned by two tools (inventory, secrets)
    let w = World::new("batch").await;
    let policy = policy("version = 1\n[tools]\nenabled = [\"inventory\", \"secrets\"]\n");
    let inventory = w.scan_state(&policy, Arc::new(EntryInventory));
    let secrets = w.scan_state(
        &policy,
        Arc::new(portcullis_secrets::SecretTool::new().unwrap()),
    );
    let fan_in = w.fan_in_state(&policy, QuarantineMode::Tag);
    let a = w.upload("a.txt", b"first\n", None).await;
    let b = w.upload("b.txt", b"second\n", None).await;
    let (id_a, id_b) = (artifact_id(&a), artifact_id(&b));
    for state in [&inventory, &secrets] {
        let resp = handle_scan(
            state,
            lambda_event(sqs_batch("portcullis-tool", &[a.clone(), b.clone()])),
        )
        .await
        .unwrap();
        assert!(resp.batch_item_failures.is_empty());
    }
    // every "result stored" notification twice (at-least-once delivery), all in one batch
    let mut notes = result_events(&w).await;
    assert_eq!(notes.len(), 4);
    notes.extend(notes.clone());

    // WHEN the fan-in gets that batch
    let resp = handle_fan_in(
        &fan_in,
        lambda_event(sqs_batch("portcullis-fan-in", &notes)),
    )
    .await
    .unwrap();

    // THEN no item fails, and each artifact has its one chain and its tags
    assert!(resp.batch_item_failures.is_empty(), "{resp:?}");
    let mut chains = w.result_keys("chains/").await;
    chains.sort();
    let mut want = vec![format!("chains/{id_a}.json"), format!("chains/{id_b}.json")];
    want.sort();
    assert_eq!(chains, want);
    for key in ["a.txt", "b.txt"] {
        let tags = w.tags(&w.artifacts, key).await;
        assert_eq!(
            tags.get("portcullis-status").map(String::as_str),
            Some("CLEAN")
        );
    }

    // GIVEN a third artifact whose stored secrets result is corrupt, batched with a fourth one
    let c = w.upload("c.txt", b"third\n", None).await;
    let d = w.upload("d.txt", b"fourth\n", None).await;
    let (id_c, id_d) = (artifact_id(&c), artifact_id(&d));
    for state in [&inventory, &secrets] {
        handle_scan(
            state,
            lambda_event(sqs_batch("portcullis-tool", &[c.clone(), d.clone()])),
        )
        .await
        .unwrap();
    }
    let corrupt = format!("results/{id_c}/secrets.json");
    w.s3.put_object()
        .bucket(&w.results)
        .key(&corrupt)
        .body(b"{ not json".to_vec().into())
        .send()
        .await
        .unwrap();
    let notes: Vec<serde_json::Value> = [
        format!("results/{id_c}/inventory.json"),
        format!("results/{id_d}/inventory.json"),
        corrupt.clone(),
        format!("results/{id_d}/secrets.json"),
    ]
    .iter()
    .map(|k| eventbridge_created(&w.results, k, 100, "0", None))
    .collect();
    let batch = sqs_batch("portcullis-fan-in", &notes);
    let ids: Vec<String> = batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["messageId"].as_str().unwrap().to_string())
        .collect();

    // WHEN the fan-in gets them in one batch
    let resp = handle_fan_in(&fan_in, lambda_event(batch)).await.unwrap();

    // THEN both of c's messages fail (SQS redelivers them), d's two succeed and d is decided
    let mut failed: Vec<String> = resp
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    failed.sort();
    let mut want = vec![ids[0].clone(), ids[2].clone()];
    want.sort();
    assert_eq!(failed, want);
    assert!(fan_in.store.chain(&id_c).await.unwrap().is_none());
    assert!(fan_in.store.chain(&id_d).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_source_stops_reading_and_a_redelivery_keeps_the_first_result() {
    use std::io::Read;

    use portcullis_core::ArtifactSource;

    let w = World::new("cancel").await;
    // 4 MiB: far more than the reader's buffered chunks
    let body: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
    let event = w.upload("big.bin", &body, None).await;
    let items = portcullis_aws::parse_event(&event).unwrap();
    let portcullis_aws::Parsed::Created(o) = items[0].parsed.as_ref().unwrap() else {
        panic!("not created")
    };
    let object = o.artifact_ref();
    let portcullis_core::ArtifactRef::S3(obj) = &object else {
        panic!("not S3")
    };
    let handle = tokio::runtime::Handle::current();

    // GIVEN a source being read, WHEN it is cancelled, THEN the reader fails (std's read loops retry
    // `Interrupted`, so it is not that kind: they would see the end of the object)
    let source = portcullis_aws::S3Source::new(w.s3.clone(), obj.clone(), handle.clone());
    let read = tokio::task::spawn_blocking(move || {
        let mut r = source.open().unwrap();
        let mut first = [0u8; 1024];
        r.read_exact(&mut first).unwrap();
        source.cancel();
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).map(|_| rest.len())
    })
    .await
    .unwrap();
    let err = read.expect_err("reads after cancel fail");
    assert!(err.to_string().contains("scan cancelled"), "{err}");
    // and a cancelled source does not open
    let cancelled = portcullis_aws::S3Source::new(w.s3.clone(), obj.clone(), handle);
    cancelled.cancel();
    assert!(
        tokio::task::spawn_blocking(move || cancelled.open().is_err())
            .await
            .unwrap()
    );

    // GIVEN a stored result, WHEN the same event is delivered again (its duplicate check runs while the
    // new scan starts), THEN nothing fails and the first result stays
    let policy = inventory_only();
    let scan = w.scan_state(&policy, Arc::new(EntryInventory));
    let id = artifact_id(&event);
    let batch = sqs_batch("portcullis-inventory", std::slice::from_ref(&event));
    let resp = handle_scan(&scan, lambda_event(batch.clone()))
        .await
        .unwrap();
    assert!(resp.batch_item_failures.is_empty());
    let key = format!("results/{id}/inventory.json");
    let first = w.result_json(&key).await;
    let resp = handle_scan(&scan, lambda_event(batch)).await.unwrap();
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(w.result_json(&key).await, first);
    assert_eq!(w.result_keys("results/").await, [key]);
}
