//! The Clawdstrike guard registry: takes guard packages from publishers, checks them
//! (`clawdstrike-scanner`), stores them content-addressed (a local directory or S3), signs a
//! manifest for every version (DSSE over an in-toto statement), and serves everything over
//! a JSON API, on SQLite or PostgreSQL.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use clawdstrike_registry::{config::Config, server};
//! let config = Config::load(None, &|k: &str| std::env::var(k).ok())?;
//! server::serve(config, server::ServeOptions::default()).await
//! # }
//! ```
//!
//! Layout: [`api`] (one module per resource), [`db`] (one module per table), [`blob`]
//! (storage backends), [`signing`] (key ring and signed manifests), [`publish`] (the publish
//! flow), [`auth`] (tokens and scopes), [`server`] and [`cli`] (the binary).

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod blob;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod metrics;
pub use clawdstrike_formats::pack;
pub mod publish;
pub mod readme;
pub mod seed;
pub mod server;
pub mod signing;
pub mod state;
