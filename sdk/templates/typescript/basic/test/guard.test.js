import { test } from "node:test";
import { fileReadEvent, fileWriteEvent, guardTargets } from "@clawdstrike/guard-sdk/testing";

// Natively always; against the built component too once dist/guard.wasm exists.
for (const guard of guardTargets({ source: "src/guard.ts", component: "dist/guard.wasm" })) {
  const name = (what) => `[${guard.runtime}] ${what}`;

  test(name("a banned word is denied"), async () => {
    await guard
      .check(fileWriteEvent("db/reset.sql", "drop table users;"))
      .expectDeny({ severity: "high", reason: 'db/reset.sql contains "drop table"' });
  });

  test(name("other content is allowed"), async () => {
    await guard.check(fileWriteEvent("notes.md", "hello")).expectAllow();
  });

  test(name("the configured words replace the default"), async () => {
    const custom = guard.withConfig({ words: ["rm -rf"], severity: "critical" });
    await custom.check(fileWriteEvent("run.sh", "rm -rf /")).expectDeny({ severity: "critical" });
    await custom.check(fileWriteEvent("db/reset.sql", "DROP TABLE x")).expectAllow();
  });

  test(name("reads are not examined"), async () => {
    await guard.check(fileReadEvent("db/reset.sql")).expectAllow({ reason: "not a file write" });
  });

  test(name("a misspelt config key is refused"), async () => {
    (await guard.withConfig({ word: ["x"] }).initialize()).expectError('unknown config key "word"');
  });
}
