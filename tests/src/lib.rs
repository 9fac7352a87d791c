//! Test harness for the integration tests: a real S3-compatible endpoint (moto_server, started by
//! `scripts/test.sh`, which exports `PORTCULLIS_TEST_S3_ENDPOINT`), fresh buckets per test, real-shaped
//! events, and the handler states wired exactly like the function binaries wire them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use lambda_runtime::{Context, LambdaEvent};
use portcullis_aws::config::{CommonConfig, FanInConfig, PolicySource, QuarantineMode, ScanConfig};
use portcullis_aws::{FanInState, ScanState, local_s3_client};
use portcullis_core::{Policy, SecurityTool};
use serde_json::{Value, json};

/// The S3 endpoint under test. Panics (the test FAILS) when unset: these tests never pass silently.
pub fn endpoint() -> String {
    match std::env::var("PORTCULLIS_TEST_S3_ENDPOINT") {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "PORTCULLIS_TEST_S3_ENDPOINT is not set: run scripts/test.sh (it starts moto_server on 127.0.0.1 \
             and exports the endpoint), or start `moto_server -H 127.0.0.1 -p 5055` and export \
             PORTCULLIS_TEST_S3_ENDPOINT=http://127.0.0.1:5055"
        ),
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One test's world: its own buckets on the shared server.
pub struct World {
    /// S3 client.
    pub s3: Client,
    /// Artifacts bucket (versioned).
    pub artifacts: String,
    /// Results bucket.
    pub results: String,
    /// Quarantine bucket.
    pub quarantine: String,
}

impl World {
    /// Fresh buckets named after the test.
    pub async fn new(test: &str) -> World {
        let s3 = local_s3_client(&endpoint());
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let base = format!(
            "it-{}-{}-{n}",
            test.replace('_', "-"),
            stamp % 1_000_000_000
        );
        let w = World {
            s3,
            artifacts: format!("{base}-art"),
            results: format!("{base}-res"),
            quarantine: format!("{base}-q"),
        };
        for b in [&w.artifacts, &w.results, &w.quarantine] {
            w.s3.create_bucket()
                .bucket(b)
                .send()
                .await
                .expect("create bucket (is moto_server running?)");
        }
        w.s3.put_bucket_versioning()
            .bucket(&w.artifacts)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        w
    }

    /// Uploads an artifact (optionally with user tags `k=v&…`), returning the real EventBridge-shaped event.
    pub async fn upload(&self, key: &str, body: &[u8], tagging: Option<&str>) -> Value {
        let out = self
            .s3
            .put_object()
            .bucket(&self.artifacts)
            .key(key)
            .set_tagging(tagging.map(str::to_string))
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .unwrap();
        eventbridge_created(
            &self.artifacts,
            key,
            body.len() as u64,
            out.e_tag().unwrap_or_default().trim_matches('"'),
            out.version_id(),
        )
    }

    /// The scanner state for `tool`, configured like the Lambda.
    pub fn scan_state(&self, policy: &Arc<Policy>, tool: Arc<dyn SecurityTool>) -> ScanState {
        let config = ScanConfig {
            common: self.common(),
            artifact_prefix: String::new(),
            excluded_prefixes: Vec::new(),
            deadline_margin: Duration::from_secs(5),
        };
        ScanState::new(self.s3.clone(), config, Arc::clone(policy), tool)
    }

    /// The fan-in state.
    pub fn fan_in_state(&self, policy: &Arc<Policy>, quarantine: QuarantineMode) -> FanInState {
        let config = FanInConfig {
            common: self.common(),
            enabled_tools: policy.tools.enabled.clone(),
            tool_dlqs: policy
                .tools
                .enabled
                .iter()
                .map(|slot| (format!("portcullis-{slot}-dlq"), slot.clone()))
                .collect::<BTreeMap<_, _>>(),
            quarantine,
        };
        FanInState::new(self.s3.clone(), config, Arc::clone(policy)).unwrap()
    }

    fn common(&self) -> CommonConfig {
        CommonConfig {
            results_bucket: self.results.clone(),
            policy: PolicySource::Embedded,
            endpoint_url: Some(endpoint()),
        }
    }

    /// Keys under a prefix of the results bucket.
    pub async fn result_keys(&self, prefix: &str) -> Vec<String> {
        portcullis_aws::s3::list_keys(&self.s3, &self.results, prefix)
            .await
            .unwrap()
    }

    /// A JSON object of the results bucket.
    pub async fn result_json(&self, key: &str) -> Value {
        let bytes = portcullis_aws::s3::get_bytes(&self.s3, &self.results, key)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{key} missing"));
        serde_json::from_slice(&bytes).unwrap()
    }

    /// Tags of an object (latest version).
    pub async fn tags(&self, bucket: &str, key: &str) -> BTreeMap<String, String> {
        let out = self
            .s3
            .get_object_tagging()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        out.tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()
    }
}

/// An EventBridge `Object Created` event exactly as S3 sends it.
pub fn eventbridge_created(
    bucket: &str,
    key: &str,
    size: u64,
    etag: &str,
    version: Option<&str>,
) -> Value {
    let mut object =
        json!({ "key": key, "size": size, "etag": etag, "sequencer": "0062E99A88DC407460" });
    if let Some(v) = version {
        object["version-id"] = json!(v);
    }
    json!({
        "version": "0",
        "id": format!("eb-{}", COUNTER.fetch_add(1, Ordering::SeqCst)),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-28T00:00:00Z",
        "region": "us-east-1",
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": { "version": "0", "bucket": { "name": bucket }, "object": object, "reason": "PutObject" }
    })
}

/// An SQS batch whose messages carry `bodies`, from queue `queue`.
pub fn sqs_batch(queue: &str, bodies: &[Value]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            json!({
                "messageId": format!("msg-{i}-{}", COUNTER.fetch_add(1, Ordering::SeqCst)),
                "receiptHandle": "rh",
                "body": b.to_string(),
                "attributes": { "ApproximateReceiveCount": "1" },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{queue}"),
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// A Lambda event with a default context (no deadline), as the unit tests use.
pub fn lambda_event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

/// "Result stored" events for every key under `results/` for an artifact, as EventBridge sends them.
pub async fn result_events(w: &World) -> Vec<Value> {
    w.result_keys("results/")
        .await
        .into_iter()
        .map(|k| eventbridge_created(&w.results, &k, 100, "0", None))
        .collect()
}
