//! secret-scan Lambda: the embedded gitleaks-style rules (per-run settings from the policy's
//! `[tools.settings.secrets]`), wired to the shared scanner handler in `portcullis-aws`.

use std::sync::Arc;

use portcullis_core::SecurityTool;
use portcullis_secrets::SecretTool;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    portcullis_aws::init_tracing();
    portcullis_aws::scan::run_scan_function(|_policy| {
        SecretTool::new().map(|t| Arc::new(t) as Arc<dyn SecurityTool>)
    })
    .await
}
