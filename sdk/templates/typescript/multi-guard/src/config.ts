// The package's configuration: both guards get the same `config:` and read their own key.
import type { JsonObject } from "@clawdstrike/guard-sdk";

export interface Config {
  /** Path prefixes no file may be written under. */
  protected_paths: string[];
  /** Programs that may not be run. */
  blocked_commands: string[];
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");

export function parseConfig(config: JsonObject): Config {
  const parsed: Config = { protected_paths: ["/etc/", ".git/"], blocked_commands: ["curl", "wget"] };
  for (const [key, value] of Object.entries(config)) {
    if (key === "protected_paths" || key === "blocked_commands") {
      if (!isStrings(value)) throw new Error(`config.${key} must be an array of strings`);
      parsed[key] = value;
    } else {
      throw new Error(`unknown config key "${key}"`);
    }
  }
  return parsed;
}
