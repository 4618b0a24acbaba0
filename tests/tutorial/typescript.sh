#!/usr/bin/env bash
# Replay docs/tutorial-typescript.md in a temporary directory, exactly as written: every
# fenced block whose info string says `file=NAME` is written to NAME (relative to the
# directory the tutorial is in at that point), every `sh run` block is run, in order.
#
# Two deviations, both so that nothing is fetched from outside: the tutorial's dependency
# on @clawdstrike/guard-sdk is pointed at this repository's sdk/typescript (a `file:`
# path), and npm runs offline. The final `sh run=engine` block runs only when
# CLAWDSTRIKE_BIN names the engine's `clawdstrike` binary; otherwise it is reported as
# skipped, which fails the run only when CLAWDSTRIKE_TUTORIAL_REQUIRE_ENGINE=1.
#
#   tests/tutorial/typescript.sh
#   CLAWDSTRIKE_BIN=target/release/clawdstrike tests/tutorial/typescript.sh
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
doc=$repo/docs/tutorial-typescript.md
sdk=$repo/sdk/typescript

die() { printf '\ntutorial(typescript): FAILED: %s\n' "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

command -v node >/dev/null 2>&1 || die "node is not installed (Node.js 20 or newer)"
command -v npm >/dev/null 2>&1 || die "npm is not installed"
[[ -f $doc ]] || die "$doc is missing"
if [[ -n ${CLAWDSTRIKE_BIN:-} ]]; then
  [[ $CLAWDSTRIKE_BIN == /* ]] || CLAWDSTRIKE_BIN=$repo/$CLAWDSTRIKE_BIN
  [[ -x $CLAWDSTRIKE_BIN ]] || die "CLAWDSTRIKE_BIN=$CLAWDSTRIKE_BIN is not an executable"
fi

# The SDK the tutorial links to must be installed (the root workspace) and compiled.
if [[ ! -d $repo/node_modules/@bytecodealliance/componentize-js ]]; then
  step "install the workspace (npm ci at the repository root)"
  (cd "$repo" && npm ci --no-audit --no-fund) || die "npm ci failed"
fi
step "compile the SDK"
(cd "$repo" && npm run build --silent -w sdk/typescript) || die "the SDK does not compile"

work=$(mktemp -d "${TMPDIR:-/tmp}/clawdstrike-tutorial-ts.XXXXXX")
on_exit() {
  local status=$?
  rm -rf "$work"
  [[ $status -eq 0 ]] || printf '\ntutorial(typescript): FAILED (exit %s): see the step above\n' "$status" >&2
}
trap on_exit EXIT

# Turn the markdown into a bash script. Blocks are read in order; a `file=` block becomes
# a heredoc, a `sh run` block its commands, the engine block a call of engine_step.
node - "$doc" "$sdk" >"$work/tutorial.sh" <<'JS'
const fs = require("node:fs");
const [doc, sdk] = process.argv.slice(2);
const text = fs.readFileSync(doc, "utf8");
const fence = /^```([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;
const out = [];
let files = 0, runs = 0, engine = 0, sdkLinked = false;
for (const [, info, body] of text.matchAll(fence)) {
  const words = info.trim().split(/\s+/);
  const file = words.find((w) => w.startsWith("file="))?.slice("file=".length);
  if (file) {
    let content = body;
    if (file.endsWith("package.json")) {
      // Depend on this repository's SDK instead of the published one.
      const pkg = JSON.parse(content);
      for (const deps of [pkg.dependencies, pkg.devDependencies]) {
        if (deps && "@clawdstrike/guard-sdk" in deps) {
          deps["@clawdstrike/guard-sdk"] = `file:${sdk}`;
          sdkLinked = true;
        }
      }
      content = `${JSON.stringify(pkg, null, 2)}\n`;
    }
    const marker = "TUTORIAL_FILE_END";
    if (content.includes(marker)) throw new Error(`${file} contains ${marker}`);
    out.push(`echo "--- write ${file}"`, `mkdir -p "$(dirname '${file}')"`, `cat > '${file}' <<'${marker}'`, content.replace(/\n$/, ""), marker);
    files += 1;
  } else if (words[0] === "sh" && words.includes("run=engine")) {
    out.push("engine_step <<'TUTORIAL_ENGINE_END'", body.replace(/\n$/, ""), "TUTORIAL_ENGINE_END");
    engine += 1;
  } else if (words[0] === "sh" && words.includes("run")) {
    for (const line of body.replace(/\n$/, "").split("\n")) {
      out.push(`echo '\$ ${line.replace(/'/g, "'\\''")}'`, line);
    }
    runs += 1;
  }
}
if (!files || !runs || engine !== 1 || !sdkLinked) {
  throw new Error(`the tutorial must have file blocks, run blocks, one engine block and a package.json depending on the SDK (files=${files} runs=${runs} engine=${engine} sdk=${sdkLinked})`);
}
process.stdout.write(`${out.join("\n")}\n`);
JS
[[ -s $work/tutorial.sh ]] || die "could not extract the tutorial's blocks from $doc"

engine_ran=0
# The engine step: run the tutorial's command with `clawdstrike` meaning $CLAWDSTRIKE_BIN;
# the tutorial says it denies with the guard's reason and exits 1.
engine_step() {
  local command output code
  command=$(cat)
  if [[ -z ${CLAWDSTRIKE_BIN:-} ]]; then
    echo "--- engine step skipped: CLAWDSTRIKE_BIN is not set ($command)"
    return 0
  fi
  echo "\$ $command"
  set +e
  output=$(clawdstrike() { "$CLAWDSTRIKE_BIN" "$@"; }; eval "$command" 2>&1)
  code=$?
  set -e
  printf '%s\n' "$output"
  [[ $code -eq 1 ]] || die "the engine exited with $code, the tutorial says 1 (denied)"
  grep -q '^DENY.*spdx_header' <<<"$output" || die "the engine's output does not show a deny by spdx_header"
  grep -q 'src/app.ts has no SPDX-License-Identifier header' <<<"$output" \
    || die "the engine's output does not carry the guard's reason"
  engine_ran=1
}

step "replay the tutorial in $work"
export npm_config_offline=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
cd "$work"
# Sourced, so the tutorial's `cd`s carry from block to block; set -e stops at a failing step.
# shellcheck source=/dev/null
source "$work/tutorial.sh"

if [[ $engine_ran -eq 0 ]]; then
  if [[ ${CLAWDSTRIKE_TUTORIAL_REQUIRE_ENGINE:-} == 1 ]]; then
    die "the engine step was skipped but CLAWDSTRIKE_TUTORIAL_REQUIRE_ENGINE=1: set CLAWDSTRIKE_BIN"
  fi
  step "tutorial passed (engine step skipped: set CLAWDSTRIKE_BIN to run it)"
else
  step "tutorial passed, engine step included"
fi
