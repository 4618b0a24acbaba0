#!/usr/bin/env bash
# Run the registry on its embedded defaults: a SQLite file, a local blob directory and a
# generated signing key under ./data, with the example guards seeded. Prints the URL; the
# first start also prints a one-time admin token. Extra arguments go to `serve`
# (e.g. --listen 127.0.0.1:9000, --data-dir DIR).
#
#   scripts/serve.sh
set -euo pipefail
cd "$(dirname "$0")/.."
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }
command -v cargo >/dev/null || die "cargo is not installed (install Rust with rustup)"
command -v npm >/dev/null || die "npm is not installed (the TypeScript example guard needs Node 20+)"
scripts/build-guards.sh >&2 || die "building the example guards failed"
cargo build --locked --release -p clawdstrike-registry >&2 || die "cannot build the registry"
target_dir="${CARGO_TARGET_DIR:-target}"
exec "$target_dir/release/clawdstrike-registry" serve --seed examples/guards "$@"
