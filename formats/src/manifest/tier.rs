//! Trust tiers: what a package may declare at the tier it will run at (SPEC.md §1,
//! DESIGN.md §3.3), the effective tier, and engine-version compatibility.
//!
//! | tier | capabilities | resources (memory / CPU / wall) |
//! |---|---|---|
//! | community | no subprocess; no filesystem write; filesystem read only explicit patterns; network only an explicit host list; secrets only named keys | 64 MB / 100 ms / 5000 ms |
//! | verified, certified | no subprocess (the sandbox has none) | 512 MB / 1000 ms / 30000 ms |
//! | first-party | never for a WebAssembly package | — |

use super::error::ManifestProblem;
use super::model::*;
use super::rules;

/// Resource ceilings of a tier: (memory MB, CPU ms, wall ms).
pub fn tier_resource_limits(tier: TrustTier) -> Option<Resources> {
    match tier {
        TrustTier::Community => Some(Resources {
            max_memory_mb: 64,
            max_cpu_ms: 100,
            max_timeout_ms: 5000,
        }),
        TrustTier::Verified | TrustTier::Certified => Some(Resources {
            max_memory_mb: 512,
            max_cpu_ms: 1000,
            max_timeout_ms: 30_000,
        }),
        TrustTier::FirstParty => None,
    }
}

/// The tier a package's guards run at: the lower of what is `requested` and the policy's
/// `ceiling` (`trust_override.max_trust_tier`), and never first-party, because first-party
/// guards are built into the engine: a WebAssembly package asking for it gets certified at
/// most.
///
/// `requested` should be what the package is entitled to (the registry's verification
/// status), not merely what its manifest asks for: a manifest's `trust.level` is a claim.
pub fn effective_tier(requested: TrustTier, ceiling: Option<TrustTier>) -> TrustTier {
    let capped = match ceiling {
        Some(c) => requested.min(c),
        None => requested,
    };
    capped.min(TrustTier::Certified)
}

impl PluginManifest {
    /// Check the declared capabilities, sandbox and resources against the restrictions of
    /// `tier`, the tier the package's guards will run at. Returns every problem, each naming
    /// its field (JSON spelling) and saying what to write instead.
    pub fn check_tier(&self, tier: TrustTier) -> Result<(), Vec<ManifestProblem>> {
        let mut problems = Vec::new();
        if self.trust.sandbox == Sandbox::Native {
            problems.push(ManifestProblem::new(
                "trust.sandbox",
                "\"native\" means running inside the engine process, which only guards built \
                 into the engine do; a package always runs in the WebAssembly sandbox: write \
                 \"wasm\" or leave the field out",
            ));
        }
        let Some(limits) = tier_resource_limits(tier) else {
            problems.push(ManifestProblem::new(
                "trust.level",
                "a WebAssembly package can never run as first-party: first-party guards are \
                 built into the engine. Request \"certified\" or lower",
            ));
            return Err(problems);
        };
        let caps = &self.capabilities;
        if caps.subprocess {
            problems.push(ManifestProblem::new(
                "capabilities.subprocess",
                "the WebAssembly sandbox has no way to start a process, at any trust tier; \
                 remove the field (or write false) and do the work inside the guard or through \
                 the host's http-request",
            ));
        }
        if tier == TrustTier::Community {
            community_capabilities(caps, &mut problems);
        }
        check_resources(&self.resources, &limits, tier, &mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Whether this engine version is inside `clawdstrike.minVersion` ..
    /// `clawdstrike.maxVersion`. Pre-release tags of the engine version are ignored (a
    /// `0.2.0-dev` build counts as 0.2.0).
    pub fn check_engine_compat(
        &self,
        engine_version: &semver::Version,
    ) -> Result<(), ManifestProblem> {
        let engine = rules::core_version(engine_version);
        if let Some(min_text) = &self.engine.min_version {
            let min = rules::min_version(min_text)
                .map_err(|m| ManifestProblem::new("clawdstrike.minVersion", m))?;
            if engine < min {
                return Err(ManifestProblem::new(
                    "clawdstrike.minVersion",
                    format!(
                        "this package needs a Clawdstrike engine of version {min_text} or later, \
                         but this engine is {engine_version}; upgrade the engine or use an older \
                         release of the package"
                    ),
                ));
            }
        }
        if let Some(max_text) = &self.engine.max_version {
            let max = rules::max_version(max_text)
                .map_err(|m| ManifestProblem::new("clawdstrike.maxVersion", m))?;
            if !max.admits(&engine) {
                return Err(ManifestProblem::new(
                    "clawdstrike.maxVersion",
                    format!(
                        "this package supports Clawdstrike engines up to {max_text}, but this \
                         engine is {engine_version}; use a newer release of the package"
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn community_capabilities(caps: &Capabilities, problems: &mut Vec<ManifestProblem>) {
    if caps.filesystem.write != PathAccess::Denied {
        problems.push(ManifestProblem::new(
            "capabilities.filesystem.write",
            "a community guard may not write files; write false (or leave it out), or have \
             the package verified",
        ));
    }
    match &caps.filesystem.read {
        PathAccess::Denied => {}
        PathAccess::Any => problems.push(ManifestProblem::new(
            "capabilities.filesystem.read",
            "true lets a community guard read every file; list the paths it needs instead, \
             e.g. [\"/etc/acme/*.conf\"]",
        )),
        PathAccess::Globs(globs) => {
            for (i, g) in globs.iter().enumerate() {
                if let Some(why) = too_broad(g) {
                    problems.push(ManifestProblem::new(
                        format!("capabilities.filesystem.read[{i}]"),
                        format!(
                            "\"{}\" {why}; a community guard may read only explicit paths: \
                             start with a literal directory, e.g. \"/etc/acme/*.conf\"",
                            rules::shorten(g)
                        ),
                    ));
                }
            }
        }
    }
    match &caps.network {
        NetworkCapability::Denied => {}
        NetworkCapability::Any => problems.push(ManifestProblem::new(
            "capabilities.network",
            "true lets a community guard call any host; list the hosts instead: \
             {\"allowedHosts\": [\"api.example.com\"]}",
        )),
        NetworkCapability::Hosts(rules) => {
            for (i, h) in rules.allowed_hosts.iter().enumerate() {
                let field = format!("capabilities.network.allowedHosts[{i}]");
                let host = h.split(':').next().unwrap_or(h);
                if host == "*" || (host.contains('*') && !host.starts_with("*.")) {
                    problems.push(ManifestProblem::new(
                        field,
                        format!(
                            "\"{}\" matches any host; a community guard must list its hosts, \
                             e.g. \"api.example.com\"",
                            rules::shorten(h)
                        ),
                    ));
                } else if rules::wildcard_labels(h).is_some_and(|n| n < 2) {
                    problems.push(ManifestProblem::new(
                        field,
                        format!(
                            "\"{}\" covers a whole top-level domain; a community guard must name \
                             its hosts or a domain under one, e.g. \"*.example.com\"",
                            rules::shorten(h)
                        ),
                    ));
                }
            }
        }
    }
    if caps.secrets == SecretsCapability::Any {
        problems.push(ManifestProblem::new(
            "capabilities.secrets",
            "true lets a community guard read (and enumerate) every secret; name the keys \
             instead: {\"allowedKeys\": [\"ACME_API_KEY\"]}",
        ));
    }
}

/// Why a read pattern is too broad for a community guard, if it is: it starts with `**`,
/// is made only of wildcards and separators, or its first directory is a wildcard (which
/// reaches every top-level directory).
pub(crate) fn too_broad(pattern: &str) -> Option<&'static str> {
    if pattern.starts_with("**") {
        return Some("starts with `**`, which matches files in every directory");
    }
    let has_literal = pattern.chars().any(|c| {
        !matches!(
            c,
            '*' | '?' | '/' | '[' | ']' | '{' | '}' | '!' | ',' | '\\' | '.'
        )
    });
    if !has_literal {
        return Some("is only wildcards and separators, so it matches everything");
    }
    let first = pattern
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    if first.contains(['*', '?', '[', '{']) {
        return Some("starts with a wildcard directory, which reaches every top-level directory");
    }
    None
}

fn check_resources(
    r: &Resources,
    limits: &Resources,
    tier: TrustTier,
    problems: &mut Vec<ManifestProblem>,
) {
    let hint = match tier {
        TrustTier::Community => {
            "; lower it, or have the package verified (verified and certified guards may use up \
             to 512 MB, 1000 ms CPU and 30000 ms wall-clock)"
        }
        _ => "; lower it",
    };
    for (field, value, limit, unit) in [
        (
            "resources.maxMemoryMb",
            r.max_memory_mb,
            limits.max_memory_mb,
            "MB",
        ),
        ("resources.maxCpuMs", r.max_cpu_ms, limits.max_cpu_ms, "ms"),
        (
            "resources.maxTimeoutMs",
            r.max_timeout_ms,
            limits.max_timeout_ms,
            "ms",
        ),
    ] {
        if value > limit {
            problems.push(ManifestProblem::new(
                field,
                format!("{value} {unit} is above the {tier} limit of {limit} {unit}{hint}"),
            ));
        }
    }
}
