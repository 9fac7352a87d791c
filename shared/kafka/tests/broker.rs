//! Integration tests against a REAL Kafka-compatible broker (tansu, started by `scripts/start-broker.sh`;
//! address in `PORTCULLIS_TEST_KAFKA_BOOTSTRAP`). Checks: every event of a chain comes back with the
//! artifact-id key, CloudEvents headers and a schema-valid JSON value; a republish carries the same ids so
//! consumers dedupe; a publish during a broker outage fails with a typed error within the timeout and a
//! retry after the restart leaves every event on the topic; no secret value reaches the topic.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_core::{
    ArtifactRef, LocalFileRef, Policy, SecurityEvent, ToolContext, ToolManager, build_events,
};
use portcullis_kafka::{
    EventPublisher, KafkaConfig, KafkaPublisher, PublishError, PublisherContext, sample,
};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

fn bootstrap() -> String {
    match std::env::var("PORTCULLIS_TEST_KAFKA_BOOTSTRAP") {
        Ok(b) if !b.trim().is_empty() => b,
        _ => panic!(
            "PORTCULLIS_TEST_KAFKA_BOOTSTRAP is not set: these tests need a real broker — run scripts/test.sh \
             (or `eval $(scripts/start-broker.sh 19092)` and export PORTCULLIS_TEST_KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP_SERVERS)"
        ),
    }
}

fn unique_topic(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("it-{name}-{}-{nanos}", std::process::id())
}

async fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let res = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    for r in res {
        r.map_err(|(t, e)| format!("create topic {t}: {e}"))
            .unwrap();
    }
}

fn config(bootstrap: &str, topic: &str, timeout: Duration) -> KafkaConfig {
    let mut c = KafkaConfig::plaintext(bootstrap, topic);
    c.message_timeout = timeout;
    c
}

/// Reads every message of `topic` (all partitions, from the beginning) until `expected` arrived and a
/// quiet period passed (so extra messages are seen too), or the deadline.
fn consume(bootstrap: &str, topic: &str, expected: usize, deadline: Duration) -> Vec<OwnedMessage> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("{topic}-reader"))
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap();
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let partitions = md.topics()[0].partitions().len();
    assert!(partitions > 0, "topic {topic} has no partitions");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions as i32 {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let end = Instant::now() + deadline;
    let mut quiet_until: Option<Instant> = None;
    while Instant::now() < end {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => out.push(m.detach()),
            Some(Err(e)) => panic!("consume {topic}: {e}"),
            None => {}
        }
        if out.len() >= expected {
            let q =
                *quiet_until.get_or_insert_with(|| Instant::now() + Duration::from_millis(1500));
            if Instant::now() >= q {
                break;
            }
        }
    }
    out
}

fn header<'a>(m: &'a OwnedMessage, name: &str) -> Option<&'a str> {
    let h = m.headers()?;
    h.iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .map(|v| std::str::from_utf8(v).unwrap())
}

fn event_validator() -> jsonschema::Validator {
    let schema = std::fs::read_to_string(repo_root().join("schemas/security-event.schema.json"))
        .ok()
        .map(|s| serde_json::from_str(&s).unwrap())
        .unwrap_or_else(|| {
            portcullis_core::schema::all()
                .into_iter()
                .find(|(n, _)| *n == "security-event.schema.json")
                .unwrap()
                .1
        });
    jsonschema::validator_for(&schema).unwrap()
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_events_come_back_with_keys_headers_and_schema_valid_values() {
    // GIVEN a chain with vulnerabilities, a licence violation and a quarantine verdict
    let bootstrap = bootstrap();
    let topic = unique_topic("roundtrip");
    create_topic(&bootstrap, &topic, 3).await;
    let chain = sample::chain("artifacts", "releases/app 1.0.tgz", 5);
    let events = build_events(&chain);
    let types: BTreeSet<&str> = events.iter().map(|e| e.payload.event_type()).collect();
    assert!(types.len() >= 4, "{types:?}");
    let publisher = KafkaPublisher::with_bootstrap(
        config(&bootstrap, &topic, Duration::from_secs(15)),
        bootstrap.clone(),
        PublisherContext::new(None),
    )
    .unwrap();

    // WHEN published
    let report = publisher.publish(&events).await.unwrap();

    // THEN every event was acknowledged
    assert_eq!(report.delivered.len(), events.len());
    assert!(report.delivered.iter().all(|d| d.offset >= 0));
    // AND reading the topic back gives exactly these events, keyed by artifact id, with CloudEvents headers
    let messages = consume(&bootstrap, &topic, events.len(), Duration::from_secs(30));
    assert_eq!(messages.len(), events.len());
    let validator = event_validator();
    let by_id: BTreeMap<&str, &SecurityEvent> =
        events.iter().map(|e| (e.event_id.as_str(), e)).collect();
    let partitions: BTreeSet<i32> = messages.iter().map(|m| m.partition()).collect();
    assert_eq!(partitions.len(), 1, "one key → one partition");
    for m in &messages {
        assert_eq!(m.key().unwrap(), chain.artifact_id.0.as_bytes());
        let value: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "schema: {errors:?}");
        let ev: SecurityEvent = serde_json::from_value(value).unwrap();
        assert_eq!(by_id[ev.event_id.as_str()], &ev);
        assert_eq!(header(m, "ce_specversion"), Some("1.0"));
        assert_eq!(header(m, "ce_id"), Some(ev.event_id.as_str()));
        assert_eq!(header(m, "ce_source"), Some("urn:portcullis:artifacts"));
        assert_eq!(
            header(m, "ce_type").unwrap(),
            format!("io.portcullis.{}.v1", ev.payload.event_type())
        );
        assert_eq!(header(m, "ce_time"), Some("2026-01-02T03:04:05.000Z"));
        assert_eq!(header(m, "ce_subject"), Some(chain.artifact_id.0.as_str()));
        assert_eq!(header(m, "content-type"), Some("application/json"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn republishing_yields_the_same_ids_so_consumers_dedupe() {
    // GIVEN two chains published, then published again (an SQS retry or a replay)
    let bootstrap = bootstrap();
    let topic = unique_topic("republish");
    create_topic(&bootstrap, &topic, 3).await;
    let chains = [
        sample::chain("artifacts", "a.tgz", 3),
        sample::chain("artifacts", "b.tgz", 2),
    ];
    let publisher = KafkaPublisher::with_bootstrap(
        config(&bootstrap, &topic, Duration::from_secs(15)),
        bootstrap.clone(),
        PublisherContext::new(None),
    )
    .unwrap();
    let first = portcullis_kafka::replay(chains.clone(), &publisher).await;
    let second = portcullis_kafka::replay(chains.clone(), &publisher).await;
    assert!(first.is_complete() && second.is_complete());
    let expected: BTreeSet<String> = chains
        .iter()
        .flat_map(build_events)
        .map(|e| e.event_id)
        .collect();

    // WHEN a consumer reads the topic and dedupes by event id (ce_id)
    let messages = consume(
        &bootstrap,
        &topic,
        2 * expected.len(),
        Duration::from_secs(30),
    );
    let mut per_id: BTreeMap<String, usize> = BTreeMap::new();
    for m in &messages {
        *per_id
            .entry(header(m, "ce_id").unwrap().to_string())
            .or_default() += 1;
    }

    // THEN every id is present, each exactly twice (once per publish), and dedupe leaves one per event
    assert_eq!(per_id.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(per_id.values().all(|&n| n == 2), "{per_id:?}");
}

/// A private broker for the outage test (the shared one must stay up for the other tests).
struct PrivateBroker {
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivateBroker {
    fn script() -> PathBuf {
        repo_root().join("scripts/start-broker.sh")
    }

    fn start(port: u16, topic: &str) -> PrivateBroker {
        let b = PrivateBroker {
            dir: tempfile::tempdir().unwrap(),
            port,
        };
        b.up(topic);
        b
    }

    fn up(&self, topic: &str) {
        let out = Command::new("bash")
            .arg(Self::script())
            .arg(self.port.to_string())
            .arg(topic)
            .env("PORTCULLIS_BROKER_DIR", self.dir.path())
            .env("PORTCULLIS_TOPIC_PARTITIONS", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "start-broker: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn down(&self) {
        let out = Command::new("bash")
            .arg(Self::script())
            .arg("stop")
            .env("PORTCULLIS_BROKER_DIR", self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "stop-broker: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(Self::script())
            .arg("stop")
            .env("PORTCULLIS_BROKER_DIR", self.dir.path())
            .output();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outage_fails_the_publish_and_a_retry_after_restart_delivers_everything() {
    let _shared = bootstrap(); // the suite runs against a real broker; this test adds its own on another port
    let topic = "outage-events";
    let broker = PrivateBroker::start(free_port(), topic);
    let timeout = Duration::from_secs(4);
    let publisher = KafkaPublisher::with_bootstrap(
        config(&broker.bootstrap(), topic, timeout),
        broker.bootstrap(),
        PublisherContext::new(None),
    )
    .unwrap();
    // GIVEN a working publisher (connected, producer id assigned)
    let warm = build_events(&sample::chain("artifacts", "warm.tgz", 1));
    publisher.publish(&warm).await.unwrap();

    // WHEN the broker stops and a chain is published
    broker.down();
    let events = build_events(&sample::chain("artifacts", "during-outage.tgz", 4));
    let started = Instant::now();
    let err = publisher.publish(&events).await.unwrap_err();
    let took = started.elapsed();

    // THEN the publish fails with a typed error naming every unacknowledged event, within the timeout
    match &err {
        PublishError::Delivery { failed, total, .. } => {
            assert_eq!(*total, events.len());
            let failed_ids: BTreeSet<&str> = failed.iter().map(|f| f.event_id.as_str()).collect();
            let all: BTreeSet<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
            assert_eq!(failed_ids, all, "{err}");
        }
        other => panic!("expected a delivery error, got {other}"),
    }
    // Bounded, not hanging: librdkafka gives up after message.timeout.ms; the margin absorbs a loaded CI host.
    assert!(
        took < timeout * 3 + Duration::from_secs(30),
        "failed after {took:?}"
    );

    // WHEN the broker is back (memory storage: empty, topic re-created) and the invocation is retried
    broker.up(topic);
    let mut attempts = 0;
    let report = loop {
        attempts += 1;
        match publisher.publish(&events).await {
            Ok(r) => break r,
            Err(e) if attempts < 5 => eprintln!("retry {attempts}: {e}"),
            Err(e) => panic!("still failing after {attempts} retries: {e}"),
        }
    };
    assert_eq!(report.delivered.len(), events.len());

    // THEN every event of the chain is on the topic, exactly once per id after dedupe
    let messages = consume(
        &broker.bootstrap(),
        topic,
        events.len(),
        Duration::from_secs(30),
    );
    let mut per_id: BTreeMap<String, usize> = BTreeMap::new();
    for m in &messages {
        *per_id
            .entry(header(m, "ce_id").unwrap().to_string())
            .or_default() += 1;
    }
    let expected: BTreeSet<String> = events.iter().map(|e| e.event_id.clone()).collect();
    let got: BTreeSet<String> = per_id.keys().cloned().collect();
    assert!(
        expected.is_subset(&got),
        "missing: {:?}",
        expected.difference(&got).collect::<Vec<_>>()
    );
    assert!(
        got.is_subset(&expected),
        "unexpected ids: {:?}",
        got.difference(&expected).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_reaches_the_topic() {
    // GIVEN an artifact holding a live-looking GitHub token, scanned by the real secrets tool
    let bootstrap = bootstrap();
    let topic = unique_topic("secrets");
    create_topic(&bootstrap, &topic, 1).await;
    // built at run time so no token-shaped literal sits in the repository
    let secret = format!("ghp_{}{}", "Q7wX2mN9vB4kL8pR3tY6", "uI1oZ5aS0dF7gH2j");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deploy.env");
    std::fs::write(
        &path,
        format!("# deploy settings\nREGION=eu-west-1\nGITHUB_TOKEN={secret}\n"),
    )
    .unwrap();
    let artifact = ArtifactRef::Local(LocalFileRef {
        path: path.display().to_string(),
        size: None,
    });
    let tool = portcullis_secrets::SecretTool::new().unwrap();
    let manager = ToolManager::new(vec![Arc::new(tool)]);
    let ctx = ToolContext::new(artifact, Arc::new(Policy::default_policy()), None);
    let chain = manager
        .run(Arc::new(portcullis_core::LocalFile::new(&path)), &ctx)
        .await;
    let events = build_events(&chain);
    assert!(
        events
            .iter()
            .any(|e| e.payload.event_type() == "secret_exposed"),
        "the secrets tool must find the token: {events:?}"
    );

    // WHEN the events are published and read back
    let publisher = KafkaPublisher::with_bootstrap(
        config(&bootstrap, &topic, Duration::from_secs(15)),
        bootstrap.clone(),
        PublisherContext::new(None),
    )
    .unwrap();
    publisher.publish(&events).await.unwrap();
    let messages = consume(&bootstrap, &topic, events.len(), Duration::from_secs(30));
    assert_eq!(messages.len(), events.len());

    // THEN neither keys, values nor headers contain the secret (or its distinctive body)
    let body = &secret[4..];
    assert_eq!(body.len(), 36);
    for m in &messages {
        let mut raw = Vec::new();
        raw.extend_from_slice(m.key().unwrap_or_default());
        raw.extend_from_slice(m.payload().unwrap_or_default());
        if let Some(h) = m.headers() {
            for h in h.iter() {
                raw.extend_from_slice(h.key.as_bytes());
                raw.extend_from_slice(h.value.unwrap_or_default());
            }
        }
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains(body), "secret leaked in {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_up_reads_the_topic_and_names_a_dead_broker() {
    // GIVEN a topic with 3 partitions on the broker
    let bootstrap = bootstrap();
    let topic = unique_topic("warmup");
    create_topic(&bootstrap, &topic, 3).await;
    let publisher = KafkaPublisher::with_bootstrap(
        config(&bootstrap, &topic, Duration::from_secs(15)),
        bootstrap.clone(),
        PublisherContext::new(None),
    )
    .unwrap();

    // WHEN warmed up THEN it saw the broker and the topic's partitions
    let w = publisher.warm_up(Duration::from_secs(10)).await.unwrap();
    assert_eq!(w.partitions, 3, "{w:?}");
    assert!(w.brokers >= 1, "{w:?}");
    // AND the warmed-up producer delivers
    let events = build_events(&sample::chain("artifacts", "warm.tgz", 1));
    let report = publisher.publish(&events).await.unwrap();
    assert_eq!(report.delivered.len(), events.len());

    // (A missing topic is not tested: tansu, like brokers with auto.create.topics.enable, creates it on the
    // metadata request.)
    // GIVEN no broker at the address WHEN connecting THEN connect still returns (the warm-up failure is
    // logged, the first publish reports its own error)
    let dead = "127.0.0.1:1";
    let publisher = KafkaPublisher::connect(config(dead, &topic, Duration::from_secs(2)))
        .await
        .unwrap();
    match publisher.warm_up(Duration::from_millis(500)).await {
        Err(PublishError::Warmup { topic: t, .. }) => assert_eq!(t, topic),
        other => panic!("expected a warm-up error for a dead broker, got {other:?}"),
    }
}
