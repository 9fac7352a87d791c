//! Evaluates an SPDX licence expression against the licence policy: `OR` passes when any choice is acceptable,
//! `AND` only when all are, `WITH` exceptions are matched as their own ids; the deny list wins, a non-empty
//! allow list rejects everything not on it, and licences that cannot be identified follow `unknown`.

use portcullis_core::model::{LicensePolicy, LicenseRule};
use portcullis_core::policy::{LicensePolicyConfig, UnknownLicense};
use spdx::expression::{ExprNode, Operator};
use spdx::{Expression, LicenseItem, LicenseReq, ParseMode};

/// Outcome of evaluating one expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The expression, normalized when it parsed, else as written (trimmed).
    pub expression: String,
    /// True when every term is an SPDX id (or the expression parsed without `LicenseRef`/unknown terms).
    pub identified: bool,
    /// The rule the policy applies, if any.
    pub violation: Option<LicensePolicy>,
}

/// Parse modes: strict-ish LAX first, then LAX with unknown ids accepted (they become `LicenseRef`s).
fn parse(text: &str) -> Option<Expression> {
    if let Ok(e) = Expression::parse_mode(text, ParseMode::LAX) {
        return Some(e);
    }
    let mut lax_unknown = ParseMode::LAX;
    lax_unknown.allow_unknown = true;
    Expression::parse_mode(text, lax_unknown).ok()
}

/// Renders a parsed expression in normalized SPDX form (canonical ids, `-or-later`, minimal parentheses).
pub fn normalize(expr: &Expression) -> String {
    let mut stack: Vec<(String, Option<Operator>)> = Vec::new();
    for node in expr.iter() {
        match node {
            ExprNode::Req(r) => stack.push((r.req.to_string(), None)),
            ExprNode::Op(op) => {
                let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                    return expr.to_string();
                };
                let wrap = |(s, inner): (String, Option<Operator>)| match (op, inner) {
                    (Operator::And, Some(Operator::Or)) => format!("({s})"),
                    _ => s,
                };
                let word = match op {
                    Operator::And => "AND",
                    Operator::Or => "OR",
                };
                stack.push((format!("{} {word} {}", wrap(a), wrap(b)), Some(*op)));
            }
        }
    }
    match (stack.pop(), stack.is_empty()) {
        (Some((s, _)), true) => s,
        _ => expr.to_string(),
    }
}

/// The names a requirement answers to in policy lists (`GPL-2.0-or-later`, `GPL-2.0+`, `MIT`, exception ids).
fn names(req: &LicenseReq) -> Vec<String> {
    let mut v = Vec::new();
    match &req.license {
        LicenseItem::Spdx { id, or_later } => {
            v.push(id.name.to_string());
            if *or_later {
                v.push(format!("{}+", id.name));
                v.push(req.license.to_string());
            }
        }
        LicenseItem::Other(r) => {
            v.push(r.lic_ref.clone());
            v.push(format!("LicenseRef-{}", r.lic_ref));
        }
    }
    if let Some(add) = &req.addition {
        v.push(add.to_string());
    }
    v
}

fn listed<'a>(list: &'a [String], req: &LicenseReq) -> Vec<&'a str> {
    let names = names(req);
    list.iter()
        .filter(|l| names.iter().any(|n| n.eq_ignore_ascii_case(l)))
        .map(String::as_str)
        .collect()
}

fn known(req: &LicenseReq) -> bool {
    matches!(req.license, LicenseItem::Spdx { .. })
}

/// Evaluates `text` (an SPDX expression, possibly sloppy) under `policy`.
pub fn evaluate(text: &str, policy: &LicensePolicyConfig) -> Evaluation {
    let trimmed = text.trim();
    let Some(expr) = parse(trimmed) else {
        return unknown(trimmed.to_string(), policy);
    };
    let identified = expr.requirements().all(|r| known(&r.req));
    let expression = normalize(&expr);
    // A requirement is acceptable when it is not denied, is on the allow list (if any), and is identified
    // (unless unknown licences are allowed).
    let acceptable = |req: &LicenseReq| {
        if !listed(&policy.deny, req).is_empty() {
            return false;
        }
        if !known(req) {
            return policy.unknown == UnknownLicense::Allow;
        }
        policy.allow.is_empty() || !listed(&policy.allow, req).is_empty()
    };
    match expr.evaluate_with_failures(acceptable) {
        Ok(()) => {
            // Acceptable; still flag an unidentified term under warn/deny so it is seen.
            let violation =
                (!identified && policy.unknown != UnknownLicense::Allow).then(|| LicensePolicy {
                    rule: LicenseRule::Unknown,
                    matched: expr
                        .requirements()
                        .filter(|r| !known(&r.req))
                        .map(|r| r.req.to_string())
                        .collect(),
                });
            // Under warn/deny an OR with an acceptable identified choice is fine.
            let violation = violation.filter(|_| !expr.evaluate(|r| known(r) && acceptable(r)));
            Evaluation {
                expression,
                identified,
                violation,
            }
        }
        Err(failures) => {
            let mut denied: Vec<String> = Vec::new();
            let mut not_allowed: Vec<String> = Vec::new();
            let mut unknown_terms: Vec<String> = Vec::new();
            for f in failures {
                let d = listed(&policy.deny, &f.req);
                if !d.is_empty() {
                    denied.extend(d.into_iter().map(str::to_string));
                } else if !known(&f.req) {
                    unknown_terms.push(f.req.to_string());
                } else {
                    not_allowed.push(f.req.to_string());
                }
            }
            let dedup = |mut v: Vec<String>| {
                v.sort();
                v.dedup();
                v
            };
            let violation = if !denied.is_empty() {
                LicensePolicy {
                    rule: LicenseRule::Denied,
                    matched: dedup(denied),
                }
            } else if !not_allowed.is_empty() {
                LicensePolicy {
                    rule: LicenseRule::NotAllowed,
                    matched: dedup(not_allowed),
                }
            } else {
                LicensePolicy {
                    rule: LicenseRule::Unknown,
                    matched: dedup(unknown_terms),
                }
            };
            Evaluation {
                expression,
                identified,
                violation: Some(violation),
            }
        }
    }
}

/// An expression that could not be parsed at all.
pub fn unknown(expression: String, policy: &LicensePolicyConfig) -> Evaluation {
    let violation = (policy.unknown != UnknownLicense::Allow).then(|| LicensePolicy {
        rule: LicenseRule::Unknown,
        matched: Vec::new(),
    });
    Evaluation {
        expression,
        identified: false,
        violation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str], deny: &[&str], unknown: UnknownLicense) -> LicensePolicyConfig {
        LicensePolicyConfig {
            allow: allow.iter().map(|s| s.to_string()).collect(),
            deny: deny.iter().map(|s| s.to_string()).collect(),
            unknown,
            report_all: true,
        }
    }

    fn rule(text: &str, p: &LicensePolicyConfig) -> Option<(LicenseRule, Vec<String>)> {
        evaluate(text, p).violation.map(|v| (v.rule, v.matched))
    }

    #[test]
    fn or_and_with_and_lists() {
        let deny = policy(
            &[],
            &["GPL-3.0-only", "AGPL-3.0-or-later"],
            UnknownLicense::Warn,
        );
        assert_eq!(rule("MIT", &deny), None);
        // OR: one acceptable choice is enough.
        assert_eq!(rule("MIT OR GPL-3.0-only", &deny), None);
        // AND: every part must be acceptable.
        assert_eq!(
            rule("MIT AND GPL-3.0-only", &deny),
            Some((LicenseRule::Denied, vec!["GPL-3.0-only".into()]))
        );
        assert_eq!(
            rule("AGPL-3.0-or-later", &deny),
            Some((LicenseRule::Denied, vec!["AGPL-3.0-or-later".into()]))
        );
        // Allow list: everything else is not allowed.
        let allow = policy(
            &["MIT", "Apache-2.0", "LLVM-exception"],
            &[],
            UnknownLicense::Warn,
        );
        assert_eq!(rule("Apache-2.0 WITH LLVM-exception", &allow), None);
        assert_eq!(rule("MIT OR BSD-3-Clause", &allow), None);
        assert_eq!(
            rule("BSD-3-Clause", &allow),
            Some((LicenseRule::NotAllowed, vec!["BSD-3-Clause".into()]))
        );
        assert_eq!(
            rule("(MIT AND BSD-2-Clause)", &allow),
            Some((LicenseRule::NotAllowed, vec!["BSD-2-Clause".into()]))
        );
        // Sloppy input parses in LAX mode.
        assert_eq!(evaluate("Apache 2.0 / MIT", &allow).violation, None);
        assert_eq!(evaluate("GPL-2.0+", &deny).expression, "GPL-2.0-or-later");
        assert_eq!(
            evaluate("(MIT OR Apache-2.0) AND BSD-3-Clause", &deny).expression,
            "(MIT OR Apache-2.0) AND BSD-3-Clause"
        );
        assert_eq!(
            evaluate("MIT/Apache-2.0", &deny).expression,
            "MIT OR Apache-2.0"
        );
    }

    #[test]
    fn unknown_licences_follow_the_policy() {
        for (mode, expect) in [
            (UnknownLicense::Allow, None),
            (UnknownLicense::Warn, Some(LicenseRule::Unknown)),
            (UnknownLicense::Deny, Some(LicenseRule::Unknown)),
        ] {
            let p = policy(&[], &[], mode);
            assert_eq!(
                evaluate("SEE LICENSE IN LICENSE.txt", &p)
                    .violation
                    .map(|v| v.rule),
                expect,
                "{mode:?}"
            );
            assert_eq!(
                evaluate("LicenseRef-Proprietary", &p)
                    .violation
                    .map(|v| v.rule),
                expect,
                "{mode:?}"
            );
            // An identified acceptable alternative makes the unknown one irrelevant.
            assert_eq!(
                evaluate("MIT OR LicenseRef-Proprietary", &p).violation,
                None,
                "{mode:?}"
            );
        }
        // Denied beats unknown.
        let p = policy(&[], &["GPL-3.0-only"], UnknownLicense::Deny);
        assert_eq!(
            rule("GPL-3.0-only AND LicenseRef-X", &p).map(|r| r.0),
            Some(LicenseRule::Denied)
        );
    }
}
