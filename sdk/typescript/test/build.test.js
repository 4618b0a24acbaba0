// The build: clawdstrike-guard-build's arguments, the checks it makes before spending
// ComponentizeJS's time, the interface check on what it produced, and skipping a build
// when nothing changed.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import {
  BuildError,
  buildGuard,
  checkManifest,
  inspectComponent,
  interfaceProblems,
} from "../dist/build/index.js";
import { parseArgs } from "../dist/build/cli.js";

const run = promisify(execFile);
const bin = fileURLToPath(new URL("../bin/clawdstrike-guard-build.js", import.meta.url));
const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const hostGuard = `${fixtures}host-guard`;
const info = { name: "no-init", version: "0.1.0", handles: ["tool_call"] };

test("arguments: entry, --out, --force, help, mistakes", () => {
  assert.deepEqual(parseArgs([]), {});
  assert.deepEqual(parseArgs(["src/main.ts", "--out", "out/g.wasm", "--force"]), {
    entry: "src/main.ts",
    out: "out/g.wasm",
    force: true,
  });
  assert.deepEqual(parseArgs(["--out=x.wasm"]), { out: "x.wasm" });
  assert.equal(parseArgs(["--help"]), undefined);
  assert.throws(() => parseArgs(["--fast"]), /unknown option --fast/);
  assert.throws(() => parseArgs(["a.ts", "b.ts"]), /one ENTRY only/);
  assert.throws(() => parseArgs(["--out"]), /--out needs a file name/);
});

test("the command: help exits 0, a bad option exits 2", async () => {
  const help = await run(process.execPath, [bin, "--help"]);
  assert.match(help.stdout, /^Usage: clawdstrike-guard-build \[ENTRY\]/);
  await assert.rejects(run(process.execPath, [bin, "--nope"]), (e) => e.code === 2 && /unknown option --nope/.test(e.stderr));
});

test("describe() must match the manifest entry of the component", async () => {
  const dir = `${fixtures}mismatch`;
  await assert.rejects(
    buildGuard({ cwd: dir }),
    (e) => e instanceof BuildError && /handles \[tool_call\] but clawdstrike.plugin.json declares \[file_read, tool_call\]/.test(e.message),
  );
  await assert.rejects(
    checkManifest(dir, `${dir}/dist/other.wasm`, info),
    /describe\(\) says the guard is "no-init" but clawdstrike.plugin.json names the guard at dist\/other.wasm "someone_else"/,
  );
  assert.deepEqual(await checkManifest(dir, `${dir}/dist/third.wasm`, info), [
    "clawdstrike.plugin.json has no guard whose entrypoint is dist/third.wasm",
  ]);
  assert.match((await checkManifest(fixtures, `${fixtures}dist/guard.wasm`, info))[0], /^no clawdstrike.plugin.json in /);
  assert.ok(!existsSync(`${dir}/dist/guard.wasm`), "nothing was componentized");
});

test("a source that imports a Node.js built-in does not build", async () => {
  await assert.rejects(
    buildGuard({ cwd: fixtures, entry: "uses-node.ts", out: "dist/uses-node.wasm" }),
    /cannot bundle .*uses-node\.ts:\n  .*Could not resolve "node:fs" \(guards run in a WebAssembly sandbox without Node\.js APIs/s,
  );
});

test("the interface check refuses foreign imports and missing exports", () => {
  assert.deepEqual(
    interfaceProblems({
      wit: "",
      imports: ["clawdstrike:guard/host@1.0.0", "wasi:cli/environment@0.2.3"],
      exports: ["describe", "check"],
    }),
    [
      "imports wasi:cli/environment@0.2.3, which the engine refuses (a guard may import only clawdstrike:guard/host@1.0.0, clawdstrike:guard/state@1.0.0, clawdstrike:guard/types@1.0.0)",
      "does not export init",
    ],
  );
});

test("a built component imports only the guard world and is rebuilt only when it changed", async () => {
  const first = await buildGuard({ cwd: hostGuard });
  const iface = await inspectComponent(first.outFile);
  assert.deepEqual(interfaceProblems(iface), []);
  assert.deepEqual([...iface.imports].sort(), [
    "clawdstrike:guard/host@1.0.0",
    "clawdstrike:guard/state@1.0.0",
    "clawdstrike:guard/types@1.0.0",
  ]);
  assert.deepEqual([...iface.exports].sort(), ["check", "describe", "init"]);
  assert.match(iface.wit, /export check: func\(event: string\) -> result<verdict, string>;/);

  const stamp = JSON.parse(readFileSync(`${hostGuard}/dist/guard.build.json`, "utf8"));
  assert.deepEqual(stamp.disabledFeatures, ["random", "stdio", "clocks", "http", "fetch-event"]);

  const second = await buildGuard({ cwd: hostGuard });
  assert.equal(second.upToDate, true);
  assert.equal(second.size, readFileSync(first.outFile).length);

  const cli = await run(process.execPath, [bin], { cwd: hostGuard });
  assert.match(cli.stdout, /^dist\/guard\.wasm is up to date \(host_calls 0\.1\.0, [\d.]+ MiB; src\/guard\.ts bundles to the same code\), checked in /);
});
