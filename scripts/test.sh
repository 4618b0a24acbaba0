#!/usr/bin/env bash
# Run every test of the project. Provisions what the suites need (the wasm32-wasip2
# target, node packages, the example guard components, the S3-protocol test server, a
# throwaway PostgreSQL when DATABASE_URL is unset) and fails loudly when it cannot:
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

step "test services: s3s-fs (S3 protocol) and PostgreSQL"
s3s_bin=$(scripts/install-s3s.sh | tail -n 1) || die "cannot install the S3-protocol test server (scripts/install-s3s.sh)"
export CLAWDSTRIKE_S3S_FS="$s3s_bin"
if [[ -z "${DATABASE_URL:-}" ]]; then
  pg_dir=$(mktemp -d /tmp/clawdstrike-pg.XXXXXX)
  pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  trap 'scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true; rm -rf "$pg_dir"' EXIT
  DATABASE_URL=$(scripts/postgres.sh start "$pg_dir" "$pg_port" | tail -n 1) \
    || die "cannot start a throwaway PostgreSQL (install the postgresql server package, or set DATABASE_URL)"
  export DATABASE_URL
  echo "throwaway PostgreSQL at $DATABASE_URL"
else
  echo "PostgreSQL from DATABASE_URL"
fi

step "unit, integration and doc tests (example guards natively and in the sandbox; SQLite and PostgreSQL; local and S3 blobs)"
cargo build --locked --bins || die "cannot build the binaries the end-to-end tests run"
cargo test --workspace --all-features --locked --no-fail-fast || die "tests failed"

step "the embedding example (an agent runtime embedding the engine) builds and decides as documented"
cargo run --locked -q -p embedding-example || die "the embedding example failed (examples/embedding)"

step "TypeScript SDK and TypeScript guard tests"
npm test --workspaces --if-present || die "TypeScript tests failed"

if [[ $quick == 0 ]]; then
  step "tutorials, executed step by step"
  cargo build --locked -p clawdstrike-cli --bin clawdstrike || die "cannot build the clawdstrike CLI"
  # The tutorials build in temp dirs; sharing the target dir reuses the compiled SDK.
  export CARGO_TARGET_DIR="$target_dir" CLAWDSTRIKE_BIN="$target_dir/debug/clawdstrike" \
    CLAWDSTRIKE_TUTORIAL_REQUIRE_ENGINE=1
  tests/tutorial/rust.sh || die "the Rust tutorial does not work as written"
  tests/tutorial/typescript.sh || die "the TypeScript tutorial does not work as written"

  step "benchmarks compile and run once (smoke; numbers come from 'cargo bench')"
  cargo test --workspace --locked --benches || die "benchmarks failed"
fi

step "all suites passed"
