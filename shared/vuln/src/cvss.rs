//! CVSS v3.0/v3.1 base score computation from a vector string (the specification's formulas and rounding).
//! CVSS v4 vectors are recognised but not scored (the v4 macro-vector lookup is not implemented): callers
//! fall back to the advisory's own severity.

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
    }
}
