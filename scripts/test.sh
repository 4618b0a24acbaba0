#!/usr/bin/env bash
# Run every test of the project. Provisions what the suites need (the wasm32-wasip2
# target, node packages, the example guard components) and fails loudly when it cannot:
# a suite is never skipped silently.
#
#   scripts/test.sh            # everything
#   scripts/test.sh --quick    # skip clippy, the tutorials and the benchmark smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

quick=0
[[ "${1:-}" == "--quick" ]] && quick=1

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo is not installed (install Rust with rustup)"
command -v node >/dev/null || die "node is not installed (Node 20 or later is needed for the TypeScript SDK)"
command -v npm >/dev/null || die "npm is not installed (it comes with Node)"

step "toolchain: $(rustc --version), node $(node --version), npm $(npm --version)"
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy \
  || die "cannot install rustfmt and clippy"
rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2 \
  || die "cannot install the wasm32-wasip2 target (rustup target add wasm32-wasip2)"

target_dir=${CARGO_TARGET_DIR:-$root/target}

step "format"
cargo fmt --all --check || die "cargo fmt found unformatted code: run 'cargo fmt --all'"

step "example guard components (Rust for wasm32-wasip2, TypeScript with ComponentizeJS)"
scripts/build-guards.sh || die "building the example guards failed"

if [[ $quick == 0 ]]; then
  step "clippy"
  cargo clippy --workspace --all-targets --all-features --locked -- -D warnings || die "clippy found problems"
  cargo clippy --locked --target wasm32-wasip2 -p clawdstrike-guard-sdk -p acme-secrets-guard \
    -p parity-rust-guard -p reputation-guard -p hostile-guard -- -D warnings \
    || die "clippy found problems in the guest code (wasm32-wasip2)"
fi

step "unit, integration and doc tests (example guards natively and in the sandbox)"
cargo test --workspace --all-features --locked --no-fail-fast || die "tests failed"

step "TypeScript SDK and TypeScript guard tests"
npm test --workspaces --if-present || die "TypeScript tests failed"

if [[ $quick == 0 ]]; then
  step "tutorials, executed step by step"
  cargo build --locked -p clawdstrike-engine --bin clawdstrike || die "cannot build the clawdstrike CLI"
  # The tutorials build in temp dirs; sharing the target dir reuses the compiled SDK.
  export CARGO_TARGET_DIR="$target_dir" CLAWDSTRIKE_BIN="$target_dir/debug/clawdstrike" \
    CLAWDSTRIKE_TUTORIAL_REQUIRE_ENGINE=1
  tests/tutorial/rust.sh || die "the Rust tutorial does not work as written"
  tests/tutorial/typescript.sh || die "the TypeScript tutorial does not work as written"

  step "benchmarks compile and run once (smoke; numbers come from 'cargo bench')"
  cargo test --workspace --locked --benches || die "benchmarks failed"
fi

step "all suites passed"
