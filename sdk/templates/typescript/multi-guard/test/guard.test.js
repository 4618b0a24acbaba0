import { test } from "node:test";
import { commandEvent, fileWriteEvent, guardTargets } from "@clawdstrike/guard-sdk/testing";

for (const guard of guardTargets({ source: "src/paths.ts", component: "dist/paths.wasm" })) {
  const name = (what) => `[${guard.runtime}] paths: ${what}`;
  test(name("a protected path is denied"), async () => {
    await guard
      .check(fileWriteEvent("/etc/hosts", "x"))
      .expectDeny({ reason: "/etc/hosts is under the protected path /etc/" });
  });
  test(name("other paths are allowed"), async () => {
    await guard.check(fileWriteEvent("src/main.rs", "x")).expectAllow();
  });
  test(name("configured paths replace the default"), async () => {
    await guard
      .withConfig({ protected_paths: ["secrets/"] })
      .check(fileWriteEvent("secrets/key.pem", "x"))
      .expectDeny();
  });
}

for (const guard of guardTargets({ source: "src/commands.ts", component: "dist/commands.wasm" })) {
  const name = (what) => `[${guard.runtime}] commands: ${what}`;
  test(name("a blocked program is denied"), async () => {
    await guard
      .check(commandEvent("/usr/bin/curl https://x.example"))
      .expectDeny({ reason: "`curl` may not be run" });
  });
  test(name("other programs are allowed"), async () => {
    await guard.check(commandEvent("ls -l")).expectAllow();
  });
}
