/**
 * The parity guard, TypeScript edition. `examples/guards/parity-rust` is the same guard in
 * Rust; both must answer every event with the same status, severity, reason and details,
 * byte for byte. `../parity-vectors.json` holds the cases both are tested against.
 *
 * - file_write: deny (high) a path whose lower-cased form ends with a blocked extension.
 * - command_exec: warn (medium) a command line longer than `maxCommandLength` characters
 *   (Unicode scalar values).
 * - tool_call: deny (critical) a tool whose name is exactly a blocked one.
 * - network_egress: warn (low) a port in `warnPorts`.
 * - anything else: allow.
 */

import { allow, defineGuard, deny, log, warn, type JsonObject } from "@clawdstrike/guard-sdk";

/** The configuration, every key optional. */
interface ParityConfig {
  /** Default [".exe", ".dll", ".so"]. */
  blockedExtensions: string[];
  /** Default 200. */
  maxCommandLength: number;
  /** Default ["shell_exec"]. */
  blockedTools: string[];
  /** Default [21, 23]. */
  warnPorts: number[];
}

const DEFAULTS: ParityConfig = {
  blockedExtensions: [".exe", ".dll", ".so"],
  maxCommandLength: 200,
  blockedTools: ["shell_exec"],
  warnPorts: [21, 23],
};

const isStrings = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((s) => typeof s === "string");
// An integer is a JSON number without a fraction, as `Number.isInteger` sees it (so 21.0
// counts, and so does 1e300): the Rust twin reads numbers the same way.
const isInteger = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isIntegers = (v: unknown): v is number[] => Array.isArray(v) && v.every(isInteger);

/** Apply defaults and refuse unknown keys and wrong types, in the order of the document. */
function parseConfig(config: JsonObject): ParityConfig {
  const parsed: ParityConfig = { ...DEFAULTS };
  for (const [key, value] of Object.entries(config)) {
    switch (key) {
      case "blockedExtensions":
      case "blockedTools":
        if (!isStrings(value)) throw new Error(`config.${key} must be an array of strings`);
        parsed[key] = value;
        break;
      case "maxCommandLength":
        if (!isInteger(value) || value < 0) {
          throw new Error("config.maxCommandLength must be a non-negative integer");
        }
        parsed.maxCommandLength = value;
        break;
      case "warnPorts":
        if (!isIntegers(value)) throw new Error("config.warnPorts must be an array of integers");
        parsed.warnPorts = value;
        break;
      default:
        throw new Error(`unknown config key "${key}"`);
    }
  }
  return parsed;
}

export const { describe, init, check } = defineGuard<ParityConfig>({
  name: "parity_check",
  version: "0.1.0",
  handles: ["file_write", "command_exec", "tool_call", "network_egress"],
  init: parseConfig,
  check(event, config) {
    log.debug(`parity_check: ${event.eventType}`);
    switch (event.eventType) {
      case "file_write": {
        const path = event.data.path;
        const lower = path.toLowerCase();
        const ext = config.blockedExtensions.find((e) => lower.endsWith(e.toLowerCase()));
        if (ext !== undefined) {
          return deny("high", `blocked file type "${ext}" for ${path}`, {
            details: { extension: ext },
          });
        }
        return allow("file type allowed");
      }
      case "command_exec": {
        const line = [event.data.command, ...event.data.args].join(" ");
        // Spreading a string iterates code points, i.e. Unicode scalar values.
        const n = [...line].length;
        if (n > config.maxCommandLength) {
          return warn(
            "medium",
            `command is ${n} characters, over the limit of ${config.maxCommandLength}`,
          );
        }
        return allow("command length ok");
      }
      case "tool_call": {
        const name = event.data.toolName;
        if (config.blockedTools.includes(name)) {
          return deny("critical", `tool "${name}" is blocked`);
        }
        return allow("tool allowed");
      }
      case "network_egress": {
        const port = event.data.port;
        if (port !== undefined && config.warnPorts.includes(port)) {
          return warn("low", `port ${port} is insecure`);
        }
        return allow("port ok");
      }
      default:
        return allow("event type not handled");
    }
  },
});
