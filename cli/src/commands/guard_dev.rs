//! `clawdstrike guard dev`: serve one local guard package over HTTP for its author and
//! reload it whenever its manifest or a component changes (docs/cli.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::daemon::dev::{serve, DevOptions, DevPackage, DevServer};
use clawdstrike_engine::audit::AuditLog;
use clawdstrike_engine::plugin::manifest::TrustTier;
use clawdstrike_engine::plugin::{HostOptions, PluginHost};
use clawdstrike_engine::policy::placeholders::Resolver;
use serde_json::Value;

use super::{PolicyArgs, EXIT_BAD_INPUT, EXIT_OK};

/// Arguments of `guard dev`.
#[derive(clap::Args)]
pub struct DevArgs {
    /// The package directory (holding clawdstrike.plugin.json or .toml), or the manifest.
    path: PathBuf,
    /// The configuration every guard of the package is initialised with, as JSON.
    #[arg(long, default_value = "{}")]
    config: String,
    /// The tier to load at: community (what a local package gets unless a policy grants
    /// more), verified or certified.
    #[arg(long, default_value = "community")]
    tier: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7879")]
    listen: SocketAddr,
    /// How often to look for a changed manifest or component, in milliseconds.
    #[arg(long, default_value_t = 500)]
    reload_interval_ms: u64,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 16 << 20)]
    max_body_bytes: usize,
    #[command(flatten)]
    policy_args: PolicyArgs,
}

pub fn run(args: DevArgs) -> i32 {
    let fail = |message: String| {
        eprintln!("error: {message}");
        EXIT_BAD_INPUT
    };
    let config: Value = match serde_json::from_str(&args.config) {
        Ok(v) => v,
        Err(e) => return fail(format!("--config is not valid JSON: {e}")),
    };
    let tier: TrustTier = match args.tier.parse() {
        Ok(t) => t,
        Err(e) => return fail(format!("--tier: {e}")),
    };
    let secrets = match Resolver::from_env(args.policy_args.secrets.clone()) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let host = match PluginHost::new(HostOptions {
        // Every rebuild is a new component: caching each would only fill the disk.
        cache_dir: None,
        secrets,
        // The guards' log lines and every capability use, as they happen.
        audit: Some(Arc::new(AuditLog::to_writer(Box::new(std::io::stderr())))),
        ..HostOptions::default()
    }) {
        Ok(h) => h,
        Err(e) => return fail(e.to_string()),
    };
    let package = DevPackage {
        host,
        path: args.path,
        config,
        tier,
    };
    // The first load must work: there is nothing to fall back on yet.
    let guards = match package.load() {
        Ok(g) => g,
        Err(e) => return fail(e.to_string()),
    };
    let server = DevServer::new(package, guards);
    let options = DevOptions {
        listen: args.listen,
        reload_interval: Duration::from_millis(args.reload_interval_ms.max(50)),
        max_body_bytes: args.max_body_bytes,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(serve(server, options)) {
        Ok(()) => EXIT_OK,
        Err(e) => fail(e.to_string()),
    }
}
