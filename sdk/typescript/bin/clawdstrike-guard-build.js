#!/usr/bin/env node
// The `clawdstrike-guard-build` command; the code is in src/build/cli.ts.
let cli;
try {
  cli = await import("../dist/build/cli.js");
} catch (error) {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/build/cli.js")) {
    process.stderr.write(
      "clawdstrike-guard-build: the SDK is not compiled (no dist/): run `npm run build` in its package\n",
    );
    process.exit(1);
  }
  throw error;
}
process.exitCode = await cli.main(process.argv.slice(2));
