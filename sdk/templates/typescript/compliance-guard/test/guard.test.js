import { test } from "node:test";
import { fileWriteEvent, guardTargets } from "@clawdstrike/guard-sdk/testing";

for (const guard of guardTargets({ source: "src/guard.ts", component: "dist/guard.wasm" })) {
  const name = (what) => `[${guard.runtime}] ${what}`;

  test(name("an allowed header passes"), async () => {
    await guard
      .check(fileWriteEvent("src/main.rs", "// SPDX-License-Identifier: MIT\nfn main() {}\n"))
      .expectAllow({ reason: "src/main.rs is licensed MIT" });
  });

  test(name("a missing header warns"), async () => {
    await guard
      .check(fileWriteEvent("src/main.rs", "fn main() {}\n"))
      .expectWarn({ reason: "src/main.rs has no SPDX-License-Identifier: header" });
  });

  test(name("a license outside the list warns"), async () => {
    await guard
      .check(fileWriteEvent("src/lib.rs", "// SPDX-License-Identifier: GPL-3.0-only\n"))
      .expectWarn({ reasonContains: "not allowed" });
  });

  test(name("action deny and paths narrow it"), async () => {
    const strict = guard.withConfig({ action: "deny", paths: ["src/"], extensions: [".rs"] });
    await strict.check(fileWriteEvent("src/a.rs", "fn a() {}")).expectDeny();
    await strict.check(fileWriteEvent("tests/a.rs", "fn a() {}")).expectAllow();
  });

  test(name("a bad config is refused"), async () => {
    (await guard.withConfig({ header_lines: 0 }).initialize()).expectError(/header_lines/);
  });
}
