// The SDK ships its own copy of the WIT world (the build CLI compiles against it); it must
// stay byte-identical to the repository's sdk/wit/guard.wit.
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { WIT_PATH } from "../dist/build/index.js";

test("wit/guard.wit is identical to sdk/wit/guard.wit", () => {
  const shipped = readFileSync(new URL("../wit/guard.wit", import.meta.url), "utf8");
  const source = readFileSync(new URL("../../wit/guard.wit", import.meta.url), "utf8");
  assert.ok(shipped === source, "sdk/typescript/wit/guard.wit differs: cp sdk/wit/guard.wit sdk/typescript/wit/");
});

test("the build uses the shipped WIT", () => {
  assert.equal(WIT_PATH, fileURLToPath(new URL("../wit/guard.wit", import.meta.url)));
});
