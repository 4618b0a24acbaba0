#!/usr/bin/env bash
# Run every test of the project. Provisions what the suites need and fails loudly when it
# cannot: a suite is never skipped silently.
#
#   scripts/test.sh            # everything
#   scripts/test.sh --quick    # skip clippy and the benchmark smoke run
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[[ "${1:-}" == "--quick" ]] && quick=1

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo is not installed (install Rust with rustup)"

step "toolchain: $(rustc --version)"
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy

step "format"
cargo fmt --all --check || die "cargo fmt found unformatted code: run 'cargo fmt --all'"

if [[ $quick == 0 ]]; then
  step "clippy"
  cargo clippy --workspace --all-targets --locked -- -D warnings || die "clippy found problems"
fi

step "unit, integration and doc tests"
cargo test --workspace --locked --no-fail-fast || die "tests failed"

if [[ $quick == 0 ]]; then
  step "benchmarks compile and run once (smoke; numbers come from 'cargo bench')"
  cargo test --workspace --locked --benches || die "benchmarks failed"
fi

step "all suites passed"
