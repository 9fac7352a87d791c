//! Gating actions of the fan-in, all idempotent: the status tags (merged into the object's tag set, which
//! `PutObjectTagging` replaces wholesale), and the optional quarantine move (copy + delete).
//!
//! Tag budget: S3 allows 10 tags. Our tags in priority order are `portcullis-status`, `portcullis-risk`,
//! `portcullis-scanned-at`. Old `portcullis-*` tags are dropped first, user tags are kept, and our tags
//! fill what room is left in priority order. `portcullis-status` is always written: when the user's tags
//! already fill all 10 slots, the user tag with the greatest key is evicted (and logged), because the
//! bucket policy gates reads on the status tag and an ungated object would be a fail-open.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::types::{Tag, Tagging};

use portcullis_core::{ArtifactRef, S3ObjectRef, ToolChainResult, Verdict};

use crate::config::QuarantineMode;
use crate::error::S3Error;
use crate::s3::{Class, classify_http, encode_copy_source_key, exists, request_error};

/// The verdict tag.
pub const STATUS_TAG: &str = "portcullis-status";
/// The risk score tag.
pub const RISK_TAG: &str = "portcullis-risk";
/// The completion time tag.
pub const SCANNED_AT_TAG: &str = "portcullis-scanned-at";
/// Prefix of every tag we own.
pub const OUR_PREFIX: &str = "portcullis-";
/// S3's per-object tag limit.
pub const MAX_TAGS: usize = 10;

/// Our tags for a chain, in priority order. Values derive from the chain only, so re-applying is a no-op.
pub fn chain_tags(chain: &ToolChainResult) -> Vec<(String, String)> {
    vec![
        (STATUS_TAG.to_string(), chain.verdict.as_str().to_string()),
        (RISK_TAG.to_string(), format!("{:.1}", chain.risk_score)),
        (
            SCANNED_AT_TAG.to_string(),
            chain.completed_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
    ]
}

/// The merged tag set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedTags {
    /// The new set (≤ 10).
    pub tags: Vec<(String, String)>,
    /// Our tags that did not fit.
    pub dropped_ours: Vec<String>,
    /// User tags evicted to make room for the status tag.
    pub evicted_user: Vec<String>,
}

/// Merges `ours` (priority order, first = status) into `existing`.
pub fn merge_tags(existing: &[(String, String)], ours: &[(String, String)]) -> MergedTags {
    let mut user: Vec<(String, String)> = existing
        .iter()
        .filter(|(k, _)| !k.starts_with(OUR_PREFIX))
        .cloned()
        .collect();
    user.sort();
    let mut evicted_user = Vec::new();
    // status always fits
    while user.len() > MAX_TAGS - 1 && !ours.is_empty() {
        if let Some((k, _)) = user.pop() {
            evicted_user.push(k);
        }
    }
    let room = MAX_TAGS - user.len();
    let mut tags = user;
    let mut dropped_ours = Vec::new();
    for (i, t) in ours.iter().enumerate() {
        if i < room {
            tags.push(t.clone());
        } else {
            dropped_ours.push(t.0.clone());
        }
    }
    MergedTags {
        tags,
        dropped_ours,
        evicted_user,
    }
}

fn same_set(a: &[(String, String)], b: &[(String, String)]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

/// Reads an object's tags.
pub async fn get_tags(
    s3: &Client,
    obj: &S3ObjectRef,
) -> Result<Option<Vec<(String, String)>>, S3Error> {
    let res = s3
        .get_object_tagging()
        .bucket(&obj.bucket)
        .key(&obj.key)
        .set_version_id(obj.version_id.clone())
        .send()
        .await;
    match res {
        Ok(out) => Ok(Some(
            out.tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        )),
        Err(e) => match classify_http(&e) {
            Class::NotFound => Ok(None),
            Class::PreconditionFailed => Ok(None),
            Class::Other(m) => Err(request_error("GetObjectTagging", &obj.bucket, &obj.key, m)),
        },
    }
}

/// What applying tags did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagOutcome {
    /// Tags written.
    Written(MergedTags),
    /// The object already carried exactly these tags.
    Unchanged,
    /// The object does not exist (deleted, or already moved to quarantine).
    ObjectMissing,
}

/// Merge-writes our tags onto an object version.
pub async fn apply_tags(
    s3: &Client,
    obj: &S3ObjectRef,
    ours: &[(String, String)],
) -> Result<TagOutcome, S3Error> {
    let existing = get_tags(s3, obj).await?;
    apply_tags_over(s3, obj, ours, existing).await
}

/// Like [`apply_tags`], over the object's tags as read before by [`get_tags`] (`None`: the object was
/// missing). The fan-in reads them while it writes the chain, saving a round trip; the merge is a
/// read-modify-write either way (S3 tagging has no conditional write).
pub async fn apply_tags_over(
    s3: &Client,
    obj: &S3ObjectRef,
    ours: &[(String, String)],
    existing: Option<Vec<(String, String)>>,
) -> Result<TagOutcome, S3Error> {
    let Some(existing) = existing else {
        return Ok(TagOutcome::ObjectMissing);
    };
    let merged = merge_tags(&existing, ours);
    if same_set(&merged.tags, &existing) {
        return Ok(TagOutcome::Unchanged);
    }
    if !merged.evicted_user.is_empty() || !merged.dropped_ours.is_empty() {
        tracing::warn!(
            object = %format!("s3://{}/{}", obj.bucket, obj.key),
            evicted_user = ?merged.evicted_user,
            dropped_ours = ?merged.dropped_ours,
            "tag budget of {MAX_TAGS} exceeded"
        );
    }
    let mut set = Vec::with_capacity(merged.tags.len());
    for (k, v) in &merged.tags {
        let tag =
            Tag::builder().key(k).value(v).build().map_err(|e| {
                request_error("PutObjectTagging", &obj.bucket, &obj.key, e.to_string())
            })?;
        set.push(tag);
    }
    let tagging = Tagging::builder()
        .set_tag_set(Some(set))
        .build()
        .map_err(|e| request_error("PutObjectTagging", &obj.bucket, &obj.key, e.to_string()))?;
    let res = s3
        .put_object_tagging()
        .bucket(&obj.bucket)
        .key(&obj.key)
        .set_version_id(obj.version_id.clone())
        .tagging(tagging)
        .send()
        .await;
    match res {
        Ok(_) => Ok(TagOutcome::Written(merged)),
        Err(e) => match classify_http(&e) {
            Class::NotFound => Ok(TagOutcome::ObjectMissing),
            Class::PreconditionFailed => Ok(TagOutcome::ObjectMissing),
            Class::Other(m) => Err(request_error("PutObjectTagging", &obj.bucket, &obj.key, m)),
        },
    }
}

/// Where a quarantined object goes.
pub fn quarantine_location(obj: &S3ObjectRef, mode: &QuarantineMode) -> Option<S3ObjectRef> {
    match mode {
        QuarantineMode::Tag => None,
        QuarantineMode::Move { bucket, prefix } => Some(S3ObjectRef {
            bucket: bucket.clone(),
            key: format!("{prefix}{}", obj.key),
            version_id: None,
            etag: None,
            size: obj.size,
            sequencer: None,
        }),
    }
}

/// What the quarantine step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveOutcome {
    /// Not configured, or the verdict does not call for it.
    NotApplicable,
    /// Copied and deleted now.
    Moved(S3ObjectRef),
    /// Already at the destination (a retry).
    AlreadyMoved(S3ObjectRef),
    /// Neither source nor destination exist (deleted by someone).
    SourceMissing,
}

/// Moves a QUARANTINED artifact when the mode is `move`: copy (tags included) then delete the version.
pub async fn quarantine_move(
    s3: &Client,
    chain: &ToolChainResult,
    mode: &QuarantineMode,
) -> Result<MoveOutcome, S3Error> {
    let ArtifactRef::S3(obj) = &chain.artifact else {
        return Ok(MoveOutcome::NotApplicable);
    };
    if chain.verdict != Verdict::Quarantined {
        return Ok(MoveOutcome::NotApplicable);
    }
    let Some(dest) = quarantine_location(obj, mode) else {
        return Ok(MoveOutcome::NotApplicable);
    };
    let mut source = format!("{}/{}", obj.bucket, encode_copy_source_key(&obj.key));
    if let Some(v) = &obj.version_id {
        source.push_str(&format!("?versionId={}", encode_copy_source_key(v)));
    }
    let copied = s3
        .copy_object()
        .bucket(&dest.bucket)
        .key(&dest.key)
        .copy_source(&source)
        .tagging_directive(aws_sdk_s3::types::TaggingDirective::Copy)
        .send()
        .await;
    match copied {
        Ok(_) => {}
        Err(e) => match classify_http(&e) {
            Class::NotFound => {
                return if exists(s3, &dest.bucket, &dest.key, None).await? {
                    Ok(MoveOutcome::AlreadyMoved(dest))
                } else {
                    Ok(MoveOutcome::SourceMissing)
                };
            }
            _ => {
                return Err(request_error(
                    "CopyObject",
                    &dest.bucket,
                    &dest.key,
                    format!("{}", DisplayErrorContext(&e)),
                ));
            }
        },
    }
    s3.delete_object()
        .bucket(&obj.bucket)
        .key(&obj.key)
        .set_version_id(obj.version_id.clone())
        .send()
        .await
        .map_err(|e| {
            request_error(
                "DeleteObject",
                &obj.bucket,
                &obj.key,
                format!("{}", DisplayErrorContext(&e)),
            )
        })?;
    Ok(MoveOutcome::Moved(dest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    fn ours() -> Vec<(String, String)> {
        vec![
            t(STATUS_TAG, "CLEAN"),
            t(RISK_TAG, "0.0"),
            t(SCANNED_AT_TAG, "2026-11-28T00:00:00Z"),
        ]
    }

    #[test]
    fn merge_keeps_user_tags_and_replaces_ours() {
        let existing = vec![t("team", "a"), t(STATUS_TAG, "ERROR"), t("env", "prod")];
        let m = merge_tags(&existing, &ours());
        assert_eq!(m.tags.len(), 5);
        assert!(m.tags.contains(&t("team", "a")) && m.tags.contains(&t("env", "prod")));
        assert!(m.tags.contains(&t(STATUS_TAG, "CLEAN")));
        assert!(!m.tags.contains(&t(STATUS_TAG, "ERROR")));
        assert!(m.dropped_ours.is_empty() && m.evicted_user.is_empty());
    }

    #[test]
    fn merge_drops_our_least_important_tags_first() {
        // GIVEN 8 user tags WHEN merging THEN status and risk fit, scanned-at is dropped
        let existing: Vec<_> = (0..8).map(|i| t(&format!("u{i}"), "v")).collect();
        let m = merge_tags(&existing, &ours());
        assert_eq!(m.tags.len(), 10);
        assert_eq!(m.dropped_ours, [SCANNED_AT_TAG]);
        assert!(m.evicted_user.is_empty());
    }

    #[test]
    fn status_is_always_written_even_when_user_tags_fill_ten() {
        let existing: Vec<_> = (0..10).map(|i| t(&format!("u{i}"), "v")).collect();
        let m = merge_tags(&existing, &ours());
        assert_eq!(m.tags.len(), 10);
        assert!(m.tags.contains(&t(STATUS_TAG, "CLEAN")));
        assert_eq!(m.evicted_user, ["u9"]);
        assert_eq!(m.dropped_ours, [RISK_TAG, SCANNED_AT_TAG]);
    }
}
