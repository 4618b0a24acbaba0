/**
 * {@link defineGuard}: turn a guard's logic into the three exports of the world `guard`.
 *
 * @module
 */

import { GuardError, errorMessage } from "./errors.js";
import { parseEvent } from "./event.js";
import {
  EVENT_TYPES,
  type EventType,
  type GuardEvent,
  type GuardExports,
  type GuardInfo,
  type JsonObject,
  type Verdict,
  type WitVerdict,
} from "./types.js";
import { toWitVerdict } from "./verdict.js";

/** What a guard is made of. `S` is what `init` returns and `check` receives. */
export interface GuardDefinition<S = JsonObject> {
  /** The guard name used in policies and decisions: `[a-z0-9_-]`, 1–64 characters. */
  name: string;
  /** The guard's own version (semver, e.g. `0.1.0`). */
  version: string;
  /** The event types the engine calls `check` for. */
  handles: readonly EventType[];
  /**
   * Validate the configuration (the policy's `config` object, `{}` when absent) and
   * return what `check` needs, typically the config with its defaults applied. Throw to
   * refuse it: the error's message is the load error the policy author sees.
   *
   * The engine calls `init` once at load and again before every check (each check runs
   * in a fresh instance), so keep it cheap. Without `init`, `check` receives the config
   * object itself.
   */
  init?(config: JsonObject): S;
  /**
   * Examine one event and return a verdict ({@link allow}, {@link warn}, {@link deny}).
   * Must be synchronous. A thrown error becomes the check's error, which the engine
   * treats as a deny (fail closed).
   */
  check(event: GuardEvent, state: S): Verdict;
}

const NAME = /^[a-z0-9_-]{1,64}$/;
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

function validateInfo(definition: GuardDefinition<unknown>): GuardInfo {
  const { name, version, handles } = definition;
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new TypeError(
      `defineGuard: name ${JSON.stringify(name)} must be 1 to 64 of a-z, 0-9, "_" and "-"`,
    );
  }
  if (typeof version !== "string" || !SEMVER.test(version)) {
    throw new TypeError(`defineGuard: version ${JSON.stringify(version)} is not semver (x.y.z)`);
  }
  if (!Array.isArray(handles) || handles.length === 0) {
    throw new TypeError("defineGuard: handles must list at least one event type");
  }
  for (const type of handles) {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) {
      throw new TypeError(
        `defineGuard: unknown event type ${JSON.stringify(type)} in handles (known: ${EVENT_TYPES.join(", ")})`,
      );
    }
  }
  if (typeof definition.check !== "function") {
    throw new TypeError("defineGuard: check must be a function");
  }
  return { name, version, handles: [...handles] };
}

function parseConfig(text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new GuardError(
      `invalid config: not JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new GuardError("invalid config: expected a JSON object");
  }
  return value as JsonObject;
}

/**
 * Build the exports of a guard component from its definition:
 *
 * ```ts
 * import { defineGuard, allow, deny } from "@clawdstrike/guard-sdk";
 *
 * export const { describe, init, check } = defineGuard({
 *   name: "no_exe",
 *   version: "0.1.0",
 *   handles: ["file_write"],
 *   check(event) {
 *     if (event.eventType === "file_write" && event.data.path.endsWith(".exe")) {
 *       return deny("high", `executable written: ${event.data.path}`);
 *     }
 *     return allow("not an executable");
 *   },
 * });
 * ```
 *
 * The exports speak the component interface: `init(configJson)` parses the config and
 * runs your `init`; `check(eventJson)` parses and validates the event (an invalid one is
 * the error `invalid event: ...`), runs your `check` and converts the verdict. Anything
 * thrown becomes the `err` string of the `result` (see {@link errorMessage}), never a
 * trap.
 *
 * @throws {TypeError} at module load when the name, version or handles are invalid
 */
export function defineGuard<S = JsonObject>(definition: GuardDefinition<S>): GuardExports {
  const info = validateInfo(definition as GuardDefinition<unknown>);
  // One instance serves one init + check pair; this holds what init produced.
  let current: { state: S } | undefined;

  const initialize = (config: JsonObject): { state: S } => {
    const state = definition.init ? definition.init(config) : (config as unknown as S);
    return { state };
  };

  return {
    describe(): GuardInfo {
      return { name: info.name, version: info.version, handles: [...info.handles] };
    },

    init(config: string): void {
      try {
        current = initialize(parseConfig(config));
      } catch (error) {
        current = undefined;
        // The component model maps a thrown string to `err(string)`.
        throw errorMessage(error);
      }
    },

    check(event: string): WitVerdict {
      try {
        // The engine always calls init first; default to `{}` rather than fail if not.
        current ??= initialize({});
        const parsed = parseEvent(event);
        return toWitVerdict(definition.check(parsed, current.state));
      } catch (error) {
        throw errorMessage(error);
      }
    },
  };
}
