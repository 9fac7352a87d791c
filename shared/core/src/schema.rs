//! JSON Schemas of the public contracts, generated from the types. The files under `schemas/` at the
//! repository root are checked against these by a test (set `UPDATE_SCHEMAS=1` to rewrite them).

use schemars::{JsonSchema, schema_for};

use crate::chain::ToolChainResult;
use crate::events::SecurityEvent;
use crate::model::{ToolError, ToolResult};

/// `(file name, schema)` for every contract.
pub fn all() -> Vec<(&'static str, serde_json::Value)> {
    fn one<T: JsonSchema>() -> serde_json::Value {
        serde_json::to_value(schema_for!(T)).unwrap_or(serde_json::Value::Null)
    }
    vec![
        ("tool-result.schema.json", one::<ToolResult>()),
        ("tool-error.schema.json", one::<ToolError>()),
        ("tool-chain-result.schema.json", one::<ToolChainResult>()),
        ("security-event.schema.json", one::<SecurityEvent>()),
    ]
}
