//! Cold build of the embedded secret rules, one fresh process per measurement:
//!
//!   cargo run --release -p portcullis-secrets --example rules_load [-- per-rule]
//!
//! Prints the `RuleSet::builtin()` time (rules parsed, content regexes built lazily: what secret-scan's
//! cold start pays), the time to build all of them (what it paid before), and with `per-rule` each rule
//! regex's build time.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use regex_automata::meta;

fn main() {
    let t = Instant::now();
    let set = portcullis_secrets::rules::RuleSet::builtin().unwrap();
    println!(
        "builtin {:.1} ms, {} rules",
        t.elapsed().as_secs_f64() * 1e3,
        set.rules.len()
    );
    let t = Instant::now();
    for r in &set.rules {
        r.regex.get(&r.id).unwrap();
    }
    println!(
        "then building every rule regex {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    if std::env::args().nth(1).as_deref() == Some("per-rule") {
        let raw: toml::Value =
            toml::from_str(portcullis_secrets::rules::BUILTIN_RULES_TOML).unwrap();
        for r in raw["rules"].as_array().unwrap() {
            let Some(re) = r.get("regex").and_then(|v| v.as_str()) else {
                continue;
            };
            let t = Instant::now();
            let hir = regex_syntax::ParserBuilder::new()
                .build()
                .parse(re)
                .unwrap();
            let parse = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            meta::Builder::new()
                .configure(
                    meta::Config::new()
                        .nfa_size_limit(Some(20 * 1024 * 1024))
                        .hybrid_cache_capacity(4 * 1024 * 1024),
                )
                .build_from_hir(&hir)
                .unwrap();
            let build = t.elapsed().as_secs_f64() * 1e3;
            println!(
                "{:<32} parse {parse:6.2} build {build:6.2} ms",
                r["id"].as_str().unwrap()
            );
        }
    }
}
