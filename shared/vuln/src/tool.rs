//! The `vuln/osv` tool: walks the artifact with the inventory's [`PackageVisitor`], matches every package
//! against the OSV index and reports one finding per advisory × package × location (`MAL-` advisories as
//! malware). A database older than the policy's `max_db_age` adds an unscannable `tool_input_unavailable`
//! finding, so a stale database never yields a clean verdict.

use std::sync::Arc;

use async_trait::async_trait;
use portcullis_core::ToolError;
use portcullis_core::model::{
    Finding, FindingDetail, Inventory, MalwareDetail, Package, PackageRef, Severity, ToolErrorKind,
    ToolResult, ToolStatus, UnscannableReason, VulnerabilityDetail,
};
use portcullis_core::tool::{
    ArtifactSource, Requirements, SecurityTool, ToolConfiguration, ToolContext, VisitorOutput,
    run_walk, tool_error,
};
use portcullis_inventory::PackageVisitor;

use crate::db::{Database, DbError, Match};
use crate::version::canonical_ecosystem;

/// Tool name.
pub const TOOL_NAME: &str = "vuln/osv";

/// The OSV vulnerability tool.
#[derive(Debug, Clone)]
pub struct VulnTool {
    db: Arc<Database>,
}

impl VulnTool {
    /// A tool over a loaded database.
    pub fn new(db: Arc<Database>) -> VulnTool {
        VulnTool { db }
    }

    /// The database.
    pub fn database(&self) -> &Arc<Database> {
        &self.db
    }
}

/// The ecosystems whose advisories name the source package (dpkg source, apk origin, source RPM).
fn matches_on_source(ecosystem: &str) -> bool {
    matches!(
        canonical_ecosystem(ecosystem),
        "Debian"
            | "Ubuntu"
            | "Alpine"
            | "Wolfi"
            | "Chainguard"
            | "Red Hat"
            | "AlmaLinux"
            | "Rocky Linux"
    )
}

/// The advisories matching one package: by source package name where the ecosystem indexes those, else (or
/// additionally, when the source name has no entry) by the package's own name. An error when the
/// database cannot answer for the package (its entries do not decode): never "no match".
pub fn match_package<'a>(db: &'a Database, pkg: &Package) -> Result<Vec<Match<'a>>, DbError> {
    let r = &pkg.package;
    if matches_on_source(&r.ecosystem)
        && let Some(src) = pkg
            .source_name
            .as_deref()
            .filter(|s| !s.is_empty() && *s != r.name)
    {
        let mut out = db.query_parts(&r.ecosystem, src, &r.version)?;
        for m in db.query(r)? {
            if !out.iter().any(|o| o.advisory.id == m.advisory.id) {
                out.push(m);
            }
        }
        return Ok(out);
    }
    db.query(r)
}

/// Findings for one package's matches.
pub fn findings_for(pkg: &Package, matches: &[Match<'_>]) -> Vec<Finding> {
    let r: &PackageRef = &pkg.package;
    let mut out = Vec::with_capacity(matches.len());
    for m in matches {
        let adv = m.advisory;
        let identity = [
            adv.id.as_str(),
            r.ecosystem.as_str(),
            r.name.as_str(),
            r.version.as_str(),
        ];
        let mut f = if adv.malware {
            Finding::new(
                TOOL_NAME,
                Severity::Critical,
                format!("malicious package {} {} ({})", r.name, r.version, adv.id),
                Some(pkg.location.clone()),
                FindingDetail::Malware(MalwareDetail {
                    rule: adv.id.clone(),
                    engine: "osv-mal".to_string(),
                    namespace: None,
                    package: Some(r.clone()),
                }),
                &identity,
            )
        } else {
            Finding::new(
                TOOL_NAME,
                adv.severity,
                format!("{} in {} {}", adv.id, r.name, r.version),
                Some(pkg.location.clone()),
                FindingDetail::Vulnerability(VulnerabilityDetail {
                    advisory_id: adv.id.clone(),
                    aliases: adv.aliases.clone(),
                    package: r.clone(),
                    fixed_versions: m.affected.fixed.clone(),
                    cvss_score: adv.cvss_score,
                    cvss_vector: adv.cvss_vector.clone(),
                    summary: adv.summary.clone(),
                }),
                &identity,
            )
        };
        f.layer = pkg.layer.clone();
        out.push(f);
    }
    out
}

/// Matches a stored SBOM's packages against `db` (the rescan entry point). The caller checks the database's
/// age ([`Database::check_policy`]) and reports a stale one.
/// An error when the database cannot answer for one of the packages.
pub fn rescan(sbom_packages: &[Package], db: &Database) -> Result<Vec<Finding>, DbError> {
    let mut out = Vec::new();
    for p in sbom_packages {
        out.extend(findings_for(p, &match_package(db, p)?));
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    Ok(out)
}

fn stale_finding(db: &Database, ctx: &ToolContext) -> Option<Finding> {
    db.check_policy(&ctx.policy.vulnerabilities)
        .err()
        .map(|stale| {
            Finding::unscannable(
                TOOL_NAME,
                UnscannableReason::ToolInputUnavailable,
                stale.to_string(),
                None,
            )
        })
}

/// The tool version for a database: the crate version plus the database's build time.
pub fn version_for(db: &Database) -> String {
    format!(
        "{}+db.{}",
        env!("CARGO_PKG_VERSION"),
        db.metadata().built_at.format("%Y%m%dT%H%M%SZ")
    )
}

fn task_error(ctx: &ToolContext, e: tokio::task::JoinError) -> ToolError {
    if e.is_panic() {
        tool_error(
            TOOL_NAME,
            &ctx.artifact_id,
            ToolErrorKind::Panicked,
            "vuln/osv panicked while scanning",
        )
    } else {
        tool_error(
            TOOL_NAME,
            &ctx.artifact_id,
            ToolErrorKind::Failed,
            format!("vuln/osv task failed: {e}"),
        )
    }
}

/// Scans `source` against the database `db` resolves to, walking the artifact (collecting its packages)
/// while `db` is still loading — a cold start fetches and walks the artifact during the index download —
/// then matching the packages. An error from `db` is the scan's error (the walk's work is dropped).
pub async fn analyze_with_database<F>(
    source: Arc<dyn ArtifactSource>,
    ctx: &ToolContext,
    db: F,
) -> Result<ToolResult, ToolError>
where
    F: std::future::Future<Output = Result<Arc<Database>, ToolError>>,
{
    let walk_ctx = ctx.clone();
    let walk = tokio::task::spawn_blocking(move || {
        run_walk(
            TOOL_NAME,
            String::new(),
            source.as_ref(),
            &walk_ctx,
            PackageVisitor::new(),
            |visitor, _report| {
                let scan = visitor.finish();
                VisitorOutput {
                    findings: Vec::new(),
                    inventory: Some(Inventory {
                        packages: scan.packages,
                        ..Inventory::default()
                    }),
                    errors: scan.errors,
                }
            },
        )
    });
    let (walked, db) = tokio::join!(walk, db);
    let db = db?;
    let mut result = walked.map_err(|e| task_error(ctx, e))?;
    result.tool_version = version_for(&db);
    let match_ctx = ctx.clone();
    let id = ctx.artifact_id.clone();
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        if let Some(inv) = &result.inventory {
            for p in &inv.packages {
                let matches = match_package(&db, p).map_err(|e| {
                    tool_error(
                        TOOL_NAME,
                        &id,
                        ToolErrorKind::Failed,
                        format!("vulnerability database unreadable: {e}"),
                    )
                })?;
                result.findings.extend(findings_for(p, &matches));
            }
        }
        if let Some(f) = stale_finding(&db, &match_ctx) {
            result.findings.push(f);
            if result.status == ToolStatus::Succeeded {
                result.status = ToolStatus::PartiallySucceeded;
            }
            if result.failure_reason.is_none() {
                result.failure_reason =
                    Some("vulnerability database older than the policy allows".to_string());
            }
        }
        result.stats.duration_ms += started.elapsed().as_millis() as u64;
        result.normalize();
        Ok(result)
    })
    .await
    .map_err(|e| task_error(ctx, e))?
}

#[async_trait]
impl SecurityTool for VulnTool {
    fn name(&self) -> &'static str {
        TOOL_NAME
    }

    fn version(&self) -> String {
        version_for(&self.db)
    }

    fn requirements(&self) -> Requirements {
        Requirements {
            network: false,
            database: true,
        }
    }

    async fn analyze(
        &self,
        source: Arc<dyn ArtifactSource>,
        _config: &ToolConfiguration,
        ctx: &ToolContext,
    ) -> Result<ToolResult, ToolError> {
        analyze_with_database(source, ctx, std::future::ready(Ok(Arc::clone(&self.db)))).await
    }
}
