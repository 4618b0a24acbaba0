//! The `clawdstrike-registry` command line (DESIGN.md §3.6): `serve`, and the admin
//! subcommands that work on the same database and key ring directly.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use crate::auth::Scope;
use crate::config::Config;
use crate::db::publishers::{valid_name, Role};
use crate::db::Db;
use crate::server::{serve, ServeOptions};
use crate::signing::KeyRing;

/// The Clawdstrike guard registry.
#[derive(Debug, Parser)]
#[command(name = "clawdstrike-registry", version, about)]
pub struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
struct Common {
    /// Configuration file (TOML); `CLAWDSTRIKE_*` variables override it.
    #[arg(long, global = true, env = "CLAWDSTRIKE_REGISTRY_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (default ./data).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the registry.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Publish the packages listed in DIR/seed.toml at start (repeatable).
        #[arg(long, value_name = "DIR")]
        seed: Vec<PathBuf>,
    },
    /// Manage accounts.
    #[command(subcommand)]
    Publisher(PublisherCmd),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Manage the signing keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Maintain the signed manifests.
    #[command(subcommand)]
    Manifests(ManifestsCmd),
    /// Pack a guard directory into the archive `POST /api/v1/guards` takes.
    Pack {
        /// The guard's directory (with its plugin manifest and built components).
        dir: PathBuf,
        /// Where to write the archive (default: its file name in the current directory).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum PublisherCmd {
    /// Create an account.
    Create {
        /// Account name (letters, digits, `-`, `_`; at most 39).
        name: String,
        /// Contact address.
        #[arg(long)]
        email: Option<String>,
        /// publisher, moderator or admin.
        #[arg(long, default_value = "publisher")]
        role: String,
    },
    /// List accounts.
    List,
}

#[derive(Debug, Subcommand)]
enum TokenCmd {
    /// Create a token; it is printed once and only its hash is stored.
    Create {
        /// The account it acts for.
        #[arg(long)]
        publisher: String,
        /// A label.
        #[arg(long, default_value = "token")]
        name: String,
        /// Scopes: publish:<glob>, yank:<glob>, moderate, admin (repeatable).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Expiry in days from now (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List tokens (never their secrets).
    List {
        /// Only this account's.
        #[arg(long)]
        publisher: Option<String>,
    },
    /// Revoke a token by id.
    Revoke {
        /// The id `token list` shows.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
enum ManifestsCmd {
    /// Re-sign manifests with the active key (fresh issue and expiry times, same facts).
    Renew {
        /// Every manifest.
        #[arg(long)]
        all: bool,
        /// Manifests signed by this key (after `keys revoke` or a rotation).
        #[arg(long, value_name = "KEYID")]
        signed_by: Option<String>,
        /// Manifests expiring within this many days (run it from cron).
        #[arg(long, value_name = "DAYS")]
        expiring_within_days: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCmd {
    /// Announce a new key (published at /api/v1/keys, not signing yet).
    Generate,
    /// Make the announced key (or a new one) active and retire the current one.
    Rotate,
    /// Revoke a key (compromised): nothing verifies with it any more; re-sign with
    /// `manifests renew --signed-by KEYID`.
    Revoke {
        /// The key id.
        keyid: String,
    },
    /// List the keys.
    List,
}

/// Runs the command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let env = |k: &str| std::env::var(k).ok();
    let mut config = Config::load(cli.common.config.as_deref(), &env)?;
    if let Some(dir) = cli.common.data_dir {
        config.data_dir = dir;
    }
    match cli.command {
        Command::Serve { listen, seed } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            serve(config, ServeOptions { seed }).await
        }
        Command::Publisher(cmd) => publisher(&config, cmd).await,
        Command::Token(cmd) => token(&config, cmd).await,
        Command::Keys(cmd) => keys(&config, cmd),
        Command::Manifests(ManifestsCmd::Renew {
            all,
            signed_by,
            expiring_within_days,
        }) => {
            if !all && signed_by.is_none() && expiring_within_days.is_none() {
                bail!(
                    "say which manifests: --all, --signed-by KEYID or --expiring-within-days DAYS"
                );
            }
            let state = crate::server::open_state(config).await?;
            let selection = crate::signing::renew::RenewSelection {
                all,
                signed_by,
                expiring_within_days,
            };
            let report = crate::signing::renew::renew(&state, &selection).await?;
            println!(
                "re-signed {} of {} manifests",
                report.renewed, report.checked
            );
            Ok(())
        }
        Command::Pack { dir, output } => {
            let packed = crate::pack::pack_dir(&dir)?;
            let out = output.unwrap_or_else(|| PathBuf::from(&packed.file_name));
            std::fs::write(&out, &packed.bytes)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("{}", out.display());
            Ok(())
        }
    }
}

async fn open_db(config: &Config) -> anyhow::Result<Db> {
    let url = config.database_url();
    Db::connect(&url, 2)
        .await
        .with_context(|| format!("cannot open the database {}", crate::db::redact(&url)))
}

async fn publisher(config: &Config, cmd: PublisherCmd) -> anyhow::Result<()> {
    let db = open_db(config).await?;
    match cmd {
        PublisherCmd::Create { name, email, role } => {
            if !valid_name(&name) {
                bail!("`{name}` is not a valid account name: letters, digits, `-` and `_`, at most 39, starting with a letter or digit");
            }
            let role = Role::parse(&role).with_context(|| {
                format!("`{role}` is not a role: publisher, moderator or admin")
            })?;
            let p = db.create_publisher(&name, email.as_deref(), role).await?;
            println!("created {} ({})", p.name, p.role.as_str());
        }
        PublisherCmd::List => {
            for p in db.list_publishers().await? {
                println!(
                    "{}\t{}\t{}",
                    p.name,
                    p.role.as_str(),
                    p.email.unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

async fn token(config: &Config, cmd: TokenCmd) -> anyhow::Result<()> {
    let db = open_db(config).await?;
    match cmd {
        TokenCmd::Create {
            publisher,
            name,
            scopes,
            expires_in_days,
        } => {
            let account = db
                .publisher_by_name(&publisher)
                .await?
                .with_context(|| format!("no publisher named `{publisher}`"))?;
            let scopes: Vec<String> = scopes
                .iter()
                .map(|s| Scope::parse(s).map(|s| s.to_string()))
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow::anyhow!(e))?;
            // A token cannot carry more than its account's role.
            for scope in &scopes {
                let needs = match scope.as_str() {
                    "admin" => Some(Role::Admin),
                    "moderate" => Some(Role::Moderator),
                    _ => None,
                };
                if let Some(needs) = needs {
                    let enough = account.role == Role::Admin
                        || (needs == Role::Moderator && account.role == Role::Moderator);
                    if !enough {
                        bail!(
                            "`{publisher}` is a {}; the `{scope}` scope needs a {} account",
                            account.role.as_str(),
                            needs.as_str()
                        );
                    }
                }
            }
            let expires = expires_in_days.map(|d| {
                crate::db::timestamp(chrono::Utc::now() + chrono::Duration::days(i64::from(d)))
            });
            let (secret, hash) =
                crate::auth::generate_token().map_err(|e| anyhow::anyhow!("{e}"))?;
            let id = db
                .create_token(account.id, &name, &hash, &scopes, expires.as_deref())
                .await?;
            eprintln!(
                "token {id} for {publisher} ({}); shown once:",
                scopes.join(", ")
            );
            println!("{secret}");
        }
        TokenCmd::List { publisher } => {
            for t in db.list_tokens(publisher.as_deref()).await? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\texpires {}",
                    t.id,
                    t.publisher,
                    t.name,
                    t.scopes.join(","),
                    state,
                    t.expires_at.unwrap_or_else(|| "never".into())
                );
            }
        }
        TokenCmd::Revoke { id } => {
            if !db.revoke_token(id).await? {
                bail!("no live token with id {id}");
            }
            println!("revoked token {id}");
        }
    }
    Ok(())
}

fn keys(config: &Config, cmd: KeysCmd) -> anyhow::Result<()> {
    let ring = KeyRing::open_or_create(&config.key_dir())?;
    match cmd {
        KeysCmd::Generate => println!("announced {}", ring.generate_next()?),
        KeysCmd::Rotate => {
            let (old, new) = ring.rotate()?;
            println!("retired {old}; {new} now signs new manifests");
        }
        KeysCmd::Revoke { keyid } => {
            ring.revoke(&keyid)?;
            println!("revoked {keyid}; now run `clawdstrike-registry manifests renew --signed-by {keyid}` and have engines re-pin");
        }
        KeysCmd::List => {
            for k in ring.public_keys()? {
                println!(
                    "{}\t{}\t{}\tfrom {}\tuntil {}",
                    k.keyid,
                    k.status.as_str(),
                    k.public_key,
                    k.valid_from.to_rfc3339(),
                    k.valid_until
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_else(|| "-".into())
                );
            }
        }
    }
    Ok(())
}
