// `{{guard}}`: denies file writes whose content contains a banned word.
import { allow, defineGuard, deny, log, SEVERITIES, type JsonObject, type Severity } from "@clawdstrike/guard-sdk";

interface Config {
  /** Words that may not be written (matched case-insensitively). */
  words: string[];
  /** How serious a match is. */
  severity: Severity;
}

// init runs before every check (each check gets a fresh instance): validate, apply
// defaults, nothing more. Its error is what the policy author sees.
function parseConfig(config: JsonObject): Config {
  const parsed: Config = { words: ["drop table"], severity: "high" };
  for (const [key, value] of Object.entries(config)) {
    if (key === "words") {
      if (!Array.isArray(value) || !value.every((w) => typeof w === "string" && w.trim() !== "")) {
        throw new Error("config.words must be an array of non-empty strings");
      }
      parsed.words = value.map((w) => (w as string).toLowerCase());
    } else if (key === "severity") {
      if (typeof value !== "string" || !SEVERITIES.includes(value as Severity)) {
        throw new Error(`config.severity must be one of ${SEVERITIES.join(", ")}`);
      }
      parsed.severity = value as Severity;
    } else {
      throw new Error(`unknown config key "${key}"`);
    }
  }
  return parsed;
}

export const { describe, init, check } = defineGuard({
  name: "{{guard}}",
  version: "0.1.0",
  handles: ["file_write"],
  init: parseConfig,
  check(event, config) {
    if (event.eventType !== "file_write") return allow("not a file write");
    const { path, content } = event.data;
    log.debug(`{{guard}}: scanning ${path}`);
    const text = (content ?? "").toLowerCase();
    const word = config.words.find((w) => text.includes(w));
    if (word !== undefined) {
      return deny(config.severity, `${path} contains "${word}"`, {
        details: { word },
        remediation: "Remove the banned word, or ask for it to be allowed.",
      });
    }
    return allow(`no banned words in ${path}`);
  },
});
