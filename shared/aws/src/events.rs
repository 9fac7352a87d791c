//! Lambda event shapes: every payload a Portcullis function can receive, parsed into a flat list of
//! `(message id, object-created | ignored)` items.
//!
//! Accepted shapes:
//! - EventBridge `Object Created` from `aws.s3` (keys are *not* form-encoded);
//! - S3 notifications (`Records[]` with `eventSource = aws:s3`; keys are form-encoded: `+` is a space);
//! - SQS batches whose bodies are either of the above, an SNS envelope around them, or `s3:TestEvent`;
//! - SNS notifications (`Records[]` with `EventSource = aws:sns`) wrapping an S3 notification.
//!
//! Anything that is not an object creation (tagging, removal, restore, `s3:TestEvent`) is
//! [`Ignored`](Parsed::Ignored) with a reason, never an error, so the pipeline's own writes (tags, results,
//! chains) cannot loop back into it. [`Router`] then decides what a created object means for a function.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use portcullis_core::{ArtifactId, ArtifactRef, S3ObjectRef};

/// Errors while parsing an event.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum EventError {
    /// The payload is not one of the accepted shapes.
    #[error("unrecognised event shape: {0}")]
    UnknownShape(String),
    /// The payload has the right shape but a field is missing or malformed.
    #[error("malformed {shape} event: {message}")]
    Malformed {
        /// Which shape (`s3`, `eventbridge`, `sqs`, `sns`).
        shape: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An SQS/SNS body is not JSON.
    #[error("message body is not JSON: {0}")]
    BodyNotJson(String),
    /// An S3 key is not valid percent-encoding of UTF-8.
    #[error("object key `{0}` is not valid URL-encoded UTF-8")]
    BadKeyEncoding(String),
}

/// An object-created notification, whatever shape it arrived in. `key` is decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectCreated {
    /// Bucket.
    pub bucket: String,
    /// Key, URL-decoded.
    pub key: String,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// ETag without quotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Version id (versioned buckets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// S3 sequencer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequencer: Option<String>,
    /// EventBridge `reason` (`PutObject`, `CopyObject`, `CompleteMultipartUpload`) or the S3 event name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ObjectCreated {
    /// The artifact this notification names.
    pub fn artifact_ref(&self) -> ArtifactRef {
        ArtifactRef::S3(S3ObjectRef {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            version_id: self.version_id.clone(),
            etag: self.etag.clone(),
            size: self.size,
            sequencer: self.sequencer.clone(),
        })
    }
}

/// Why an event is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum IgnoreReason {
    /// Not an object creation (`ObjectTagging:Put`, `ObjectRemoved:Delete`, `Object Deleted`, …).
    NotObjectCreated(String),
    /// The `s3:TestEvent` S3 sends when a notification is configured.
    TestEvent,
    /// The object is in the pipeline's results bucket (its own output).
    ResultsBucket(String),
    /// The object is under one of the pipeline's own prefixes.
    PipelinePrefix(String),
    /// A "folder" placeholder (key ending in `/`).
    FolderMarker,
    /// Not an object this function handles (e.g. fan-in got something that is not a tool result).
    NotForThisFunction(String),
}

/// One parsed item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Parsed {
    /// An object was created.
    Created(ObjectCreated),
    /// Nothing to do.
    Ignored(IgnoreReason),
}

/// One item of an event with the message it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// SQS message id (for partial batch failures), EventBridge event id, or `record-<n>` for direct S3.
    pub message_id: String,
    /// SQS queue ARN the message came from (tells fan-in which DLQ, i.e. which tool).
    pub source_arn: Option<String>,
    /// True when the item came from an SQS batch (failures are reported per message).
    pub from_sqs: bool,
    /// The parsed content, or why this message could not be parsed.
    pub parsed: Result<Parsed, EventError>,
}

/// Decodes an S3-notification key: `+` → space, then percent-decoding (UTF-8).
pub fn decode_s3_key(raw: &str) -> Result<String, EventError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .ok_or_else(|| EventError::BadKeyEncoding(raw.to_string()))?;
                let s = std::str::from_utf8(hex)
                    .map_err(|_| EventError::BadKeyEncoding(raw.to_string()))?;
                let b = u8::from_str_radix(s, 16)
                    .map_err(|_| EventError::BadKeyEncoding(raw.to_string()))?;
                out.push(b);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| EventError::BadKeyEncoding(raw.to_string()))
}

fn unquote(etag: &str) -> String {
    etag.trim_matches('"').to_string()
}

fn str_field<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

fn u64_field(v: &Value, path: &[&str]) -> Option<u64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_u64()
        .or_else(|| cur.as_str().and_then(|s| s.parse().ok()))
}

/// Parses any accepted payload into items.
pub fn parse_event(payload: &Value) -> Result<Vec<Item>, EventError> {
    if let Some(records) = payload.get("Records").and_then(Value::as_array) {
        let first_source = records.first().and_then(|r| {
            r.get("eventSource")
                .or_else(|| r.get("EventSource"))
                .and_then(Value::as_str)
        });
        if first_source == Some("aws:sqs") {
            return Ok(records.iter().flat_map(parse_sqs_record).collect());
        }
        // direct S3 or SNS notification: one item per record
        let mut items = Vec::new();
        for (n, parsed) in parse_records(records)?.into_iter().enumerate() {
            items.push(Item {
                message_id: format!("record-{n}"),
                source_arn: None,
                from_sqs: false,
                parsed: Ok(parsed),
            });
        }
        return Ok(items);
    }
    let id = str_field(payload, &["id"]).unwrap_or("event").to_string();
    let parsed = parse_body(payload)?;
    Ok(parsed
        .into_iter()
        .map(|p| Item {
            message_id: id.clone(),
            source_arn: None,
            from_sqs: false,
            parsed: Ok(p),
        })
        .collect())
}

fn parse_sqs_record(record: &Value) -> Vec<Item> {
    let message_id = str_field(record, &["messageId"]).unwrap_or("").to_string();
    let source_arn = str_field(record, &["eventSourceARN"]).map(str::to_string);
    let parsed = (|| {
        if message_id.is_empty() {
            return Err(EventError::Malformed {
                shape: "sqs",
                message: "record without messageId".into(),
            });
        }
        let body = str_field(record, &["body"]).ok_or_else(|| EventError::Malformed {
            shape: "sqs",
            message: "record without body".into(),
        })?;
        let value: Value =
            serde_json::from_str(body).map_err(|e| EventError::BodyNotJson(e.to_string()))?;
        let parsed = parse_body(&value)?;
        if parsed.is_empty() {
            return Err(EventError::Malformed {
                shape: "sqs",
                message: "body holds no record".into(),
            });
        }
        Ok(parsed)
    })();
    let item = |parsed| Item {
        message_id: message_id.clone(),
        source_arn: source_arn.clone(),
        from_sqs: true,
        parsed,
    };
    match parsed {
        Ok(list) => list.into_iter().map(|p| item(Ok(p))).collect(),
        Err(e) => vec![item(Err(e))],
    }
}

/// Parses a non-SQS body (EventBridge event, S3 notification, SNS envelope, test event).
fn parse_body(v: &Value) -> Result<Vec<Parsed>, EventError> {
    if str_field(v, &["Event"]) == Some("s3:TestEvent") {
        return Ok(vec![Parsed::Ignored(IgnoreReason::TestEvent)]);
    }
    if let Some(records) = v.get("Records").and_then(Value::as_array) {
        return parse_records(records);
    }
    if str_field(v, &["Type"]) == Some("Notification")
        && let Some(msg) = str_field(v, &["Message"])
    {
        // SNS envelope (SQS subscription without raw message delivery)
        let inner: Value =
            serde_json::from_str(msg).map_err(|e| EventError::BodyNotJson(e.to_string()))?;
        return parse_body(&inner);
    }
    if v.get("detail-type").is_some() {
        return parse_eventbridge(v).map(|p| vec![p]);
    }
    Err(EventError::UnknownShape(shape_hint(v)))
}

fn shape_hint(v: &Value) -> String {
    match v.as_object() {
        Some(o) => format!(
            "object with keys [{}]",
            o.keys().take(8).cloned().collect::<Vec<_>>().join(", ")
        ),
        None => format!(
            "{} value",
            if v.is_array() { "array" } else { "non-object" }
        ),
    }
}

fn parse_records(records: &[Value]) -> Result<Vec<Parsed>, EventError> {
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        let source = r
            .get("eventSource")
            .or_else(|| r.get("EventSource"))
            .and_then(Value::as_str);
        match source {
            Some("aws:s3") => out.push(parse_s3_record(r)?),
            Some("aws:sns") => {
                let msg =
                    str_field(r, &["Sns", "Message"]).ok_or_else(|| EventError::Malformed {
                        shape: "sns",
                        message: "record without Sns.Message".into(),
                    })?;
                let inner: Value = serde_json::from_str(msg)
                    .map_err(|e| EventError::BodyNotJson(e.to_string()))?;
                out.extend(parse_body(&inner)?);
            }
            other => {
                return Err(EventError::UnknownShape(format!(
                    "record with eventSource {}",
                    other.unwrap_or("(none)")
                )));
            }
        }
    }
    Ok(out)
}

fn parse_s3_record(r: &Value) -> Result<Parsed, EventError> {
    let malformed = |m: &str| EventError::Malformed {
        shape: "s3",
        message: m.to_string(),
    };
    let name = str_field(r, &["eventName"]).ok_or_else(|| malformed("record without eventName"))?;
    if !name.starts_with("ObjectCreated:") {
        return Ok(Parsed::Ignored(IgnoreReason::NotObjectCreated(
            name.to_string(),
        )));
    }
    let bucket = str_field(r, &["s3", "bucket", "name"])
        .ok_or_else(|| malformed("record without s3.bucket.name"))?;
    let raw_key = str_field(r, &["s3", "object", "key"])
        .ok_or_else(|| malformed("record without s3.object.key"))?;
    Ok(Parsed::Created(ObjectCreated {
        bucket: bucket.to_string(),
        key: decode_s3_key(raw_key)?,
        size: u64_field(r, &["s3", "object", "size"]),
        etag: str_field(r, &["s3", "object", "eTag"])
            .map(unquote)
            .filter(|e| !e.is_empty()),
        version_id: str_field(r, &["s3", "object", "versionId"])
            .filter(|v| !v.is_empty() && *v != "null")
            .map(str::to_string),
        sequencer: str_field(r, &["s3", "object", "sequencer"]).map(str::to_string),
        reason: Some(name.to_string()),
    }))
}

fn parse_eventbridge(v: &Value) -> Result<Parsed, EventError> {
    let malformed = |m: &str| EventError::Malformed {
        shape: "eventbridge",
        message: m.to_string(),
    };
    let detail_type =
        str_field(v, &["detail-type"]).ok_or_else(|| malformed("detail-type is not a string"))?;
    let source = str_field(v, &["source"]).unwrap_or("");
    if source != "aws.s3" {
        return Err(EventError::UnknownShape(format!(
            "EventBridge event from source `{source}`"
        )));
    }
    if detail_type != "Object Created" {
        return Ok(Parsed::Ignored(IgnoreReason::NotObjectCreated(
            detail_type.to_string(),
        )));
    }
    let detail = v
        .get("detail")
        .ok_or_else(|| malformed("event without detail"))?;
    let bucket = str_field(detail, &["bucket", "name"])
        .ok_or_else(|| malformed("detail without bucket.name"))?;
    let key = str_field(detail, &["object", "key"])
        .ok_or_else(|| malformed("detail without object.key"))?;
    Ok(Parsed::Created(ObjectCreated {
        bucket: bucket.to_string(),
        // EventBridge keys are not form-encoded (verified against moto: `art/x.bin` arrives as is).
        key: key.to_string(),
        size: u64_field(detail, &["object", "size"]),
        // AWS spells it `etag`; moto 5.2.1 sends `eTag`.
        etag: str_field(detail, &["object", "etag"])
            .or_else(|| str_field(detail, &["object", "eTag"]))
            .map(unquote)
            .filter(|e| !e.is_empty()),
        version_id: str_field(detail, &["object", "version-id"])
            .filter(|v| !v.is_empty() && *v != "null")
            .map(str::to_string),
        sequencer: str_field(detail, &["object", "sequencer"]).map(str::to_string),
        reason: str_field(detail, &["reason"]).map(str::to_string),
    }))
}

/// Prefixes the pipeline writes under (in the results bucket); objects there are never artifacts.
pub const RESULTS_PREFIX: &str = "results/";
/// Prefix of chain documents.
pub const CHAINS_PREFIX: &str = "chains/";
/// Prefix of stored SBOMs.
pub const SBOMS_PREFIX: &str = "sboms/";

/// What a created object means to a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "route", rename_all = "snake_case")]
pub enum Route {
    /// An artifact to scan.
    Artifact(ArtifactRef),
    /// A tool result was stored (fan-in input).
    ToolResult {
        /// Artifact id from the key.
        artifact_id: ArtifactId,
        /// Tool slot from the key.
        slot: String,
    },
    /// A chain was stored (publisher input).
    Chain {
        /// Artifact id from the key.
        artifact_id: ArtifactId,
    },
    /// Nothing to do.
    Ignored(IgnoreReason),
}

/// Classifies created objects: artifacts vs. the pipeline's own outputs (so nothing loops).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Router {
    /// The results bucket.
    pub results_bucket: String,
    /// Prefix the artifacts must be under (empty: any key).
    pub artifact_prefix: String,
    /// Extra prefixes never scanned (e.g. the quarantine prefix when it is inside the artifacts bucket).
    pub excluded_prefixes: Vec<String>,
}

impl Router {
    /// Routes an item for a scanner function (artifacts only).
    pub fn for_scanner(&self, parsed: &Parsed) -> Route {
        let obj = match parsed {
            Parsed::Ignored(r) => return Route::Ignored(r.clone()),
            Parsed::Created(o) => o,
        };
        if obj.bucket == self.results_bucket {
            return Route::Ignored(IgnoreReason::ResultsBucket(obj.bucket.clone()));
        }
        for p in [RESULTS_PREFIX, CHAINS_PREFIX, SBOMS_PREFIX]
            .into_iter()
            .chain(self.excluded_prefixes.iter().map(String::as_str))
        {
            if !p.is_empty() && obj.key.starts_with(p) {
                return Route::Ignored(IgnoreReason::PipelinePrefix(p.to_string()));
            }
        }
        if !obj.key.starts_with(&self.artifact_prefix) {
            return Route::Ignored(IgnoreReason::NotForThisFunction(format!(
                "key outside the artifact prefix `{}`",
                self.artifact_prefix
            )));
        }
        if obj.key.ends_with('/') && obj.size.unwrap_or(0) == 0 {
            return Route::Ignored(IgnoreReason::FolderMarker);
        }
        Route::Artifact(obj.artifact_ref())
    }

    /// Routes an item for the fan-in or publisher: stored results and chains in the results bucket.
    pub fn for_pipeline_output(&self, parsed: &Parsed) -> Route {
        let obj = match parsed {
            Parsed::Ignored(r) => return Route::Ignored(r.clone()),
            Parsed::Created(o) => o,
        };
        if obj.bucket != self.results_bucket {
            return Route::Ignored(IgnoreReason::NotForThisFunction(format!(
                "bucket `{}` is not the results bucket",
                obj.bucket
            )));
        }
        if let Some(rest) = obj.key.strip_prefix(RESULTS_PREFIX)
            && let Some((id, file)) = rest.split_once('/')
            && let Some(slot) = file.strip_suffix(".json")
            && let Some(artifact_id) = ArtifactId::parse(id)
            && !slot.is_empty()
            && !slot.contains('/')
        {
            return Route::ToolResult {
                artifact_id,
                slot: slot.to_string(),
            };
        }
        if let Some(rest) = obj.key.strip_prefix(CHAINS_PREFIX)
            && let Some(id) = rest.strip_suffix(".json")
            && let Some(artifact_id) = ArtifactId::parse(id)
        {
            return Route::Chain { artifact_id };
        }
        Route::Ignored(IgnoreReason::NotForThisFunction(format!(
            "`{}` is not a result or chain",
            obj.key
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_form_encoded_keys() {
        assert_eq!(
            decode_s3_key("releases/my+file%281%29.tgz").unwrap(),
            "releases/my file(1).tgz"
        );
        assert_eq!(decode_s3_key("art%2Fx.bin").unwrap(), "art/x.bin");
        assert_eq!(decode_s3_key("a%2Bb").unwrap(), "a+b");
        assert_eq!(decode_s3_key("caf%C3%A9").unwrap(), "café");
        assert!(decode_s3_key("bad%2").is_err());
        assert!(decode_s3_key("bad%zz").is_err());
        assert!(decode_s3_key("%FF").is_err());
    }

    #[test]
    fn unknown_shapes_are_errors() {
        assert!(matches!(
            parse_event(&serde_json::json!({"hello": 1})),
            Err(EventError::UnknownShape(_))
        ));
        assert!(matches!(
            parse_event(&serde_json::json!([1, 2])),
            Err(EventError::UnknownShape(_))
        ));
    }
}
