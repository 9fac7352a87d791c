//! The human-readable scan report.

use std::fmt::Write;

use portcullis_core::model::{FindingDetail, Severity};
use portcullis_core::{ToolChainResult, Verdict};

fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let keep: String = s
            .chars()
            .rev()
            .take(max - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{keep}")
    }
}

/// Renders a chain as a readable report.
pub fn render(chain: &ToolChainResult) -> String {
    let mut o = String::new();
    let name = chain.artifact.display_name();
    let _ = writeln!(o, "artifact   {name}");
    if let Some(m) = &chain.metadata {
        let _ = writeln!(
            o,
            "content    {} · {} · sha256 {}",
            m.format,
            human_size(m.size),
            m.sha256.as_deref().unwrap_or("(not read to the end)")
        );
    }
    let mark = match chain.verdict {
        Verdict::Clean | Verdict::Allowed => "✔",
        _ => "✘",
    };
    let _ = writeln!(
        o,
        "verdict    {mark} {}   risk {:.1}/10   {} ms",
        chain.verdict, chain.risk_score, chain.duration_ms
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "  {:<10} {:<20} {:<20} {:>9} {:>10} {:>9}",
        "TOOL", "NAME", "STATUS", "FINDINGS", "ENTRIES", "TIME"
    );
    for (slot, r) in &chain.results {
        let status = serde_json::to_value(r.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  {:<10} {:<20} {:<20} {:>9} {:>10} {:>7} ms",
            slot,
            r.tool,
            status,
            r.findings.len(),
            r.stats.entries_scanned,
            r.stats.duration_ms
        );
    }
    for (slot, e) in &chain.errors {
        let _ = writeln!(
            o,
            "  {:<10} {:<20} {:<20} {}",
            slot,
            e.tool,
            "ERROR",
            clip(&e.message, 60)
        );
    }
    let mut findings: Vec<_> = chain.findings().collect();
    findings.sort_by(|a, b| {
        b.1.severity
            .cmp(&a.1.severity)
            .then_with(|| a.1.id.cmp(&b.1.id))
    });
    // Every tool reports the same unscannable entry: show each (title, location) once.
    let mut seen = std::collections::HashSet::new();
    let shown: Vec<_> = findings
        .iter()
        .filter(|(_, f)| !matches!(&f.detail, FindingDetail::License(l) if l.violation.is_none()))
        .filter(|(_, f)| seen.insert((f.title.clone(), f.location.clone())))
        .collect();
    if !shown.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "  {:<9} {:<13} {:<48} LOCATION",
            "SEVERITY", "KIND", "FINDING"
        );
        for (_, f) in shown.iter().take(200) {
            let waived = if chain.is_waived(&f.id) {
                " (waived)"
            } else {
                ""
            };
            let sev = if f.severity == Severity::Unknown {
                "-".to_string()
            } else {
                f.severity.to_string()
            };
            let _ = writeln!(
                o,
                "  {:<9} {:<13} {:<48} {}",
                sev,
                f.kind().as_str(),
                clip(&format!("{}{waived}", f.title), 48),
                clip(f.location.as_deref().unwrap_or("-"), 70)
            );
        }
        if shown.len() > 200 {
            let _ = writeln!(o, "  … {} more (use --format json)", shown.len() - 200);
        }
    }
    let info = findings
        .iter()
        .filter(|(_, f)| matches!(&f.detail, FindingDetail::License(l) if l.violation.is_none()))
        .count();
    if info > 0 {
        let _ = writeln!(
            o,
            "  ({info} informational licence findings; see --format json)"
        );
    }
    if let Some(inv) = chain.results.values().find_map(|r| r.inventory.as_ref()) {
        if !inv.formats.is_empty() {
            let formats: Vec<String> = inv
                .formats
                .iter()
                .map(|(f, n)| format!("{f} {n}"))
                .collect();
            let _ = writeln!(o);
            let _ = writeln!(o, "  files by format: {}", formats.join(", "));
        }
        if !inv.packages.is_empty() {
            let _ = writeln!(o, "  packages: {}", inv.packages.len());
        }
    }
    if !chain.reasons.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "  why {}:", chain.verdict);
        let mut seen_reasons = std::collections::HashSet::new();
        let reasons: Vec<_> = chain
            .reasons
            .iter()
            .filter(|r| seen_reasons.insert(&r.message))
            .collect();
        for r in reasons.iter().take(20) {
            let code = serde_json::to_value(r.code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let _ = writeln!(o, "    - [{code}] {}", clip(&r.message, 110));
        }
        if reasons.len() > 20 {
            let _ = writeln!(o, "    … {} more", reasons.len() - 20);
        }
    }
    let _ = writeln!(o);
    o
}
