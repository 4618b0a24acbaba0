// The shared parity vectors (../parity-vectors.json) through the TypeScript guard, natively
// and as the built component. The engine's parity test runs the same vectors through the
// Rust and the TypeScript components; these make sure the TypeScript side holds on its own.
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { guardTargets } from "@clawdstrike/guard-sdk/testing";

const vectors = JSON.parse(
  readFileSync(new URL("../../parity-vectors.json", import.meta.url), "utf8"),
);

// `npm test` builds dist/guard.wasm first (pretest), so the component is never skipped.
const targets = guardTargets({
  source: new URL("../src/guard.ts", import.meta.url),
  component: new URL("../dist/guard.wasm", import.meta.url),
  requireComponent: true,
});

test("the vectors cover every outcome of the spec", () => {
  const outcomes = new Set(
    vectors.map((v) => ("error" in v.expect ? `error` : `${v.event.eventType}:${v.expect.status}`)),
  );
  for (const wanted of [
    "file_write:deny", "file_write:allow",
    "command_exec:warn", "command_exec:allow",
    "tool_call:deny", "tool_call:allow",
    "network_egress:warn", "network_egress:allow",
    "file_read:allow", "error",
  ]) {
    assert.ok(outcomes.has(wanted), `no vector for ${wanted}`);
  }
  assert.equal(new Set(vectors.map((v) => v.name)).size, vectors.length, "vector names are unique");
});

for (const guard of targets) {
  describe(`parity vectors [${guard.runtime}]`, () => {
    for (const vector of vectors) {
      test(vector.name, async () => {
        // The event goes as the JSON text of the vector's value, whatever that value is.
        const outcome = await guard.withConfig(vector.config).check(JSON.stringify(vector.event));
        if ("error" in vector.expect) {
          outcome.expectError(vector.expect.error);
          return;
        }
        // Byte for byte: status, severity, reason and the details' JSON text, which must be
        // the compact serialisation of the vector's object (keys in order), as serde_json
        // writes it for the Rust guard. An allow carries nothing else; no verdict here has
        // a remediation.
        const { details } = vector.expect;
        outcome.expectVerdict({
          ...vector.expect,
          details: details === null ? null : JSON.stringify(details),
          remediation: null,
        });
        assert.deepEqual(outcome.logs, [
          { level: "debug", message: `parity_check: ${vector.event.eventType}` },
        ]);
        assert.deepEqual(outcome.hostCalls, [], "the guard uses no capability");
      });
    }
  });
}
