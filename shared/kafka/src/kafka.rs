//! The rdkafka adapter of [`EventPublisher`]: one idempotent `FutureProducer` per container
//! (`enable.idempotence=true`, `acks=all`, zstd, small `linger.ms`, `message.timeout.ms` below the Lambda
//! timeout), every delivery report awaited. Auth: MSK IAM (SASL_SSL + OAUTHBEARER with a SigV4 token from
//! the cached credentials provider), SCRAM-SHA-512 or plaintext. Brokers: a bootstrap list, or an MSK
//! cluster ARN resolved once with GetBootstrapBrokers. `connect` warms the connection up (see
//! [`KafkaPublisher::warm_up`]). A producer that hit a fatal (idempotence) error is
//! replaced before the next publish, so a retry after a broker failure starts clean.

use std::error::Error;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use portcullis_core::SecurityEvent;
use rdkafka::ClientContext;
use rdkafka::client::OAuthToken;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};

use crate::config::{Brokers, KafkaAuth, KafkaConfig};
use crate::msk_iam::MskTokenProvider;
use crate::publisher::{
    Delivered, EventPublisher, FailedEvent, PublishError, PublishReport, encode,
};

/// Client context: supplies MSK IAM tokens to librdkafka's OAUTHBEARER refresh.
#[derive(Clone, Default)]
pub struct PublisherContext {
    iam: Option<MskTokenProvider>,
    tokens: Arc<AtomicU64>,
}

impl PublisherContext {
    /// A context signing tokens with `iam` (None: OAUTHBEARER is refused).
    pub fn new(iam: Option<MskTokenProvider>) -> PublisherContext {
        PublisherContext {
            iam,
            tokens: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many tokens were handed to librdkafka.
    pub fn tokens_generated(&self) -> u64 {
        self.tokens.load(Ordering::Relaxed)
    }
}

impl ClientContext for PublisherContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(
        &self,
        _oauthbearer_config: Option<&str>,
    ) -> Result<OAuthToken, Box<dyn Error>> {
        let provider = self
            .iam
            .as_ref()
            .ok_or("OAUTHBEARER token requested but KAFKA_AUTH is not iam")?;
        let token = provider
            .token_blocking()
            .inspect_err(|e| tracing::warn!(error = %e, "MSK IAM token"))?;
        self.tokens.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            expires_at_ms = token.expires_at_ms,
            "MSK IAM token refreshed"
        );
        Ok(OAuthToken {
            token: token.token,
            principal_name: String::new(),
            lifetime_ms: token.expires_at_ms,
        })
    }
}

type Inner = FutureProducer<PublisherContext>;

/// What [`KafkaPublisher::warm_up`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmUp {
    /// Brokers in the cluster metadata.
    pub brokers: usize,
    /// Partitions of the topic.
    pub partitions: usize,
    /// Time the two metadata requests took.
    pub elapsed: Duration,
}

/// The Kafka publisher. Create once per container and share.
pub struct KafkaPublisher {
    config: KafkaConfig,
    bootstrap: String,
    context: PublisherContext,
    producer: Mutex<Arc<Inner>>,
    /// Set when a publish failed: the next publish starts on a fresh producer.
    reset: AtomicBool,
}

impl std::fmt::Debug for KafkaPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaPublisher")
            .field("bootstrap", &self.bootstrap)
            .field("topic", &self.config.topic)
            .field("auth", &self.config.auth.name())
            .finish()
    }
}

/// Bound on each metadata request of the warm-up in [`KafkaPublisher::connect`] (two requests: a Lambda
/// init phase has 10 s).
pub const WARMUP_TIMEOUT: Duration = Duration::from_secs(3);

/// librdkafka's first reconnect backoff. It also sets how long librdkafka suppresses a new cluster
/// connection after the last one (half of it, at least 11 ms): with the default 100 ms, the connection to
/// the broker learned from the bootstrap metadata waited ~50 ms at every cold start (the bootstrap
/// connection is replaced by one to the learned broker id, and the idempotent producer gets its producer
/// id only from that one). Later reconnects still back off exponentially up to `reconnect.backoff.max.ms`.
pub const RECONNECT_BACKOFF_MS: &str = "10";

/// Maximum time spent waiting for room in librdkafka's local queue.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(2);

impl KafkaPublisher {
    /// Builds the publisher: loads the AWS config when IAM auth or an MSK ARN needs it, resolves the
    /// bootstrap brokers once, creates the producer.
    pub async fn connect(config: KafkaConfig) -> Result<KafkaPublisher, PublishError> {
        let needs_aws = matches!(config.auth, KafkaAuth::Iam { .. })
            || matches!(config.brokers, Brokers::MskCluster { .. });
        let sdk = if needs_aws {
            let mut loader = aws_config::from_env();
            if let KafkaAuth::Iam { region } = &config.auth {
                loader = loader.region(aws_config::Region::new(region.clone()));
            }
            Some(loader.load().await)
        } else {
            None
        };
        let bootstrap = match (&config.brokers, &sdk) {
            (Brokers::Bootstrap(b), _) => b.clone(),
            (Brokers::MskCluster { arn }, Some(sdk)) => {
                resolve_msk_bootstrap(sdk, arn, &config.auth).await?
            }
            (Brokers::MskCluster { arn }, None) => {
                return Err(PublishError::Bootstrap {
                    arn: arn.clone(),
                    message: "no AWS configuration".into(),
                });
            }
        };
        let iam = match (&config.auth, &sdk) {
            (KafkaAuth::Iam { region }, Some(sdk)) => {
                let creds = sdk.credentials_provider().ok_or_else(|| {
                    PublishError::Producer("KAFKA_AUTH=iam but no AWS credentials provider".into())
                })?;
                Some(MskTokenProvider::new(
                    region.clone(),
                    creds,
                    tokio::runtime::Handle::current(),
                ))
            }
            _ => None,
        };
        let publisher =
            KafkaPublisher::with_bootstrap(config, bootstrap, PublisherContext::new(iam))?;
        // A failed warm-up is not fatal: the broker may be back by the first publish, which reports its own
        // typed error if not.
        match publisher.warm_up(WARMUP_TIMEOUT).await {
            Ok(w) => tracing::info!(
                brokers = w.brokers,
                partitions = w.partitions,
                elapsed_ms = w.elapsed.as_millis() as u64,
                "Kafka connection warmed up"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "Kafka warm-up failed; the first publish connects again")
            }
        }
        Ok(publisher)
    }

    /// Builds the publisher for already-resolved brokers.
    pub fn with_bootstrap(
        config: KafkaConfig,
        bootstrap: String,
        context: PublisherContext,
    ) -> Result<KafkaPublisher, PublishError> {
        let producer = create_producer(&config, &bootstrap, context.clone())?;
        tracing::info!(bootstrap = %bootstrap, topic = %config.topic, auth = config.auth.name(), "Kafka producer created");
        Ok(KafkaPublisher {
            config,
            bootstrap,
            context,
            producer: Mutex::new(Arc::new(producer)),
            reset: AtomicBool::new(false),
        })
    }

    /// The resolved bootstrap brokers.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.config.topic
    }

    /// The client context (token counter).
    pub fn context(&self) -> &PublisherContext {
        &self.context
    }

    /// The current producer, replaced first if it hit a fatal error or the previous publish failed.
    ///
    /// Why replace after any failed publish: an idempotent producer whose messages timed out keeps its
    /// producer id and sequence state; when the broker came back without that state (restart, failover to
    /// an empty broker) librdkafka can stay stuck timing out every later message. A retry (the SQS
    /// redelivery of the same chain) therefore gets a clean producer; event ids make the duplicates harmless.
    fn producer(&self) -> Result<Arc<Inner>, PublishError> {
        let mut guard = self
            .producer
            .lock()
            .map_err(|_| PublishError::Producer("producer lock poisoned".into()))?;
        let fatal = guard.client().fatal_error();
        let reset = self.reset.swap(false, Ordering::AcqRel);
        if fatal.is_some() || reset {
            match &fatal {
                Some((code, reason)) => {
                    tracing::warn!(?code, %reason, "Kafka producer hit a fatal error: recreating it")
                }
                None => tracing::info!("previous publish failed: recreating the Kafka producer"),
            }
            let fresh = Arc::new(create_producer(
                &self.config,
                &self.bootstrap,
                self.context.clone(),
            )?);
            let old = std::mem::replace(&mut *guard, fresh);
            // rd_kafka_destroy may block briefly: keep it off the async workers.
            match tokio::runtime::Handle::try_current() {
                Ok(h) => drop(h.spawn_blocking(move || drop(old))),
                Err(_) => drop(old),
            }
        }
        Ok(guard.clone())
    }

    /// Connects to the cluster and reads the topic's metadata before the first publish, so that the first
    /// invocation does not pay for the connection set-up, and an unreachable broker, refused authentication
    /// or a topic error in the metadata (unknown topic where the broker does not auto-create) shows at start.
    ///
    /// Why two metadata requests: the first goes to a bootstrap connection and teaches librdkafka the
    /// brokers' node ids; librdkafka then retires the bootstrap connection and connects to the learned
    /// broker. The idempotent producer asks for its producer id when a metadata response arrives, and if no
    /// learned broker is up at that moment it retries only on a 500 ms timer (librdkafka 2.12), which made
    /// every cold start wait 0.5–1 s before the first delivery. The second request is answered by a learned
    /// broker, so its response finds that broker up and the producer id is requested at once. Bounded by
    /// `timeout` per request; the metadata itself is only checked for the topic.
    pub async fn warm_up(&self, timeout: Duration) -> Result<WarmUp, PublishError> {
        let producer = self.producer()?;
        let topic = self.config.topic.clone();
        let started = std::time::Instant::now();
        tokio::task::spawn_blocking(move || {
            let fail = |e: KafkaError| PublishError::Warmup {
                topic: topic.clone(),
                message: e.to_string(),
            };
            producer
                .client()
                .fetch_metadata(Some(&topic), timeout)
                .map_err(fail)?;
            let md = producer
                .client()
                .fetch_metadata(Some(&topic), timeout)
                .map_err(fail)?;
            let t = md
                .topics()
                .iter()
                .find(|t| t.name() == topic)
                .ok_or_else(|| PublishError::Warmup {
                    topic: topic.clone(),
                    message: "topic not in the metadata response".into(),
                })?;
            if let Some(err) = t.error() {
                return Err(PublishError::Warmup {
                    topic: topic.clone(),
                    message: format!("{:?}", RDKafkaErrorCode::from(err)),
                });
            }
            Ok(WarmUp {
                brokers: md.brokers().len(),
                partitions: t.partitions().len(),
                elapsed: started.elapsed(),
            })
        })
        .await
        .map_err(|e| PublishError::Producer(format!("warm-up task: {e}")))?
    }

    /// Waits up to `timeout` for queued messages to be delivered (SIGTERM / shutdown).
    pub fn flush(&self, timeout: Duration) -> Result<(), PublishError> {
        let p = self.producer()?;
        p.flush(timeout)
            .map_err(|e| PublishError::Producer(format!("flush: {e}")))
    }
}

fn create_producer(
    config: &KafkaConfig,
    bootstrap: &str,
    context: PublisherContext,
) -> Result<Inner, PublishError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("client.id", &config.client_id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "zstd")
        .set("linger.ms", config.linger.as_millis().to_string())
        .set(
            "message.timeout.ms",
            config.message_timeout.as_millis().to_string(),
        )
        .set(
            "request.timeout.ms",
            config.message_timeout.as_millis().min(30_000).to_string(),
        )
        .set("queue.buffering.max.messages", "200000")
        .set("socket.keepalive.enable", "true")
        .set("reconnect.backoff.ms", RECONNECT_BACKOFF_MS);
    match &config.auth {
        KafkaAuth::Iam { .. } => {
            c.set("security.protocol", "SASL_SSL")
                .set("sasl.mechanism", "OAUTHBEARER");
        }
        KafkaAuth::Scram { username, password } => {
            c.set("security.protocol", "SASL_SSL")
                .set("sasl.mechanism", "SCRAM-SHA-512")
                .set("sasl.username", username)
                .set("sasl.password", password.expose());
        }
        KafkaAuth::Plaintext => {
            c.set("security.protocol", "PLAINTEXT");
        }
    }
    // librdkafka errors name config keys, never values.
    c.create_with_context(context)
        .map_err(|e| PublishError::Producer(e.to_string()))
}

/// GetBootstrapBrokers → the broker string matching the auth mode (private first, then public).
async fn resolve_msk_bootstrap(
    sdk: &aws_config::SdkConfig,
    arn: &str,
    auth: &KafkaAuth,
) -> Result<String, PublishError> {
    let client = aws_sdk_kafka::Client::new(sdk);
    let out = client
        .get_bootstrap_brokers()
        .cluster_arn(arn)
        .send()
        .await
        .map_err(|e| PublishError::Bootstrap {
            arn: arn.to_string(),
            message: aws_sdk_kafka::error::DisplayErrorContext(&e).to_string(),
        })?;
    let picked = match auth {
        KafkaAuth::Iam { .. } => out
            .bootstrap_broker_string_sasl_iam()
            .or(out.bootstrap_broker_string_public_sasl_iam())
            .or(out.bootstrap_broker_string_vpc_connectivity_sasl_iam()),
        KafkaAuth::Scram { .. } => out
            .bootstrap_broker_string_sasl_scram()
            .or(out.bootstrap_broker_string_public_sasl_scram())
            .or(out.bootstrap_broker_string_vpc_connectivity_sasl_scram()),
        KafkaAuth::Plaintext => out.bootstrap_broker_string(),
    };
    picked
        .map(str::to_string)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| PublishError::Bootstrap {
            arn: arn.to_string(),
            message: format!(
                "the cluster has no broker string for auth mode {}",
                auth.name()
            ),
        })
}

fn describe(e: &KafkaError) -> String {
    match e.rdkafka_error_code() {
        Some(RDKafkaErrorCode::MessageTimedOut) => {
            format!("{e} (not acknowledged within message.timeout.ms)")
        }
        _ => e.to_string(),
    }
}

#[async_trait]
impl EventPublisher for KafkaPublisher {
    async fn publish(&self, events: &[SecurityEvent]) -> Result<PublishReport, PublishError> {
        let topic = self.config.topic.clone();
        // Encode everything first: an encoding error sends nothing.
        let records = events.iter().map(encode).collect::<Result<Vec<_>, _>>()?;
        let producer = self.producer()?;
        let mut pending: Vec<(usize, Result<DeliveryFuture, String>)> =
            Vec::with_capacity(records.len());
        let mut bytes = 0u64;
        for (i, r) in records.iter().enumerate() {
            let headers = r.headers.iter().fold(
                OwnedHeaders::new_with_capacity(r.headers.len()),
                |h, (k, v)| {
                    h.insert(Header {
                        key: k,
                        value: Some(v.as_bytes()),
                    })
                },
            );
            let mut record = FutureRecord::to(&topic)
                .key(r.key.as_bytes())
                .payload(&r.value)
                .headers(headers);
            let enqueued = loop {
                match producer.send_result(record) {
                    Ok(f) => break Ok(f),
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        tokio::time::sleep(QUEUE_FULL_BACKOFF).await;
                    }
                    Err((e, _)) => break Err(describe(&e)),
                }
            };
            bytes += r.size();
            pending.push((i, enqueued));
        }
        let mut delivered = Vec::with_capacity(records.len());
        let mut failed = Vec::new();
        for (i, f) in pending {
            let event_id = records[i].event_id.clone();
            let outcome = match f {
                Err(e) => Err(e),
                Ok(fut) => match fut.await {
                    Ok(Ok(d)) => Ok(d),
                    Ok(Err((e, _msg))) => Err(describe(&e)),
                    Err(_canceled) => Err("delivery report lost (producer dropped)".to_string()),
                },
            };
            match outcome {
                Ok(d) => delivered.push(Delivered {
                    event_id,
                    partition: d.partition,
                    offset: d.offset,
                }),
                Err(error) => failed.push(FailedEvent { event_id, error }),
            }
        }
        if !failed.is_empty() {
            self.reset.store(true, Ordering::Release);
            tracing::warn!(topic = %topic, failed = failed.len(), total = records.len(), "publish failed");
            return Err(PublishError::Delivery {
                topic,
                total: records.len(),
                failed,
            });
        }
        tracing::debug!(topic = %topic, delivered = delivered.len(), bytes, "published");
        Ok(PublishReport {
            topic,
            delivered,
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use aws_credential_types::Credentials;
    use aws_credential_types::provider::SharedCredentialsProvider;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn oauthbearer_refresh_uses_the_msk_iam_token() {
        // GIVEN a producer configured for OAUTHBEARER whose context signs MSK IAM tokens
        let provider = MskTokenProvider::new(
            "eu-west-1".into(),
            SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            )),
            tokio::runtime::Handle::current(),
        );
        let ctx = PublisherContext::new(Some(provider));
        // WHEN librdkafka starts (nothing listens on port 1: only the token refresh matters)
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", "127.0.0.1:1")
            .set("security.protocol", "SASL_PLAINTEXT")
            .set("sasl.mechanism", "OAUTHBEARER");
        let p: Inner = c.create_with_context(ctx.clone()).unwrap();
        // THEN it asks the context for a token
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while ctx.tokens_generated() == 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ctx.tokens_generated() >= 1);
        drop(p);
    }

    #[test]
    fn without_iam_the_context_refuses_tokens() {
        let ctx = PublisherContext::new(None);
        let Err(err) = ctx.generate_oauth_token(None) else {
            panic!("a token without IAM")
        };
        assert!(err.to_string().contains("KAFKA_AUTH"));
    }
}
