#!/usr/bin/env bash
# Whole-process `clawdstrike check --policy default --json` on 10k, 100k and 1M JSON-lines
# events (twelve event shapes of every type, repeated): wall time, events per second and
# peak resident memory, so how the cost grows with the input is visible in one run.
#
#   scripts/bench-check.sh [SIZES...]     # default: 10000 100000 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }
sizes=("$@")
[[ ${#sizes[@]} -eq 0 ]] && sizes=(10000 100000 1000000)
cargo build --locked --release -p clawdstrike-cli --bin clawdstrike >&2 || die "cannot build clawdstrike"
bin="$target_dir/release/clawdstrike"
work=$(mktemp -d /tmp/clawdstrike-check-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 - "$work" "${sizes[@]}" <<'PY'
import json, sys
work, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]]
shapes = [
    {"eventType": "file_read", "data": {"type": "file", "path": "/repo/src/main.rs"}},
    {"eventType": "file_read", "data": {"type": "file", "path": "/home/me/.ssh/id_rsa"}},
    {"eventType": "file_write", "data": {"type": "file", "path": "/repo/README.md", "content": "hello world"}},
    {"eventType": "file_write", "data": {"type": "file", "path": "/repo/.env", "content": "AWS_SECRET_ACCESS_KEY=abc"}},
    {"eventType": "command_exec", "data": {"type": "command", "command": "ls", "args": ["-la"]}},
    {"eventType": "command_exec", "data": {"type": "command", "command": "cat", "args": ["/etc/shadow"]}},
    {"eventType": "network_egress", "data": {"type": "network", "host": "api.github.com", "port": 443}},
    {"eventType": "network_egress", "data": {"type": "network", "host": "evil.example.net", "port": 443}},
    {"eventType": "patch_apply", "data": {"type": "patch", "filePath": "/repo/src/lib.rs", "patchContent": "+fn main() {}\n-fn old() {}\n"}},
    {"eventType": "tool_call", "data": {"type": "tool", "toolName": "read_file", "parameters": {"path": "/repo/a"}}},
    {"eventType": "tool_call", "data": {"type": "tool", "toolName": "mcp__server__shell_exec", "parameters": {"cmd": "rm -rf /"}}},
    {"eventType": "secret_access", "data": {"type": "secret", "key": "DATABASE_URL"}},
]
for n in sizes:
    with open(f"{work}/events-{n}.jsonl", "w") as f:
        for i in range(n):
            e = dict(shapes[i % len(shapes)])
            e = {"eventId": f"e{i}", **e}
            f.write(json.dumps(e, separators=(",", ":")) + "\n")
PY
printf '%10s %10s %12s %14s %12s\n' events seconds events/s "peak RSS MB" "input MB"
for n in "${sizes[@]}"; do
  input="$work/events-$n.jsonl"
  /usr/bin/time -f '%e %M' -o "$work/time" "$bin" check --policy default --json --event "$input" >"$work/out" 2>"$work/err" || [[ $? == 1 ]] \
    || { cat "$work/err" >&2; die "clawdstrike check failed on $n events"; }
  [[ $(wc -l <"$work/out") == "$n" ]] || die "expected $n decisions, got $(wc -l <"$work/out")"
  read -r secs kb < <(tail -n 1 "$work/time")
  python3 -c "import sys; n,s,kb,b=int(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]),int(sys.argv[4]); print(f'{n:>10} {s:>10.2f} {n/max(s,1e-9):>12,.0f} {kb/1024:>14.1f} {b/1e6:>12.1f}')" \
    "$n" "$secs" "$kb" "$(stat -c %s "$input")"
done
