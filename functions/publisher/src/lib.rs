//! PublisherFunction handler: accepts `chains/` "Object Created" events (EventBridge, S3 notification, or
//! an SQS batch of either — also the DLQ's messages when re-driven), reads each chain JSON from S3,
//! builds its SecurityEvents and publishes them; an item succeeds only when every delivery is acknowledged.
//! SQS batches report failed messages as partial batch failures (→ retry → DLQ); other invocations fail
//! as a whole. Anything that is not a chain in the results bucket is ignored with a log line.
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::sync::Arc;

use async_trait::async_trait;
use portcullis_aws::events::{Item, Parsed, Route, Router, parse_event};
use portcullis_core::{ArtifactId, ToolChainResult, build_events};
use portcullis_kafka::{EventPublisher, PublishError};
use serde_json::{Value, json};

/// Reads stored chain documents (S3 in production).
#[async_trait]
pub trait ChainStore: Send + Sync {
    /// The bytes of `s3://bucket/key`, `None` when it does not exist.
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, String>;
}

/// Chains in S3.
#[derive(Debug, Clone)]
pub struct S3Chains(pub aws_sdk_s3::Client);

#[async_trait]
impl ChainStore for S3Chains {
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        portcullis_aws::s3::get_bytes(&self.0, bucket, key)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Why one item failed.
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    /// The message could not be parsed.
    #[error("invalid message: {0}")]
    Invalid(String),
    /// The chain could not be read.
    #[error("reading s3://{bucket}/{key}: {message}")]
    Read {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Cause.
        message: String,
    },
    /// The chain does not exist.
    #[error("s3://{bucket}/{key} does not exist")]
    Missing {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// The stored document is not a chain of the artifact its key names.
    #[error("s3://{bucket}/{key} is not a valid chain: {message}")]
    Corrupt {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Cause.
        message: String,
    },
    /// Publishing failed.
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// Errors of a whole invocation.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The payload is not an accepted event.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// Items failed (non-SQS invocations fail as a whole).
    #[error("{failed} of {total} chains not published: {first}")]
    Items {
        /// Failed items.
        failed: usize,
        /// All items.
        total: usize,
        /// The first failure.
        first: String,
    },
}

/// The outcome of one item.
#[derive(Debug)]
pub struct ItemOutcome {
    /// Message id.
    pub message_id: String,
    /// Came from SQS.
    pub from_sqs: bool,
    /// Artifact id when the item was a chain.
    pub artifact_id: Option<ArtifactId>,
    /// Events published (0 when ignored).
    pub events: usize,
    /// Failure.
    pub error: Option<ItemError>,
}

/// The handler, built once per container.
pub struct Handler {
    publisher: Arc<dyn EventPublisher>,
    store: Arc<dyn ChainStore>,
    router: Router,
}

impl Handler {
    /// A handler publishing chains of `results_bucket`.
    pub fn new(
        publisher: Arc<dyn EventPublisher>,
        store: Arc<dyn ChainStore>,
        results_bucket: String,
    ) -> Handler {
        Handler {
            publisher,
            store,
            router: Router {
                results_bucket,
                artifact_prefix: String::new(),
                excluded_prefixes: Vec::new(),
            },
        }
    }

    /// Handles one invocation payload. SQS batches → `{"batchItemFailures": [...]}`; others → a summary, or
    /// an error when any chain was not published.
    pub async fn handle(&self, payload: &Value) -> Result<Value, HandlerError> {
        let items = parse_event(payload).map_err(|e| HandlerError::InvalidEvent(e.to_string()))?;
        let outcomes = self.process(items).await;
        summarize(&outcomes)
    }

    /// Processes parsed items concurrently (one publish per chain, on the shared producer).
    pub async fn process(&self, items: Vec<Item>) -> Vec<ItemOutcome> {
        futures::future::join_all(items.into_iter().map(|item| self.one(item))).await
    }

    async fn one(&self, item: Item) -> ItemOutcome {
        let mut out = ItemOutcome {
            message_id: item.message_id.clone(),
            from_sqs: item.from_sqs,
            artifact_id: None,
            events: 0,
            error: None,
        };
        let parsed = match item.parsed {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(message_id = %item.message_id, error = %e, "unparseable message");
                out.error = Some(ItemError::Invalid(e.to_string()));
                return out;
            }
        };
        let (obj, artifact_id) = match (self.router.for_pipeline_output(&parsed), &parsed) {
            (Route::Chain { artifact_id }, Parsed::Created(obj)) => (obj.clone(), artifact_id),
            (route, _) => {
                tracing::info!(message_id = %item.message_id, ?route, "ignored");
                return out;
            }
        };
        out.artifact_id = Some(artifact_id.clone());
        match self
            .publish_chain(&obj.bucket, &obj.key, &artifact_id)
            .await
        {
            Ok(n) => {
                tracing::info!(artifact_id = %artifact_id, events = n, "chain published");
                out.events = n;
            }
            Err(e) => {
                tracing::warn!(artifact_id = %artifact_id, error = %e, "chain not published");
                out.error = Some(e);
            }
        }
        out
    }

    /// Reads one chain and publishes its events; returns how many were acknowledged.
    pub async fn publish_chain(
        &self,
        bucket: &str,
        key: &str,
        artifact_id: &ArtifactId,
    ) -> Result<usize, ItemError> {
        let bytes = self
            .store
            .get(bucket, key)
            .await
            .map_err(|message| ItemError::Read {
                bucket: bucket.into(),
                key: key.into(),
                message,
            })?
            .ok_or_else(|| ItemError::Missing {
                bucket: bucket.into(),
                key: key.into(),
            })?;
        let chain: ToolChainResult =
            serde_json::from_slice(&bytes).map_err(|e| ItemError::Corrupt {
                bucket: bucket.into(),
                key: key.into(),
                message: e.to_string(),
            })?;
        if &chain.artifact_id != artifact_id {
            return Err(ItemError::Corrupt {
                bucket: bucket.into(),
                key: key.into(),
                message: format!(
                    "holds artifact {} instead of {artifact_id}",
                    chain.artifact_id
                ),
            });
        }
        let events = build_events(&chain);
        let report = self.publisher.publish(&events).await?;
        Ok(report.delivered.len())
    }
}

/// The invocation response for these outcomes.
pub fn summarize(outcomes: &[ItemOutcome]) -> Result<Value, HandlerError> {
    let failed: Vec<&ItemOutcome> = outcomes.iter().filter(|o| o.error.is_some()).collect();
    if outcomes.iter().any(|o| o.from_sqs) {
        let mut ids: Vec<&str> = failed.iter().map(|o| o.message_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let failures: Vec<Value> = ids
            .into_iter()
            .map(|id| json!({ "itemIdentifier": id }))
            .collect();
        return Ok(json!({ "batchItemFailures": failures }));
    }
    if let Some(first) = failed.first() {
        return Err(HandlerError::Items {
            failed: failed.len(),
            total: outcomes.len(),
            first: first
                .error
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        });
    }
    Ok(json!({
        "published_chains": outcomes.iter().filter(|o| o.artifact_id.is_some()).count(),
        "published_events": outcomes.iter().map(|o| o.events).sum::<usize>(),
    }))
}

/// DLQ re-drive: each body is an original chain-created event (EventBridge or S3 notification). Returns the
/// outcomes; failed ones stay in the DLQ.
pub async fn redrive(
    handler: &Handler,
    bodies: impl IntoIterator<Item = (String, String)>,
) -> Vec<ItemOutcome> {
    let mut items = Vec::new();
    for (message_id, body) in bodies {
        let parsed = serde_json::from_str::<Value>(&body)
            .map_err(|e| e.to_string())
            .and_then(|v| parse_event(&v).map_err(|e| e.to_string()));
        match parsed {
            Ok(list) => items.extend(list.into_iter().map(|mut i| {
                i.message_id = message_id.clone();
                i.from_sqs = true;
                i
            })),
            Err(e) => items.push(Item {
                message_id,
                source_arn: None,
                from_sqs: true,
                parsed: Err(portcullis_aws::events::EventError::BodyNotJson(e)),
            }),
        }
    }
    handler.process(items).await
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use portcullis_kafka::fake::InMemoryPublisher;
    use portcullis_kafka::sample;

    use super::*;

    /// Chain documents held in memory (the S3 side has its own integration tests).
    #[derive(Default)]
    struct MapStore(HashMap<(String, String), Vec<u8>>);

    #[async_trait]
    impl ChainStore for MapStore {
        async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
            Ok(self.0.get(&(bucket.to_string(), key.to_string())).cloned())
        }
    }

    fn eventbridge(bucket: &str, key: &str) -> Value {
        json!({
            "version": "0", "id": format!("eb-{key}"), "detail-type": "Object Created", "source": "aws.s3",
            "account": "123456789012", "time": "2026-01-02T03:04:05Z", "region": "eu-west-1",
            "resources": [format!("arn:aws:s3:::{bucket}")],
            "detail": {"version": "0", "bucket": {"name": bucket},
                "object": {"key": key, "size": 10, "etag": "abc", "sequencer": "01"},
                "request-id": "r", "requester": "123456789012", "reason": "PutObject"}
        })
    }

    fn sqs(bodies: &[(&str, Value)]) -> Value {
        json!({"Records": bodies.iter().map(|(id, b)| json!({
            "messageId": id, "receiptHandle": "h", "body": b.to_string(), "attributes": {},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:publisher", "awsRegion": "eu-west-1"
        })).collect::<Vec<_>>()})
    }

    fn setup(n: usize) -> (Handler, Arc<InMemoryPublisher>, Vec<ToolChainResult>) {
        let chains: Vec<_> = (0..n)
            .map(|i| sample::chain("artifacts", &format!("pkg/{i}.tgz"), i + 1))
            .collect();
        let mut store = MapStore::default();
        for c in &chains {
            store.0.insert(
                ("results".into(), format!("chains/{}.json", c.artifact_id)),
                serde_json::to_vec(c).unwrap(),
            );
        }
        let p = Arc::new(InMemoryPublisher::new());
        (
            Handler::new(p.clone(), Arc::new(store), "results".into()),
            p,
            chains,
        )
    }

    #[tokio::test]
    async fn eventbridge_chain_created_publishes_all_events() {
        // GIVEN a stored chain WHEN its chains/ object-created event arrives
        let (h, p, chains) = setup(1);
        let key = format!("chains/{}.json", chains[0].artifact_id);
        let out = h.handle(&eventbridge("results", &key)).await.unwrap();
        // THEN exactly the chain's events are published
        let expected = build_events(&chains[0]);
        assert_eq!(out["published_events"], expected.len());
        assert_eq!(p.events(), expected);
    }

    #[tokio::test]
    async fn sqs_batch_reports_only_failed_messages() {
        // GIVEN three messages: a good chain, a missing chain, and one whose publish fails
        let (h, p, chains) = setup(2);
        let victim = build_events(&chains[1])[0].event_id.clone();
        p.fail_event_ids([victim]);
        let missing = format!("chains/a{}.json", "0".repeat(32));
        let payload = sqs(&[
            (
                "m-ok",
                eventbridge("results", &format!("chains/{}.json", chains[0].artifact_id)),
            ),
            ("m-missing", eventbridge("results", &missing)),
            (
                "m-fail",
                eventbridge("results", &format!("chains/{}.json", chains[1].artifact_id)),
            ),
            ("m-ignored", eventbridge("results", "results/x/vuln.json")),
            ("m-garbage", json!("not an event")),
        ]);
        // WHEN handled
        let out = h.handle(&payload).await.unwrap();
        // THEN only those messages are retried
        let mut ids: Vec<&str> = out["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["itemIdentifier"].as_str().unwrap())
            .collect();
        ids.sort();
        assert_eq!(ids, vec!["m-fail", "m-garbage", "m-missing"]);
    }

    #[tokio::test]
    async fn direct_invocation_fails_when_a_publish_fails() {
        let (h, p, chains) = setup(1);
        p.fail_next(1);
        let key = format!("chains/{}.json", chains[0].artifact_id);
        let err = h.handle(&eventbridge("results", &key)).await.unwrap_err();
        assert!(
            matches!(
                err,
                HandlerError::Items {
                    failed: 1,
                    total: 1,
                    ..
                }
            ),
            "{err}"
        );
        // a retry succeeds and publishes the same ids
        h.handle(&eventbridge("results", &key)).await.unwrap();
        assert_eq!(p.events(), build_events(&chains[0]));
    }

    #[tokio::test]
    async fn chain_for_another_artifact_is_rejected() {
        let (h, _p, chains) = setup(2);
        let mut store = MapStore::default();
        let wrong_key = format!("chains/{}.json", chains[0].artifact_id);
        store.0.insert(
            ("results".into(), wrong_key.clone()),
            serde_json::to_vec(&chains[1]).unwrap(),
        );
        let h = Handler::new(h.publisher.clone(), Arc::new(store), "results".into());
        let err = h
            .handle(&eventbridge("results", &wrong_key))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("instead of"), "{err}");
    }

    #[tokio::test]
    async fn dlq_bodies_are_redriven() {
        let (h, p, chains) = setup(2);
        let bodies = chains
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    format!("dlq-{i}"),
                    eventbridge("results", &format!("chains/{}.json", c.artifact_id)).to_string(),
                )
            })
            .chain([("dlq-bad".to_string(), "{".to_string())]);
        let out = redrive(&h, bodies).await;
        assert_eq!(out.len(), 3);
        assert_eq!(
            out.iter()
                .filter(|o| o.error.is_some())
                .map(|o| o.message_id.as_str())
                .collect::<Vec<_>>(),
            vec!["dlq-bad"]
        );
        let expected: usize = chains.iter().map(|c| build_events(c).len()).sum();
        assert_eq!(p.events().len(), expected);
    }
}
