//! The [`EventPublisher`] port and its record encoding: key = artifact id, value = the event JSON,
//! CloudEvents binary-mode headers (`ce_specversion`, `ce_id`, `ce_source`, `ce_type`, `ce_time`,
//! `ce_subject`, `content-type`). A publish succeeds only when every event is acknowledged; otherwise the
//! typed [`PublishError`] lists the ids that were not (so the invocation fails and SQS retries).

use async_trait::async_trait;
use chrono::SecondsFormat;
use portcullis_core::SecurityEvent;

/// CloudEvents spec version.
pub const CE_SPECVERSION: &str = "1.0";
/// Content type of the values.
pub const CONTENT_TYPE: &str = "application/json";

/// Publishes security events.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes `events`; returns only when every one is acknowledged, or fails listing those that were not.
    async fn publish(&self, events: &[SecurityEvent]) -> Result<PublishReport, PublishError>;
}

#[async_trait]
impl<P: EventPublisher + ?Sized> EventPublisher for std::sync::Arc<P> {
    async fn publish(&self, events: &[SecurityEvent]) -> Result<PublishReport, PublishError> {
        (**self).publish(events).await
    }
}

/// One acknowledged event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Event id.
    pub event_id: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

/// What a successful publish did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Topic.
    pub topic: String,
    /// Every event, acknowledged, in input order.
    pub delivered: Vec<Delivered>,
    /// Bytes of keys + values + headers sent.
    pub bytes: u64,
}

/// An event that was not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEvent {
    /// Event id.
    pub event_id: String,
    /// The broker/client error (no payload content).
    pub error: String,
}

/// Why a publish failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// An event could not be serialized (nothing was sent).
    #[error("event {event_id} could not be encoded: {source}")]
    Encode {
        /// Event id.
        event_id: String,
        /// Cause.
        source: serde_json::Error,
    },
    /// Some events were not acknowledged.
    #[error("{} of {total} events not acknowledged by topic {topic}: {} (first error: {})",
        failed.len(), failed.iter().map(|f| f.event_id.as_str()).collect::<Vec<_>>().join(", "),
        failed.first().map(|f| f.error.as_str()).unwrap_or("none"))]
    Delivery {
        /// Topic.
        topic: String,
        /// Events in the batch.
        total: usize,
        /// Events that failed.
        failed: Vec<FailedEvent>,
    },
    /// The producer could not be created or is unusable.
    #[error("Kafka producer: {0}")]
    Producer(String),
    /// The connection warm-up could not read the topic's metadata (broker unreachable, auth refused, topic
    /// missing).
    #[error("Kafka warm-up for topic {topic}: {message}")]
    Warmup {
        /// Topic.
        topic: String,
        /// Cause (librdkafka's error; never a credential).
        message: String,
    },
    /// The brokers of an MSK cluster could not be resolved.
    #[error("MSK bootstrap brokers for {arn}: {message}")]
    Bootstrap {
        /// Cluster ARN.
        arn: String,
        /// Cause.
        message: String,
    },
}

impl PublishError {
    /// Ids of the events that were not acknowledged (all of them for an encode/producer error is unknown:
    /// empty).
    pub fn failed_event_ids(&self) -> Vec<&str> {
        match self {
            PublishError::Delivery { failed, .. } => {
                failed.iter().map(|f| f.event_id.as_str()).collect()
            }
            PublishError::Encode { event_id, .. } => vec![event_id.as_str()],
            _ => Vec::new(),
        }
    }
}

/// A Kafka record for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedEvent {
    /// Event id.
    pub event_id: String,
    /// Key: the artifact id.
    pub key: String,
    /// Value: the event JSON.
    pub value: Vec<u8>,
    /// CloudEvents binary-mode headers.
    pub headers: Vec<(&'static str, String)>,
}

impl EncodedEvent {
    /// Bytes of key, value and headers.
    pub fn size(&self) -> u64 {
        (self.key.len()
            + self.value.len()
            + self
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()) as u64
    }
}

/// `urn:portcullis:<bucket>` for S3 artifacts, `urn:portcullis:local` otherwise.
pub fn ce_source(event: &SecurityEvent) -> String {
    format!(
        "urn:portcullis:{}",
        event.artifact.bucket.as_deref().unwrap_or("local")
    )
}

/// `io.portcullis.<event_type>.v1`.
pub fn ce_type(event: &SecurityEvent) -> String {
    format!("io.portcullis.{}.v1", event.payload.event_type())
}

/// Encodes one event as a record.
pub fn encode(event: &SecurityEvent) -> Result<EncodedEvent, PublishError> {
    let value = serde_json::to_vec(event).map_err(|source| PublishError::Encode {
        event_id: event.event_id.clone(),
        source,
    })?;
    let key = event.artifact.artifact_id.0.clone();
    let headers = vec![
        ("ce_specversion", CE_SPECVERSION.to_string()),
        ("ce_id", event.event_id.clone()),
        ("ce_source", ce_source(event)),
        ("ce_type", ce_type(event)),
        (
            "ce_time",
            event
                .occurred_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
        ),
        ("ce_subject", key.clone()),
        ("content-type", CONTENT_TYPE.to_string()),
    ];
    Ok(EncodedEvent {
        event_id: event.event_id.clone(),
        key,
        value,
        headers,
    })
}

#[cfg(test)]
mod tests {
    use portcullis_core::build_events;

    use super::*;
    use crate::sample;

    #[test]
    fn records_carry_cloudevents_headers_and_the_artifact_key() {
        // GIVEN the events of a sample chain
        let chain = sample::chain("artifacts", "pkg/a.tgz", 2);
        let events = build_events(&chain);
        assert!(events.len() >= 4, "{}", events.len());
        for e in &events {
            // WHEN encoded
            let r = encode(e).unwrap();
            // THEN key = artifact id, value = the event JSON, binary-mode CloudEvents headers
            assert_eq!(r.key, chain.artifact_id.0);
            let back: SecurityEvent = serde_json::from_slice(&r.value).unwrap();
            assert_eq!(&back, e);
            let h = |k: &str| {
                r.headers
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.as_str())
                    .unwrap()
            };
            assert_eq!(h("ce_specversion"), "1.0");
            assert_eq!(h("ce_id"), e.event_id);
            assert_eq!(h("ce_source"), "urn:portcullis:artifacts");
            assert_eq!(
                h("ce_type"),
                format!("io.portcullis.{}.v1", e.payload.event_type())
            );
            assert_eq!(h("ce_time"), "2026-01-02T03:04:05.000Z");
            assert_eq!(h("ce_subject"), chain.artifact_id.0);
            assert_eq!(h("content-type"), "application/json");
            assert_eq!(r.headers.len(), 7);
        }
    }

    #[test]
    fn delivery_error_lists_the_failed_ids() {
        let e = PublishError::Delivery {
            topic: "t".into(),
            total: 3,
            failed: vec![
                FailedEvent {
                    event_id: "e1".into(),
                    error: "Message timed out".into(),
                },
                FailedEvent {
                    event_id: "e2".into(),
                    error: "x".into(),
                },
            ],
        };
        assert_eq!(
            e.to_string(),
            "2 of 3 events not acknowledged by topic t: e1, e2 (first error: Message timed out)"
        );
        assert_eq!(e.failed_event_ids(), vec!["e1", "e2"]);
    }
}
