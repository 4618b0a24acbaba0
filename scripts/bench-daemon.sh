#!/usr/bin/env bash
# Load-test `clawdstrike daemon` with wrk: decisions per second and latency over HTTP with
# the `default` ruleset, the load generator on the same machine.
#
#   scripts/bench-daemon.sh [SECONDS] [CONNECTIONS]    # default 10 s, 64 connections
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
target_dir=${CARGO_TARGET_DIR:-target}
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
cargo build --locked --release -p clawdstrike-cli --bin clawdstrike >&2 || die "cannot build clawdstrike"
work=$(mktemp -d /tmp/clawdstrike-daemon-bench.XXXXXX)
pid=
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$target_dir/release/clawdstrike" daemon --policy default --listen "127.0.0.1:$port" >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break; sleep 0.1; done
# A mix of the events agents send most: reads, writes, commands, egress.
cat >"$work/mix.lua" <<'LUA'
local events = {
  '{"eventId":"a","eventType":"file_read","data":{"type":"file","path":"/repo/src/main.rs"}}',
  '{"eventId":"b","eventType":"file_read","data":{"type":"file","path":"/home/me/.ssh/id_rsa"}}',
  '{"eventId":"c","eventType":"command_exec","data":{"type":"command","command":"ls","args":["-la"]}}',
  '{"eventId":"d","eventType":"network_egress","data":{"type":"network","host":"api.example.com","port":443}}',
  '{"eventId":"e","eventType":"file_write","data":{"type":"file","path":"/repo/README.md","content":"hello world"}}',
}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i + 1
  return wrk.format(nil, "/api/v1/check", nil, events[(i % #events) + 1])
end
LUA
out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/mix.lua" "http://127.0.0.1:$port")
echo "$out" >&2
grep -q "Non-2xx" <<<"$out" && die "the daemon answered errors"
rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
p50=$(awk '$1=="50%" {print $2}' <<<"$out")
p99=$(awk '$1=="99%" {print $2}' <<<"$out")
printf '\ndaemon, default ruleset, wrk -t2 -c%s %ss on %s cores: %s decisions/s, p50 %s, p99 %s\n' "$conns" "$secs" "$(nproc)" "$rps" "$p50" "$p99"
