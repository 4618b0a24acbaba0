// What the built component looks like from outside: `jco wit dist/guard.wasm` shows that it
// imports only the guard world's own interfaces and exports describe, init and check, and
// it describes itself as the manifest says.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { guardTest } from "@clawdstrike/guard-sdk/testing";
import { inspectComponent, interfaceProblems } from "@clawdstrike/guard-sdk/build";

const wasm = fileURLToPath(new URL("../dist/guard.wasm", import.meta.url));
const manifest = JSON.parse(
  readFileSync(new URL("../clawdstrike.plugin.json", import.meta.url), "utf8"),
);

test("jco wit: imports only clawdstrike:guard interfaces, exports describe/init/check", () => {
  const wit = execFileSync("npx", ["--no-install", "jco", "wit", wasm], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const imports = [...wit.matchAll(/^\s*import\s+([^\s;]+);/gm)].map((m) => m[1]).sort();
  const exports = [...wit.matchAll(/^\s*export\s+([a-z-]+):/gm)].map((m) => m[1]).sort();
  // `types` holds only the verdict and guard-info type definitions (the world `use`s them);
  // the function-bearing imports are host and state, as the next test checks.
  assert.deepEqual(imports, [
    "clawdstrike:guard/host@1.0.0",
    "clawdstrike:guard/state@1.0.0",
    "clawdstrike:guard/types@1.0.0",
  ]);
  assert.deepEqual(exports, ["check", "describe", "init"]);
  assert.match(wit, /export describe: func\(\) -> guard-info;/);
  assert.match(wit, /export init: func\(config: string\) -> result<_, string>;/);
  assert.match(wit, /export check: func\(event: string\) -> result<verdict, string>;/);
  assert.doesNotMatch(wit, /wasi:/, "no WASI import");
});

test("the SDK's interface check accepts the component", async () => {
  const iface = await inspectComponent(wasm);
  assert.deepEqual(interfaceProblems(iface), []);
});

test("only host and state carry functions (jco transpile refuses anything else)", async () => {
  // guardTest on a .wasm transpiles it and throws if it imports other interfaces.
  const info = await guardTest(wasm).describe();
  assert.equal(info.name, "parity_check");
});

test("describe() matches clawdstrike.plugin.json", async () => {
  const [entry] = manifest.guards;
  for (const runtime of ["native", "component"]) {
    const module = runtime === "native" ? new URL("../src/guard.ts", import.meta.url) : wasm;
    const info = await guardTest(module, { runtime }).describe();
    assert.deepEqual(
      { name: info.name, version: info.version, handles: info.handles },
      { name: entry.name, version: "0.1.0", handles: entry.handles },
      runtime,
    );
  }
});

test("the manifest: entrypoint, the four config keys, no capability, untrusted", () => {
  assert.equal(manifest.guards.length, 1);
  const [entry] = manifest.guards;
  assert.equal(entry.entrypoint, "dist/guard.wasm");
  const schema = entry.configSchema;
  assert.equal(schema.type, "object");
  assert.deepEqual(Object.keys(schema.properties).sort(), [
    "blockedExtensions",
    "blockedTools",
    "maxCommandLength",
    "warnPorts",
  ]);
  for (const [key, property] of Object.entries(schema.properties)) {
    assert.equal(typeof property.description, "string", key);
    assert.ok("default" in property, key);
    // Descriptive only, like the Rust twin's: the engine validates a policy's config
    // against the schema before init, and the config errors (unknown key, wrong type)
    // are part of the parity contract, so they must come from the component.
    assert.equal("type" in property, false, `${key} must not constrain the type`);
  }
  assert.equal("additionalProperties" in schema, false, "unknown keys are refused by init");
  assert.deepEqual(manifest.capabilities, {
    network: false,
    filesystem: false,
    secrets: false,
    subprocess: false,
  });
  assert.deepEqual(manifest.trust, { level: "untrusted", sandbox: "wasm" });
});

test("the schema's defaults are the guard's defaults", async () => {
  // An empty config and a config spelling out the schema defaults decide alike.
  const { properties } = manifest.guards[0].configSchema;
  const defaults = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, v.default]));
  const guard = guardTest(new URL("../src/guard.ts", import.meta.url));
  const vectors = JSON.parse(
    readFileSync(new URL("../../parity-vectors.json", import.meta.url), "utf8"),
  ).filter((v) => Object.keys(v.config).length === 0 && !("error" in v.expect));
  for (const v of vectors) {
    const implicit = await guard.check(v.event);
    const explicit = await guard.withConfig(defaults).check(v.event);
    assert.deepEqual(explicit.verdict, implicit.verdict, v.name);
  }
});
