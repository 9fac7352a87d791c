//! `secrets/regex` through the shared conformance harness (`portcullis_core::conformance`) with a GitHub token
//! in a config file as payload: deterministic (fingerprints included) across runs, streams and instances,
//! explicit on empty/random/truncated/corrupt/over-limit/nested artifacts, stable name and version.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use portcullis_core::conformance::Conformance;
use portcullis_secrets::SecretTool;

/// A GitHub token shape, assembled at run time so no source line holds it verbatim.
fn payload() -> Vec<u8> {
    let token = ["ghp_", "R8sT2vW4yZ6bD8fH0jL2", "nP4rT6vX8zB0dF2h"].concat();
    format!(
        "# deploy settings\nregistry = \"https://example.invalid\"\ngithub_token = \"{token}\"\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn secret_tool_conforms() {
    let tool = SecretTool::new().unwrap();
    let second = SecretTool::new().unwrap();
    let report = Conformance::new(&tool)
        .second_instance(&second)
        .payload("deploy.env", payload())
        .run()
        .await;
    println!("{report}");
}
