//! vulndb-sync Lambda (EventBridge schedule): fetch the OSV exports, store them, rebuild and publish the
//! index (`portcullis_vulndb::sync`).

use lambda_runtime::{LambdaEvent, service_fn};
use portcullis_vulndb::{SyncState, handle_sync};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    portcullis_aws::init_tracing();
    let state = SyncState::from_env(&portcullis_aws::ProcessEnv).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        handle_sync(&state, event)
    }))
    .await
}
