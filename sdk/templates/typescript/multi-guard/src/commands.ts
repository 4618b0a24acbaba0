// `{{guard}}_commands`: denies commands that start with a blocked program.
import { allow, defineGuard, deny } from "@clawdstrike/guard-sdk";
import { parseConfig } from "./config.js";

export const { describe, init, check } = defineGuard({
  name: "{{guard}}_commands",
  version: "0.1.0",
  handles: ["command_exec"],
  init: parseConfig,
  check(event, config) {
    if (event.eventType !== "command_exec") return allow("not a command");
    // The program is the first word, without its directory.
    const first = event.data.command.trim().split(/\s+/)[0] ?? "";
    const program = first.slice(first.lastIndexOf("/") + 1);
    if (config.blocked_commands.includes(program)) {
      return deny("high", `\`${program}\` may not be run`, { details: { program } });
    }
    return allow(`\`${program}\` is not blocked`);
  },
});
