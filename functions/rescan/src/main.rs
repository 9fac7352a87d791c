//! rescan Lambda: `{"artifact_ids": [...]}` or `{"all": true, "continuation_token"?: "..."}` → stored SBOMs
//! re-matched against the current index, changed chains rewritten (`portcullis_vulndb::rescan`).

use lambda_runtime::{LambdaEvent, service_fn};
use portcullis_vulndb::{RescanState, handle_rescan};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    portcullis_aws::init_tracing();
    let state = RescanState::from_env(&portcullis_aws::ProcessEnv).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        handle_rescan(&state, event)
    }))
    .await
}
