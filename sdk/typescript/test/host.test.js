// The host wrappers (log, fs, secrets, http, state) against the fake host, natively and
// through the real component built by the SDK's build (ComponentizeJS, then jco in
// Node.js): the same assertions must hold both ways.
import { strict as assert } from "node:assert";
import { fileURLToPath } from "node:url";
import { before, describe, test } from "node:test";
import { buildGuard } from "../dist/build/index.js";
import { HostError, customEvent, guardTest, toolCallEvent } from "../dist/testing/index.js";

const dir = fileURLToPath(new URL("./fixtures/host-guard/", import.meta.url));
const call = (type, arg) => customEvent(type, arg === undefined ? {} : { arg });

let wasm;
before(async () => {
  // Cheap when nothing changed since the last run (the build skips an unchanged bundle).
  const result = await buildGuard({ cwd: dir });
  wasm = result.outFile;
});

for (const runtime of ["native", "component"]) {
  describe(`host wrappers [${runtime}]`, () => {
    const guard = () =>
      guardTest(runtime === "native" ? `${dir}src/guard.ts` : wasm, { runtime });

    test("log writes one line per call, at its level", async () => {
      const o = await guard().check(call("log", "free text")).expectAllow({ reason: "logged" });
      assert.deepEqual(o.logs, [
        { level: "trace", message: "t" },
        { level: "debug", message: "d" },
        { level: "info", message: "i" },
        { level: "warn", message: "w" },
        { level: "error", message: "e" },
        { level: "info", message: "free text" },
      ]);
    });

    test("every capability is denied by default", async () => {
      for (const [type, arg, op] of [
        ["read-file", "/etc/acme/a.conf", 'read-file "/etc/acme/a.conf"'],
        ["secret", "ACME_TOKEN", 'get-secret "ACME_TOKEN"'],
        ["http", "x", "http-request POST https://api.example.com/v1/check"],
      ]) {
        const o = await guard().check(call(type, arg));
        o.expectAllow({ reasonContains: `HostError kind=denied detail=capability ` });
        o.expectAllow({ reasonContains: `message=host call ${op} denied: capability ` });
        assert.equal(o.hostCalls.length, 1);
        assert.equal(o.hostCalls[0].outcome, "denied");
      }
    });

    test("fs: a granted file is read; a HostError is answered as given", async () => {
      const g = guard()
        .withFile("/etc/acme/a.conf", "level = 3")
        .withFile("/etc/acme/raw.bin", new Uint8Array([0, 255, 10]))
        .withFile("/etc/acme/gone.conf", new HostError("not-found"));
      await g.check(call("read-file", "/etc/acme/a.conf")).expectAllow({ reason: "file: level = 3" });
      await g.check(call("read-bytes", "/etc/acme/raw.bin")).expectAllow({ reason: "bytes: 0,255,10" });
      await g
        .check(call("read-file", "/etc/acme/gone.conf"))
        .expectAllow({ reason: 'HostError kind=not-found detail=- message=host call read-file "/etc/acme/gone.conf" not found' });
    });

    test("secrets: a granted secret is read; not-found is answered", async () => {
      const g = guard().withSecret("ACME_TOKEN", "s3cr3t").withSecret("UNSET", new HostError("not-found"));
      await g.check(call("secret", "ACME_TOKEN")).expectAllow({ reason: "secret length 6" });
      await g.check(call("secret", "UNSET")).expectAllow({ reasonContains: "kind=not-found" });
    });

    test("http: the handler sees the request, the guard sees the response", async () => {
      let seen;
      const g = guard().withHttp((request) => {
        seen = { ...request, body: request.json() };
        return { status: 201, headers: { "Content-Type": "application/json" }, body: { verdict: "bad" } };
      });
      await g.check(call("http", "probe")).expectDeny({
        severity: "high",
        reason: "api says bad (status 201, application/json)",
      });
      assert.equal(seen.method, "POST");
      assert.equal(seen.url, "https://api.example.com/v1/check");
      assert.deepEqual(seen.headers, [["Content-Type", "application/json"]]);
      assert.deepEqual(seen.body, { q: "probe" });
      assert.equal(seen.timeoutMs, 500);

      await guard()
        .withHttp((r) => ({ body: `${r.method} ${r.url} ${JSON.stringify(r.headers)}` }))
        .check(call("http-get", "https://api.example.com/x"))
        .expectAllow({ reason: 'GET https://api.example.com/x [["x-one","1"]]' });
    });

    test("http: a handler's HostError is the guard's; any other throw is `failed`", async () => {
      await guard()
        .withHttp(() => {
          throw new HostError("timeout");
        })
        .check(call("http", "x"))
        .expectAllow({ reasonContains: "kind=timeout" });
      await guard()
        .withHttp(() => {
          throw new Error("boom");
        })
        .check(call("http", "x"))
        .expectAllow({ reasonContains: "kind=failed detail=the withHttp handler threw: boom" });
    });

    test("state survives across the checks of one tester, not across testers", async () => {
      const g = guard();
      await g.check(call("count")).expectAllow({ reason: "seen 1 times" });
      await g.check(call("count")).expectAllow({ reason: "seen 2 times" });
      await g.check(call("count")).expectWarn({ severity: "medium", reason: "seen 3 times" });
      assert.equal(new TextDecoder().decode(g.state.get("count")), "3");
      await guard().check(call("count")).expectAllow({ reason: "seen 1 times" });
    });

    test("state: text round trip, delete, the size limit", async () => {
      await guard().check(call("state-text", "héllo")).expectAllow({ reason: "stored héllo" });
      await guard().withState("k", "v").check(call("state-delete", "k")).expectAllow({ reason: "after delete: absent" });
      // `too-large` carries no message across the interface.
      await guard()
        .check(call("state-big"))
        .expectAllow({ reason: 'HostError kind=too-large detail=- message=host call state set "big" too large' });
    });

    test("an uncaught HostError fails the check with its message", async () => {
      await guard()
        .check(call("uncaught", "NOPE"))
        .expectError('host call get-secret "NOPE" denied: capability secrets does not allow NOPE');
    });

    test("other handled event types", async () => {
      await guard().check(toolCallEvent("t")).expectAllow({ reason: "not custom" });
    });
  });
}
