// `{{guard}}`: source files written under the configured paths must carry a license
// header (`SPDX-License-Identifier: ...`) with an allowed license. A violation warns by
// default; `action: "deny"` makes it a deny.
import { allow, defineGuard, deny, warn, type JsonObject } from "@clawdstrike/guard-sdk";

interface Config {
  /** File extensions that need a header. */
  extensions: string[];
  /** Path prefixes the rule applies to (every path when empty). */
  paths: string[];
  /** Licenses allowed in the header (any when empty). */
  allowed_licenses: string[];
  /** How many lines from the top the header may appear in. */
  header_lines: number;
  /** "warn" (default) or "deny". */
  action: "warn" | "deny";
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");

function parseConfig(config: JsonObject): Config {
  const parsed: Config = {
    extensions: [".rs", ".ts", ".js", ".py"],
    paths: [],
    allowed_licenses: ["Apache-2.0", "MIT"],
    header_lines: 5,
    action: "warn",
  };
  for (const [key, value] of Object.entries(config)) {
    if (key === "extensions" || key === "paths" || key === "allowed_licenses") {
      if (!isStrings(value)) throw new Error(`config.${key} must be an array of strings`);
      parsed[key] = value;
    } else if (key === "header_lines") {
      if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
        throw new Error("config.header_lines must be an integer of at least 1");
      }
      parsed.header_lines = value;
    } else if (key === "action") {
      if (value !== "warn" && value !== "deny") throw new Error('config.action must be "warn" or "deny"');
      parsed.action = value;
    } else {
      throw new Error(`unknown config key "${key}"`);
    }
  }
  return parsed;
}

const MARKER = "SPDX-License-Identifier:";

export const { describe, init, check } = defineGuard({
  name: "{{guard}}",
  version: "0.1.0",
  handles: ["file_write"],
  init: parseConfig,
  check(event, config) {
    if (event.eventType !== "file_write") return allow("not a file write");
    const { path, content } = event.data;
    const inScope =
      config.extensions.some((e) => path.endsWith(e)) &&
      (config.paths.length === 0 || config.paths.some((p) => path.startsWith(p)));
    if (!inScope) return allow(`${path} is not in scope`);
    if (content === undefined) return allow(`no content to check in ${path}`);
    const line = content
      .split("\n")
      .slice(0, config.header_lines)
      .find((l) => l.includes(MARKER));
    const violation = (reason: string, details: JsonObject) =>
      (config.action === "deny" ? deny : warn)("medium", reason, {
        details,
        remediation: `Start the file with a comment holding \`${MARKER} <license>\`.`,
      });
    if (line === undefined) return violation(`${path} has no ${MARKER} header`, { path });
    const license = line.slice(line.indexOf(MARKER) + MARKER.length).trim();
    if (config.allowed_licenses.length > 0 && !config.allowed_licenses.includes(license)) {
      return violation(`${path} is licensed ${license}, which is not allowed`, { path, license });
    }
    return allow(`${path} is licensed ${license}`);
  },
});
