//! CVSS base scores computed from vector strings: v3.0/v3.1 with the specification's formulas and rounding,
//! v4.0 with the specification's MacroVector lookup table and interpolation.

use thiserror::Error;

/// Why a CVSS vector could not be scored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CvssError {
    /// Not a `CVSS:3.x/…` vector.
    #[error("unsupported CVSS version in {0:?}")]
    UnsupportedVersion(String),
    /// A base metric is missing or has an unknown value.
    #[error("CVSS vector {vector:?}: metric {metric} missing or invalid")]
    BadMetric {
        /// The vector.
        vector: String,
        /// The metric (`AV`, `AC`, …).
        metric: &'static str,
    },
}

/// CVSS major version of a vector string (`3` or `4`), if it has a `CVSS:x.y/` prefix.
pub fn major_version(vector: &str) -> Option<u8> {
    let rest = vector.trim().strip_prefix("CVSS:")?;
    rest.split('.').next()?.parse().ok()
}

/// CVSS v3.1 `Roundup`: the smallest number with one decimal that is ≥ the input.
fn roundup_31(x: f64) -> f64 {
    let int_input = (x * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

/// Base score of a CVSS v3.0 or v3.1 vector (`CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H` → 9.8).
pub fn base_score_v3(vector: &str) -> Result<f32, CvssError> {
    let v = vector.trim();
    let minor = match v.split('/').next() {
        Some("CVSS:3.1") => 1,
        Some("CVSS:3.0") => 0,
        _ => return Err(CvssError::UnsupportedVersion(v.to_string())),
    };
    let get = |metric: &'static str| -> Result<&str, CvssError> {
        v.split('/')
            .skip(1)
            .filter_map(|kv| kv.split_once(':'))
            .find(|(k, _)| *k == metric)
            .map(|(_, val)| val)
            .ok_or(CvssError::BadMetric {
                vector: v.to_string(),
                metric,
            })
    };
    let bad = |metric: &'static str| CvssError::BadMetric {
        vector: v.to_string(),
        metric,
    };
    let scope_changed = match get("S")? {
        "U" => false,
        "C" => true,
        _ => return Err(bad("S")),
    };
    let av = match get("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return Err(bad("AV")),
    };
    let ac = match get("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return Err(bad("AC")),
    };
    let pr = match (get("PR")?, scope_changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return Err(bad("PR")),
    };
    let ui = match get("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return Err(bad("UI")),
    };
    let cia = |metric: &'static str| -> Result<f64, CvssError> {
        match get(metric)? {
            "H" => Ok(0.56),
            "L" => Ok(0.22),
            "N" => Ok(0.0),
            _ => Err(bad(metric)),
        }
    };
    let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if scope_changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02f64).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * av * ac * pr * ui;
    let round = |x: f64| {
        if minor == 1 {
            roundup_31(x)
        } else {
            (x * 10.0).ceil() / 10.0
        }
    };
    let score = if impact <= 0.0 {
        0.0
    } else if scope_changed {
        round((1.08 * (impact + exploitability)).min(10.0))
    } else {
        round((impact + exploitability).min(10.0))
    };
    Ok(score as f32)
}

/// CVSS v4.0 MacroVector base scores (the specification's lookup table, 270 entries), indexed by
/// `((((eq1·2 + eq2)·3 + eq3)·3 + eq4)·3 + eq5)·2 + eq6`; `-1.0` marks combinations that do not exist.
const V4_LOOKUP: [f64; 324] = [
    10.0, 9.9, 9.8, 9.5, 9.5, 9.2, 10.0, 9.6, 9.3, 8.7, 9.1, 8.1, 9.3, 9.0, 8.9, 8.0, 8.1, 6.8,
    9.8, 9.5, 9.5, 9.2, 9.0, 8.4, 9.3, 9.2, 8.9, 8.1, 8.1, 6.5, 8.8, 8.0, 7.8, 7.0, 6.9, 4.8, -1.0,
    9.2, -1.0, 8.2, -1.0, 7.2, -1.0, 7.9, -1.0, 6.9, -1.0, 5.0, -1.0, 6.9, -1.0, 5.5, -1.0, 2.7,
    9.9, 9.7, 9.5, 9.2, 9.2, 8.5, 9.5, 9.1, 9.0, 8.3, 8.4, 7.1, 9.2, 8.1, 8.2, 7.1, 7.2, 5.3, 9.5,
    9.3, 9.2, 8.5, 8.5, 7.3, 9.2, 8.2, 8.0, 7.2, 7.0, 5.9, 8.4, 7.0, 7.1, 5.2, 5.0, 3.0, -1.0, 8.6,
    -1.0, 7.5, -1.0, 5.2, -1.0, 7.1, -1.0, 5.2, -1.0, 2.9, -1.0, 6.3, -1.0, 2.9, -1.0, 1.7, 9.8,
    9.5, 9.4, 8.7, 9.1, 8.1, 9.4, 8.9, 8.6, 7.4, 7.7, 6.4, 8.7, 7.5, 7.4, 6.3, 6.3, 4.9, 9.4, 8.9,
    8.8, 7.7, 7.6, 6.7, 8.6, 7.6, 7.4, 5.8, 5.9, 5.0, 7.2, 5.7, 5.7, 5.2, 5.2, 2.5, -1.0, 8.3,
    -1.0, 7.0, -1.0, 5.4, -1.0, 6.5, -1.0, 5.8, -1.0, 2.6, -1.0, 5.3, -1.0, 2.1, -1.0, 1.3, 9.5,
    9.0, 8.8, 7.6, 7.6, 7.0, 9.0, 7.7, 7.5, 6.2, 6.1, 5.3, 7.7, 6.6, 6.8, 5.9, 5.2, 3.0, 8.9, 7.8,
    7.6, 6.7, 6.2, 5.8, 7.4, 5.9, 5.7, 5.7, 4.7, 2.3, 6.1, 5.2, 5.7, 2.9, 2.4, 1.6, -1.0, 7.1,
    -1.0, 5.9, -1.0, 3.0, -1.0, 5.8, -1.0, 2.6, -1.0, 1.5, -1.0, 2.3, -1.0, 1.3, -1.0, 0.6, 9.3,
    8.7, 8.6, 7.2, 7.5, 5.8, 8.6, 7.4, 7.4, 6.1, 5.6, 3.4, 7.0, 5.4, 5.2, 4.0, 4.0, 2.2, 8.5, 7.5,
    7.4, 5.5, 6.2, 5.1, 7.2, 5.7, 5.5, 4.1, 4.6, 1.9, 5.3, 3.6, 3.4, 1.9, 1.9, 0.8, -1.0, 6.4,
    -1.0, 5.1, -1.0, 2.0, -1.0, 4.7, -1.0, 2.1, -1.0, 1.1, -1.0, 2.4, -1.0, 0.9, -1.0, 0.4, 8.8,
    7.5, 7.3, 5.3, 6.0, 5.0, 7.3, 5.5, 5.9, 4.0, 4.1, 2.0, 5.4, 4.3, 4.5, 2.2, 2.0, 1.1, 7.5, 5.5,
    5.8, 4.5, 4.0, 2.1, 6.1, 5.1, 4.8, 1.8, 2.0, 0.9, 4.6, 1.8, 1.7, 0.7, 0.8, 0.2, -1.0, 5.3,
    -1.0, 2.4, -1.0, 1.4, -1.0, 2.4, -1.0, 1.2, -1.0, 0.5, -1.0, 1.0, -1.0, 0.3, -1.0, 0.1,
];

fn v4_lookup(eq: [u8; 6]) -> Option<f64> {
    if eq[0] > 2 || eq[1] > 1 || eq[2] > 2 || eq[3] > 2 || eq[4] > 2 || eq[5] > 1 {
        return None;
    }
    let i = ((((usize::from(eq[0]) * 2 + usize::from(eq[1])) * 3 + usize::from(eq[2])) * 3
        + usize::from(eq[3]))
        * 3
        + usize::from(eq[4]))
        * 2
        + usize::from(eq[5]);
    V4_LOOKUP.get(i).copied().filter(|v| *v >= 0.0)
}

/// Severity level of a metric value (0 = most severe), in tenths as the specification's distances use.
fn v4_level(metric: &str, value: &str) -> Option<f64> {
    let l = match (metric, value) {
        ("AV", "N") | ("PR", "N") | ("UI", "N") | ("AC", "L") | ("AT", "N") => 0.0,
        ("AV", "A") | ("PR", "L") | ("UI", "P") | ("AC", "H") | ("AT", "P") => 0.1,
        ("AV", "L") | ("PR", "H") | ("UI", "A") => 0.2,
        ("AV", "P") => 0.3,
        ("VC" | "VI" | "VA", "H") => 0.0,
        ("VC" | "VI" | "VA", "L") => 0.1,
        ("VC" | "VI" | "VA", "N") => 0.2,
        ("SC", "H") => 0.1,
        ("SC", "L") => 0.2,
        ("SC", "N") => 0.3,
        ("SI" | "SA", "S") => 0.0,
        ("SI" | "SA", "H") => 0.1,
        ("SI" | "SA", "L") => 0.2,
        ("SI" | "SA", "N") => 0.3,
        ("CR" | "IR" | "AR", "H") => 0.0,
        ("CR" | "IR" | "AR", "M") => 0.1,
        ("CR" | "IR" | "AR", "L") => 0.2,
        ("E", "A") => 0.0,
        ("E", "P") => 0.1,
        ("E", "U") => 0.2,
        _ => return None,
    };
    Some(l)
}

/// Highest-severity vectors of each EQ level (CVSS v4.0 specification, `max_composed`).
fn v4_max_composed(eq_index: usize, level: u8, eq6: u8) -> &'static [&'static str] {
    match (eq_index, level, eq6) {
        (1, 0, _) => &["AV:N/PR:N/UI:N"],
        (1, 1, _) => &["AV:A/PR:N/UI:N", "AV:N/PR:L/UI:N", "AV:N/PR:N/UI:P"],
        (1, 2, _) => &["AV:P/PR:N/UI:N", "AV:A/PR:L/UI:P"],
        (2, 0, _) => &["AC:L/AT:N"],
        (2, 1, _) => &["AC:H/AT:N", "AC:L/AT:P"],
        (3, 0, 0) => &["VC:H/VI:H/VA:H/CR:H/IR:H/AR:H"],
        (3, 0, 1) => &[
            "VC:H/VI:H/VA:L/CR:M/IR:M/AR:H",
            "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M",
        ],
        (3, 1, 0) => &[
            "VC:L/VI:H/VA:H/CR:H/IR:H/AR:H",
            "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H",
        ],
        (3, 1, 1) => &[
            "VC:L/VI:H/VA:L/CR:H/IR:M/AR:H",
            "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M",
            "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M",
            "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H",
            "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M",
        ],
        (3, 2, 1) => &["VC:L/VI:L/VA:L/CR:H/IR:H/AR:H"],
        (4, 0, _) => &["SC:H/SI:S/SA:S"],
        (4, 1, _) => &["SC:H/SI:H/SA:H"],
        (4, 2, _) => &["SC:L/SI:L/SA:L"],
        (5, 0, _) => &["E:A"],
        (5, 1, _) => &["E:P"],
        (5, 2, _) => &["E:U"],
        _ => &[],
    }
}

/// Depth of each EQ level in tenths (CVSS v4.0 specification, `max_severity`).
fn v4_max_severity(eq_index: usize, level: u8, eq6: u8) -> f64 {
    let steps = match (eq_index, level, eq6) {
        (1, 0, _) | (2, 0, _) | (5, _, _) => 1,
        (1, 1, _) => 4,
        (1, 2, _) => 5,
        (2, 1, _) => 2,
        (3, 0, 0) => 7,
        (3, 0, 1) => 6,
        (3, 1, _) => 8,
        (3, 2, _) => 10,
        (4, 0, _) => 6,
        (4, 1, _) => 5,
        _ => 4,
    };
    f64::from(steps) * 0.1
}

/// Base score of a CVSS v4.0 vector (`CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N` → 9.3),
/// following the specification's MacroVector interpolation. Threat and environmental metrics, when present,
/// are honoured (absent: the worst case, as the specification says).
pub fn base_score_v4(vector: &str) -> Result<f32, CvssError> {
    let v = vector.trim();
    let mut parts = v.split('/');
    if parts.next() != Some("CVSS:4.0") {
        return Err(CvssError::UnsupportedVersion(v.to_string()));
    }
    let metrics: Vec<(&str, &str)> = parts.filter_map(|kv| kv.split_once(':')).collect();
    let raw = |m: &str| metrics.iter().find(|(k, _)| *k == m).map(|(_, val)| *val);
    const BASE: [&str; 11] = [
        "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
    ];
    let bad = |metric: &'static str| CvssError::BadMetric {
        vector: v.to_string(),
        metric,
    };
    for m in BASE {
        let ok = match raw(m) {
            Some(val) if m == "SI" || m == "SA" => matches!(val, "H" | "L" | "N"),
            Some(val) => v4_level(m, val).is_some(),
            None => false,
        };
        if !ok {
            return Err(bad(m));
        }
    }
    // Effective value: worst case for absent threat/requirement metrics, modified metrics override base ones.
    let eff = |m: &str| -> &str {
        let given = raw(m).filter(|x| *x != "X");
        match m {
            "E" => given.unwrap_or("A"),
            "CR" | "IR" | "AR" => given.unwrap_or("H"),
            _ => {
                let modified = match m {
                    "AV" => raw("MAV"),
                    "AC" => raw("MAC"),
                    "AT" => raw("MAT"),
                    "PR" => raw("MPR"),
                    "UI" => raw("MUI"),
                    "VC" => raw("MVC"),
                    "VI" => raw("MVI"),
                    "VA" => raw("MVA"),
                    "SC" => raw("MSC"),
                    "SI" => raw("MSI"),
                    "SA" => raw("MSA"),
                    _ => None,
                };
                modified.filter(|x| *x != "X").or(given).unwrap_or("X")
            }
        }
    };
    if ["VC", "VI", "VA", "SC", "SI", "SA"]
        .iter()
        .all(|m| eff(m) == "N")
    {
        return Ok(0.0);
    }
    let (av, pr, ui) = (eff("AV"), eff("PR"), eff("UI"));
    let eq1 = if av == "N" && pr == "N" && ui == "N" {
        0
    } else if (av == "N" || pr == "N" || ui == "N") && av != "P" {
        1
    } else {
        2
    };
    let eq2 = if eff("AC") == "L" && eff("AT") == "N" {
        0
    } else {
        1
    };
    let (vc, vi, va) = (eff("VC"), eff("VI"), eff("VA"));
    let eq3 = if vc == "H" && vi == "H" {
        0
    } else if vc == "H" || vi == "H" || va == "H" {
        1
    } else {
        2
    };
    let eq4 = if eff("SI") == "S" || eff("SA") == "S" {
        0
    } else if eff("SC") == "H" || eff("SI") == "H" || eff("SA") == "H" {
        1
    } else {
        2
    };
    let eq5 = match eff("E") {
        "A" => 0,
        "P" => 1,
        "U" => 2,
        _ => return Err(bad("E")),
    };
    let eq6 = if (eff("CR") == "H" && vc == "H")
        || (eff("IR") == "H" && vi == "H")
        || (eff("AR") == "H" && va == "H")
    {
        0
    } else {
        1
    };
    let eq = [eq1, eq2, eq3, eq4, eq5, eq6];
    let value = v4_lookup(eq).ok_or(bad("AV"))?;
    let lower = |d: [u8; 6]| -> Option<f64> {
        let mut e = eq;
        for i in 0..6 {
            e[i] += d[i];
        }
        v4_lookup(e)
    };
    let next_eq1 = lower([1, 0, 0, 0, 0, 0]);
    let next_eq2 = lower([0, 1, 0, 0, 0, 0]);
    let next_eq3eq6 = match (eq3, eq6) {
        (1, 1) | (0, 1) => lower([0, 0, 1, 0, 0, 0]),
        (1, 0) => lower([0, 0, 0, 0, 0, 1]),
        (0, 0) => match (lower([0, 0, 0, 0, 0, 1]), lower([0, 0, 1, 0, 0, 0])) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        },
        _ => lower([0, 0, 1, 0, 0, 1]),
    };
    let next_eq4 = lower([0, 0, 0, 1, 0, 0]);
    let next_eq5 = lower([0, 0, 0, 0, 1, 0]);
    // The highest-severity vector of this MacroVector that is at least as severe as the scored one.
    const DIST: [&str; 15] = [
        "AV", "PR", "UI", "AC", "AT", "VC", "VI", "VA", "SC", "SI", "SA", "CR", "IR", "AR", "E",
    ];
    let mut distances: Option<[f64; 15]> = None;
    'outer: for a in v4_max_composed(1, eq1, eq6) {
        for b in v4_max_composed(2, eq2, eq6) {
            for c in v4_max_composed(3, eq3, eq6) {
                for d in v4_max_composed(4, eq4, eq6) {
                    for e in v4_max_composed(5, eq5, eq6) {
                        let max: Vec<(&str, &str)> = [a, b, c, d, e]
                            .iter()
                            .flat_map(|s| s.split('/'))
                            .filter_map(|kv| kv.split_once(':'))
                            .collect();
                        let mut dist = [0.0f64; 15];
                        let mut ok = true;
                        for (i, m) in DIST.iter().enumerate() {
                            let mine = v4_level(m, eff(m)).ok_or(bad("AV"))?;
                            let theirs = max
                                .iter()
                                .find(|(k, _)| k == m)
                                .and_then(|(_, val)| v4_level(m, val))
                                .ok_or(bad("AV"))?;
                            dist[i] = mine - theirs;
                            if dist[i] < 0.0 {
                                ok = false;
                            }
                        }
                        distances = Some(dist);
                        if ok {
                            break 'outer;
                        }
                    }
                }
            }
        }
    }
    let d = distances.ok_or(bad("AV"))?;
    let current = [
        d[0] + d[1] + d[2],
        d[3] + d[4],
        d[5] + d[6] + d[7] + d[11] + d[12] + d[13],
        d[8] + d[9] + d[10],
        0.0,
    ];
    let depth = [
        v4_max_severity(1, eq1, eq6),
        v4_max_severity(2, eq2, eq6),
        v4_max_severity(3, eq3, eq6),
        v4_max_severity(4, eq4, eq6),
        v4_max_severity(5, eq5, eq6),
    ];
    let next = [next_eq1, next_eq2, next_eq3eq6, next_eq4, next_eq5];
    let mut n = 0u32;
    let mut sum = 0.0;
    for i in 0..5 {
        if let Some(lower_score) = next[i] {
            n += 1;
            sum += (value - lower_score) * (current[i] / depth[i]);
        }
    }
    let mean = if n == 0 { 0.0 } else { sum / f64::from(n) };
    let score = (value - mean).clamp(0.0, 10.0);
    Ok(((score * 10.0).round() / 10.0) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_v31_scores() {
        // Scores from the FIRST calculator.
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N", 6.5),
        ];
        for (v, want) in cases {
            let got = base_score_v3(v).unwrap();
            assert!((got - want).abs() < 1e-6, "{v}: got {got}, want {want}");
        }
    }

    #[test]
    fn bad_vectors_are_typed_errors() {
        assert!(matches!(
            base_score_v3("CVSS:2.0/AV:N"),
            Err(CvssError::UnsupportedVersion(_))
        ));
        assert!(matches!(
            base_score_v3("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Err(CvssError::BadMetric { metric: "AV", .. })
        ));
        assert!(matches!(
            base_score_v3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H"),
            Err(CvssError::BadMetric { metric: "S", .. })
        ));
        assert_eq!(major_version("CVSS:4.0/AV:N"), Some(4));
        assert!(matches!(
            base_score_v4("CVSS:4.0/AV:N/AC:L"),
            Err(CvssError::BadMetric { .. })
        ));
        assert!(matches!(
            base_score_v4("CVSS:4.0/AV:X/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            Err(CvssError::BadMetric { metric: "AV", .. })
        ));
    }

    #[test]
    fn known_v4_scores() {
        let cases = [
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
                10.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                8.7,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                8.5,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
                0.0,
            ),
        ];
        for (v, want) in cases {
            let got = base_score_v4(v).unwrap();
            assert!((got - want).abs() < 1e-6, "{v}: got {got}, want {want}");
        }
    }
}
