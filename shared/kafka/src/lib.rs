//! Portcullis Kafka adapter: publishes [`SecurityEvent`](portcullis_core::SecurityEvent)s to Kafka / Amazon
//! MSK. [`EventPublisher`] is the port; [`KafkaPublisher`] the rdkafka adapter (idempotent producer, every
//! delivery awaited, CloudEvents headers); [`msk_iam`] signs MSK IAM OAUTHBEARER tokens; [`replay`]
//! re-publishes stored chains. With feature `test-util`, [`fake::InMemoryPublisher`] for callers' unit tests.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
#[cfg(any(test, feature = "test-util"))]
pub mod fake;
pub mod kafka;
pub mod msk_iam;
pub mod publisher;
pub mod replay;
#[cfg(any(test, feature = "test-util"))]
pub mod sample;

pub use config::{Brokers, ConfigError, KafkaAuth, KafkaConfig, Secret};
pub use kafka::{KafkaPublisher, PublisherContext, WarmUp};
pub use publisher::{
    Delivered, EncodedEvent, EventPublisher, FailedEvent, PublishError, PublishReport, encode,
};
pub use replay::{ReplayReport, replay};
