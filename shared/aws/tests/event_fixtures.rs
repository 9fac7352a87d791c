//! Every sample in `events/` parses to the expected items and routes (snapshotted), so the fixtures used by
//! `sam local invoke -e` and the handlers agree.

#![allow(clippy::unwrap_used, missing_docs)]

use portcullis_aws::events::{Router, parse_event};
use serde_json::{Value, json};

macro_rules! fixture {
    ($name:literal) => {
        ($name, include_str!(concat!("../../../events/", $name)))
    };
}

const FIXTURES: &[(&str, &str)] = &[
    fixture!("eventbridge-object-created.json"),
    fixture!("s3-put.json"),
    fixture!("sqs-eventbridge.json"),
    fixture!("sqs-s3.json"),
    fixture!("sqs-moto-eventbridge.json"),
    fixture!("sqs-sns-s3.json"),
    fixture!("s3-test-event.json"),
    fixture!("eventbridge-object-tags-added.json"),
    fixture!("s3-object-tagging.json"),
    fixture!("s3-object-removed.json"),
    fixture!("eventbridge-results-bucket.json"),
    fixture!("fan-in-result-created.json"),
    fixture!("fan-in-dlq-message.json"),
    fixture!("chain-created.json"),
];

fn router() -> Router {
    Router {
        results_bucket: "portcullis-results".into(),
        artifact_prefix: String::new(),
        excluded_prefixes: vec!["quarantine/".into()],
    }
}

fn view(payload: &Value) -> Value {
    let items = match parse_event(payload) {
        Ok(items) => items,
        Err(e) => return json!({ "error": e.to_string() }),
    };
    let r = router();
    Value::Array(
        items
            .iter()
            .map(|item| match &item.parsed {
                Ok(p) => json!({
                    "message_id": item.message_id,
                    "source_arn": item.source_arn,
                    "from_sqs": item.from_sqs,
                    "parsed": p,
                    "scanner_route": r.for_scanner(p),
                    "pipeline_route": r.for_pipeline_output(p),
                }),
                Err(e) => json!({ "message_id": item.message_id, "error": e.to_string() }),
            })
            .collect(),
    )
}

#[test]
fn every_fixture_parses_as_snapshotted() {
    for (name, text) in FIXTURES {
        let payload: Value = serde_json::from_str(text).unwrap();
        // Sorted maps: serde_json's key order depends on whether another crate in the build enables its
        // `preserve_order` feature, and the snapshot must not.
        insta::with_settings!({ sort_maps => true }, {
            insta::assert_json_snapshot!(*name, view(&payload));
        });
    }
}

#[test]
fn s3_notification_keys_are_decoded_and_eventbridge_keys_are_not() {
    let s3: Value = serde_json::from_str(FIXTURES[1].1).unwrap();
    let items = parse_event(&s3).unwrap();
    let portcullis_aws::Parsed::Created(o) = items[0].parsed.as_ref().unwrap() else {
        panic!()
    };
    assert_eq!(o.key, "releases/my file(1).tgz");
    let moto: Value = serde_json::from_str(FIXTURES[3].1).unwrap();
    let items = parse_event(&moto).unwrap();
    let portcullis_aws::Parsed::Created(o) = items[0].parsed.as_ref().unwrap() else {
        panic!()
    };
    assert_eq!(o.key, "art/x.bin");
    // EventBridge: `+` is a literal plus
    let mut eb: Value = serde_json::from_str(FIXTURES[0].1).unwrap();
    eb["detail"]["object"]["key"] = json!("c++/a+b.tgz");
    let items = parse_event(&eb).unwrap();
    let portcullis_aws::Parsed::Created(o) = items[0].parsed.as_ref().unwrap() else {
        panic!()
    };
    assert_eq!(o.key, "c++/a+b.tgz");
}

#[test]
fn a_bad_sqs_message_fails_alone() {
    let mut batch: Value = serde_json::from_str(FIXTURES[2].1).unwrap();
    batch["Records"][1]["body"] = json!("not json");
    let items = parse_event(&batch).unwrap();
    assert_eq!(items.len(), 2);
    assert!(items[0].parsed.is_ok());
    assert!(items[1].parsed.is_err());
}
