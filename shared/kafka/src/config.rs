//! Publisher configuration, parsed once at start from the environment (fail fast): where the brokers are
//! (`KAFKA_BOOTSTRAP_SERVERS`, or `MSK_CLUSTER_ARN` resolved with GetBootstrapBrokers), how to authenticate
//! (`KAFKA_AUTH` = `iam` | `scram` | `plaintext`; default `iam`, so nothing silently goes out unauthenticated),
//! the topic and the delivery timeout. Checks: unknown modes, missing SCRAM credentials, missing region and
//! out-of-range numbers are errors; `Debug` never prints a password.

use std::fmt;
use std::time::Duration;

/// Default topic.
pub const DEFAULT_TOPIC: &str = "security-events";
/// Default `message.timeout.ms`: below the publisher function's 30 s timeout.
pub const DEFAULT_MESSAGE_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the brokers come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Brokers {
    /// A bootstrap list (`host:port,host:port`).
    Bootstrap(String),
    /// An MSK cluster, resolved with GetBootstrapBrokers once per container.
    MskCluster {
        /// Cluster ARN.
        arn: String,
    },
}

/// A secret string whose `Debug`/`Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value (only for handing to librdkafka).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(** redacted **)")
    }
}

/// How the producer authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KafkaAuth {
    /// SASL_SSL + OAUTHBEARER with an MSK IAM SigV4 token.
    Iam {
        /// Region the token is signed for.
        region: String,
    },
    /// SASL_SSL + SCRAM-SHA-512.
    Scram {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
    /// No TLS, no auth: local brokers only.
    Plaintext,
}

impl KafkaAuth {
    /// `iam`, `scram` or `plaintext`.
    pub fn name(&self) -> &'static str {
        match self {
            KafkaAuth::Iam { .. } => "iam",
            KafkaAuth::Scram { .. } => "scram",
            KafkaAuth::Plaintext => "plaintext",
        }
    }
}

/// Producer configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// Brokers.
    pub brokers: Brokers,
    /// Authentication.
    pub auth: KafkaAuth,
    /// Topic.
    pub topic: String,
    /// `message.timeout.ms`: a delivery not acknowledged by then fails (keep below the Lambda timeout).
    pub message_timeout: Duration,
    /// `linger.ms`.
    pub linger: Duration,
    /// `client.id`.
    pub client_id: String,
}

/// A configuration error (names the variable; never includes a secret value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Neither brokers nor a cluster ARN.
    #[error("set KAFKA_BOOTSTRAP_SERVERS or MSK_CLUSTER_ARN")]
    NoBrokers,
    /// Unknown `KAFKA_AUTH`.
    #[error("KAFKA_AUTH={0:?} is not one of iam, scram, plaintext")]
    UnknownAuth(String),
    /// A required variable is missing.
    #[error("{var} is required when {why}")]
    Missing {
        /// Variable.
        var: &'static str,
        /// Why it is required.
        why: &'static str,
    },
    /// A variable has an invalid value.
    #[error("{var}: {problem}")]
    Invalid {
        /// Variable.
        var: &'static str,
        /// What is wrong.
        problem: String,
    },
}

impl KafkaConfig {
    /// A plaintext config for a local broker.
    pub fn plaintext(bootstrap: impl Into<String>, topic: impl Into<String>) -> KafkaConfig {
        KafkaConfig {
            brokers: Brokers::Bootstrap(bootstrap.into()),
            auth: KafkaAuth::Plaintext,
            topic: topic.into(),
            message_timeout: DEFAULT_MESSAGE_TIMEOUT,
            linger: Duration::from_millis(5),
            client_id: "portcullis-publisher".to_string(),
        }
    }

    /// From the process environment.
    pub fn from_env() -> Result<KafkaConfig, ConfigError> {
        KafkaConfig::from_lookup(|k| std::env::var(k).ok())
    }

    /// From any variable lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<KafkaConfig, ConfigError> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let brokers = match (var("KAFKA_BOOTSTRAP_SERVERS"), var("MSK_CLUSTER_ARN")) {
            (Some(b), _) => Brokers::Bootstrap(b),
            (None, Some(arn)) => {
                if !arn.starts_with("arn:") || arn.split(':').count() < 6 {
                    return Err(ConfigError::Invalid {
                        var: "MSK_CLUSTER_ARN",
                        problem: format!("{arn:?} is not an ARN"),
                    });
                }
                Brokers::MskCluster { arn }
            }
            (None, None) => return Err(ConfigError::NoBrokers),
        };
        let auth_name = var("KAFKA_AUTH")
            .unwrap_or_else(|| "iam".to_string())
            .to_ascii_lowercase();
        let auth = match auth_name.as_str() {
            "iam" => {
                let arn_region = match &brokers {
                    Brokers::MskCluster { arn } => arn
                        .split(':')
                        .nth(3)
                        .map(str::to_string)
                        .filter(|r| !r.is_empty()),
                    Brokers::Bootstrap(_) => None,
                };
                let region = var("AWS_REGION")
                    .or_else(|| var("AWS_DEFAULT_REGION"))
                    .or(arn_region)
                    .ok_or(ConfigError::Missing {
                        var: "AWS_REGION",
                        why: "KAFKA_AUTH=iam",
                    })?;
                KafkaAuth::Iam { region }
            }
            "scram" => KafkaAuth::Scram {
                username: var("KAFKA_SASL_USERNAME").ok_or(ConfigError::Missing {
                    var: "KAFKA_SASL_USERNAME",
                    why: "KAFKA_AUTH=scram",
                })?,
                password: Secret::new(var("KAFKA_SASL_PASSWORD").ok_or(ConfigError::Missing {
                    var: "KAFKA_SASL_PASSWORD",
                    why: "KAFKA_AUTH=scram",
                })?),
            },
            "plaintext" => KafkaAuth::Plaintext,
            other => return Err(ConfigError::UnknownAuth(other.to_string())),
        };
        let millis = |name: &'static str,
                      default: Duration,
                      min: u64,
                      max: u64|
         -> Result<Duration, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(v) => {
                    let n: u64 = v.parse().map_err(|_| ConfigError::Invalid {
                        var: name,
                        problem: format!("{v:?} is not a number of milliseconds"),
                    })?;
                    if !(min..=max).contains(&n) {
                        return Err(ConfigError::Invalid {
                            var: name,
                            problem: format!("{n} is outside {min}..={max}"),
                        });
                    }
                    Ok(Duration::from_millis(n))
                }
            }
        };
        Ok(KafkaConfig {
            brokers,
            auth,
            topic: var("KAFKA_TOPIC").unwrap_or_else(|| DEFAULT_TOPIC.to_string()),
            message_timeout: millis(
                "KAFKA_MESSAGE_TIMEOUT_MS",
                DEFAULT_MESSAGE_TIMEOUT,
                1_000,
                900_000,
            )?,
            linger: millis("KAFKA_LINGER_MS", Duration::from_millis(5), 0, 1_000)?,
            client_id: var("KAFKA_CLIENT_ID").unwrap_or_else(|| "portcullis-publisher".to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<KafkaConfig, ConfigError> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        KafkaConfig::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn plaintext_local() {
        let c = parse(&[
            ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"),
            ("KAFKA_AUTH", "plaintext"),
        ])
        .unwrap();
        assert_eq!(c.brokers, Brokers::Bootstrap("127.0.0.1:19092".into()));
        assert_eq!(c.auth, KafkaAuth::Plaintext);
        assert_eq!(c.topic, DEFAULT_TOPIC);
        assert_eq!(c.message_timeout, DEFAULT_MESSAGE_TIMEOUT);
    }

    #[test]
    fn iam_is_the_default_and_takes_the_region_from_the_arn() {
        let arn = "arn:aws:kafka:eu-central-1:123456789012:cluster/demo/abcd-1";
        let c = parse(&[("MSK_CLUSTER_ARN", arn)]).unwrap();
        assert_eq!(c.brokers, Brokers::MskCluster { arn: arn.into() });
        assert_eq!(
            c.auth,
            KafkaAuth::Iam {
                region: "eu-central-1".into()
            }
        );
        let c = parse(&[("MSK_CLUSTER_ARN", arn), ("AWS_REGION", "eu-west-1")]).unwrap();
        assert_eq!(
            c.auth,
            KafkaAuth::Iam {
                region: "eu-west-1".into()
            }
        );
        // bootstrap list + iam without a region fails fast
        assert_eq!(
            parse(&[("KAFKA_BOOTSTRAP_SERVERS", "b-1:9098")]),
            Err(ConfigError::Missing {
                var: "AWS_REGION",
                why: "KAFKA_AUTH=iam"
            })
        );
    }

    #[test]
    fn scram_needs_credentials_and_never_prints_the_password() {
        assert!(matches!(
            parse(&[
                ("KAFKA_BOOTSTRAP_SERVERS", "b:9096"),
                ("KAFKA_AUTH", "scram"),
                ("KAFKA_SASL_USERNAME", "u")
            ]),
            Err(ConfigError::Missing {
                var: "KAFKA_SASL_PASSWORD",
                ..
            })
        ));
        let c = parse(&[
            ("KAFKA_BOOTSTRAP_SERVERS", "b:9096"),
            ("KAFKA_AUTH", "SCRAM"),
            ("KAFKA_SASL_USERNAME", "u"),
            ("KAFKA_SASL_PASSWORD", "hunter2-very-secret"),
        ])
        .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn bad_values_fail_fast() {
        assert_eq!(parse(&[]), Err(ConfigError::NoBrokers));
        assert!(matches!(
            parse(&[
                ("KAFKA_BOOTSTRAP_SERVERS", "b:1"),
                ("KAFKA_AUTH", "kerberos")
            ]),
            Err(ConfigError::UnknownAuth(_))
        ));
        assert!(matches!(
            parse(&[("MSK_CLUSTER_ARN", "cluster/x")]),
            Err(ConfigError::Invalid { .. })
        ));
        assert!(matches!(
            parse(&[
                ("KAFKA_BOOTSTRAP_SERVERS", "b:1"),
                ("KAFKA_AUTH", "plaintext"),
                ("KAFKA_MESSAGE_TIMEOUT_MS", "5s")
            ]),
            Err(ConfigError::Invalid {
                var: "KAFKA_MESSAGE_TIMEOUT_MS",
                ..
            })
        ));
        assert!(matches!(
            parse(&[
                ("KAFKA_BOOTSTRAP_SERVERS", "b:1"),
                ("KAFKA_AUTH", "plaintext"),
                ("KAFKA_MESSAGE_TIMEOUT_MS", "10")
            ]),
            Err(ConfigError::Invalid { .. })
        ));
    }
}
