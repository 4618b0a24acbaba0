// Building verdicts and converting them into the WIT record.
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { allow, deny, toWitVerdict, warn } from "../dist/verdict.js";
import { GuardError } from "../dist/errors.js";

const invalid = (value, pattern) =>
  assert.throws(() => toWitVerdict(value), (e) => e instanceof GuardError && pattern.test(e.message));

test("allow carries only a reason", () => {
  assert.deepEqual(allow(), { status: "allow" });
  assert.deepEqual(allow("ok"), { status: "allow", reason: "ok" });
});

test("warn and deny carry severity, reason and the optional extras", () => {
  assert.deepEqual(warn("low", "w"), { status: "warn", severity: "low", reason: "w" });
  assert.deepEqual(deny("critical", "d", { details: { a: 1 }, remediation: "r" }), {
    status: "deny",
    severity: "critical",
    reason: "d",
    details: { a: 1 },
    remediation: "r",
  });
});

test("the WIT record has every field, details as compact JSON text", () => {
  assert.deepEqual(toWitVerdict(allow("ok")), {
    status: "allow",
    severity: undefined,
    reason: "ok",
    details: undefined,
    remediation: undefined,
  });
  assert.equal(toWitVerdict(deny("high", "x", { details: { extension: '"q\\' } })).details, '{"extension":"\\"q\\\\"}');
  assert.equal(toWitVerdict({ status: "deny", details: ' {"a": 1} ' }).details, ' {"a": 1} ', "JSON text is kept as is");
  assert.equal(toWitVerdict({ status: "warn", severity: null, details: null }).severity, undefined);
});

test("what is not a verdict is refused with a reason", () => {
  invalid(undefined, /expected an object/);
  invalid([], /expected an object/);
  invalid(Promise.resolve(allow()), /returned a Promise/);
  invalid({ status: "block" }, /status must be "allow", "warn" or "deny", got "block"/);
  invalid({ status: "deny", severity: "urgent" }, /severity must be one of low, medium, high, critical/);
  invalid({ status: "deny", reason: 5 }, /reason must be a string/);
  invalid({ status: "deny", remediation: {} }, /remediation must be a string/);
  invalid({ status: "deny", details: "nope" }, /details must be a JSON object \(the text is not JSON\)/);
  invalid({ status: "deny", details: "[1]" }, /details must be the JSON text of an object/);
  invalid({ status: "deny", details: [1] }, /details must be an object/);
  invalid({ status: "deny", details: { n: 1n } }, /details cannot be serialised/);
});
