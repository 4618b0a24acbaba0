#!/usr/bin/env bash
# Load-test the registry with a real HTTP load generator (wrk) and compare with verdaccio
# serving an npm packument, all on this machine in one run:
#   * GET manifest and GET guard details, 64 connections, on SQLite and on PostgreSQL;
#   * publish of a 1 MB package, p50 over N publishes (curl's time_total);
#   * verdaccio's GET packument, 64 connections: the baseline for the ratio.
#
#   scripts/bench-registry.sh [SECONDS]      # default 10 s per wrk run
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
secs=${1:-10}
publishes=${PUBLISHES:-40}
tools=${CLAWDSTRIKE_TOOLS_DIR:-$HOME/.cache/clawdstrike-registry/tools}
target_dir=${CARGO_TARGET_DIR:-$root/target}
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; die "$1 did not come up"; }

command -v wrk >/dev/null || apt-get install -y wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
work=$(mktemp -d /tmp/clawdstrike-bench.XXXXXX)
chmod 755 "$work"   # the PostgreSQL cluster below runs as another user
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n ${pg_dir:-} ]] && scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

step "build (release) and example guards"
scripts/build-guards.sh >&2 || die "building the example guards failed"
cargo build --locked --release -p clawdstrike-registry >&2 || die "cannot build the registry"
registry="$target_dir/release/clawdstrike-registry"

# wrk URL -> "requests/s p99"
load() {
  local out rps p99
  out=$(wrk -t2 -c64 -d"${secs}s" --latency "$1")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local errors
  errors=$(awk '/Non-2xx|Socket errors/' <<<"$out")
  [[ -z $errors ]] || { echo "$out" >&2; die "wrk saw errors against $1"; }
  echo "$rps $p99"
}

# 1 MB crates built from the ACME guard's component plus random bytes.
make_packages() {
  python3 - "$1" "$publishes" "$root/examples/guards/acme-secrets" <<'PY'
import io, os, sys, tarfile
out, n, acme = sys.argv[1], int(sys.argv[2]), sys.argv[3]
manifest = open(os.path.join(acme, "clawdstrike.plugin.toml")).read()
manifest = manifest.replace('name = "acme-secrets-guard"', 'name = "bench-guard"', 1)
wasm = open(os.path.join(acme, "dist/guard.wasm"), "rb").read()
for i in range(n):
    version = f"1.0.{i}"
    root = f"bench-guard-{version}/"
    files = {
        root + "Cargo.toml": f'[package]\nname = "bench-guard"\nversion = "{version}"\nlicense = "MIT"\n'.encode(),
        root + "clawdstrike.plugin.toml": manifest.encode(),
        root + "dist/guard.wasm": wasm,
        root + "data.bin": os.urandom(1024 * 1024 - len(wasm) // 2),
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name); info.size = len(data); info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    open(os.path.join(out, f"bench-{i}.crate"), "wb").write(buf.getvalue())
PY
}

run_registry() { # label database_url
  local label=$1 url=$2 data="$work/$1" port
  port=$(free_port)
  mkdir -p "$data"
  CLAWDSTRIKE_LOG=warn CLAWDSTRIKE_DATABASE_URL="$url" "$registry" serve --data-dir "$data" \
    --listen "127.0.0.1:$port" --seed examples/guards >"$data/out.log" 2>"$data/err.log" &
  pids+=($!)
  local base="http://127.0.0.1:$port"
  wait_for "$base/readyz"
  local token
  CLAWDSTRIKE_DATABASE_URL="$url" "$registry" --data-dir "$data" publisher create bench >/dev/null
  token=$(CLAWDSTRIKE_DATABASE_URL="$url" "$registry" --data-dir "$data" token create --publisher bench --scope 'publish:*' 2>/dev/null)
  local manifest="$base/api/v1/guards/acme-secrets-guard/0.1.0/manifest" details="$base/api/v1/guards/acme-secrets-guard"
  curl -fsS -o /dev/null "$manifest" || die "$label: manifest route failed"
  read -r m_rps m_p99 < <(load "$manifest")
  read -r d_rps d_p99 < <(load "$details")
  # The list reads the database on every request (no cache): the floor under the two above.
  read -r l_rps l_p99 < <(load "$base/api/v1/guards")
  mkdir -p "$data/pkgs"; make_packages "$data/pkgs"
  local times=()
  for f in "$data"/pkgs/*.crate; do
    t=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/gzip' --data-binary @"$f" "$base/api/v1/guards")
    [[ ${t%% *} == 201 ]] || die "$label: publish of $f answered ${t%% *}"
    times+=("${t#* }")
  done
  p50=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)] * 1000}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$m_rps" "$m_p99" "$d_rps" "$d_p99" "$l_rps" "$l_p99" "$p50" >>"$work/results"
}

step "registry on SQLite"
run_registry sqlite "sqlite://$work/sqlite/registry.db?mode=rwc"
step "registry on PostgreSQL"
pg_dir="$work/pg"
pg_url=$(scripts/postgres.sh start "$pg_dir" "$(free_port)" | tail -n 1) || die "cannot start PostgreSQL"
psql "$pg_url" -qc 'CREATE DATABASE bench' >/dev/null || die "cannot create the bench database"
run_registry postgres "${pg_url%/postgres}/bench"

step "verdaccio (baseline): an npm packument"
vdir="$tools/verdaccio"
if [[ ! -x $vdir/node_modules/verdaccio/bin/verdaccio ]]; then
  mkdir -p "$vdir"
  cat >"$vdir/package.json" <<'JSON'
{ "private": true, "dependencies": { "verdaccio": "6.8.x" }, "overrides": { "node-fetch@cjs": "2.7.0" } }
JSON
  (cd "$vdir" && npm install --no-audit --no-fund >&2) || die "cannot install verdaccio"
fi
vport=$(free_port); vwork="$work/verdaccio"; mkdir -p "$vwork/storage"
cat >"$vwork/config.yaml" <<YAML
storage: $vwork/storage
auth: { htpasswd: { file: $vwork/htpasswd } }
uplinks: {}
packages: { '**': { access: \$all, publish: \$authenticated } }
middlewares: { audit: { enabled: false } }
log: { type: stdout, format: pretty, level: error }
YAML
node "$vdir/node_modules/verdaccio/bin/verdaccio" --config "$vwork/config.yaml" --listen "127.0.0.1:$vport" >"$vwork/log" 2>&1 &
pids+=($!)
vbase="http://127.0.0.1:$vport"
wait_for "$vbase/-/ping"
vtoken=$(curl -fsS -X PUT -H 'content-type: application/json' -d '{"name":"bench","password":"bench-password"}' \
  "$vbase/-/user/org.couchdb.user:bench" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
mkdir -p "$vwork/pkg"
echo '{"name":"@bench/guard","version":"1.0.0","description":"bench"}' >"$vwork/pkg/package.json"
echo "//127.0.0.1:$vport/:_authToken=$vtoken" >"$vwork/.npmrc"
(cd "$vwork/pkg" && npm publish --registry "$vbase" --userconfig "$vwork/.npmrc" >/dev/null 2>&1) || die "npm publish to verdaccio failed"
read -r v_rps v_p99 < <(load "$vbase/@bench%2fguard")

printf '\nResults (%s s per run, wrk -t2 -c64, this machine: %s cores)\n' "$secs" "$(nproc)"
printf '%-9s %13s %8s %13s %8s %13s %8s %12s\n' backend "manifest rps" p99 "details rps" p99 "list rps" p99 "publish p50"
while IFS=$'\t' read -r label mr mp dr dp lr lp pp; do
  printf '%-9s %13s %8s %13s %8s %13s %8s %9s ms   manifest/verdaccio = %s\n' "$label" "$mr" "$mp" "$dr" "$dp" "$lr" "$lp" "$pp" \
    "$(python3 -c "print(f'{$mr/$v_rps:.1f}x')")"
done <"$work/results"
printf '%-9s %14s %9s   (GET packument)\n' verdaccio "$v_rps" "$v_p99"
