//! Handler behaviour that needs no S3: events that must be ignored never touch S3 (the client points at a
//! closed port, so any call would fail the test), malformed messages are reported per message in SQS
//! batches and as typed errors otherwise, and the stable Lambda error types.

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use portcullis_aws::config::{CommonConfig, FanInConfig, PolicySource, QuarantineMode, ScanConfig};
use portcullis_aws::{
    FanInState, HandlerError, ScanState, handle_fan_in, handle_scan, local_s3_client,
};
use portcullis_core::Policy;
use portcullis_core::tools::inventory::EntryInventory;
use serde_json::{Value, json};

const CLOSED_PORT: &str = "http://127.0.0.1:9";

fn common() -> CommonConfig {
    CommonConfig {
        results_bucket: "portcullis-results".into(),
        policy: PolicySource::Embedded,
        endpoint_url: Some(CLOSED_PORT.into()),
    }
}

fn scan_state() -> ScanState {
    let policy =
        Arc::new(Policy::from_toml("version = 1\n[tools]\nenabled = [\"inventory\"]\n").unwrap());
    let config = ScanConfig {
        common: common(),
        artifact_prefix: String::new(),
        excluded_prefixes: vec![],
        deadline_margin: Duration::from_secs(1),
    };
    ScanState::new(
        local_s3_client(CLOSED_PORT),
        config,
        policy,
        Arc::new(EntryInventory),
    )
}

fn fan_in_state() -> FanInState {
    let policy =
        Arc::new(Policy::from_toml("version = 1\n[tools]\nenabled = [\"inventory\"]\n").unwrap());
    let config = FanInConfig {
        common: common(),
        enabled_tools: vec!["inventory".into()],
        tool_dlqs: BTreeMap::from([(
            "portcullis-inventory-dlq".to_string(),
            "inventory".to_string(),
        )]),
        quarantine: QuarantineMode::Tag,
    };
    FanInState::new(local_s3_client(CLOSED_PORT), config, policy).unwrap()
}

fn event(text: &str) -> LambdaEvent<Value> {
    LambdaEvent::new(serde_json::from_str(text).unwrap(), Context::default())
}

#[tokio::test]
async fn scanners_ignore_non_creation_events_and_pipeline_outputs_without_touching_s3() {
    let state = scan_state();
    for text in [
        include_str!("../../../events/s3-test-event.json"),
        include_str!("../../../events/eventbridge-object-tags-added.json"),
        include_str!("../../../events/s3-object-tagging.json"),
        include_str!("../../../events/s3-object-removed.json"),
        include_str!("../../../events/eventbridge-results-bucket.json"),
        include_str!("../../../events/fan-in-result-created.json"),
        include_str!("../../../events/chain-created.json"),
    ] {
        let resp = handle_scan(&state, event(text)).await.unwrap();
        assert!(resp.batch_item_failures.is_empty(), "{text}");
    }
}

#[tokio::test]
async fn an_unreachable_s3_makes_an_sqs_message_fail_alone_and_a_direct_event_fail_retryable() {
    let state = scan_state();
    // GIVEN a batch of two artifacts and S3 down WHEN scanned THEN both messages are reported failed
    let resp = handle_scan(
        &state,
        event(include_str!("../../../events/sqs-eventbridge.json")),
    )
    .await
    .unwrap();
    let ids: Vec<_> = resp
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    // a direct EventBridge invocation fails as a whole with a stable error type
    let err = handle_scan(
        &state,
        event(include_str!(
            "../../../events/eventbridge-object-created.json"
        )),
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), "Retryable", "{err}");
    let d: Diagnostic = err.into();
    assert_eq!(d.error_type, "Retryable");
}

#[tokio::test]
async fn malformed_payloads_are_invalid_events() {
    let state = scan_state();
    let err = handle_scan(
        &state,
        LambdaEvent::new(json!({"hello": "world"}), Context::default()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, HandlerError::InvalidEvent(_)), "{err}");
    assert_eq!(Diagnostic::from(err).error_type, "InvalidEvent");
    // in a batch, only the bad message fails
    let mut batch: Value =
        serde_json::from_str(include_str!("../../../events/s3-test-event.json")).unwrap();
    let mut bad = batch["Records"][0].clone();
    bad["messageId"] = json!("bad-1");
    bad["body"] = json!("{not json");
    batch["Records"].as_array_mut().unwrap().push(bad);
    let resp = handle_scan(&state, LambdaEvent::new(batch, Context::default()))
        .await
        .unwrap();
    let ids: Vec<_> = resp
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(ids, ["bad-1"]);
}

#[tokio::test]
async fn fan_in_ignores_what_is_not_a_result_or_a_dead_letter() {
    let state = fan_in_state();
    for text in [
        include_str!("../../../events/chain-created.json"),
        include_str!("../../../events/s3-test-event.json"),
        include_str!("../../../events/sqs-eventbridge.json"), // artifact events not from a tool DLQ
    ] {
        let resp = handle_fan_in(&state, event(text)).await.unwrap();
        assert!(resp.batch_item_failures.is_empty(), "{text}");
    }
    // a result notification needs S3: with S3 down the message is retried
    let resp = handle_fan_in(
        &state,
        event(include_str!("../../../events/fan-in-result-created.json")),
    )
    .await
    .unwrap();
    assert_eq!(resp.batch_item_failures.len(), 1);
}

#[test]
fn the_fan_in_refuses_a_policy_requiring_undeployed_tools() {
    let config = FanInConfig {
        common: common(),
        enabled_tools: vec!["secrets".into()],
        tool_dlqs: BTreeMap::new(),
        quarantine: QuarantineMode::Tag,
    };
    let policy = Arc::new(Policy::default_policy());
    let err = FanInState::new(local_s3_client(CLOSED_PORT), config, policy)
        .err()
        .unwrap();
    assert_eq!(Diagnostic::from(err).error_type, "ConfigError");
}
