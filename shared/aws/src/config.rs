//! Function configuration, read once from the environment at cold start. Required values fail fast with
//! the variable's name; nothing is silently defaulted. The one documented default: when `POLICY_URI` is not
//! set the embedded default policy (`shared/core/policy/default.toml`) applies, and that choice is logged.
//!
//! | Variable | Used by | Meaning |
//! |---|---|---|
//! | `RESULTS_BUCKET` | all | bucket for `results/`, `chains/`, `sboms/` |
//! | `ARTIFACT_PREFIX` | scanners | only keys under this prefix are artifacts (set it empty for any key) |
//! | `POLICY_URI` | scanners, fan-in | `s3://bucket/key`, a file path, or unset (= embedded default policy) |
//! | `ENABLED_TOOLS` | fan-in | comma list of deployed tool slots the fan-in waits for |
//! | `TOOL_DLQS` | fan-in | `slot=queue-arn-or-name,…`: which dead-letter queue belongs to which tool |
//! | `QUARANTINE_MODE` | fan-in | `tag` (tag only) or `move` (tag, then move to the quarantine location) |
//! | `QUARANTINE_BUCKET`, `QUARANTINE_PREFIX` | fan-in, `move` only | where quarantined objects go |
//! | `SCAN_DEADLINE_MARGIN_MS` | scanners | stop scanning this long before the Lambda deadline |
//! | `AWS_ENDPOINT_URL(_S3)` | all | local S3 (moto): path-style, checksums only when required |

use std::collections::BTreeMap;
use std::time::Duration;

use portcullis_core::Policy;
use portcullis_core::policy::KNOWN_TOOLS;

use crate::error::ConfigError;

/// Reads environment variables (a seam so tests need not mutate the process environment).
pub trait Env {
    /// The value of `name`, if set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

fn required(env: &dyn Env, name: &'static str) -> Result<String, ConfigError> {
    match env.var(name) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// Set but possibly empty (an explicit empty value is a choice, an unset one is a mistake).
fn required_allow_empty(env: &dyn Env, name: &'static str) -> Result<String, ConfigError> {
    env.var(name)
        .map(|v| v.trim().to_string())
        .ok_or(ConfigError::Missing(name))
}

/// Where the policy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// The embedded default policy (documented default when `POLICY_URI` is unset).
    Embedded,
    /// An S3 object.
    S3 {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// A local file (bundled with the function or on a mounted volume).
    File(String),
}

impl PolicySource {
    /// Parses `POLICY_URI`.
    pub fn parse(uri: Option<&str>) -> Result<PolicySource, ConfigError> {
        let Some(uri) = uri.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(PolicySource::Embedded);
        };
        if let Some(rest) = uri.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/').ok_or_else(|| ConfigError::Invalid {
                name: "POLICY_URI",
                message: format!("`{uri}` has no key (expected s3://bucket/key)"),
            })?;
            if bucket.is_empty() || key.is_empty() {
                return Err(ConfigError::Invalid {
                    name: "POLICY_URI",
                    message: format!("`{uri}` needs both a bucket and a key"),
                });
            }
            return Ok(PolicySource::S3 {
                bucket: bucket.to_string(),
                key: key.to_string(),
            });
        }
        if uri.contains("://") {
            return Err(ConfigError::Invalid {
                name: "POLICY_URI",
                message: format!("`{uri}`: only s3:// URIs and file paths are supported"),
            });
        }
        Ok(PolicySource::File(uri.to_string()))
    }

    /// Display form for logs.
    pub fn describe(&self) -> String {
        match self {
            PolicySource::Embedded => "embedded default policy".to_string(),
            PolicySource::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
            PolicySource::File(p) => p.clone(),
        }
    }
}

/// Quarantine behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuarantineMode {
    /// Tag only (the bucket policy blocks reads).
    Tag,
    /// Tag, then copy to `bucket`/`prefix` + key and delete the original.
    Move {
        /// Destination bucket.
        bucket: String,
        /// Destination prefix (may be empty when the bucket differs).
        prefix: String,
    },
}

/// Settings shared by every function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonConfig {
    /// Results bucket.
    pub results_bucket: String,
    /// Policy location.
    pub policy: PolicySource,
    /// Local endpoint (moto), when set.
    pub endpoint_url: Option<String>,
}

impl CommonConfig {
    /// Reads the common settings.
    pub fn from_env(env: &dyn Env) -> Result<CommonConfig, ConfigError> {
        Ok(CommonConfig {
            results_bucket: required(env, "RESULTS_BUCKET")?,
            policy: PolicySource::parse(env.var("POLICY_URI").as_deref())?,
            endpoint_url: env
                .var("AWS_ENDPOINT_URL_S3")
                .or_else(|| env.var("AWS_ENDPOINT_URL"))
                .filter(|v| !v.trim().is_empty()),
        })
    }
}

/// Default margin before the Lambda deadline at which a scan stops (documented in the module table).
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_secs(15);

/// Settings of a scanner function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanConfig {
    /// Common settings.
    pub common: CommonConfig,
    /// Only keys under this prefix are artifacts.
    pub artifact_prefix: String,
    /// Extra prefixes never scanned (the quarantine prefix, when set).
    pub excluded_prefixes: Vec<String>,
    /// Stop this long before the Lambda deadline.
    pub deadline_margin: Duration,
}

impl ScanConfig {
    /// Reads a scanner's settings.
    pub fn from_env(env: &dyn Env) -> Result<ScanConfig, ConfigError> {
        let deadline_margin = match env.var("SCAN_DEADLINE_MARGIN_MS") {
            None => DEFAULT_DEADLINE_MARGIN,
            Some(v) => {
                Duration::from_millis(v.trim().parse().map_err(|e| ConfigError::Invalid {
                    name: "SCAN_DEADLINE_MARGIN_MS",
                    message: format!("`{v}` is not a number of milliseconds: {e}"),
                })?)
            }
        };
        let excluded_prefixes = env
            .var("QUARANTINE_PREFIX")
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .into_iter()
            .collect();
        Ok(ScanConfig {
            common: CommonConfig::from_env(env)?,
            artifact_prefix: required_allow_empty(env, "ARTIFACT_PREFIX")?,
            excluded_prefixes,
            deadline_margin,
        })
    }
}

/// Settings of the fan-in function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanInConfig {
    /// Common settings.
    pub common: CommonConfig,
    /// Tool slots the fan-in waits for (one deployed function each).
    pub enabled_tools: Vec<String>,
    /// Dead-letter queue (ARN or name) → tool slot.
    pub tool_dlqs: BTreeMap<String, String>,
    /// Quarantine behaviour.
    pub quarantine: QuarantineMode,
}

impl FanInConfig {
    /// Reads the fan-in settings.
    pub fn from_env(env: &dyn Env) -> Result<FanInConfig, ConfigError> {
        let common = CommonConfig::from_env(env)?;
        let enabled_tools = parse_tools(&required(env, "ENABLED_TOOLS")?)?;
        let mut tool_dlqs = BTreeMap::new();
        for pair in required(env, "TOOL_DLQS")?
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (slot, queue) = pair.split_once('=').ok_or_else(|| ConfigError::Invalid {
                name: "TOOL_DLQS",
                message: format!("`{pair}` is not slot=queue"),
            })?;
            let slot = slot.trim();
            if !enabled_tools.iter().any(|t| t == slot) {
                return Err(ConfigError::Invalid {
                    name: "TOOL_DLQS",
                    message: format!("`{slot}` is not in ENABLED_TOOLS"),
                });
            }
            tool_dlqs.insert(queue_name(queue.trim()).to_string(), slot.to_string());
        }
        let quarantine = match required(env, "QUARANTINE_MODE")?.as_str() {
            "tag" => QuarantineMode::Tag,
            "move" => QuarantineMode::Move {
                bucket: required(env, "QUARANTINE_BUCKET")?,
                prefix: required_allow_empty(env, "QUARANTINE_PREFIX")?,
            },
            other => {
                return Err(ConfigError::Invalid {
                    name: "QUARANTINE_MODE",
                    message: format!("`{other}` is not `tag` or `move`"),
                });
            }
        };
        Ok(FanInConfig {
            common,
            enabled_tools,
            tool_dlqs,
            quarantine,
        })
    }

    /// Checks the policy against the deployment: every tool the policy requires must be deployed, or no
    /// verdict could ever be CLEAN.
    pub fn check_policy(&self, policy: &Policy) -> Result<(), ConfigError> {
        for slot in &policy.tools.enabled {
            if !self.enabled_tools.contains(slot) {
                return Err(ConfigError::Invalid {
                    name: "ENABLED_TOOLS",
                    message: format!(
                        "the policy requires tool `{slot}` but ENABLED_TOOLS ({}) does not deploy it",
                        self.enabled_tools.join(",")
                    ),
                });
            }
        }
        Ok(())
    }

    /// The tool slot whose dead-letter queue `source_arn` is.
    pub fn dlq_slot(&self, source_arn: &str) -> Option<&str> {
        self.tool_dlqs
            .get(queue_name(source_arn))
            .map(String::as_str)
    }
}

/// The queue name of an SQS ARN (`arn:aws:sqs:region:acct:name` → `name`), or the input.
pub fn queue_name(arn_or_name: &str) -> &str {
    arn_or_name.rsplit(':').next().unwrap_or(arn_or_name)
}

fn parse_tools(list: &str) -> Result<Vec<String>, ConfigError> {
    let mut tools = Vec::new();
    for t in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !KNOWN_TOOLS.contains(&t) {
            return Err(ConfigError::Invalid {
                name: "ENABLED_TOOLS",
                message: format!("unknown tool `{t}` (known: {})", KNOWN_TOOLS.join(", ")),
            });
        }
        if !tools.iter().any(|x| x == t) {
            tools.push(t.to_string());
        }
    }
    if tools.is_empty() {
        return Err(ConfigError::Invalid {
            name: "ENABLED_TOOLS",
            message: "no tool listed".into(),
        });
    }
    Ok(tools)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn missing_values_fail_fast_with_their_name() {
        let e = ScanConfig::from_env(&env(&[("ARTIFACT_PREFIX", "")])).unwrap_err();
        assert!(matches!(e, ConfigError::Missing("RESULTS_BUCKET")), "{e}");
        let e = ScanConfig::from_env(&env(&[("RESULTS_BUCKET", "r")])).unwrap_err();
        assert!(matches!(e, ConfigError::Missing("ARTIFACT_PREFIX")), "{e}");
        let base = [
            ("RESULTS_BUCKET", "r"),
            ("ENABLED_TOOLS", "vuln,secrets"),
            ("TOOL_DLQS", "vuln=arn:aws:sqs:r:1:vq"),
        ];
        let e = FanInConfig::from_env(&env(&base)).unwrap_err();
        assert!(matches!(e, ConfigError::Missing("QUARANTINE_MODE")), "{e}");
        let mut m = env(&base);
        m.insert("QUARANTINE_MODE".into(), "move".into());
        assert!(matches!(
            FanInConfig::from_env(&m).unwrap_err(),
            ConfigError::Missing("QUARANTINE_BUCKET")
        ));
        m.insert("QUARANTINE_MODE".into(), "delete".into());
        assert!(matches!(
            FanInConfig::from_env(&m).unwrap_err(),
            ConfigError::Invalid {
                name: "QUARANTINE_MODE",
                ..
            }
        ));
    }

    #[test]
    fn fan_in_config_parses_and_maps_dlqs() {
        let c = FanInConfig::from_env(&env(&[
            ("RESULTS_BUCKET", "r"),
            ("ENABLED_TOOLS", "vuln, secrets,vuln"),
            (
                "TOOL_DLQS",
                "vuln=arn:aws:sqs:us-east-1:123:vuln-dlq,secrets=secrets-dlq",
            ),
            ("QUARANTINE_MODE", "move"),
            ("QUARANTINE_BUCKET", "q"),
            ("QUARANTINE_PREFIX", ""),
        ]))
        .unwrap();
        assert_eq!(c.enabled_tools, ["vuln", "secrets"]);
        assert_eq!(
            c.dlq_slot("arn:aws:sqs:eu-west-1:999:secrets-dlq"),
            Some("secrets")
        );
        assert_eq!(c.dlq_slot("vuln-dlq"), Some("vuln"));
        assert_eq!(c.dlq_slot("other"), None);
        assert_eq!(c.common.policy, PolicySource::Embedded);
        // the default policy requires four tools; only two are deployed
        assert!(c.check_policy(&Policy::default_policy()).is_err());
    }

    #[test]
    fn policy_uri_forms() {
        assert_eq!(
            PolicySource::parse(Some("s3://b/p/policy.toml")).unwrap(),
            PolicySource::S3 {
                bucket: "b".into(),
                key: "p/policy.toml".into()
            }
        );
        assert_eq!(
            PolicySource::parse(Some("/opt/policy.yaml")).unwrap(),
            PolicySource::File("/opt/policy.yaml".into())
        );
        assert!(PolicySource::parse(Some("s3://b")).is_err());
        assert!(PolicySource::parse(Some("https://x/y")).is_err());
        assert_eq!(PolicySource::parse(None).unwrap(), PolicySource::Embedded);
    }
}
