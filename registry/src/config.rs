//! Configuration: defaults, then a TOML file, then `CLAWDSTRIKE_*` environment variables
//! (each file key has one). `docs/registry-configuration.md` lists every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::blob::BlobConfig;

/// Every setting of the registry service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`CLAWDSTRIKE_LISTEN`, default `127.0.0.1:8080`).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Where the default SQLite file, blob directory and signing keys live
    /// (`CLAWDSTRIKE_DATA_DIR`, default `./data`).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The URL clients reach this registry at, used in links (`CLAWDSTRIKE_PUBLIC_URL`,
    /// default `http://<listen>`).
    #[serde(default)]
    pub public_url: Option<String>,
    /// `sqlite://FILE` or `postgres://...` (`CLAWDSTRIKE_DATABASE_URL`, then `DATABASE_URL`;
    /// default `sqlite://<data_dir>/registry.db`).
    #[serde(default)]
    pub database_url: Option<String>,
    /// Connections in the database pool (`CLAWDSTRIKE_DATABASE_MAX_CONNECTIONS`, default 16).
    #[serde(default = "default_pool")]
    pub database_max_connections: u32,
    /// Blob store (`[blob]`; `CLAWDSTRIKE_BLOB_*`; default a local directory
    /// `<data_dir>/blobs`).
    #[serde(default)]
    pub blob: Option<BlobConfig>,
    /// Request limits (`[limits]`).
    #[serde(default)]
    pub limits: Limits,
    /// Manifest signing (`[signing]`).
    #[serde(default)]
    pub signing: Signing,
}

/// Request limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest publish body in bytes (`CLAWDSTRIKE_MAX_PUBLISH_BYTES`, default 16 MiB).
    /// A larger upload is refused from its `Content-Length` before any of it is read.
    #[serde(default = "default_max_publish")]
    pub max_publish_bytes: u64,
    /// Largest body of any other request (`CLAWDSTRIKE_MAX_BODY_BYTES`, default 64 KiB).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: u64,
    /// Time allowed for one request, in seconds (`CLAWDSTRIKE_REQUEST_TIMEOUT_SECS`, default 30).
    #[serde(default = "default_timeout")]
    pub request_timeout_secs: u64,
}

/// Manifest signing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signing {
    /// Directory holding the key ring (`CLAWDSTRIKE_SIGNING_KEY_DIR`, default
    /// `<data_dir>/keys`).
    #[serde(default)]
    pub key_dir: Option<PathBuf>,
    /// How long a signed manifest stays valid, in days (`CLAWDSTRIKE_MANIFEST_TTL_DAYS`,
    /// default 365).
    #[serde(default = "default_ttl_days")]
    pub manifest_ttl_days: u32,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("./data")
}
fn default_pool() -> u32 {
    16
}
fn default_max_publish() -> u64 {
    16 * 1024 * 1024
}
fn default_max_body() -> u64 {
    64 * 1024
}
fn default_timeout() -> u64 {
    30
}
fn default_ttl_days() -> u32 {
    365
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_publish_bytes: default_max_publish(),
            max_body_bytes: default_max_body(),
            request_timeout_secs: default_timeout(),
        }
    }
}

impl Default for Signing {
    fn default() -> Self {
        Signing {
            key_dir: None,
            manifest_ttl_days: default_ttl_days(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: default_listen(),
            data_dir: default_data_dir(),
            public_url: None,
            database_url: None,
            database_max_connections: default_pool(),
            blob: None,
            limits: Limits::default(),
            signing: Signing::default(),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// An environment variable has a bad value.
    #[error("environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Where the environment comes from; a trait object so tests need not touch the process
/// environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Config {
    /// Loads the file (if any), then applies the environment.
    pub fn load(file: Option<&Path>, env: EnvLookup<'_>) -> Result<Config, ConfigError> {
        let mut config = match file {
            None => Config::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.into(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.into(),
                    message: e.to_string(),
                })?
            }
        };
        config.apply_env(env)?;
        Ok(config)
    }

    fn apply_env(&mut self, env: EnvLookup<'_>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &'static str, v: String) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            v.parse().map_err(|e: T::Err| ConfigError::Env {
                name,
                message: e.to_string(),
            })
        }
        if let Some(v) = env("CLAWDSTRIKE_LISTEN") {
            self.listen = parse("CLAWDSTRIKE_LISTEN", v)?;
        }
        if let Some(v) = env("CLAWDSTRIKE_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("CLAWDSTRIKE_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = env("CLAWDSTRIKE_DATABASE_URL").or_else(|| env("DATABASE_URL")) {
            self.database_url = Some(v);
        }
        if let Some(v) = env("CLAWDSTRIKE_DATABASE_MAX_CONNECTIONS") {
            self.database_max_connections = parse("CLAWDSTRIKE_DATABASE_MAX_CONNECTIONS", v)?;
        }
        if let Some(v) = env("CLAWDSTRIKE_MAX_PUBLISH_BYTES") {
            self.limits.max_publish_bytes = parse("CLAWDSTRIKE_MAX_PUBLISH_BYTES", v)?;
        }
        if let Some(v) = env("CLAWDSTRIKE_MAX_BODY_BYTES") {
            self.limits.max_body_bytes = parse("CLAWDSTRIKE_MAX_BODY_BYTES", v)?;
        }
        if let Some(v) = env("CLAWDSTRIKE_REQUEST_TIMEOUT_SECS") {
            self.limits.request_timeout_secs = parse("CLAWDSTRIKE_REQUEST_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = env("CLAWDSTRIKE_SIGNING_KEY_DIR") {
            self.signing.key_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = env("CLAWDSTRIKE_MANIFEST_TTL_DAYS") {
            self.signing.manifest_ttl_days = parse("CLAWDSTRIKE_MANIFEST_TTL_DAYS", v)?;
        }
        match env("CLAWDSTRIKE_BLOB_KIND").as_deref() {
            None => {}
            // Without a directory, the default (`<data_dir>/blobs`) is worked out when used,
            // after `--data-dir` has been applied.
            Some("local") => {
                self.blob = env("CLAWDSTRIKE_BLOB_DIR").map(|d| BlobConfig::Local {
                    dir: PathBuf::from(d),
                });
            }
            Some("s3") => {
                let need = |name: &'static str| {
                    env(name).ok_or(ConfigError::Env {
                        name,
                        message: "required when CLAWDSTRIKE_BLOB_KIND=s3".into(),
                    })
                };
                self.blob = Some(BlobConfig::S3 {
                    endpoint: env("CLAWDSTRIKE_S3_ENDPOINT"),
                    bucket: need("CLAWDSTRIKE_S3_BUCKET")?,
                    region: env("CLAWDSTRIKE_S3_REGION"),
                    access_key_id: need("CLAWDSTRIKE_S3_ACCESS_KEY_ID")?,
                    secret_access_key: need("CLAWDSTRIKE_S3_SECRET_ACCESS_KEY")?,
                    prefix: env("CLAWDSTRIKE_S3_PREFIX"),
                    force_path_style: match env("CLAWDSTRIKE_S3_FORCE_PATH_STYLE") {
                        None => None,
                        Some(v) => Some(parse("CLAWDSTRIKE_S3_FORCE_PATH_STYLE", v)?),
                    },
                });
            }
            Some(other) => {
                return Err(ConfigError::Env {
                    name: "CLAWDSTRIKE_BLOB_KIND",
                    message: format!("`{other}` is not a blob store; use `local` or `s3`"),
                })
            }
        }
        Ok(())
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("registry.db").display()
            )
        })
    }

    /// The blob store in effect.
    pub fn blob_config(&self) -> BlobConfig {
        self.blob.clone().unwrap_or_else(|| BlobConfig::Local {
            dir: self.data_dir.join("blobs"),
        })
    }

    /// The key ring directory in effect.
    pub fn key_dir(&self) -> PathBuf {
        self.signing
            .key_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys"))
    }

    /// The public base URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_are_embedded_sqlite_and_a_local_directory() {
        let c = Config::load(None, &env_of(&[])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.database_url().starts_with("sqlite://./data/registry.db"));
        assert!(
            matches!(c.blob_config(), BlobConfig::Local { dir } if dir == Path::new("./data/blobs"))
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("registry.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\n[limits]\nmax_publish_bytes = 10\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&file),
            &env_of(&[
                ("CLAWDSTRIKE_LISTEN", "127.0.0.1:9100"),
                ("DATABASE_URL", "postgres://x/y"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9100);
        assert_eq!(c.limits.max_publish_bytes, 10);
        assert_eq!(c.database_url(), "postgres://x/y");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_that_name_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("registry.toml");
        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        let e = Config::load(Some(&file), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("lisen"), "{e}");
        let e = Config::load(None, &env_of(&[("CLAWDSTRIKE_BLOB_KIND", "ftp")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("CLAWDSTRIKE_BLOB_KIND") && e.contains("ftp"),
            "{e}"
        );
        let e = Config::load(None, &env_of(&[("CLAWDSTRIKE_BLOB_KIND", "s3")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("CLAWDSTRIKE_S3_BUCKET"), "{e}");
    }
}
