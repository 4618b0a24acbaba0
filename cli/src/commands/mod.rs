//! Command-line interface: argument parsing and wiring; the work is in the library.
//!
//! Exit codes (DESIGN.md §3.4): 0 = every event allowed or warned, 1 = some event denied
//! (or a policy test failed), 2 = bad input (invalid policy or event, unresolvable guard).

mod check;
mod daemon_cmd;
mod guard_cmd;
mod guard_dev;
mod guard_new;
mod guard_publish;
mod guard_strict;
mod output;
mod policy_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use clawdstrike_engine::policy::placeholders::Resolver;
use clawdstrike_engine::policy::{LoadOptions, Policy, PolicyError};

/// Exit code: everything allowed (or warned).
pub const EXIT_OK: i32 = 0;
/// Exit code: something was denied, or a policy test failed.
pub const EXIT_DENIED: i32 = 1;
/// Exit code: bad input.
pub const EXIT_BAD_INPUT: i32 = 2;

#[derive(Parser)]
#[command(
    name = "clawdstrike",
    version,
    about = "Decide AI-agent actions against a Clawdstrike policy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decide one event, or a stream of events (JSON lines), against a policy.
    Check(check::CheckArgs),
    /// Validate, show or test policies.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// Work with guard packages (WebAssembly guards).
    #[command(subcommand)]
    Guard(guard_cmd::GuardCommand),
    /// Serve decisions over HTTP (POST /api/v1/check), reloading the policy on change.
    Daemon(daemon_cmd::DaemonArgs),
}

/// Options shared by every command that loads a policy.
#[derive(clap::Args, Clone)]
pub struct PolicyArgs {
    /// A secrets file (YAML/JSON mapping) for `${secrets.NAME}` placeholders.
    #[arg(long, env = "CLAWDSTRIKE_SECRETS_FILE", global = true)]
    pub secrets: Option<PathBuf>,
    /// The client configuration (registries, pinned keys, trust, cache) for `package:`
    /// guards; default: clawdstrike.yaml next to the policy.
    #[arg(long, env = "CLAWDSTRIKE_CONFIG", global = true)]
    pub registry_config: Option<PathBuf>,
}

impl PolicyArgs {
    /// The placeholder resolver: the environment and the secrets file.
    pub fn resolver(&self) -> Result<Resolver, PolicyError> {
        Resolver::from_env(self.secrets.clone()).map_err(|message| PolicyError::Io {
            path: self.secrets.clone().unwrap_or_default(),
            message,
        })
    }

    /// The registry client: the configuration named by --registry-config /
    /// $CLAWDSTRIKE_CONFIG, else `clawdstrike.yaml` in `dir`; warnings go to stderr.
    pub fn registry_client(
        &self,
        dir: Option<&std::path::Path>,
    ) -> Result<clawdstrike_engine::resolve::RegistryClient, PolicyError> {
        use clawdstrike_engine::resolve::{ClientConfig, RegistryClient};
        let resolver = self.resolver()?;
        let config = ClientConfig::discover(self.registry_config.as_deref(), dir, &resolver)
            .map_err(|e| {
                PolicyError::Invalid(vec![clawdstrike_engine::policy::Problem {
                    location: e.location,
                    message: e.message,
                }])
            })?;
        let source = config.describe_source();
        RegistryClient::new(config)
            .map(|c| c.with_warnings(|w| eprintln!("warning: {w}")))
            .map_err(|e| PolicyError::Io {
                path: PathBuf::from(source),
                message: e.to_string(),
            })
    }
}

/// Load a policy named on the command line: a file, or a built-in ruleset name.
pub fn load_policy(spec: &str, args: &PolicyArgs, expand: bool) -> Result<Policy, PolicyError> {
    let path = PathBuf::from(spec);
    let resolver = if expand {
        Some(
            Resolver::from_env(args.secrets.clone()).map_err(|message| PolicyError::Io {
                path: args.secrets.clone().unwrap_or_default(),
                message,
            })?,
        )
    } else {
        None
    };
    let opts = LoadOptions {
        resolver,
        ..LoadOptions::default()
    };
    if !path.exists() && clawdstrike_engine::policy::rulesets::ruleset(spec).is_some() {
        let name = spec.strip_prefix("clawdstrike:").unwrap_or(spec);
        let yaml = clawdstrike_engine::policy::rulesets::ruleset(spec).unwrap_or_default();
        return Policy::load(
            yaml,
            clawdstrike_engine::policy::Source::Ruleset(name.into()),
            &opts,
        );
    }
    Policy::from_file_with(&path, &opts)
}

/// Build the engine for a policy loaded from the command line. A WebAssembly host is
/// started only when the policy has `path:` or `package:` guards; it reads secrets from
/// the same source as `${secrets.NAME}` and writes plugin audit records to `audit`.
/// `package:` guards are resolved with the client configuration of [`PolicyArgs`].
/// Open `--audit-log FILE` (appending), or say why not on stderr.
pub fn open_audit_log(
    path: Option<&std::path::Path>,
) -> Result<Option<std::sync::Arc<clawdstrike_engine::audit::AuditLog>>, ()> {
    let Some(path) = path else { return Ok(None) };
    match clawdstrike_engine::audit::AuditLog::open(path) {
        Ok(log) => Ok(Some(std::sync::Arc::new(log))),
        Err(e) => {
            eprintln!("error: cannot open audit log {}: {e}", path.display());
            Err(())
        }
    }
}

pub fn build_engine(
    policy: &Policy,
    args: &PolicyArgs,
    audit: Option<std::sync::Arc<clawdstrike_engine::audit::AuditLog>>,
) -> Result<clawdstrike_engine::Engine, PolicyError> {
    use clawdstrike_engine::plugin::artifact_cache::ArtifactCache;
    use clawdstrike_engine::plugin::{HostOptions, PluginHost};
    use clawdstrike_engine::policy::model::CustomGuardSpec;
    let custom = &policy.file.guards.custom;
    // The first-party integrations are built in: nothing to fetch, no registry needed.
    let wants_packages = custom.iter().any(|g| {
        matches!(g, CustomGuardSpec::Package(p)
            if p.enabled
                && !clawdstrike_engine::external::integrations::PACKAGES
                    .contains(&p.package.as_str()))
    });
    let wants_plugins = wants_packages
        || custom
            .iter()
            .any(|g| matches!(g, CustomGuardSpec::Path(p) if p.enabled));
    let mut builder = clawdstrike_engine::Engine::builder(policy);
    if wants_plugins {
        // The library reads no environment: the CLI finds the compiled-component cache
        // ($CLAWDSTRIKE_CACHE_DIR, $XDG_CACHE_HOME, ~/.cache) and the secrets.
        let host = PluginHost::new(HostOptions {
            cache_dir: ArtifactCache::default_dir(),
            secrets: args.resolver()?,
            audit: audit.clone(),
            ..HostOptions::default()
        })
        .map_err(|e| PolicyError::Io {
            path: PathBuf::from(policy.source.describe()),
            message: e.to_string(),
        })?;
        builder = builder.plugin_host(host);
    }
    if wants_packages {
        let dir = match &policy.source {
            clawdstrike_engine::policy::Source::File(_) => Some(policy.base_dir()),
            _ => None,
        };
        builder = builder.registry(args.registry_client(dir.as_deref())?);
    }
    if let Some(audit) = audit {
        builder = builder.audit(audit);
    }
    builder.build()
}

/// Print every problem of a policy error to stderr, one per line.
pub fn report_policy_error(err: &PolicyError) {
    for problem in err.problems() {
        eprintln!("error: {problem}");
    }
}

/// Parse arguments and run; returns the exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_BAD_INPUT
            } else {
                EXIT_OK
            };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Guard(command) => guard_cmd::run(command),
        Command::Policy(cmd) => policy_cmd::run(cmd),
        Command::Daemon(args) => daemon_cmd::run(args),
    }
}
