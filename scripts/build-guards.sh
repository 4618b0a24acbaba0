#!/usr/bin/env bash
# Build every Rust example guard as a WebAssembly component and put it where its
# manifest points (examples/guards/<dir>/dist/guard.wasm), then build the TypeScript
# guards (scripts/build-guards-ts.sh) when that script exists.
#
#   scripts/build-guards.sh
#
# Honours CARGO_TARGET_DIR. Idempotent: run it again and only what changed is rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

# <directory under examples/guards>:<crate name>
GUARDS=(
  "acme-secrets:acme-secrets-guard"
  "parity-rust:parity-rust-guard"
  "reputation:reputation-guard"
  "hostile:hostile-guard"
)

command -v cargo >/dev/null || die "cargo is not installed (install Rust with rustup)"
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2 || die "cannot install the wasm32-wasip2 target"
fi

target_dir="${CARGO_TARGET_DIR:-target}"
packages=()
for g in "${GUARDS[@]}"; do packages+=(-p "${g#*:}"); done

printf '==> cargo build --target wasm32-wasip2 --profile guard %s\n' "${packages[*]}"
cargo build --locked --target wasm32-wasip2 --profile guard "${packages[@]}" \
  || die "building the Rust guards failed"

for g in "${GUARDS[@]}"; do
  dir="examples/guards/${g%%:*}"
  crate="${g#*:}"
  src="$target_dir/wasm32-wasip2/guard/${crate//-/_}.wasm"
  [[ -f "$src" ]] || die "$src was not produced"
  # A component starts with "\0asm" and layer 1 (0d 00 01 00); a core module has 01 00 00 00.
  magic=$(od -An -tx1 -N8 "$src" | tr -d ' \n')
  [[ "$magic" == 0061736d0d000100 ]] || die "$src is not a WebAssembly component (header $magic)"
  mkdir -p "$dir/dist"
  # Copy then rename, so a reader never sees a half-written component.
  cp "$src" "$dir/dist/guard.wasm.tmp"
  mv -f "$dir/dist/guard.wasm.tmp" "$dir/dist/guard.wasm"
  printf '    %-45s %8d bytes\n' "$dir/dist/guard.wasm" "$(wc -c <"$dir/dist/guard.wasm")"
done

if [[ -f scripts/build-guards-ts.sh ]]; then
  printf '==> scripts/build-guards-ts.sh\n'
  bash scripts/build-guards-ts.sh || die "building the TypeScript guards failed"
fi
printf '==> guards built\n'
