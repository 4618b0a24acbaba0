//! `clawdstrike daemon`: serve decisions over HTTP and reload the policy when it changes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::daemon::{DaemonOptions, EngineFactory};
use clawdstrike_engine::external::integrations;
use clawdstrike_engine::policy::model::CustomGuardSpec;

use super::{build_engine, load_policy, report_policy_error, PolicyArgs, EXIT_BAD_INPUT, EXIT_OK};

/// Arguments of `daemon`.
#[derive(clap::Args)]
pub struct DaemonArgs {
    /// Policy file (watched and reloaded on change), or a built-in ruleset name.
    #[arg(long, short)]
    policy: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// How often to look for a changed policy file, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    reload_interval_ms: u64,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 16 << 20)]
    max_body_bytes: usize,
    /// Append one audit record per decision (and every external call and background
    /// result) to this JSON-lines file.
    #[arg(long, env = "CLAWDSTRIKE_AUDIT_LOG")]
    audit_log: Option<PathBuf>,
    #[command(flatten)]
    policy_args: PolicyArgs,
}

pub fn run(args: DaemonArgs) -> i32 {
    let Ok(audit) = super::open_audit_log(args.audit_log.as_deref()) else {
        return EXIT_BAD_INPUT;
    };
    let spec = args.policy.clone();
    let policy_args = args.policy_args.clone();
    let reload_audit = audit.clone();
    let build: EngineFactory = Arc::new(move || {
        let policy = load_policy(&spec, &policy_args, true)?;
        build_engine(&policy, &policy_args, reload_audit.clone())
    });
    let policy = match load_policy(&args.policy, &args.policy_args, true) {
        Ok(p) => p,
        Err(e) => {
            report_policy_error(&e);
            return EXIT_BAD_INPUT;
        }
    };
    // WebAssembly guards may block in host calls; built-in-only policies stay inline, and
    // the first-party integrations are async already.
    let offload = policy.file.guards.custom.iter().any(|g| {
        matches!(g, CustomGuardSpec::Path(p) if p.enabled)
            || matches!(g, CustomGuardSpec::Package(p)
                if p.enabled && !integrations::PACKAGES.contains(&p.package.as_str()))
    });
    let engine = match build_engine(&policy, &args.policy_args, audit.clone()) {
        Ok(e) => e,
        Err(e) => {
            report_policy_error(&e);
            return EXIT_BAD_INPUT;
        }
    };
    let watch = Some(PathBuf::from(&args.policy)).filter(|p| p.is_file());
    let options = DaemonOptions {
        listen: args.listen,
        watch,
        reload_interval: Duration::from_millis(args.reload_interval_ms.max(50)),
        max_body_bytes: args.max_body_bytes,
        offload,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    match runtime.block_on(crate::daemon::serve(engine, build, options)) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}
