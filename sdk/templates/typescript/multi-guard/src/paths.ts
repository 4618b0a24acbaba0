// `{{guard}}_paths`: denies writes under protected path prefixes.
import { allow, defineGuard, deny } from "@clawdstrike/guard-sdk";
import { parseConfig } from "./config.js";

export const { describe, init, check } = defineGuard({
  name: "{{guard}}_paths",
  version: "0.1.0",
  handles: ["file_write"],
  init: parseConfig,
  check(event, config) {
    if (event.eventType !== "file_write") return allow("not a file write");
    const { path } = event.data;
    const prefix = config.protected_paths.find((p) => path.startsWith(p));
    if (prefix !== undefined) {
      return deny("high", `${path} is under the protected path ${prefix}`, { details: { prefix } });
    }
    return allow(`${path} is not protected`);
  },
});
