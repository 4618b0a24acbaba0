//! The async machinery's overhead on a cache hit (issue 5's target: ≤ 5 µs):
//! `Resilience::call` answering from its cache, against a bare cache lookup as the
//! baseline measured in the same run.
//!
//! `cargo bench -p clawdstrike-engine --bench resilience`; the smoke run
//! (`cargo test --benches`) runs each once.

use std::hint::black_box;

use clawdstrike_engine::resilience::{AsyncConfig, Attempt, Resilience, ResultCache};
use criterion::{criterion_group, Criterion};
use serde_json::json;

fn bench_cache_hit(c: &mut Criterion) {
    let config = AsyncConfig::from_value(&json!({
        "rate_limit": {"requests_per_second": 1000},
        "circuit_breaker": {"failure_threshold": 5},
        "retry": {"max_retries": 2}
    }))
    .expect("valid async block");
    let resilience: Resilience<u64> = Resilience::new(&config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    runtime
        .block_on(resilience.call("guard:e1", || async { Attempt::Done(42) }))
        .expect("first call fills the cache");
    c.bench_function("resilience call, cache hit", |b| {
        b.iter(|| {
            let r = runtime
                .block_on(resilience.call(black_box("guard:e1"), || async { Attempt::Done(0) }));
            black_box(r.expect("cached"))
        })
    });
    let bare: ResultCache<u64> = ResultCache::new(std::time::Duration::from_secs(3600), 100_000);
    bare.insert("guard:e1".into(), 42);
    c.bench_function("baseline: bare cache lookup", |b| {
        b.iter(|| black_box(bare.get(black_box("guard:e1"))))
    });
}

criterion_group!(benches, bench_cache_hit);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
