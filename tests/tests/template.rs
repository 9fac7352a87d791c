//! `template.yaml` passes cfn-lint and `sam validate --lint` (scripts/validate-template.sh, offline), and the
//! same check rejects a broken copy — so a template regression fails the suite.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn validate(template: &Path) -> Output {
    let root = repo_root();
    Command::new("bash")
        .arg(root.join("scripts/validate-template.sh"))
        .arg(template)
        .current_dir(&root)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn template_passes_cfn_lint_and_sam_validate_and_a_broken_one_does_not() {
    // GIVEN the template as committed THEN both linters pass
    let root = repo_root();
    let ok = validate(&root.join("template.yaml"));
    assert!(
        ok.status.success(),
        "template.yaml failed validation:\n{}",
        text(&ok)
    );
    assert!(
        text(&ok).contains("is a valid SAM Template"),
        "{}",
        text(&ok)
    );

    // GIVEN a copy with a runtime Lambda no longer accepts THEN the check fails and names the rule
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("template.yaml");
    let original = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    assert!(original.contains("Runtime: provided.al2023"));
    std::fs::write(
        &broken,
        original.replace("Runtime: provided.al2023", "Runtime: nodejs4.3"),
    )
    .unwrap();
    let bad = validate(&broken);
    assert!(
        !bad.status.success(),
        "a broken template passed:\n{}",
        text(&bad)
    );
    assert!(text(&bad).contains("E2533"), "{}", text(&bad));
}
