// The harness itself: its assertions fail when they should, with messages that say why.
import { strict as assert, AssertionError } from "node:assert";
import { existsSync } from "node:fs";
import { test } from "node:test";
import {
  fileWriteEvent,
  guardTargets,
  guardTest,
  networkEgressEvent,
  commandEvent,
} from "../dist/testing/index.js";

const guard = guardTest(new URL("./fixtures/behaviours.ts", import.meta.url));
const fails = (fn, pattern) =>
  assert.throws(fn, (e) => e instanceof AssertionError && pattern.test(e.message));

test("expectAllow / expectWarn / expectDeny check status, severity, reason and details", async () => {
  const allowed = await guard.check(fileWriteEvent("a"));
  allowed.expectAllow().expectAllow({ reason: "default" }).expectAllow({ reasonContains: "fau" });
  fails(() => allowed.expectDeny(), /expected deny, got \[native\] verdict .*"status":"allow"/);
  fails(() => allowed.expectWarn(), /expected warn/);
  fails(() => allowed.expectAllow({ reason: "other" }), /expected reason "other"/);
  fails(() => allowed.expectAllow({ reasonContains: "zzz" }), /expected the reason to contain "zzz"/);
  fails(() => allowed.expectError(), /expected an error, got \[native\] verdict/);

  const denied = await guard.withConfig({ mode: "details-object" }).check(fileWriteEvent("a"));
  denied.expectDeny({ severity: "medium", reasonContains: "object", details: { path: 'a"b', n: 1, nested: { ok: true } } });
  fails(() => denied.expectDeny({ severity: "high" }), /expected severity high/);
  fails(() => denied.expectDeny({ details: { path: "x" } }), /expected details/);
  fails(() => denied.expectVerdict({ status: "deny", remediation: null }), /expected remediation null/);
  fails(() => denied.expectLog("nothing"), /expected a log line/);
});

test("expectError checks the prefix or pattern", async () => {
  const failed = await guard.withConfig({ mode: "error" }).check(fileWriteEvent("a"));
  failed.expectError().expectError("plain").expectError(/message$/);
  fails(() => failed.expectError("other"), /expected an error starting with other, got \[native\] error in check: plain message/);
  fails(() => failed.expectAllow(), /expected allow, got \[native\] error in check/);
  assert.equal(failed.stage, "check");
  assert.equal(failed.status, null);
});

test("a pending check can be awaited or asserted directly", async () => {
  const outcome = await guard.check(fileWriteEvent("a"));
  assert.equal(outcome.status, "allow");
  await assert.rejects(guard.check(fileWriteEvent("a")).expectDeny(), AssertionError);
});

test("the init outcome", async () => {
  const ok = await guard.initialize();
  assert.equal(ok.ok, true);
  fails(() => ok.expectError(), /expected init to fail, got ok/);
  const refused = await guard.withConfig({ refuse: "x" }).initialize();
  fails(() => refused.expectOk(), /expected init to accept the config, got: refused: x/);
  fails(() => refused.expectError("nope"), /expected an init error starting with nope/);
});

test("event builders give unique ids and the engine's shapes", () => {
  const a = fileWriteEvent("a.txt", "x");
  const b = fileWriteEvent("a.txt");
  assert.notEqual(a.eventId, b.eventId);
  assert.deepEqual(a.data, { type: "file", path: "a.txt", operation: "write", content: "x" });
  assert.equal("content" in b.data, false);
  assert.equal("port" in networkEgressEvent("h").data, false);
  assert.deepEqual(commandEvent("ls").data.args, []);
  assert.equal(fileWriteEvent("a", undefined, { sessionId: "s" }).sessionId, "s");
});

test("guardTargets: native always, the component when it exists or is required", () => {
  const source = new URL("./fixtures/behaviours.ts", import.meta.url);
  const missing = new URL("./fixtures/no-such/guard.wasm", import.meta.url);
  assert.ok(!existsSync(missing));
  assert.deepEqual(guardTargets({ source, component: missing, requireComponent: false }).map((t) => t.runtime), ["native"]);
  assert.throws(
    () => guardTargets({ source, component: missing, requireComponent: true }),
    /guard\.wasm does not exist: build it first/,
  );
});

test("a source that does not bundle is a clear error", async () => {
  await assert.rejects(
    guardTest(new URL("./fixtures/uses-node.ts", import.meta.url)).describe(),
    /Could not resolve "node:fs".*without Node\.js APIs/s,
  );
});
