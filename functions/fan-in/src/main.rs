//! Fan-in Lambda: wires configuration, the S3 client and the policy (once per container) to
//! `portcullis_aws::handle_fan_in`. All logic lives in `portcullis-aws` (unit- and integration-tested).

use std::sync::Arc;

use anyhow::Context as _;
use lambda_runtime::{LambdaEvent, service_fn};
use portcullis_aws::{FanInConfig, FanInState, ProcessEnv, handle_fan_in, load_policy, s3_client};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    portcullis_aws::init_tracing();
    let config = FanInConfig::from_env(&ProcessEnv).context("fan-in configuration")?;
    let s3 = s3_client(config.common.endpoint_url.as_deref()).await;
    let policy = Arc::new(load_policy(&s3, &config.common.policy).await?);
    let state = FanInState::new(s3, config, policy)?;
    tracing::info!(tools = ?state.policy.tools.enabled, "fan-in ready");
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handle_fan_in(&state, event)
    }))
    .await
    .map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}
