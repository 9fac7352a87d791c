//! In-memory [`EventPublisher`] for unit tests of callers (feature `test-util`): records every published
//! event and can be told to fail the next publishes, so callers' retry/failure paths can be checked without
//! a broker. Integration tests use the real broker.

use std::collections::BTreeSet;
use std::sync::Mutex;

use async_trait::async_trait;
use portcullis_core::SecurityEvent;

use crate::publisher::{
    Delivered, EventPublisher, FailedEvent, PublishError, PublishReport, encode,
};

/// A publisher that keeps events in memory.
#[derive(Debug, Default)]
pub struct InMemoryPublisher {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    events: Vec<SecurityEvent>,
    fail_next: usize,
    fail_ids: BTreeSet<String>,
    calls: usize,
}

impl InMemoryPublisher {
    /// An empty publisher.
    pub fn new() -> InMemoryPublisher {
        InMemoryPublisher::default()
    }

    /// The next `n` publish calls fail entirely (nothing recorded).
    pub fn fail_next(&self, n: usize) {
        if let Ok(mut s) = self.state.lock() {
            s.fail_next = n;
        }
    }

    /// Events with these ids are never acknowledged (the rest of their batch is, as on a real broker).
    pub fn fail_event_ids(&self, ids: impl IntoIterator<Item = String>) {
        if let Ok(mut s) = self.state.lock() {
            s.fail_ids.extend(ids);
        }
    }

    /// Every acknowledged event, in order (duplicates included, as a topic would hold them).
    pub fn events(&self) -> Vec<SecurityEvent> {
        self.state
            .lock()
            .map(|s| s.events.clone())
            .unwrap_or_default()
    }

    /// Number of publish calls.
    pub fn calls(&self) -> usize {
        self.state.lock().map(|s| s.calls).unwrap_or_default()
    }
}

#[async_trait]
impl EventPublisher for InMemoryPublisher {
    async fn publish(&self, events: &[SecurityEvent]) -> Result<PublishReport, PublishError> {
        let records = events.iter().map(encode).collect::<Result<Vec<_>, _>>()?;
        let mut s = self
            .state
            .lock()
            .map_err(|_| PublishError::Producer("fake publisher lock poisoned".into()))?;
        s.calls += 1;
        let topic = "in-memory".to_string();
        if s.fail_next > 0 {
            s.fail_next -= 1;
            return Err(PublishError::Delivery {
                topic,
                total: events.len(),
                failed: events
                    .iter()
                    .map(|e| FailedEvent {
                        event_id: e.event_id.clone(),
                        error: "injected failure".into(),
                    })
                    .collect(),
            });
        }
        let mut failed = Vec::new();
        let mut delivered = Vec::new();
        let mut bytes = 0;
        for (e, r) in events.iter().zip(&records) {
            if s.fail_ids.contains(&e.event_id) {
                failed.push(FailedEvent {
                    event_id: e.event_id.clone(),
                    error: "injected failure".into(),
                });
                continue;
            }
            bytes += r.size();
            let offset = s.events.len() as i64;
            s.events.push(e.clone());
            delivered.push(Delivered {
                event_id: e.event_id.clone(),
                partition: 0,
                offset,
            });
        }
        if !failed.is_empty() {
            return Err(PublishError::Delivery {
                topic,
                total: events.len(),
                failed,
            });
        }
        Ok(PublishReport {
            topic,
            delivered,
            bytes,
        })
    }
}
