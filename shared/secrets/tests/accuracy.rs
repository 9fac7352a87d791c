//! Accuracy of the embedded rules on the detect-secrets test corpus (Yelp/detect-secrets pytest tables).
//!
//! In scope: the plugin tables whose credential classes this tool's rules cover — Azure storage key, GitHub
//! token, GitLab tokens, JWT, npm, private key, PyPI token, Slack, Stripe. Out of scope, and why:
//! artifactory, basic_auth, discord, ibm_cos_hmac, ip_public, mailchimp, openai, sendgrid, square_oauth,
//! telegram, twilio (credential classes the brief does not ask for and the rules do not cover; counting them
//! would only measure absent rules); high_entropy_strings (its cases are format templates like `"{secret}"`,
//! not payloads); tests/filters/* (they test detect-secrets' internal filter functions on isolated values,
//! not whether a line holds a secret).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::PathBuf;

use portcullis_secrets::SecretTool;

fn shared_data() -> PathBuf {
    match std::env::var_os("PORTCULLIS_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// In-scope plugin tables and the rule-id prefix of the matching rule class. A case is scored on the rules of
/// its class (a detect-secrets plugin's negative may well be another plugin's positive: the GitLab table lists
/// a GitHub token as "not a GitLab token"); the any-rule score is printed too.
const IN_SCOPE: &[(&str, &str)] = &[
    ("azure_storage_key_test.py", "azure-"),
    ("github_token_test.py", "github-"),
    ("gitlab_token_test.py", "gitlab-"),
    ("jwt_test.py", "jwt"),
    ("npm_test.py", "npm"),
    ("private_key_test.py", "private-key"),
    ("pypi_token_test.py", "pypi-"),
    ("slack_test.py", "slack-"),
    ("stripe_key_test.py", "stripe-"),
];

#[test]
fn detect_secrets_parametrized_cases() {
    let path = shared_data().join("secrets/detect-secrets/parametrized-cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tool = SecretTool::new().unwrap();
    let (mut tp, mut fp, mut fn_, mut tn) = (0u32, 0u32, 0u32, 0u32);
    let (mut any_tp, mut any_fp) = (0u32, 0u32);
    let mut misses = Vec::new();
    let mut tables = 0;
    for table in doc["tables"].as_array().unwrap() {
        let file = table["file"].as_str().unwrap();
        let Some((_, class)) = IN_SCOPE
            .iter()
            .find(|(f, _)| file.starts_with("tests/plugins/") && file.ends_with(f))
        else {
            continue;
        };
        tables += 1;
        for case in table["cases"].as_array().unwrap() {
            let payload = ["payload", "line", "file_content"]
                .iter()
                .find_map(|k| case[*k].as_str())
                .unwrap_or_else(|| panic!("{file}: no payload in {case}"));
            // Tables without `should_flag` list only secrets (pytest asserts a finding for each).
            let expected = case["should_flag"].as_bool().unwrap_or(true);
            let found = tool.scan_bytes("case.txt", payload.as_bytes());
            let flagged = found.iter().any(|f| f.0.starts_with(class));
            if !found.is_empty() {
                if expected { any_tp += 1 } else { any_fp += 1 }
            }
            match (expected, flagged) {
                (true, true) => tp += 1,
                (false, true) => {
                    fp += 1;
                    misses.push(format!(
                        "FP {file}: {payload:.60} -> {:?}",
                        found.iter().map(|f| &f.0).collect::<Vec<_>>()
                    ));
                }
                (true, false) => {
                    fn_ += 1;
                    misses.push(format!("FN {file}: {payload:.60}"));
                }
                (false, false) => tn += 1,
            }
        }
    }
    let precision = f64::from(tp) / f64::from((tp + fp).max(1));
    let recall = f64::from(tp) / f64::from((tp + fn_).max(1));
    println!(
        "detect-secrets in-scope tables: {tables}, cases: {}",
        tp + fp + fn_ + tn
    );
    println!("TP {tp}  FP {fp}  FN {fn_}  TN {tn}  precision {precision:.3}  recall {recall:.3}");
    println!("any rule: TP {any_tp}  FP {any_fp}");
    for m in &misses {
        println!("  {m}");
    }
    assert_eq!(tables, 14, "expected the 14 in-scope plugin tables");
    assert!(recall >= 0.95, "recall {recall:.3}");
    assert!(precision >= 0.95, "precision {precision:.3}");
}

#[test]
fn detect_secrets_test_files() {
    // GIVEN detect-secrets' sample files WHEN scanned THEN the known secrets are found and clean files stay clean.
    let dir = shared_data().join("secrets/detect-secrets/test_data");
    let tool = SecretTool::new().unwrap();
    let scan = |rel: &str| {
        let p = dir.join(rel);
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        tool.scan_bytes(rel, &bytes)
    };
    let pk = scan("files/private_key");
    assert_eq!(
        pk.iter().map(|h| (h.0.as_str(), h.1)).collect::<Vec<_>>(),
        vec![("private-key", 1)]
    );
    assert!(scan("files/file_with_no_secrets.py").is_empty());
    assert!(scan("files/file_with_custom_secrets.py").is_empty());
    assert!(scan("config.md").is_empty(), "{:?}", scan("config.md"));
    let each = scan("each_secret.py");
    println!(
        "each_secret.py: {:?}",
        each.iter().map(|h| (&h.0, h.1)).collect::<Vec<_>>()
    );
    // AKIAIOSFODNN7EXAMPLE / wJalr…EXAMPLEKEY are AWS's documentation keys: allowlisted on purpose.
    assert!(each.iter().all(|h| !h.0.starts_with("aws-")));
    assert!(
        each.iter()
            .any(|h| h.0 == "generic-secret-assignment" && h.1 == 4),
        "base64_secret on line 4: {each:?}"
    );
    let secrets_py = scan("files/file_with_secrets.py");
    // Line 3's variable is spelled SEECRET (no keyword); line 4 carries `pragma: allowlist secret`.
    assert!(secrets_py.is_empty(), "{secrets_py:?}");
}
