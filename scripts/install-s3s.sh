#!/usr/bin/env bash
# Install the S3-protocol test server `s3s-fs` (pinned to 0.14.1: 0.15 and newer need a newer
# rustc) into a cached tools directory, for the registry's S3 blob-store tests.
#
#   scripts/install-s3s.sh
#
# Install root: $CLAWDSTRIKE_TOOLS_DIR (default $HOME/.cache/clawdstrike-registry/tools); the
# binary lands in $ROOT/bin/s3s-fs. Idempotent: nothing is built when that binary already
# reports version 0.14.1. The build uses its own CARGO_TARGET_DIR ($ROOT/build, removed after a
# successful install) so that it never invalidates the workspace's target directory. The last
# line printed is the binary's path; on any failure the script exits non-zero with the reason.
set -euo pipefail

version="0.14.1"
root="${CLAWDSTRIKE_TOOLS_DIR:-$HOME/.cache/clawdstrike-registry/tools}"
bin="$root/bin/s3s-fs"

die() { printf 'install-s3s: FAILED: %s\n' "$*" >&2; exit 1; }

installed_version() {
  # `s3s-fs --version` prints "s3s-fs 0.14.1"; anything else counts as not installed.
  "$bin" --version 2>/dev/null | awk '{ print $NF }' | head -n 1
}

if [[ -x "$bin" ]] && [[ "$(installed_version || true)" == "$version" ]]; then
  printf 'install-s3s: s3s-fs %s already installed\n' "$version" >&2
  printf '%s\n' "$bin"
  exit 0
fi

command -v cargo >/dev/null 2>&1 || die "cargo is not installed (a Rust toolchain is needed to build s3s-fs)"
mkdir -p "$root" || die "cannot create the tools directory $root"

printf 'install-s3s: building s3s-fs %s into %s (this takes a few minutes)\n' "$version" "$root" >&2
started=$(date +%s)
if ! CARGO_TARGET_DIR="$root/build" cargo install "s3s-fs@$version" \
  --features binary --locked --root "$root" >&2; then
  die "cargo install s3s-fs@$version failed (see the output above)"
fi

[[ -x "$bin" ]] || die "cargo install finished but $bin does not exist"
got="$(installed_version || true)"
[[ "$got" == "$version" ]] || die "$bin reports version '${got:-?}', expected $version"
# The build directory is only useful for a retry after a failure: free the space.
rm -rf "$root/build"
printf 'install-s3s: installed s3s-fs %s in %ss\n' "$version" "$(( $(date +%s) - started ))" >&2
printf '%s\n' "$bin"
