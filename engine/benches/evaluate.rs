//! Engine benchmarks (issue: p50 ≤ 2 µs and p99 ≤ 10 µs per event over a mixed corpus
//! against the `default` ruleset; engine build ≤ 1 ms; ≥ 200,000 events/s on one core).
//!
//! `cargo bench -p clawdstrike-engine --bench evaluate` runs the criterion groups and then
//! prints per-event latency percentiles, single-core throughput and engine build times
//! measured directly. Engine builds share no compiled state (there is no cache of compiled
//! matchers), so every build is a cold build; the very first one in the process also pays
//! one-time costs (page faults on code and Unicode tables, heap growth) and is printed
//! separately.

use std::hint::black_box;
use std::time::{Duration, Instant};

use clawdstrike_engine::{Engine, Policy, PolicyEvent};
use criterion::{criterion_group, Criterion, Throughput};
use serde_json::json;

/// Representative events of every type, allowed and denied.
fn corpus() -> Vec<PolicyEvent> {
    let mut mcp = PolicyEvent::tool(
        "t2",
        "mcp__github__create_issue",
        json!({"title": "x", "body": "y"}),
    );
    mcp.metadata.insert("toolKind".into(), json!("mcp"));
    vec![
        PolicyEvent::file_read("r1", "/home/dev/project/src/main.rs"),
        PolicyEvent::file_read("r2", "/home/dev/.ssh/id_rsa"),
        PolicyEvent::file_read("r3", "/home/dev/project/README.md"),
        PolicyEvent::file_write("w1", "/home/dev/project/src/lib.rs", "pub fn add(a: i32, b: i32) -> i32 { a + b }\n"),
        PolicyEvent::file_write("w2", "/home/dev/project/config.py", "AWS_KEY = 'AKIAABCDEFGHIJKLMNOP'\n"),
        PolicyEvent::network("n1", "api.github.com", 443),
        PolicyEvent::network("n2", "evil.example.net", 443),
        PolicyEvent::command("c1", "ls", &["-la"]),
        PolicyEvent::command("c2", "cargo", &["build", "--release"]),
        PolicyEvent::command("c3", "rm", &["-rf", "/"]),
        PolicyEvent::patch("p1", "/home/dev/project/src/lib.rs", "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,2 +1,3 @@\n fn a() {}\n+fn b() {}\n fn c() {}\n"),
        PolicyEvent::tool("t1", "read_file", json!({"path": "src/lib.rs"})),
        mcp,
        PolicyEvent::tool("t3", "shell_exec", json!({"cmd": "ls"})),
        PolicyEvent::secret("s1", "GITHUB_TOKEN"),
        PolicyEvent::custom_text("u1", "untrusted_text", "The release notes mention three fixed bugs."),
    ]
}

fn bench_build(c: &mut Criterion) {
    c.bench_function("engine_build/default_ruleset (parse + build)", |b| {
        b.iter(|| Engine::from_ruleset(black_box("default")).unwrap())
    });
    let policy = Policy::ruleset("default").unwrap();
    c.bench_function("engine_build/default_ruleset (build only)", |b| {
        b.iter(|| Engine::new(black_box(&policy)).unwrap())
    });
}

fn bench_check(c: &mut Criterion) {
    let engine = Engine::from_ruleset("default").unwrap();
    let events = corpus();
    let mut group = c.benchmark_group("check");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("default_ruleset/mixed_corpus", |b| {
        b.iter(|| {
            for e in &events {
                black_box(engine.check(black_box(e)));
            }
        })
    });
    group.finish();
}

/// Per-event latency percentiles and one-core throughput, measured directly.
fn percentiles(full: bool) {
    let engine = Engine::from_ruleset("default").unwrap();
    let events = corpus();
    let rounds = if full { 20_000 } else { 50 };
    let mut samples: Vec<Duration> = Vec::with_capacity(rounds * events.len());
    for _ in 0..rounds / 10 {
        for e in &events {
            black_box(engine.check(e));
        }
    }
    for _ in 0..rounds {
        for e in &events {
            let start = Instant::now();
            black_box(engine.check(black_box(e)));
            samples.push(start.elapsed());
        }
    }
    samples.sort_unstable();
    let pick = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_millis(if full { 2000 } else { 20 }) {
        for e in &events {
            black_box(engine.check(e));
            n += 1;
        }
    }
    let per_sec = n as f64 / start.elapsed().as_secs_f64();
    let builds = if full { 400 } else { 2 };
    let median = |mut times: Vec<Duration>| {
        times.sort_unstable();
        times[times.len() / 2]
    };
    let parse_and_build = median(
        (0..builds)
            .map(|_| {
                let start = Instant::now();
                black_box(Engine::from_ruleset(black_box("default")).unwrap());
                start.elapsed()
            })
            .collect(),
    );
    let policy = Policy::ruleset("default").unwrap();
    let build_only = median(
        (0..builds)
            .map(|_| {
                let start = Instant::now();
                let engine = Engine::new(black_box(&policy)).unwrap();
                let elapsed = start.elapsed();
                drop(black_box(engine));
                elapsed
            })
            .collect(),
    );
    println!(
        "\nper-event latency over {} samples ({} events x {rounds}): p50 {:?}  p90 {:?}  p99 {:?}  max {:?}",
        samples.len(),
        events.len(),
        pick(0.50),
        pick(0.90),
        pick(0.99),
        samples[samples.len() - 1]
    );
    println!("single-core throughput: {per_sec:.0} events/s");
    println!(
        "engine build from the default ruleset, median of {builds}: build only {build_only:?}, \
         parse + build {parse_and_build:?}"
    );
}

/// The first engine built in the process, before anything else ran: `(parse, build)`.
fn first_build_in_process() -> (Duration, Duration) {
    let start = Instant::now();
    let policy = Policy::ruleset(black_box("default")).unwrap();
    let parsed = start.elapsed();
    let start = Instant::now();
    black_box(Engine::new(&policy).unwrap());
    (parsed, start.elapsed())
}

criterion_group!(benches, bench_build, bench_check);

fn main() {
    let (first_parse, first_build) = first_build_in_process();
    let full = std::env::args().any(|a| a == "--bench");
    benches();
    Criterion::default().configure_from_args().final_summary();
    percentiles(full);
    println!(
        "first engine build in this process (one-time costs included): build {first_build:?}, \
         parse {first_parse:?}"
    );
}
