#!/usr/bin/env bash
# Build every TypeScript example guard (examples/guards/*/ with a package.json) into its
# dist/guard.wasm with ComponentizeJS, through the npm workspace at the repository root.
#
#   scripts/build-guards-ts.sh           # install what is missing, build what changed
#   scripts/build-guards-ts.sh --force   # rebuild every component
#
# Idempotent: `npm ci` runs only when node_modules is missing or older than
# package-lock.json (or a workspace's package.json), and a guard whose bundle, WIT and
# toolchain are unchanged is not componentized again. Fails (non-zero, with the reason)
# when node or npm is missing or too old, or when any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

force=()
case "${1:-}" in
  "") ;;
  --force) force=(-- --force) ;;
  *) printf 'usage: %s [--force]\n' "$0" >&2; exit 2 ;;
esac

die() { printf '\nbuild-guards-ts: FAILED: %s\n' "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

started=$(now)

command -v node >/dev/null 2>&1 || die "node is not installed (Node.js 20 or newer is needed to build TypeScript guards)"
command -v npm >/dev/null 2>&1 || die "npm is not installed (it comes with Node.js 20 or newer)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[[ $node_major -ge 20 ]] || die "Node.js $(node --version) is too old: 20 or newer is needed"
step "toolchain: node $(node --version), npm $(npm --version 2>/dev/null)"

# --- dependencies -------------------------------------------------------------------
# npm records the installed tree in node_modules/.package-lock.json; when the lockfile or
# a workspace manifest is newer, or a tool is missing, the tree is stale.
stale=""
if [[ ! -d node_modules ]]; then
  stale="node_modules is missing"
elif [[ ! -f node_modules/.package-lock.json ]]; then
  stale="node_modules has no record of what was installed"
else
  for manifest in package-lock.json package.json sdk/typescript/package.json examples/guards/*/package.json; do
    if [[ -f $manifest && $manifest -nt node_modules/.package-lock.json ]]; then
      stale="$manifest changed since the last install"
      break
    fi
  done
  for tool in node_modules/.bin/clawdstrike-guard-build node_modules/.bin/tsc node_modules/esbuild node_modules/@bytecodealliance/componentize-js; do
    [[ -e $tool ]] || { stale="$tool is missing"; break; }
  done
fi
if [[ -n $stale ]]; then
  t=$(now)
  if [[ -f package-lock.json ]]; then
    step "npm ci ($stale)"
    npm ci --no-audit --no-fund || die "npm ci failed"
  else
    step "npm install ($stale; no package-lock.json yet)"
    npm install --no-audit --no-fund || die "npm install failed"
  fi
  printf 'dependencies installed in %s\n' "$(since "$t")"
else
  step "dependencies are up to date"
fi

# --- the SDK ------------------------------------------------------------------------
t=$(now)
step "compile the SDK (sdk/typescript)"
npm run build --silent -w sdk/typescript || die "the SDK does not compile"
printf 'SDK compiled in %s\n' "$(since "$t")"

# --- the guards ---------------------------------------------------------------------
workspaces=$(node -p 'JSON.stringify(require("./package.json").workspaces ?? [])')
built=0
for manifest in examples/guards/*/package.json; do
  [[ -f $manifest ]] || continue
  dir=${manifest%/package.json}
  [[ -f $dir/clawdstrike.plugin.json ]] || die "$dir has a package.json but no clawdstrike.plugin.json"
  node -e 'process.exit(JSON.parse(process.argv[1]).includes(process.argv[2]) ? 0 : 1)' "$workspaces" "$dir" \
    || die "$dir is not in the workspaces of the root package.json: add it there so its dependencies are installed"
  t=$(now)
  step "build $dir"
  npm run build --silent -w "$dir" "${force[@]}" || die "building $dir failed"
  [[ -s $dir/dist/guard.wasm ]] || die "$dir/dist/guard.wasm was not written"
  printf '%s done in %s\n' "$dir" "$(since "$t")"
  built=$((built + 1))
done
[[ $built -gt 0 ]] || die "no TypeScript guard found under examples/guards/"

step "built $built TypeScript guard(s) in $(since "$started")"
