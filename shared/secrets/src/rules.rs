//! Secret rules: the gitleaks-shaped TOML rule file (embedded rules and user rule files), its validation into
//! compiled [`Rule`]s, and the [`RuleSet`] that joins them behind one aho-corasick keyword prefilter.
//!
//! Validation is strict and names the failing rule: a regex that does not compile, a `secretGroup` beyond the
//! regex's groups, an allowlist regex that does not compile or an unknown validator each give a
//! [`RuleError`] naming the rule id. Rules that match on the path only (gitleaks `path` without `regex`) are
//! skipped with a warning: this tool scans content.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use portcullis_core::Severity;
use regex_automata::meta;
use regex_syntax::ParserBuilder;
use regex_syntax::hir::Hir;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The embedded rule file.
pub const BUILTIN_RULES_TOML: &str = include_str!("../rules/portcullis-secrets.toml");

/// Smallest window overlap, in bytes, whatever the rules say.
pub const MIN_OVERLAP: usize = 4096;
/// Largest window overlap: rules whose matches can be longer (unbounded user regexes) may miss a secret that
/// straddles a window boundary *and* is longer than this.
pub const MAX_OVERLAP: usize = 64 * 1024;

/// Errors loading or validating a rule file. Messages name the rule id and never contain scanned content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// The file is not valid TOML or does not have the gitleaks shape.
    #[error("rule file {source_name} is not a valid gitleaks-format TOML rule file: {message}")]
    Parse {
        /// Which file (`builtin`, a path, `user rules`).
        source_name: String,
        /// Parser message.
        message: String,
    },
    /// A rule's regex does not compile.
    #[error("rule `{rule_id}`: {what} does not compile: {message}")]
    Regex {
        /// Rule id (`<global allowlist>` for the global allowlist).
        rule_id: String,
        /// `regex`, `path`, `allowlist regex 2` …
        what: String,
        /// The regex engine's message.
        message: String,
    },
    /// A rule is inconsistent (missing id, group out of range, unknown validator, duplicate id …).
    #[error("rule `{rule_id}`: {message}")]
    Invalid {
        /// Rule id (or its position when it has none).
        rule_id: String,
        /// What is wrong.
        message: String,
    },
    /// A rule file could not be read.
    #[error("cannot read rule file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// Raw rule file (gitleaks shape plus Portcullis extensions). Unknown keys (`tags`, `[extend]` …) are ignored.
#[derive(Debug, Deserialize)]
struct RawFile {
    #[serde(default)]
    rules: Vec<RawRule>,
    #[serde(default)]
    allowlist: Option<RawAllowlist>,
    #[serde(default)]
    allowlists: Vec<RawAllowlist>,
}

#[derive(Debug, Deserialize)]
struct RawRule {
    id: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default, alias = "secret_group", alias = "secretGroup")]
    secret_group: Option<usize>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    allowlist: Option<RawAllowlist>,
    #[serde(default)]
    allowlists: Vec<RawAllowlist>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    validate: Option<String>,
    #[serde(default)]
    fallback: bool,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    counter_examples: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
struct RawAllowlist {
    #[serde(default, alias = "regexTarget", alias = "regex_target")]
    regex_target: Option<String>,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
}

/// What an allowlist regex is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowTarget {
    /// The secret (capture group) — gitleaks' default.
    Secret,
    /// The whole regex match.
    Match,
    /// The line(s) holding the match.
    Line,
}

/// A compiled allowlist.
#[derive(Debug, Clone)]
pub struct Allowlist {
    /// What `regexes` are matched against.
    pub target: AllowTarget,
    /// Any match allowlists the finding.
    pub regexes: Vec<meta::Regex>,
    /// Lowercase words; a secret containing one is allowlisted.
    pub stopwords: Vec<String>,
    /// Regexes over the entry path.
    pub paths: Vec<meta::Regex>,
}

/// Extra structural checks of a candidate value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// JWT: header and payload are base64url of JSON.
    Jwt,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Rule id (`aws-access-key-id`).
    pub id: String,
    /// Human description (used in finding titles).
    pub description: String,
    /// The content regex.
    pub regex: RuleRegex,
    /// Capture group holding the secret (0 = whole match).
    pub secret_group: usize,
    /// Minimum Shannon entropy (bits per byte) of the secret.
    pub entropy: Option<f64>,
    /// Lowercase keywords (empty: always evaluated).
    pub keywords: Vec<String>,
    /// Allowlists of this rule.
    pub allowlists: Vec<Allowlist>,
    /// Only entries whose path matches (gitleaks `path` together with `regex`).
    pub path: Option<meta::Regex>,
    /// Severity of findings.
    pub severity: Severity,
    /// Structural validator.
    pub validator: Option<Validator>,
    /// Generic rule, suppressed where a specific rule matched the same value.
    pub fallback: bool,
    /// Longest possible match, when bounded.
    pub max_len: Option<usize>,
    /// Lines that must match (embedded rules; tested).
    pub examples: Vec<String>,
    /// Lines that must not match (embedded rules; tested).
    pub counter_examples: Vec<String>,
}

/// All rules plus the keyword prefilter.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// The rules.
    pub rules: Vec<Rule>,
    /// Global allowlists.
    pub global: Vec<Allowlist>,
    /// Keyword automaton (ASCII case-insensitive); `None` when no rule has keywords.
    pub(crate) keywords: Option<AhoCorasick>,
    /// Keyword pattern index → rule indices.
    pub(crate) keyword_rules: Vec<Vec<usize>>,
    /// Rules without keywords (always evaluated).
    pub(crate) unconditional: Vec<usize>,
    /// Window overlap in bytes (≥ the longest bounded match).
    pub overlap: usize,
    /// Short content hash of the rule sources (for the tool version).
    pub digest: String,
    /// Path-only rules that were skipped.
    pub skipped: Vec<String>,
}

/// Parsed, validated rules of one file (not yet joined into a [`RuleSet`]).
#[derive(Debug, Clone)]
pub struct RuleFile {
    rules: Vec<Rule>,
    global: Vec<Allowlist>,
    skipped: Vec<String>,
    digest_input: String,
}

fn regex_error(rule_id: &str, what: &str, message: String) -> RuleError {
    RuleError::Regex {
        rule_id: rule_id.to_string(),
        what: what.to_string(),
        message,
    }
}

/// Parses a pattern: syntax errors surface here. Returns the HIR, its longest match and its group count.
fn parse_pattern(
    rule_id: &str,
    what: &str,
    pattern: &str,
) -> Result<(Hir, Option<usize>, usize), RuleError> {
    let hir = ParserBuilder::new()
        .nest_limit(100)
        .build()
        .parse(pattern)
        .map_err(|e| regex_error(rule_id, what, e.to_string()))?;
    let max_len = hir.properties().maximum_len();
    let groups = hir.properties().explicit_captures_len();
    Ok((hir, max_len, groups))
}

/// Builds the automata of a parsed pattern (size limits surface here).
fn build_regex(hir: &Hir) -> Result<meta::Regex, String> {
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .nfa_size_limit(Some(20 * 1024 * 1024))
                .hybrid_cache_capacity(4 * 1024 * 1024),
        )
        .build_from_hir(hir)
        .map_err(|e| e.to_string())
}

fn compile(rule_id: &str, what: &str, pattern: &str) -> Result<meta::Regex, RuleError> {
    let (hir, _, _) = parse_pattern(rule_id, what, pattern)?;
    build_regex(&hir).map_err(|m| regex_error(rule_id, what, m))
}

/// When a rule file's regexes are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// At load: every error is a load error (user rule files).
    Eager,
    /// On first use (the embedded file, whose build a unit test proves): a cold start parses the patterns
    /// but builds only the automata of rules whose keywords an artifact contains.
    Lazy,
}

/// A rule's content regex: parsed and checked at load, its automata built at load ([`Build::Eager`]) or
/// when the keyword prefilter first selects the rule ([`Build::Lazy`]), then shared by every scan.
///
/// Why: building the embedded rules' automata costs ~30 ms of a cold start, over half of it the
/// private-key and JWT rules' long counted repetitions, while most artifacts contain few rules' keywords.
#[derive(Debug, Clone)]
pub struct RuleRegex {
    hir: Hir,
    built: OnceLock<Result<meta::Regex, String>>,
}

impl RuleRegex {
    fn new(hir: Hir) -> RuleRegex {
        RuleRegex {
            hir,
            built: OnceLock::new(),
        }
    }

    /// The built regex (building it now if this is its first use); a build failure names `rule_id`.
    pub fn get(&self, rule_id: &str) -> Result<&meta::Regex, RuleError> {
        self.built
            .get_or_init(|| build_regex(&self.hir))
            .as_ref()
            .map_err(|message| regex_error(rule_id, "regex", message.clone()))
    }

    /// Whether the automata have been built.
    pub fn is_built(&self) -> bool {
        self.built.get().is_some()
    }
}

fn compile_allowlist(rule_id: &str, raw: &RawAllowlist) -> Result<Allowlist, RuleError> {
    let target = match raw.regex_target.as_deref() {
        None | Some("") | Some("secret") => AllowTarget::Secret,
        Some("match") => AllowTarget::Match,
        Some("line") => AllowTarget::Line,
        Some(other) => {
            return Err(RuleError::Invalid {
                rule_id: rule_id.to_string(),
                message: format!(
                    "allowlist regexTarget `{other}` is not one of secret, match, line"
                ),
            });
        }
    };
    let mut regexes = Vec::new();
    for (i, r) in raw.regexes.iter().enumerate() {
        regexes.push(compile(rule_id, &format!("allowlist regex {}", i + 1), r)?);
    }
    let mut paths = Vec::new();
    for (i, r) in raw.paths.iter().enumerate() {
        paths.push(compile(rule_id, &format!("allowlist path {}", i + 1), r)?);
    }
    Ok(Allowlist {
        target,
        regexes,
        stopwords: raw
            .stopwords
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect(),
        paths,
    })
}

impl RuleFile {
    /// Parses and validates a gitleaks-format TOML rule file, building every regex now ([`Build::Eager`]:
    /// a user's rule file fails at load, never mid-scan). `source_name` is used in errors.
    pub fn parse(source_name: &str, text: &str) -> Result<RuleFile, RuleError> {
        RuleFile::parse_with(source_name, text, Build::Eager)
    }

    /// [`RuleFile::parse`] with a choice of when the rules' content regexes are built.
    pub fn parse_with(source_name: &str, text: &str, build: Build) -> Result<RuleFile, RuleError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| RuleError::Parse {
            source_name: source_name.to_string(),
            message: e.to_string().trim().to_string(),
        })?;
        let mut rules = Vec::new();
        let mut skipped = Vec::new();
        let mut ids = BTreeSet::new();
        for (i, r) in raw.rules.into_iter().enumerate() {
            let id = match r.id.as_deref().map(str::trim) {
                Some(id) if !id.is_empty() => id.to_string(),
                _ => {
                    return Err(RuleError::Invalid {
                        rule_id: format!("#{}", i + 1),
                        message: "rule has no id".to_string(),
                    });
                }
            };
            if !ids.insert(id.clone()) {
                return Err(RuleError::Invalid {
                    rule_id: id,
                    message: "duplicate rule id".to_string(),
                });
            }
            let Some(pattern) = r.regex.as_deref().filter(|p| !p.is_empty()) else {
                if r.path.is_some() {
                    tracing::warn!(rule_id = %id, "path-only secret rule skipped: this tool matches content");
                    skipped.push(id);
                    continue;
                }
                return Err(RuleError::Invalid {
                    rule_id: id,
                    message: "rule has neither `regex` nor `path`".to_string(),
                });
            };
            let (hir, max_len, groups) = parse_pattern(&id, "regex", pattern)?;
            let regex = RuleRegex::new(hir);
            if build == Build::Eager {
                regex.get(&id)?;
            }
            let secret_group = match r.secret_group {
                Some(g) if g > groups => {
                    return Err(RuleError::Invalid {
                        rule_id: id,
                        message: format!(
                            "secretGroup {g} but the regex has only {groups} capture groups"
                        ),
                    });
                }
                Some(g) => g,
                None => usize::from(groups >= 1),
            };
            if let Some(e) = r.entropy
                && !(0.0..=8.0).contains(&e)
            {
                return Err(RuleError::Invalid {
                    rule_id: id,
                    message: format!("entropy {e} is outside 0–8 bits per byte"),
                });
            }
            let path = match r.path.as_deref() {
                Some(p) if !p.is_empty() => Some(compile(&id, "path", p)?),
                _ => None,
            };
            let severity = match r.severity.as_deref() {
                None => Severity::High,
                Some(s) => Severity::parse_loose(s).ok_or_else(|| RuleError::Invalid {
                    rule_id: id.clone(),
                    message: format!("unknown severity `{s}`"),
                })?,
            };
            let validator = match r.validate.as_deref() {
                None => None,
                Some("jwt") => Some(Validator::Jwt),
                Some(other) => {
                    return Err(RuleError::Invalid {
                        rule_id: id,
                        message: format!("unknown validator `{other}` (known: jwt)"),
                    });
                }
            };
            let mut allowlists = Vec::new();
            for a in r.allowlist.iter().chain(r.allowlists.iter()) {
                allowlists.push(compile_allowlist(&id, a)?);
            }
            let keywords: Vec<String> = r
                .keywords
                .iter()
                .map(|k| k.trim().to_ascii_lowercase())
                .filter(|k| !k.is_empty())
                .collect();
            rules.push(Rule {
                description: r
                    .description
                    .clone()
                    .filter(|d| !d.trim().is_empty())
                    .unwrap_or_else(|| id.clone()),
                id,
                regex,
                secret_group,
                entropy: r.entropy,
                keywords,
                allowlists,
                path,
                severity,
                validator,
                fallback: r.fallback,
                max_len,
                examples: r.examples,
                counter_examples: r.counter_examples,
            });
        }
        let mut global = Vec::new();
        for a in raw.allowlist.iter().chain(raw.allowlists.iter()) {
            global.push(compile_allowlist("<global allowlist>", a)?);
        }
        Ok(RuleFile {
            rules,
            global,
            skipped,
            digest_input: text.to_string(),
        })
    }

    /// Reads and parses a rule file from disk.
    pub fn load(path: &std::path::Path) -> Result<RuleFile, RuleError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuleError::Io {
            path: path.display().to_string(),
            source,
        })?;
        RuleFile::parse(&path.display().to_string(), &text)
    }

    /// The embedded rules, their content regexes built on first use ([`Build::Lazy`]).
    pub fn builtin() -> Result<RuleFile, RuleError> {
        RuleFile::parse_with("builtin", BUILTIN_RULES_TOML, Build::Lazy)
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when the file has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

impl RuleSet {
    /// Joins rule files (later files may not reuse an id of an earlier one) and builds the prefilter.
    pub fn new(files: Vec<RuleFile>) -> Result<RuleSet, RuleError> {
        let mut rules: Vec<Rule> = Vec::new();
        let mut global = Vec::new();
        let mut skipped = Vec::new();
        let mut h = Sha256::new();
        for f in files {
            h.update(f.digest_input.as_bytes());
            h.update(b"\0");
            for r in f.rules {
                if rules.iter().any(|x| x.id == r.id) {
                    return Err(RuleError::Invalid {
                        rule_id: r.id,
                        message: "rule id already defined by an earlier rule file".to_string(),
                    });
                }
                rules.push(r);
            }
            global.extend(f.global);
            skipped.extend(f.skipped);
        }
        let mut patterns: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut unconditional = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if r.keywords.is_empty() {
                unconditional.push(i);
            }
            for k in &r.keywords {
                match patterns.iter().position(|p| p == k) {
                    Some(pi) => keyword_rules[pi].push(i),
                    None => {
                        patterns.push(k.clone());
                        keyword_rules.push(vec![i]);
                    }
                }
            }
        }
        let keywords = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
                    .map_err(|e| RuleError::Invalid {
                        rule_id: "<keywords>".to_string(),
                        message: format!("keyword automaton: {e}"),
                    })?,
            )
        };
        let overlap = rules
            .iter()
            .map(|r| r.max_len.unwrap_or(MAX_OVERLAP))
            .max()
            .unwrap_or(0)
            .clamp(MIN_OVERLAP, MAX_OVERLAP);
        let d = h.finalize();
        Ok(RuleSet {
            rules,
            global,
            keywords,
            keyword_rules,
            unconditional,
            overlap,
            digest: hex::encode(&d[..4]),
            skipped,
        })
    }

    /// The embedded rules only.
    pub fn builtin() -> Result<RuleSet, RuleError> {
        RuleSet::new(vec![RuleFile::builtin()?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scan_stream;

    fn ids(set: &RuleSet, text: &str) -> Vec<String> {
        let mut r = text.as_bytes();
        scan_stream(set, "x.txt", &mut r, 1 << 20)
            .unwrap()
            .into_iter()
            .map(|h| set.rules[h.rule].id.clone())
            .collect()
    }

    #[test]
    fn every_builtin_rule_compiles_and_has_positive_and_negative_examples() {
        // GIVEN the embedded rule file WHEN it is compiled THEN every rule has examples that behave.
        let set = RuleSet::builtin().unwrap();
        assert!(set.rules.len() >= 18, "{} rules", set.rules.len());
        assert!(set.skipped.is_empty());
        for rule in &set.rules {
            // the lazy build of every embedded rule succeeds (what Build::Lazy relies on)
            assert!(
                rule.regex.get(&rule.id).is_ok(),
                "{}: {:?}",
                rule.id,
                rule.regex.get(&rule.id)
            );
            assert!(
                !rule.examples.is_empty(),
                "{} has no positive example",
                rule.id
            );
            assert!(
                !rule.counter_examples.is_empty(),
                "{} has no negative example",
                rule.id
            );
            assert!(rule.max_len.is_some(), "{} has an unbounded regex", rule.id);
            for ex in &rule.examples {
                let got = ids(&set, ex);
                assert!(
                    got.contains(&rule.id),
                    "{}: example not detected: {ex:?} (got {got:?})",
                    rule.id
                );
            }
            for ex in &rule.counter_examples {
                let got = ids(&set, ex);
                assert!(
                    !got.contains(&rule.id),
                    "{}: counter-example detected: {ex:?}",
                    rule.id
                );
            }
        }
        assert!(
            set.overlap >= 12_000 && set.overlap <= MAX_OVERLAP,
            "overlap {}",
            set.overlap
        );
    }

    #[test]
    fn generic_rules_skip_docs_and_tests_but_specific_rules_do_not() {
        let set = RuleSet::builtin().unwrap();
        let text = "db_password = \"s8Kq2LzX9vRm4TwP\"\nGITHUB_TOKEN=ghp_R8sT2vW4yZ6bD8fH0jL2nP4rT6vX8zB0dF2h\n";
        let scan = |path: &str| {
            let mut r = text.as_bytes();
            let mut v: Vec<String> = scan_stream(&set, path, &mut r, 1 << 20)
                .unwrap()
                .into_iter()
                .map(|h| set.rules[h.rule].id.clone())
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            scan("app.tar!/src/config.py"),
            vec!["generic-secret-assignment", "github-token"]
        );
        assert_eq!(scan("app.tar!/docs/setup.txt"), vec!["github-token"]);
        assert_eq!(scan("app.tar!/pkg/test/fixtures.py"), vec!["github-token"]);
        assert_eq!(scan("app.tar!/README.md"), vec!["github-token"]);
    }

    #[test]
    fn embedded_rules_build_only_what_the_keywords_select() {
        // GIVEN the embedded rules, loaded lazily THEN nothing is built yet
        let set = RuleSet::builtin().unwrap();
        assert!(set.rules.iter().all(|r| !r.regex.is_built()));
        // WHEN a text holding only a GitHub token's keyword is scanned
        let token = "see ghp_0123456789abcdefghijABCDEFGHIJ012345 here\n";
        let got = ids(&set, token);
        assert_eq!(got, vec!["github-token".to_string()]);
        // THEN the GitHub rule is built and the private-key and JWT rules are not
        let built = |id: &str| {
            set.rules
                .iter()
                .find(|r| r.id == id)
                .unwrap()
                .regex
                .is_built()
        };
        assert!(built("github-token"));
        assert!(!built("private-key") && !built("jwt"));
        // AND a second scan reuses the same automata
        assert_eq!(ids(&set, token), got);
    }

    #[test]
    fn a_regex_over_the_size_limit_fails_at_load_for_user_files_and_mid_scan_only_when_lazy() {
        // a valid pattern whose automaton exceeds the 20 MiB NFA limit
        let text =
            "[[rules]]\nid = \"huge\"\nregex = '''kw(?:\\w{1000}){1000}'''\nkeywords = [\"kw\"]\n";
        let err = RuleFile::parse("user rules", text).unwrap_err();
        assert!(matches!(err, RuleError::Regex { .. }), "{err:?}");
        assert!(err.to_string().contains("huge"), "{err}");
        // lazily (never done for user files): loads, and the first scan the rule takes part in errs
        let set =
            RuleSet::new(vec![RuleFile::parse_with("t", text, Build::Lazy).unwrap()]).unwrap();
        let mut clean = &b"nothing here"[..];
        assert!(scan_stream(&set, "a.txt", &mut clean, 1 << 20).is_ok());
        let mut hit = &b"kw kw kw"[..];
        let e = scan_stream(&set, "a.txt", &mut hit, 1 << 20).unwrap_err();
        assert!(e.to_string().contains("huge"), "{e}");
    }

    #[test]
    fn bad_user_regex_names_the_rule_and_the_error() {
        let text = "[[rules]]\nid = \"my-broken\"\nregex = '''(abc'''\nkeywords = [\"abc\"]\n";
        let err = RuleFile::parse("user rules", text).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, RuleError::Regex { .. }), "{err:?}");
        assert!(msg.contains("my-broken") && msg.contains("regex"), "{msg}");
        assert!(msg.contains("unclosed group"), "{msg}");
    }

    #[test]
    fn invalid_rules_are_refused_with_their_id() {
        for (text, needle) in [
            (
                "[[rules]]\nid = \"g\"\nregex = 'a(b)'\nsecretGroup = 3\n",
                "secretGroup 3",
            ),
            ("[[rules]]\nregex = 'abc'\n", "no id"),
            (
                "[[rules]]\nid = \"d\"\nregex = 'a'\n[[rules]]\nid = \"d\"\nregex = 'b'\n",
                "duplicate",
            ),
            (
                "[[rules]]\nid = \"v\"\nregex = 'a'\nvalidate = 'luhn'\n",
                "unknown validator",
            ),
            (
                "[[rules]]\nid = \"al\"\nregex = 'a'\n[rules.allowlist]\nregexes = ['(']\n",
                "allowlist regex 1",
            ),
            ("rules = 3", "not a valid gitleaks-format"),
        ] {
            let msg = RuleFile::parse("user rules", text).unwrap_err().to_string();
            assert!(msg.contains(needle), "{msg} should contain {needle}");
        }
        // A user rule may not redefine a built-in id.
        let user = RuleFile::parse("user", "[[rules]]\nid = \"jwt\"\nregex = 'x'\n").unwrap();
        let err = RuleSet::new(vec![RuleFile::builtin().unwrap(), user]).unwrap_err();
        assert!(err.to_string().contains("`jwt`"), "{err}");
    }

    #[test]
    fn gitleaks_shaped_user_rules_load() {
        // GIVEN a rule written like gitleaks' own (tags, path-only rule, [extend], allowlists array)
        let text = r#"
title = "custom"
[extend]
useDefault = true
[[rules]]
id = "acme-api-token"
description = "ACME API token"
regex = '''\b(acme_[a-z0-9]{24})\b'''
secretGroup = 1
entropy = 3.0
keywords = ["acme_"]
tags = ["api"]
[[rules.allowlists]]
regexTarget = "line"
regexes = ['''nosecret''']
[[rules]]
id = "pkcs12-file"
path = '''\.p12$'''
"#;
        let f = RuleFile::parse("user", text).unwrap();
        assert_eq!(f.len(), 1);
        let set = RuleSet::new(vec![f]).unwrap();
        assert_eq!(set.skipped, vec!["pkcs12-file".to_string()]);
        assert_eq!(
            ids(&set, "token = acme_k3j5h7g9f1d3s5a7q9w2e4r6\n"),
            vec!["acme-api-token"]
        );
        assert!(ids(&set, "token = acme_k3j5h7g9f1d3s5a7q9w2e4r6 # nosecret\n").is_empty());
    }
}
