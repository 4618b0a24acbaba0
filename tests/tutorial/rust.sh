#!/usr/bin/env bash
# Run docs/tutorial-rust.md exactly as written, in a temporary directory:
#   ```LANG file=PATH``` blocks are written to PATH (relative to the tutorial's root),
#   ```sh run``` blocks are executed in order in one shell (so `cd` carries over),
#   ```sh engine [exit=N] [contains=TEXT]``` blocks need the engine's plugin host: they
#   run (and must pass) only with CLAWDSTRIKE_TUTORIAL_REQUIRE_ENGINE=1.
# The SDK dependency is pointed at sdk/rust of this checkout and the workspace's
# Cargo.lock is reused, so nothing new is fetched. Reuses $CARGO_TARGET_DIR if set.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
doc="$repo/docs/tutorial-rust.md"
require_engine="${CLAWDSTRIKE_TUTORIAL_REQUIRE_ENGINE:-0}"

die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }
[[ -f "$doc" ]] || die "$doc not found"
if [[ -n "${CARGO_TARGET_DIR:-}" && "$CARGO_TARGET_DIR" != /* ]]; then
  export CARGO_TARGET_DIR="$repo/$CARGO_TARGET_DIR"
fi

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

if [[ "$require_engine" == 1 ]]; then
  # `clawdstrike check` in the tutorial is the engine's CLI from this checkout.
  (cd "$repo" && cargo build --locked -q -p clawdstrike-cli --bin clawdstrike) \
    || die "cannot build the clawdstrike CLI"
  export PATH="${CARGO_TARGET_DIR:-$repo/target}/debug:$PATH"
fi

# Turn the tutorial into one script. awk keeps the blocks in document order.
script="$root/.tutorial.sh"
awk -v repo="$repo" '
  function q(s) { gsub(/\047/, "\047\\\047\047", s); return "\047" s "\047" }
  /^```/ && !inblock {
    info = substr($0, 4); kind = ""; path = ""; exitc = 0; contains = ""
    n = split(info, w, " ")
    for (i = 2; i <= n; i++) {
      if (w[i] ~ /^file=/) path = substr(w[i], 6)
      else if (w[i] ~ /^exit=/) exitc = substr(w[i], 6)
      else if (w[i] ~ /^contains=/) contains = substr(w[i], 10)
      else if (w[i] == "run" || w[i] == "engine") kind = w[i]
    }
    if (path != "") kind = "file"
    inblock = 1; body = ""; next
  }
  /^```$/ && inblock {
    inblock = 0
    if (kind == "file") {
      printf "mkdir -p \"$TUT_ROOT\"/%s\n", q(path ~ /\// ? substr(path, 1, match(path, /\/[^\/]*$/) - 1) : ".")
      printf "cat > \"$TUT_ROOT\"/%s <<\047CLAWDSTRIKE_TUTORIAL_EOF\047\n%sCLAWDSTRIKE_TUTORIAL_EOF\n", q(path), body
      if (path ~ /(^|\/)Cargo\.toml$/) {
        # Depend on this checkout'"'"'s SDK and pin the workspace'"'"'s versions.
        printf "sed -i %s \"$TUT_ROOT\"/%s\n", q("s#^clawdstrike-guard-sdk = \"0.1\"$#clawdstrike-guard-sdk = { path = \"" repo "/sdk/rust\" }#"), q(path)
        printf "grep -q %s \"$TUT_ROOT\"/%s || { echo \"the tutorial Cargo.toml no longer names the SDK as expected\" >&2; exit 1; }\n", q("sdk/rust"), q(path)
        printf "cp %s \"$(dirname \"$TUT_ROOT\"/%s)/Cargo.lock\"\n", q(repo "/Cargo.lock"), q(path)
      }
    } else if (kind == "run") {
      printf "echo %s\n%s", q("==> " body), body
    } else if (kind == "engine") {
      printf "if [[ \"$TUT_ENGINE\" == 1 ]]; then\n  echo %s\n", q("==> " body)
      printf "  set +e; out=$( {\n%s} 2>&1 ); rc=$?; set -e\n  printf \"%%s\\n\" \"$out\"\n", body
      printf "  [[ $rc == %s ]] || { echo \"expected exit code %s, got $rc\" >&2; exit 1; }\n", exitc, exitc
      if (contains != "") printf "  grep -qF -- %s <<<\"$out\" || { echo %s >&2; exit 1; }\n", q(contains), q("expected the output to contain " contains)
      printf "else\n  echo %s\nfi\n", q("==> SKIPPED (needs the engine; set CLAWDSTRIKE_TUTORIAL_REQUIRE_ENGINE=1): " body)
    }
    next
  }
  inblock { body = body $0 "\n" }
' "$doc" > "$script"

grep -q 'CLAWDSTRIKE_TUTORIAL_EOF' "$script" || die "no file blocks found in $doc"
cd "$root"
TUT_ROOT="$root" TUT_ENGINE="$require_engine" bash -euo pipefail "$script" || die "the tutorial failed at the step printed above"
printf '\n==> tutorial passed%s\n' "$([[ $require_engine == 1 ]] || echo ' (engine steps skipped)')"
