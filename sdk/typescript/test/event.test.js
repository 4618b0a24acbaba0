// Reading the engine's event JSON: what is accepted, what is filled in, what is refused.
import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { INVALID_EVENT, parseEvent, validateEvent } from "../dist/event.js";
import { GuardError } from "../dist/errors.js";
import * as build from "../dist/testing/events.js";

const refused = (input, pattern) =>
  assert.throws(
    () => (typeof input === "string" ? parseEvent(input) : validateEvent(input)),
    (e) => e instanceof GuardError && e.message.startsWith(INVALID_EVENT) && pattern.test(e.message),
  );

describe("accepted events", () => {
  test("every builder makes an event the validator accepts unchanged", () => {
    const events = [
      build.fileWriteEvent("a.txt", "hi"),
      build.fileReadEvent("/etc/passwd"),
      build.commandEvent("ls", ["-la"]),
      build.networkEgressEvent("example.com", 443),
      build.networkEgressEvent("example.com"),
      build.toolCallEvent("read_file", { path: "x" }),
      build.patchEvent("a.rs", "--- a\n+++ b\n"),
      build.secretEvent("AWS_KEY"),
      build.customEvent("user_input", { text: "hi" }),
    ];
    for (const event of events) {
      const copy = structuredClone(event);
      assert.deepEqual(validateEvent(copy), event);
    }
  });

  test("data.type is filled in from eventType", () => {
    const e = parseEvent('{"eventId":"1","eventType":"network_egress","data":{"host":"h","port":21}}');
    assert.equal(e.data.type, "network");
  });

  test("absent args become [], absent or null parameters become {}", () => {
    assert.deepEqual(parseEvent('{"eventType":"command_exec","data":{"command":"ls"}}').data.args, []);
    assert.deepEqual(
      parseEvent('{"eventType":"tool_call","data":{"toolName":"t","parameters":null}}').data.parameters,
      {},
    );
  });

  test("null optional fields read as absent; a missing eventId is empty", () => {
    const e = parseEvent(
      '{"eventType":"file_write","sessionId":null,"metadata":null,"data":{"type":"file","path":"p","content":null}}',
    );
    assert.equal(e.eventId, "");
    assert.equal("content" in e.data, false);
    assert.equal("sessionId" in e, false);
    assert.equal("metadata" in e, false);
  });

  test("custom events keep their extra fields", () => {
    const e = parseEvent('{"eventType":"custom","data":{"customType":"x","text":"t","n":[1]}}');
    assert.deepEqual(e.data, { customType: "x", text: "t", n: [1], type: "custom" });
  });
});

describe("refused events", () => {
  test("text that is not JSON", () => refused("{", /not JSON/));
  test("JSON that is not an object", () => {
    refused("[]", /an array/);
    refused("null", /null/);
    refused('"x"', /a string/);
  });
  test("no eventType, or not a string, or unknown", () => {
    refused({ data: {} }, /missing "eventType"/);
    refused({ eventType: 1, data: {} }, /"eventType" must be a string/);
    refused({ eventType: "file_open", data: { path: "p" } }, /unknown eventType "file_open"/);
  });
  test("no data, or not an object", () => {
    refused({ eventType: "file_read" }, /missing "data"/);
    refused({ eventType: "file_read", data: [] }, /"data" must be an object/);
  });
  test("data.type that disagrees with eventType", () =>
    refused(
      { eventType: "file_write", data: { type: "network", host: "h" } },
      /needs data.type "file", got "network"/,
    ));
  test("a required field missing", () => {
    refused({ eventType: "file_write", data: { type: "file" } }, /missing data.path of a file event/);
    refused({ eventType: "patch_apply", data: { filePath: "a" } }, /missing data.patchContent/);
    refused({ eventType: "tool_call", data: {} }, /missing data.toolName/);
    refused({ eventType: "secret_access", data: {} }, /missing data.key/);
    refused({ eventType: "custom", data: {} }, /missing data.customType/);
  });
  test("a field of the wrong type", () => {
    refused({ eventType: "file_write", data: { path: 1 } }, /data.path of a file event must be a string, got a number/);
    refused({ eventType: "command_exec", data: { command: "ls", args: "-la" } }, /args .* must be an array of strings/);
    refused({ eventType: "command_exec", data: { command: "ls", args: [1] } }, /must be an array of strings/);
    refused({ eventType: "network_egress", data: { host: "h", port: 70000 } }, /0 to 65535, got 70000/);
    refused({ eventType: "network_egress", data: { host: "h", port: "21" } }, /got "21"/);
    refused({ eventType: "network_egress", data: { host: "h", port: 2.5 } }, /got 2.5/);
    refused({ eventId: 5, eventType: "secret_access", data: { key: "k" } }, /"eventId" must be a string/);
    refused({ eventType: "secret_access", data: { key: "k" }, metadata: [] }, /"metadata" must be an object/);
    refused({ eventType: "secret_access", data: { key: "k" }, timestamp: 1 }, /"timestamp" must be a string/);
  });
});
