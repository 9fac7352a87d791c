//! vuln-scan Lambda: `vuln/osv` over the per-container cached OSV index (`VULN_DB_URI`, ETag-checked),
//! wired to the shared scanner handler of `portcullis-aws`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    portcullis_aws::init_tracing();
    portcullis_vulndb::run_vuln_scan_function().await
}
