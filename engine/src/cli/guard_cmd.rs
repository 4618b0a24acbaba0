//! `clawdstrike guard validate`: check a guard package exactly the way a policy would load
//! it — manifest, tier restrictions, engine range, component imports, `describe`, and
//! `init` with a configuration — without writing a policy.

use std::path::PathBuf;

use clap::Subcommand;
use clawdstrike_engine::guards::Guard;
use clawdstrike_engine::plugin::manifest::{PluginManifest, TrustTier};
use clawdstrike_engine::plugin::{HostOptions, PackageRequest, PluginHost};
use clawdstrike_engine::policy::placeholders::Resolver;
use serde_json::{json, Value};

use super::{PolicyArgs, EXIT_BAD_INPUT, EXIT_OK};

/// `clawdstrike guard ...`.
#[derive(Subcommand)]
pub enum GuardCommand {
    /// Check a guard package the way the engine loads it: manifest, tier restrictions,
    /// component imports, `describe` and `init` with a configuration.
    Validate(ValidateArgs),
}

/// Arguments of `guard validate`.
#[derive(clap::Args)]
pub struct ValidateArgs {
    /// The package directory (holding clawdstrike.plugin.json or .toml), or the manifest.
    path: PathBuf,
    /// The configuration to initialise the guard with, as JSON.
    #[arg(long, default_value = "{}")]
    config: String,
    /// The tier to check against: community (what a local package gets unless a policy
    /// grants more), verified or certified.
    #[arg(long, default_value = "community")]
    tier: String,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    policy_args: PolicyArgs,
}

/// Run a `guard` subcommand.
pub fn run(command: GuardCommand) -> i32 {
    match command {
        GuardCommand::Validate(args) => validate(args),
    }
}

fn validate(args: ValidateArgs) -> i32 {
    let fail = |json: bool, message: String| {
        if json {
            println!("{}", json!({"ok": false, "error": message}));
        } else {
            eprintln!("error: {message}");
        }
        EXIT_BAD_INPUT
    };
    let config: Value = match serde_json::from_str(&args.config) {
        Ok(v) => v,
        Err(e) => return fail(args.json, format!("--config is not valid JSON: {e}")),
    };
    let tier: TrustTier = match args.tier.parse() {
        Ok(t) => t,
        Err(e) => return fail(args.json, format!("--tier: {e}")),
    };
    let secrets = match Resolver::from_env(args.policy_args.secrets.clone()) {
        Ok(r) => r,
        Err(e) => return fail(args.json, e),
    };
    let host = match PluginHost::new(HostOptions {
        secrets,
        ..HostOptions::default()
    }) {
        Ok(h) => h,
        Err(e) => return fail(args.json, e.to_string()),
    };
    let guards = match host.load(PackageRequest {
        path: &args.path,
        config: &config,
        trust_override: None,
        entitled: tier,
    }) {
        Ok(g) => g,
        Err(e) => return fail(args.json, e.to_string()),
    };
    let manifest = match PluginManifest::load(&args.path) {
        Ok(m) => m.manifest,
        Err(e) => return fail(args.json, e.to_string()),
    };
    let summary: Vec<Value> = guards
        .iter()
        .map(|g| {
            let limits = g.limits();
            json!({
                "name": g.name(),
                "version": g.version(),
                "tier": g.tier().as_str(),
                "handles": g.handles().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                "limits": {
                    "memoryMb": limits.memory_bytes >> 20,
                    "wallMs": limits.wall.as_millis() as u64,
                },
            })
        })
        .collect();
    if args.json {
        println!(
            "{}",
            json!({
                "ok": true,
                "package": manifest.name,
                "capabilities": manifest.capabilities.to_json_value(),
                "guards": summary,
            })
        );
    } else {
        println!("ok: package `{}`", manifest.name);
        for g in &guards {
            let limits = g.limits();
            println!(
                "  guard `{}` {} runs as {}: handles {}; memory {} MB, wall clock {} ms",
                g.name(),
                g.version(),
                g.tier(),
                g.handles()
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                limits.memory_bytes >> 20,
                limits.wall.as_millis()
            );
        }
        println!("  capabilities: {}", manifest.capabilities.to_json_value());
    }
    EXIT_OK
}
