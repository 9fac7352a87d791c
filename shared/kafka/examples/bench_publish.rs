//! Publisher benchmark (not a test): publishes N SecurityEvents (default 100 000) to a real broker with the
//! production producer settings (idempotent, acks=all, zstd) and awaits every delivery report; prints
//! events/s and MB/s (key + value + headers).
//!
//! `scripts/start-broker.sh 19092 bench-events && cargo run --release -p portcullis-kafka --features test-util \
//!   --example bench_publish -- 127.0.0.1:19092 bench-events 100000`

use std::time::Instant;

use anyhow::Context;
use portcullis_kafka::{EventPublisher, KafkaConfig, KafkaPublisher, PublisherContext, sample};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let bootstrap = args.next().unwrap_or_else(|| "127.0.0.1:19092".into());
    let topic = args.next().unwrap_or_else(|| "bench-events".into());
    let n: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()
        .context("N")?
        .unwrap_or(100_000);
    let batch: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()
        .context("batch")?
        .unwrap_or(10_000);

    // Realistic events: chains of 10 vulnerabilities (+ licence, quarantine, completed), distinct artifacts.
    let mut events = Vec::with_capacity(n);
    let mut i = 0;
    while events.len() < n {
        let chain = sample::chain("artifacts", &format!("bench/pkg-{i}.tgz"), 10);
        events.extend(portcullis_core::build_events(&chain));
        i += 1;
    }
    events.truncate(n);
    let publisher = KafkaPublisher::with_bootstrap(
        KafkaConfig::plaintext(&bootstrap, &topic),
        bootstrap.clone(),
        PublisherContext::new(None),
    )?;
    // warm-up: connection + producer id
    publisher.publish(&events[..1]).await?;

    let started = Instant::now();
    let mut bytes = 0u64;
    let mut acked = 0usize;
    for chunk in events.chunks(batch) {
        let r = publisher.publish(chunk).await?;
        acked += r.delivered.len();
        bytes += r.bytes;
    }
    let secs = started.elapsed().as_secs_f64();
    let line = format!(
        "events={acked} batch={batch} seconds={secs:.2} events_per_s={:.0} MB_per_s={:.1} avg_event_bytes={}",
        acked as f64 / secs,
        bytes as f64 / secs / 1e6,
        bytes / acked.max(1) as u64
    );
    tracing::info!("{line}");
    eprintln!("{line}");
    Ok(())
}
