// defineGuard: the exports it builds, how it reads config and events, and how every kind
// of answer or failure of the guard's code crosses the interface. Run natively; the host
// test runs a guard through the real component too.
import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { customEvent, fileWriteEvent, guardTest, toolCallEvent } from "../dist/testing/index.js";

const fixture = (name) => new URL(`./fixtures/${name}`, import.meta.url);
const guard = guardTest(fixture("behaviours.ts"));
const mode = (m) => guard.withConfig({ mode: m });

describe("describe and init", () => {
  test("describe reports name, version and handles", async () => {
    assert.deepEqual(await guard.describe(), {
      name: "behaviours",
      version: "1.2.3-beta.1",
      handles: ["file_write", "custom"],
    });
  });

  test("init accepts a config object", async () => {
    (await guard.withConfig({ any: ["thing"] }).initialize()).expectOk();
  });

  test("an Error thrown by init is the err string, its message as is", async () => {
    (await guard.withConfig({ refuse: "no thanks" }).initialize()).expectError("refused: no thanks");
    await guard.withConfig({ refuse: "no" }).check(fileWriteEvent("a")).expectError("refused: no");
  });

  test("a string thrown by init is the err string", async () => {
    (await guard.withConfig({ refuse: true }).initialize()).expectError("refused with a string");
  });

  test("config that is not a JSON object is refused before the guard's init", async () => {
    (await guard.withConfig("[1, 2]").initialize()).expectError("invalid config: expected a JSON object");
    (await guard.withConfig("{oops").initialize()).expectError(/^invalid config: not JSON \(/);
  });

  test("without init, check receives the config object", async () => {
    await guardTest(fixture("no-init.ts"))
      .withConfig({ a: 1 })
      .check(toolCallEvent("t"))
      .expectAllow({ reason: '{"a":1}' });
  });

  test("an invalid name fails when the module loads", async () => {
    await assert.rejects(guardTest(fixture("bad-name.ts")).describe(), /name "Bad Name" must be 1 to 64 of a-z/);
  });
});

describe("check", () => {
  test("the guard receives the validated event and its init result", async () => {
    const outcome = await mode("echo").check(customEvent("x", { text: "t" }, { eventId: "e-1" }));
    const echoed = JSON.parse(outcome.expectAllow().reason);
    assert.deepEqual(echoed.config, { mode: "echo" });
    assert.deepEqual(echoed.event, {
      eventId: "e-1",
      eventType: "custom",
      data: { text: "t", type: "custom", customType: "x" },
    });
  });

  test("an invalid event is the err `invalid event: ...`, the guard is not called", async () => {
    await guard.check('{"eventType":"file_write","data":{}}').expectError("invalid event: missing data.path");
    await guard.check("not json").expectError(/^invalid event: not JSON/);
  });

  test("a plain Error is its message", async () => {
    await mode("error").check(fileWriteEvent("a")).expectError("plain message");
  });

  test("other Error types keep their name, so bugs are recognisable", async () => {
    const outcome = await mode("type-error").check(fileWriteEvent("a")).expectError(/^TypeError: /);
    assert.equal(outcome.trapped, false, "a bug is an err, not a trap");
  });

  test("a thrown string is itself", async () => {
    await mode("string").check(fileWriteEvent("a")).expectError("thrown string");
  });

  test("an uncaught HostError is its message", async () => {
    await mode("host-error")
      .check(fileWriteEvent("a"))
      .expectError('host call get-secret "UNDECLARED" denied: capability secrets does not allow UNDECLARED');
  });

  test("a Promise is refused: guards are synchronous", async () => {
    await mode("promise").check(fileWriteEvent("a")).expectError("check returned a Promise");
  });

  test("a verdict with an unknown status or severity is refused", async () => {
    await mode("bad-status").check(fileWriteEvent("a")).expectError(/status must be .* got "maybe"/);
    await mode("bad-severity").check(fileWriteEvent("a")).expectError(/severity must be one of/);
  });

  test("details: an object becomes JSON text, JSON text of an object is kept", async () => {
    const o = await mode("details-object").check(fileWriteEvent("a"));
    o.expectDeny({ severity: "medium", details: { path: 'a"b', n: 1, nested: { ok: true } } });
    assert.equal(o.verdict.details, '{"path":"a\\"b","n":1,"nested":{"ok":true}}');
    assert.equal(o.verdict.remediation, "do the other thing");
    (await mode("details-text").check(fileWriteEvent("a"))).expectVerdict({ status: "deny", details: '{"a":1}' });
    await mode("details-array").check(fileWriteEvent("a")).expectError(/details must be the JSON text of an object/);
  });

  test("each check runs in a fresh instance: module state starts over", async () => {
    const counting = mode("count");
    for (let i = 0; i < 3; i++) {
      await counting.check(fileWriteEvent("a")).expectAllow({ reason: "check number 1" });
    }
  });
});

describe("a guard without the SDK", () => {
  const raw = guardTest(fixture("raw-exports.js"));

  test("runs the same way", async () => {
    const o = await raw.check(customEvent("x")).expectWarn({ severity: "low", reason: "raw warn" });
    o.expectLog("raw got", "info");
  });

  test("an Error thrown from an export is a trap, not an err", async () => {
    const o = await raw.check(customEvent("trap"));
    assert.equal(o.trapped, true);
    assert.equal(o.error, "this traps");
    assert.throws(() => o.expectError(), /expected an error, got \[native\] trap in check: this traps/);
  });

  test("a verdict that could not cross the interface is a trap", async () => {
    const o = await raw.check(customEvent("object-details"));
    assert.equal(o.trapped, true);
    assert.equal(o.error, "check returned a verdict whose details is not a string");
  });

  test("its own init error", async () => {
    await raw.withConfig({ a: 1 }).check(customEvent("x")).expectError('config must be {}, got {"a":1}');
  });
});
