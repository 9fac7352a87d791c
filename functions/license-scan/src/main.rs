//! license-scan Lambda: SPDX licence identification and policy evaluation (`[licenses]` and
//! `[tools.settings.license]` of the policy), wired to the shared scanner handler in `portcullis-aws`.

use std::sync::Arc;

use portcullis_core::SecurityTool;
use portcullis_license::LicenseTool;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    portcullis_aws::init_tracing();
    portcullis_aws::scan::run_scan_function(|_policy| {
        Ok::<_, std::convert::Infallible>(Arc::new(LicenseTool::new()) as Arc<dyn SecurityTool>)
    })
    .await
}
