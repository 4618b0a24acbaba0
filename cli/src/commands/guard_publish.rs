//! `clawdstrike guard publish`: pack a guard package directory (exactly as
//! `clawdstrike-registry pack` does) and upload it to a registry with a publish token.

use std::path::PathBuf;

use crate::publish::publish;
use clawdstrike_formats::pack::pack_dir;
use serde_json::json;

use super::{EXIT_BAD_INPUT, EXIT_OK};

/// Arguments of `guard publish`.
#[derive(clap::Args)]
pub struct PublishArgs {
    /// The package directory: a crate (`Cargo.toml`) or an npm package (`package.json`)
    /// with its plugin manifest and built components.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The registry's base URL (https, or http on loopback).
    #[arg(long, env = "CLAWDSTRIKE_REGISTRY_URL")]
    registry: Option<String>,
    /// A file holding the publish token (`clawdstrike-registry token create ... --scope
    /// publish:NAME`); else $CLAWDSTRIKE_REGISTRY_TOKEN.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Pack and report, without uploading.
    #[arg(long)]
    dry_run: bool,
    /// Print the registry's answer as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: PublishArgs) -> i32 {
    match publish_package(&args) {
        Ok(()) => EXIT_OK,
        Err(message) => {
            if args.json {
                println!("{}", json!({"ok": false, "error": message}));
            } else {
                eprintln!("error: {message}");
            }
            EXIT_BAD_INPUT
        }
    }
}

fn token(args: &PublishArgs) -> Result<String, String> {
    let token = match &args.token_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("--token-file {}: {e}", path.display()))?,
        None => std::env::var("CLAWDSTRIKE_REGISTRY_TOKEN").map_err(|_| {
            "no token: pass --token-file FILE or set CLAWDSTRIKE_REGISTRY_TOKEN".to_string()
        })?,
    };
    let token = token.trim().to_string();
    if token.is_empty() {
        return Err("the token is empty".into());
    }
    Ok(token)
}

fn publish_package(args: &PublishArgs) -> Result<(), String> {
    let packed = pack_dir(&args.dir).map_err(|e| e.to_string())?;
    if args.dry_run {
        if args.json {
            println!(
                "{}",
                json!({"ok": true, "dryRun": true, "archive": packed.file_name, "bytes": packed.bytes.len()})
            );
        } else {
            println!(
                "would publish {} ({} bytes); nothing was uploaded",
                packed.file_name,
                packed.bytes.len()
            );
        }
        return Ok(());
    }
    let registry = args
        .registry
        .as_deref()
        .ok_or("no registry: pass --registry URL or set CLAWDSTRIKE_REGISTRY_URL")?;
    let token = token(args)?;
    let published = publish(registry, &token, packed.bytes).map_err(|e| e.to_string())?;
    if args.json {
        println!(
            "{}",
            json!({
                "ok": true,
                "name": published.name,
                "version": published.version,
                "trustTier": published.trust_tier,
                "manifestUrl": published.manifest_url,
            })
        );
    } else {
        println!(
            "published {} {} at the {} tier\n  manifest: {}",
            published.name, published.version, published.trust_tier, published.manifest_url
        );
    }
    Ok(())
}
