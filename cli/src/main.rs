//! `portcullis`: scan artifacts with the full Portcullis tool chain, in-process, with embedded defaults.
//!
//! Exit codes: 0 CLEAN/ALLOWED, 1 QUARANTINED, 2 UNSCANNABLE/ERROR, 64 usage or configuration error.

mod registry;
mod report;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use portcullis_core::model::{ArtifactRef, LocalFileRef};
use portcullis_core::{ArtifactSource, LocalFile, Policy, ToolContext, ToolManager, build_events};

/// Exit code for usage and configuration errors.
const EXIT_USAGE: u8 = 64;

#[derive(Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Scan artifacts for vulnerabilities, licences, malware and secrets; one verdict per artifact."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan one or more artifacts (local files) with the tool chain.
    Scan(ScanArgs),
    /// Print the embedded default policy.
    DefaultPolicy,
    /// Validate a policy document (TOML or YAML) and print what it resolves to.
    CheckPolicy {
        /// Policy file.
        file: PathBuf,
    },
    /// List the tools built into this binary.
    Tools,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum OutputFormat {
    /// Human-readable report.
    Text,
    /// The ToolChainResult JSON (one document per artifact, one per line when several).
    Json,
}

#[derive(clap::Args)]
struct ScanArgs {
    /// Files to scan.
    #[arg(required = true)]
    artifacts: Vec<String>,
    /// Policy document (TOML or YAML); default: the embedded policy (`portcullis default-policy`).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Print the SecurityEvents as JSON lines instead of the report.
    #[arg(long)]
    events: bool,
    /// Tools to run (slots: vuln, license, malware, secrets, inventory); default: the policy's `tools.enabled`.
    #[arg(long, value_delimiter = ',')]
    tools: Option<Vec<String>>,
    /// Vulnerability database built with `portcullis db build`.
    #[arg(long)]
    db: Option<PathBuf>,
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORTCULLIS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("portcullis: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::DefaultPolicy => {
            write_stdout(portcullis_core::policy::DEFAULT_POLICY_TOML)?;
            Ok(0)
        }
        Command::CheckPolicy { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let policy = Policy::from_document(&file.to_string_lossy(), &text)?;
            write_stdout(&format!("{policy:#?}\n"))?;
            Ok(0)
        }
        Command::Tools => {
            let tools = registry::all_tools(&registry::ToolOptions::default())?;
            let mut out = String::new();
            for t in tools {
                out.push_str(&format!(
                    "{:<10} {:<22} {}\n",
                    t.slot(),
                    t.name(),
                    t.version()
                ));
            }
            write_stdout(&out)?;
            Ok(0)
        }
        Command::Scan(args) => scan(args),
    }
}

fn write_stdout(s: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn load_policy(path: Option<&PathBuf>) -> Result<Policy> {
    match path {
        None => Ok(Policy::default_policy()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading policy {}", p.display()))?;
            Ok(Policy::from_document(&p.to_string_lossy(), &text)?)
        }
    }
}

fn scan(args: ScanArgs) -> Result<u8> {
    let mut policy = load_policy(args.policy.as_ref())?;
    if let Some(tools) = &args.tools {
        for t in tools {
            if !portcullis_core::policy::KNOWN_TOOLS.contains(&t.as_str()) {
                bail!(
                    "unknown tool `{t}` (known: {})",
                    portcullis_core::policy::KNOWN_TOOLS.join(", ")
                );
            }
        }
        policy.tools.enabled = tools.clone();
    }
    let opts = registry::ToolOptions {
        db: args.db.clone(),
    };
    let tools = registry::all_tools(&opts)?;
    for slot in &policy.tools.enabled {
        if !tools.iter().any(|t| t.slot() == slot) {
            bail!(
                "tool `{slot}` is enabled but not available in this build (available: {})",
                registry::slots(&tools)
            );
        }
    }
    let policy = Arc::new(policy);
    let manager = ToolManager::new(tools);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;

    let mut worst = 0u8;
    for artifact in &args.artifacts {
        let source = open_source(artifact)?;
        let size = source.size_hint();
        let aref = ArtifactRef::Local(LocalFileRef {
            path: artifact.clone(),
            size,
        });
        let ctx = ToolContext::new(aref, policy.clone(), None);
        let progress = progress_bar(artifact);
        let chain = runtime.block_on(manager.run(source, &ctx));
        if let Some(pb) = progress {
            pb.finish_and_clear();
        }
        if args.events {
            let mut lines = String::new();
            for ev in build_events(&chain) {
                lines.push_str(&serde_json::to_string(&ev)?);
                lines.push('\n');
            }
            write_stdout(&lines)?;
        } else if args.format == OutputFormat::Json {
            write_stdout(&(serde_json::to_string_pretty(&chain)? + "\n"))?;
        } else {
            write_stdout(&report::render(&chain))?;
        }
        let code = chain.verdict.exit_code() as u8;
        worst = worst.max(code);
    }
    Ok(worst)
}

fn open_source(artifact: &str) -> Result<Arc<dyn ArtifactSource>> {
    if artifact.starts_with("s3://") {
        bail!("s3:// artifacts need the S3 adapter; this build scans local files only");
    }
    let path = PathBuf::from(artifact);
    // A missing file is not a usage error: it is scanned and reported as UNSCANNABLE (reason `missing`).
    Ok(Arc::new(LocalFile::new(path)))
}

fn progress_bar(artifact: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    pb.set_message(format!("scanning {artifact}"));
    pb.enable_steady_tick(Duration::from_millis(120));
    Some(pb)
}
