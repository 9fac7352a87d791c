//! Portcullis core: the domain model, the safe artifact reader, the scan policy, the tool chain with its
//! verdict, and the security events. No AWS, no Kafka, no heavy engines: every function links this.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod chain;
#[cfg(feature = "test-util")]
pub mod conformance;
pub mod cyclonedx;
pub mod events;
pub mod glob;
pub mod model;
pub mod policy;
pub mod reader;
pub mod schema;
pub mod tool;
pub mod tools;
pub mod verdict;

pub use chain::{ToolChainResult, ToolManager, slot_of};
pub use events::{SecurityEvent, build_events};
pub use model::*;
pub use policy::{Policy, PolicyError};
pub use tool::{ArtifactSource, LocalFile, SecurityTool, ToolConfiguration, ToolContext};
pub use verdict::Verdict;
