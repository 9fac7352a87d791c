//! PublisherFunction: configuration and the Kafka producer are set up once per container, then
//! `lambda_runtime::run` hands each invocation to [`publisher::Handler`].

use std::sync::Arc;

use anyhow::Context;
use lambda_runtime::{LambdaEvent, service_fn};
use portcullis_aws::config::{CommonConfig, ProcessEnv};
use portcullis_kafka::{KafkaConfig, KafkaPublisher};
use publisher::{Handler, S3Chains};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .init();
    let handler = init().await.map_err(|e| {
        tracing::error!(error = format!("{e:#}"), "cold start failed");
        e
    })?;
    let handler = Arc::new(handler);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = handler.clone();
        async move {
            handler
                .handle(&event.payload)
                .await
                .map_err(|e| lambda_runtime::Diagnostic {
                    error_type: match e {
                        publisher::HandlerError::InvalidEvent(_) => "InvalidEvent".into(),
                        publisher::HandlerError::Items { .. } => "PublishFailed".into(),
                    },
                    error_message: e.to_string(),
                })
        }
    }))
    .await
}

async fn init() -> anyhow::Result<Handler> {
    let common = CommonConfig::from_env(&ProcessEnv).context("configuration")?;
    let kafka = KafkaConfig::from_env().context("Kafka configuration")?;
    // The broker warm-up and the AWS SDK's setup are independent: done at once.
    let (publisher, s3) = tokio::join!(
        KafkaPublisher::connect(kafka),
        portcullis_aws::s3::s3_client(common.endpoint_url.as_deref())
    );
    let publisher = publisher.context("Kafka producer")?;
    Ok(Handler::new(
        Arc::new(publisher),
        Arc::new(S3Chains(s3)),
        common.results_bucket,
    ))
}
