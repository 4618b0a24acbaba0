/**
 * `@clawdstrike/guard-sdk`: write Clawdstrike guards in TypeScript.
 *
 * A guard is a WebAssembly component implementing the world `guard` of
 * `clawdstrike:guard@1.0.0` (the file `wit/guard.wit` in this package). This module is
 * what the guard's own code imports; it is bundled into the component by
 * `clawdstrike-guard-build`. Tests import `@clawdstrike/guard-sdk/testing` instead.
 *
 * ```ts
 * import { defineGuard, allow, deny, log } from "@clawdstrike/guard-sdk";
 *
 * export const { describe, init, check } = defineGuard({
 *   name: "no_exe",
 *   version: "0.1.0",
 *   handles: ["file_write"],
 *   check(event) {
 *     log.debug(`checking ${event.eventId}`);
 *     if (event.eventType === "file_write" && event.data.path.endsWith(".exe")) {
 *       return deny("high", `executable written: ${event.data.path}`);
 *     }
 *     return allow("not an executable");
 *   },
 * });
 * ```
 *
 * @module
 */

export * from "./types.js";
export { HostError, GuardError, errorMessage } from "./errors.js";
export type { HostErrorKind, HostErrorVariant } from "./errors.js";
export { parseEvent, validateEvent, INVALID_EVENT } from "./event.js";
export { allow, warn, deny, toWitVerdict } from "./verdict.js";
export type { VerdictExtra } from "./verdict.js";
export { defineGuard } from "./define.js";
export type { GuardDefinition } from "./define.js";
export { log, http, fs, secrets, state } from "./host.js";
export type { LogLevel, HttpMethod, HttpRequest, HttpResponse } from "./host.js";
