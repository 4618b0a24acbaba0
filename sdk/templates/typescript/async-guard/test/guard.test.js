import { test } from "node:test";
import { fileWriteEvent, guardTargets, networkEgressEvent } from "@clawdstrike/guard-sdk/testing";

for (const target of guardTargets({ source: "src/guard.ts", component: "dist/guard.wasm" })) {
  const name = (what) => `[${target.runtime}] ${what}`;
  // A stand-in for the service: evil.example scores 95, everything else 5.
  const guard = target.withSecret("REPUTATION_API_KEY", "test-key").withHttp((req) => {
    const auth = req.headers.find(([k]) => k === "authorization")?.[1];
    if (auth !== "Bearer test-key") return { status: 401, body: "bad key" };
    return { body: { score: req.url.endsWith("host=evil.example") ? 95 : 5 } };
  });

  test(name("a bad score is denied"), async () => {
    await guard
      .check(networkEgressEvent("evil.example", 443))
      .expectDeny({ reasonContains: "bad reputation (score 95)" });
  });

  test(name("a good score is allowed"), async () => {
    await guard.check(networkEgressEvent("docs.example", 443)).expectAllow();
  });

  test(name("a failing service fails closed"), async () => {
    const down = target.withSecret("REPUTATION_API_KEY", "test-key").withHttp(() => ({ status: 503 }));
    (await down.check(networkEgressEvent("docs.example", 443))).expectError(/answered 503/);
  });

  test(name("a missing key fails closed"), async () => {
    (await target.check(networkEgressEvent("docs.example", 443))).expectError(/cannot read the API key/);
  });

  test(name("file writes are not examined"), async () => {
    await guard.check(fileWriteEvent("a.txt", "x")).expectAllow();
  });
}
