//! `portcullis`: scan artifacts with the full Portcullis tool chain, in-process, with embedded defaults.
//!
//! Exit codes: 0 CLEAN/ALLOWED, 1 QUARANTINED, 2 UNSCANNABLE/ERROR, 64 usage or configuration error.

mod registry;
mod report;
mod rescan;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use portcullis_core::model::{ArtifactRef, LocalFileRef, S3ObjectRef};
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
    /// List the tools built into this binary (constructing each with its embedded rules/database).
    Tools {
        /// Vulnerability database (default `$PORTCULLIS_DB` or ~/.cache/portcullis/osv.db).
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Vulnerability database commands.
    #[command(subcommand)]
    Db(DbCommand),
    /// Re-match stored SBOMs against a (new) database: prints new VulnerabilityDetected events as JSON lines
    /// and the re-evaluated verdict, without downloading any artifact again.
    Rescan(RescanArgs),
    /// Re-publish the SecurityEvents of stored chains (ToolChainResult JSON files) to Kafka. Event ids are
    /// deterministic, so consumers deduplicate replays.
    Replay(ReplayArgs),
}

#[derive(Subcommand)]
enum DbCommand {
    /// Build the compact OSV index from directories of OSV JSON files and/or OSV `all.zip` exports.
    Build {
        /// A directory (searched recursively) or an `all.zip`; repeatable.
        #[arg(long = "from", required = true)]
        from: Vec<PathBuf>,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a database's metadata (built_at, sources, counts).
    Info {
        /// Database file.
        file: PathBuf,
    },
}

#[derive(clap::Args)]
struct RescanArgs {
    /// Stored chain (`chains/<artifact-id>.json`).
    #[arg(long)]
    chain: PathBuf,
    /// The artifact's stored SBOM (CycloneDX or SPDX JSON).
    #[arg(long)]
    sbom: PathBuf,
    /// The new database.
    #[arg(long)]
    db: PathBuf,
    /// Policy for the re-evaluated verdict (default: embedded).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Write the updated chain here.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// Chain JSON files or directories of them.
    #[arg(required = true)]
    chains: Vec<PathBuf>,
    /// Kafka bootstrap servers (plaintext; for MSK use the publisher function's configuration via env:
    /// KAFKA_BOOTSTRAP_SERVERS / MSK_CLUSTER_ARN, KAFKA_AUTH, KAFKA_TOPIC).
    #[arg(long)]
    bootstrap: Option<String>,
    /// Topic.
    #[arg(long, default_value = "security-events")]
    topic: String,
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
    /// Write each artifact's CycloneDX 1.6 SBOM (packages with purls, locations, layers): a file for one
    /// artifact, or an existing directory (`<file name>.cdx.json` per artifact). Needs the `vuln` tool.
    #[arg(long)]
    sbom: Option<PathBuf>,
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
        Command::Tools { db } => {
            let tools = registry::all_tools(&registry::ToolOptions {
                db,
                ..registry::ToolOptions::default()
            })?;
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
        Command::Db(DbCommand::Build { from, out }) => {
            let started = std::time::Instant::now();
            let stats = portcullis_vuln::build_command(&from, &out)
                .with_context(|| format!("building {}", out.display()))?;
            eprintln!(
                "built {} in {:.2} s",
                out.display(),
                started.elapsed().as_secs_f64()
            );
            write_stdout(&format!("{stats:#?}\n"))?;
            Ok(0)
        }
        Command::Db(DbCommand::Info { file }) => {
            let db = portcullis_vuln::Database::open(&file)
                .with_context(|| format!("opening {}", file.display()))?;
            write_stdout(&(serde_json::to_string_pretty(db.metadata())? + "\n"))?;
            Ok(0)
        }
        Command::Rescan(args) => rescan::run(args.chain, args.sbom, args.db, args.policy, args.out),
        Command::Replay(args) => replay(args),
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
        slots: policy.tools.enabled.clone(),
        malware_settings: policy.tools.settings.get("malware").cloned(),
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
    if args.sbom.is_some() {
        if !policy.tools.enabled.iter().any(|t| t == "vuln") {
            bail!("--sbom needs the `vuln` tool (its package inventory is the SBOM)");
        }
        if args.artifacts.len() > 1 && !args.sbom.as_ref().is_some_and(|p| p.is_dir()) {
            bail!("--sbom with several artifacts must name an existing directory");
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
        let (source, aref) = runtime.block_on(open_source(artifact))?;
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
        if let Some(target) = &args.sbom {
            write_sbom(target, artifact, &chain)?;
        }
        let code = chain.verdict.exit_code() as u8;
        worst = worst.max(code);
    }
    Ok(worst)
}

/// Writes the chain's CycloneDX SBOM to `target` (a file, or `<dir>/<artifact file name>.cdx.json`).
fn write_sbom(
    target: &std::path::Path,
    artifact: &str,
    chain: &portcullis_core::ToolChainResult,
) -> Result<()> {
    // An inventory tool that failed left no inventory: no SBOM rather than an empty one that would read as
    // "no packages" (the verdict, ERROR, already says the scan is incomplete).
    let Some(doc) = portcullis_core::cyclonedx::chain_cyclonedx(chain) else {
        eprintln!(
            "no SBOM for {artifact}: the package inventory did not complete (see the verdict)"
        );
        return Ok(());
    };
    let path = if target.is_dir() {
        let name = portcullis_core::reader::base_name(artifact);
        target.join(format!("{name}.cdx.json"))
    } else {
        target.to_path_buf()
    };
    let mut bytes = serde_json::to_vec_pretty(&doc)?;
    bytes.push(b'\n');
    std::fs::write(&path, bytes)
        .with_context(|| format!("writing the SBOM to {}", path.display()))?;
    Ok(())
}

/// A local file, or an S3 object (`s3://bucket/key`, credentials and `AWS_ENDPOINT_URL` from the
/// environment). A missing file or object is not a usage error: it is scanned and reported as
/// UNSCANNABLE (reason `missing`).
async fn open_source(artifact: &str) -> Result<(Arc<dyn ArtifactSource>, ArtifactRef)> {
    if let Some(rest) = artifact.strip_prefix("s3://") {
        let Some((bucket, key)) = rest
            .split_once('/')
            .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        else {
            bail!("`{artifact}` is not s3://bucket/key");
        };
        let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
            .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
            .ok();
        let s3 = portcullis_aws::s3_client(endpoint.as_deref()).await;
        let head = s3.head_object().bucket(bucket).key(key).send().await;
        let (size, etag, version_id) = match head {
            Ok(h) => (
                h.content_length().and_then(|n| u64::try_from(n).ok()),
                h.e_tag().map(|e| e.trim_matches('"').to_string()),
                h.version_id().map(str::to_string),
            ),
            Err(_) => (None, None, None), // the scan reports the precise outcome (missing, denied, …)
        };
        let object = S3ObjectRef {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id,
            etag,
            size,
            sequencer: None,
        };
        let source =
            portcullis_aws::S3Source::new(s3, object.clone(), tokio::runtime::Handle::current());
        return Ok((Arc::new(source), ArtifactRef::S3(object)));
    }
    let path = PathBuf::from(artifact);
    let source = LocalFile::new(path);
    let aref = ArtifactRef::Local(LocalFileRef {
        path: artifact.to_string(),
        size: source.size_hint(),
    });
    Ok((Arc::new(source), aref))
}

fn replay(args: ReplayArgs) -> Result<u8> {
    let mut chains = Vec::new();
    for p in &args.chains {
        let files: Vec<PathBuf> = if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            v.sort();
            v
        } else {
            vec![p.clone()]
        };
        for f in files {
            let text =
                std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
            let chain: portcullis_core::ToolChainResult = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a ToolChainResult", f.display()))?;
            chains.push(chain);
        }
    }
    let config = match &args.bootstrap {
        Some(b) => portcullis_kafka::KafkaConfig::plaintext(b.clone(), args.topic.clone()),
        None => portcullis_kafka::KafkaConfig::from_env()
            .context("Kafka configuration from the environment")?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let publisher = portcullis_kafka::KafkaPublisher::connect(config).await?;
        Ok::<_, anyhow::Error>(portcullis_kafka::replay(chains, &publisher).await)
    })?;
    write_stdout(&format!("{report:#?}\n"))?;
    Ok(if report.is_complete() { 0 } else { 2 })
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
