//! `clawdstrike guard validate`: check a guard package exactly the way a policy would load
//! it — manifest, tier restrictions, engine range, component imports, `describe`, and
//! `init` with a configuration — without writing a policy.
//!
//! `clawdstrike guard new` (in `guard_new`): start a package from a template.
//! `clawdstrike guard dev` (in `guard_dev`): serve a package while its author works on it.
//!
//! `clawdstrike guard info | fetch | keys`: a package's registry entry, downloading and
//! verifying a release, and the signing keys to pin (docs/registry-client.md).

use std::path::PathBuf;

use clap::Subcommand;
use clawdstrike_engine::guards::Guard;
use clawdstrike_engine::plugin::manifest::{PluginManifest, TrustTier};
use clawdstrike_engine::plugin::{HostOptions, PackageRequest, PluginHost};
use clawdstrike_engine::policy::placeholders::Resolver;
use serde_json::{json, Value};

use std::io::IsTerminal;

use clawdstrike_engine::policy::model::PackageRegistry;
use clawdstrike_engine::resolve::{
    fetch_keys, pin_block, registry_name_for, split_spec, PackageQuery, RegistryClient,
};

use super::{report_policy_error, PolicyArgs, EXIT_BAD_INPUT, EXIT_OK};

/// `clawdstrike guard ...`.
#[derive(Subcommand)]
pub enum GuardCommand {
    /// Check a guard package the way the engine loads it: manifest, tier restrictions,
    /// component imports, `describe` and `init` with a configuration.
    Validate(ValidateArgs),
    /// Serve a local package over HTTP while you work on it: POST /check an event and
    /// get each guard's verdict; the package reloads when its manifest or a component
    /// changes.
    Dev(super::guard_dev::DevArgs),
    /// Start a guard package from a template: source, tests, manifest, README and an
    /// example policy, ready for `cargo test`.
    New(super::guard_new::NewArgs),
    /// Pack a package directory and upload it to a registry with a publish token.
    Publish(super::guard_publish::PublishArgs),
    /// Show a registry package: latest version, trust tier, versions (yanked and deprecated
    /// marked), capabilities, engine range, repository and license.
    Info(InfoArgs),
    /// Resolve NAME@RANGE, verify its signed manifest and components, download the package
    /// archive, check it against its signed digest, save it and print its path.
    Fetch(FetchArgs),
    /// Print the `keys:` block that pins a registry's signing keys (GET URL/api/v1/keys),
    /// to paste into clawdstrike.yaml after checking the key ids out of band.
    Keys(KeysArgs),
}

/// Arguments of `guard info`.
#[derive(clap::Args)]
pub struct InfoArgs {
    /// Package name, e.g. @acme/secrets.
    name: String,
    /// Print JSON: {registry, guard, versions}.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    policy_args: PolicyArgs,
}

/// Arguments of `guard fetch`.
#[derive(clap::Args)]
pub struct FetchArgs {
    /// NAME or NAME@RANGE, e.g. @acme/secrets@^1.2 (the range syntax is the ecosystem's).
    spec: String,
    /// Which ecosystem's range syntax RANGE uses: npm or crates.io.
    #[arg(long, default_value = "npm", value_parser = ["npm", "crates.io", "crates"])]
    ecosystem: String,
    /// Where to save the archive (default: the current directory).
    #[arg(long, short = 'o', default_value = ".")]
    output: PathBuf,
    #[command(flatten)]
    policy_args: PolicyArgs,
}

/// Arguments of `guard keys`.
#[derive(clap::Args)]
pub struct KeysArgs {
    /// The registry's base URL (https, or http on loopback).
    url: String,
    /// The registry name to write in the block (default: the URL's host).
    #[arg(long)]
    name: Option<String>,
    /// Print the published keys as JSON instead.
    #[arg(long)]
    json: bool,
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
    /// Also require what a published package needs: a README, a CHANGELOG, a LICENSE
    /// (and a license in the manifest), tests that pass (`cargo test` or `npm test` is
    /// run), and no declared dependency left unused.
    #[arg(long)]
    strict: bool,
    /// With --strict: check that tests exist, without running them.
    #[arg(long, requires = "strict")]
    no_run_tests: bool,
    #[command(flatten)]
    policy_args: PolicyArgs,
}

/// Run a `guard` subcommand.
pub fn run(command: GuardCommand) -> i32 {
    match command {
        GuardCommand::Validate(args) => validate(args),
        GuardCommand::Dev(args) => super::guard_dev::run(args),
        GuardCommand::New(args) => super::guard_new::run(args),
        GuardCommand::Publish(args) => super::guard_publish::run(args),
        GuardCommand::Info(args) => info(args),
        GuardCommand::Fetch(args) => fetch(args),
        GuardCommand::Keys(args) => keys(args),
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
    let strict = if args.strict {
        let dir = if args.path.is_dir() {
            args.path.clone()
        } else {
            args.path
                .parent()
                .map(|p| p.to_path_buf())
                .unwrap_or_default()
        };
        super::guard_strict::check(&dir, manifest.license.as_deref(), !args.no_run_tests)
    } else {
        Vec::new()
    };
    let strict_ok = strict.iter().all(|f| f.ok);
    if args.json {
        let mut out = json!({
            "ok": strict_ok,
            "package": manifest.name,
            "capabilities": manifest.capabilities.to_json_value(),
            "guards": summary,
        });
        if args.strict {
            out["strict"] = strict
                .iter()
                .map(|f| f.to_json())
                .collect::<Vec<_>>()
                .into();
        }
        println!("{out}");
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
        for f in &strict {
            let mark = if f.ok { "ok" } else { "problem" };
            println!("  strict {}: {mark}: {}", f.check, f.message);
        }
        if !strict_ok {
            eprintln!(
                "error: --strict: {} problem(s)",
                strict.iter().filter(|f| !f.ok).count()
            );
        }
    }
    if !strict_ok {
        return EXIT_BAD_INPUT;
    }
    EXIT_OK
}

fn report(err: &dyn std::fmt::Display) -> i32 {
    eprintln!("error: {err}");
    EXIT_BAD_INPUT
}

fn client(args: &PolicyArgs) -> Result<RegistryClient, i32> {
    let cwd = std::env::current_dir().ok();
    args.registry_client(cwd.as_deref()).map_err(|e| {
        report_policy_error(&e);
        EXIT_BAD_INPUT
    })
}

fn info(args: InfoArgs) -> i32 {
    let client = match client(&args.policy_args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let info = match client.info(&args.name) {
        Ok(i) => i,
        Err(e) => return report(&e),
    };
    if args.json {
        println!(
            "{}",
            json!({
                "registry": info.registry,
                "guard": info.details,
                "versions": info.versions.versions,
            })
        );
        return EXIT_OK;
    }
    let d = &info.details;
    let text = |key: &str| d.get(key).and_then(Value::as_str).map(str::to_string);
    let latest = text("version").unwrap_or_else(|| "-".into());
    let latest_entry = info.versions.versions.iter().find(|v| v.version == latest);
    println!(
        "{} {latest} (registry {}, {})",
        info.versions.name,
        info.registry,
        text("registry").unwrap_or_else(|| "npm".into())
    );
    if let Some(desc) = text("description") {
        println!("  {desc}");
    }
    println!(
        "  trust tier: {}",
        text("trustTier").unwrap_or_else(|| "-".into())
    );
    for (label, key) in [
        ("license", "license"),
        ("repository", "repository"),
        ("homepage", "homepage"),
        ("category", "category"),
    ] {
        if let Some(v) = text(key) {
            println!("  {label}: {v}");
        }
    }
    if let Some(e) = latest_entry {
        println!("  engine: {}", e.engine.describe());
    }
    if let Some(caps) = d.get("capabilities") {
        println!("  capabilities: {caps}");
    }
    println!("  versions:");
    for v in &info.versions.versions {
        let mut marks = Vec::new();
        if let Some(t) = &v.trust_tier {
            marks.push(t.clone());
        }
        if v.yanked {
            marks.push(match &v.yank_reason {
                Some(r) => format!("YANKED: {r}"),
                None => "YANKED".into(),
            });
        }
        if v.deprecated {
            marks.push(match &v.deprecation_reason {
                Some(r) => format!("deprecated: {r}"),
                None => "deprecated".into(),
            });
        }
        let date = v
            .published_at
            .as_deref()
            .map(|p| p.get(..10).unwrap_or(p))
            .unwrap_or("");
        println!("    {:<14} {date:<10}  {}", v.version, marks.join(", "));
    }
    EXIT_OK
}

fn fetch(args: FetchArgs) -> i32 {
    let (name, range) = split_spec(&args.spec);
    let ecosystem = if args.ecosystem == "npm" {
        PackageRegistry::Npm
    } else {
        PackageRegistry::Crates
    };
    let client = match client(&args.policy_args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let query = PackageQuery {
        name: name.to_string(),
        ecosystem,
        range: range.to_string(),
        integrity: None,
    };
    let package = match client.fetch(&query) {
        Ok(p) => p,
        Err(e) => return report(&e),
    };
    let archive_name = package.release.statement.predicate.archive.name.clone();
    let plain = std::path::Path::new(&archive_name)
        .file_name()
        .is_some_and(|f| f == archive_name.as_str())
        && !archive_name.starts_with('.');
    if !plain {
        return report(&format!(
            "the signed archive name {archive_name:?} is not a plain file name"
        ));
    }
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(package.release.statement.predicate.archive.size);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(archive_name.clone());
        bar
    });
    let mut on_progress = |done: u64, total: Option<u64>| {
        if let Some(bar) = &bar {
            if let Some(t) = total {
                bar.set_length(t);
            }
            bar.set_position(done);
        }
    };
    let bytes = match client.download_archive(&package, Some(&mut on_progress)) {
        Ok(b) => b,
        Err(e) => {
            if let Some(bar) = &bar {
                bar.abandon();
            }
            return report(&e);
        }
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if let Err(e) = std::fs::create_dir_all(&args.output) {
        return report(&format!("{}: {e}", args.output.display()));
    }
    let dest = args.output.join(&archive_name);
    if let Err(e) = clawdstrike_engine::resolve::package_cache::write_atomic(&dest, &bytes) {
        return report(&format!("{}: {e}", dest.display()));
    }
    eprintln!(
        "verified {}@{} ({} tier, signed by {}) from registry {}",
        name,
        package.version,
        package.trust_tier(),
        package.release.key_id,
        package.registry
    );
    println!("{}", dest.display());
    EXIT_OK
}

fn keys(args: KeysArgs) -> i32 {
    let keys = match fetch_keys(&args.url) {
        Ok(k) => k,
        Err(e) => return report(&e),
    };
    if args.json {
        println!("{}", json!({ "keys": keys }));
        return EXIT_OK;
    }
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| registry_name_for(&args.url));
    print!(
        "{}",
        pin_block(&name, args.url.trim_end_matches('/'), &keys)
    );
    EXIT_OK
}
