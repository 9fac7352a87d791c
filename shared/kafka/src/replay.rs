//! Replay: re-publishes the events of stored chains (from `chains/` in S3 or a directory, or after a DLQ
//! re-drive). Event ids are deterministic, so consumers dedupe whatever was already delivered. Chains are
//! published in batches of whole chains; a chain counts as failed when any of its events was not
//! acknowledged, and replay goes on with the next batch.

use std::collections::BTreeSet;

use portcullis_core::{ArtifactId, ToolChainResult, build_events};

use crate::publisher::{EventPublisher, PublishError};

/// Events per publish call (whole chains are never split).
pub const REPLAY_BATCH_EVENTS: usize = 1000;

/// What a replay did.
#[derive(Debug, Default)]
pub struct ReplayReport {
    /// Chains whose events were all acknowledged.
    pub chains_published: usize,
    /// Events acknowledged.
    pub events_published: usize,
    /// Chains with at least one unacknowledged event, with the error.
    pub failed: Vec<(ArtifactId, String)>,
}

impl ReplayReport {
    /// True when every chain was published.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Re-publishes the events of `chains` through `publisher`.
pub async fn replay<P: EventPublisher + ?Sized>(
    chains: impl IntoIterator<Item = ToolChainResult>,
    publisher: &P,
) -> ReplayReport {
    let mut report = ReplayReport::default();
    let mut batch: Vec<(ArtifactId, Vec<portcullis_core::SecurityEvent>)> = Vec::new();
    let mut batch_events = 0;
    for chain in chains {
        let events = build_events(&chain);
        batch_events += events.len();
        batch.push((chain.artifact_id.clone(), events));
        if batch_events >= REPLAY_BATCH_EVENTS {
            flush(&mut batch, publisher, &mut report).await;
            batch_events = 0;
        }
    }
    flush(&mut batch, publisher, &mut report).await;
    report
}

async fn flush<P: EventPublisher + ?Sized>(
    batch: &mut Vec<(ArtifactId, Vec<portcullis_core::SecurityEvent>)>,
    publisher: &P,
    report: &mut ReplayReport,
) {
    if batch.is_empty() {
        return;
    }
    let all: Vec<_> = batch.iter().flat_map(|(_, e)| e.iter().cloned()).collect();
    match publisher.publish(&all).await {
        Ok(r) => {
            report.chains_published += batch.len();
            report.events_published += r.delivered.len();
        }
        Err(e) => {
            let failed_ids: BTreeSet<&str> = e.failed_event_ids().into_iter().collect();
            let whole_batch = !matches!(e, PublishError::Delivery { .. });
            for (id, events) in batch.iter() {
                if whole_batch
                    || events
                        .iter()
                        .any(|ev| failed_ids.contains(ev.event_id.as_str()))
                {
                    report.failed.push((id.clone(), e.to_string()));
                } else {
                    report.chains_published += 1;
                    report.events_published += events.len();
                }
            }
        }
    }
    batch.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::InMemoryPublisher;
    use crate::sample;

    #[tokio::test]
    async fn replay_republishes_every_chain_with_the_same_ids() {
        // GIVEN three chains WHEN replayed twice
        let chains: Vec<_> = (0..3)
            .map(|i| sample::chain("b", &format!("k{i}"), i + 1))
            .collect();
        let p = InMemoryPublisher::new();
        let r1 = replay(chains.clone(), &p).await;
        let r2 = replay(chains.clone(), &p).await;
        // THEN everything is published both times with identical event ids (consumers dedupe)
        assert!(r1.is_complete() && r2.is_complete());
        assert_eq!(r1.chains_published, 3);
        let expected: usize = chains.iter().map(|c| build_events(c).len()).sum();
        assert_eq!(r1.events_published, expected);
        let ids: Vec<String> = p.events().into_iter().map(|e| e.event_id).collect();
        assert_eq!(ids.len(), 2 * expected);
        assert_eq!(ids[..expected], ids[expected..]);
    }

    #[tokio::test]
    async fn a_failed_event_fails_only_its_chain() {
        let chains: Vec<_> = (0..3)
            .map(|i| sample::chain("b", &format!("k{i}"), 1))
            .collect();
        let victim = build_events(&chains[1])[0].event_id.clone();
        let p = InMemoryPublisher::new();
        p.fail_event_ids([victim]);
        let r = replay(chains.clone(), &p).await;
        assert_eq!(r.chains_published, 2);
        assert_eq!(r.failed.len(), 1);
        assert_eq!(r.failed[0].0, chains[1].artifact_id);
        // a whole-call failure fails every chain of the batch
        let p = InMemoryPublisher::new();
        p.fail_next(1);
        let r = replay(chains, &p).await;
        assert_eq!((r.chains_published, r.failed.len()), (0, 3));
    }
}
