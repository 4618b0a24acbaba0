/**
 * Building verdicts: {@link allow}, {@link warn}, {@link deny}, and the conversion of a
 * {@link Verdict} into the `verdict` record that crosses the interface.
 *
 * @module
 */

import { GuardError } from "./errors.js";
import { SEVERITIES, type Severity, type Verdict, type WitVerdict } from "./types.js";

/** What may follow the reason of a warn or deny. */
export interface VerdictExtra {
  /** Machine-readable details for the audit log (serialised with `JSON.stringify`). */
  details?: Record<string, unknown>;
  /** What to do instead, shown to the person who asked. */
  remediation?: string;
}

/**
 * The action may happen. An allow carries no severity, details or remediation.
 *
 * @param reason why, e.g. "file type allowed"
 */
export function allow(reason?: string): Verdict {
  return reason === undefined ? { status: "allow" } : { status: "allow", reason };
}

/**
 * The action may happen, but a person should look.
 *
 * @param severity how serious
 * @param reason one sentence a person can act on
 * @param extra details (an object) and remediation
 */
export function warn(severity: Severity, reason: string, extra?: VerdictExtra): Verdict {
  return finding("warn", severity, reason, extra);
}

/**
 * The action must not happen.
 *
 * @param severity how serious
 * @param reason one sentence a person can act on
 * @param extra details (an object) and remediation
 */
export function deny(severity: Severity, reason: string, extra?: VerdictExtra): Verdict {
  return finding("deny", severity, reason, extra);
}

function finding(
  status: "warn" | "deny",
  severity: Severity,
  reason: string,
  extra: VerdictExtra | undefined,
): Verdict {
  const verdict: Verdict = { status, severity, reason };
  if (extra?.details !== undefined) verdict.details = extra.details;
  if (extra?.remediation !== undefined) verdict.remediation = extra.remediation;
  return verdict;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw new GuardError(`check returned an invalid verdict: ${field} must be a string`);
  }
  return value;
}

/**
 * Convert what guard code returned into the WIT `verdict` record: every field present
 * (absent ones `undefined`), `details` as JSON text of an object.
 *
 * @throws {GuardError} `check returned an invalid verdict: ...` when the value is not a verdict
 */
export function toWitVerdict(value: unknown): WitVerdict {
  if (
    value !== null &&
    typeof value === "object" &&
    typeof (value as { then?: unknown }).then === "function"
  ) {
    throw new GuardError("check returned a Promise: guards are synchronous");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new GuardError(
      "check returned an invalid verdict: expected an object such as allow(), warn(...) or deny(...)",
    );
  }
  const v = value as Record<string, unknown>;
  if (v.status !== "allow" && v.status !== "warn" && v.status !== "deny") {
    throw new GuardError(
      `check returned an invalid verdict: status must be "allow", "warn" or "deny", got ${JSON.stringify(v.status)}`,
    );
  }
  let severity: Severity | undefined;
  if (v.severity !== undefined && v.severity !== null) {
    if (!(SEVERITIES as readonly unknown[]).includes(v.severity)) {
      throw new GuardError(
        `check returned an invalid verdict: severity must be one of ${SEVERITIES.join(", ")}, got ${JSON.stringify(v.severity)}`,
      );
    }
    severity = v.severity as Severity;
  }
  let details: string | undefined;
  if (v.details !== undefined && v.details !== null) {
    details = detailsText(v.details);
  }
  return {
    status: v.status,
    severity,
    reason: optionalString(v.reason, "reason"),
    details,
    remediation: optionalString(v.remediation, "remediation"),
  };
}

function detailsText(details: unknown): string {
  const bad = (why: string) =>
    new GuardError(`check returned an invalid verdict: details ${why}`);
  if (typeof details === "string") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(details);
    } catch {
      throw bad("must be a JSON object (the text is not JSON)");
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw bad("must be the JSON text of an object");
    }
    return details;
  }
  if (typeof details !== "object" || Array.isArray(details)) {
    throw bad("must be an object");
  }
  try {
    return JSON.stringify(details);
  } catch (error) {
    throw bad(`cannot be serialised: ${error instanceof Error ? error.message : String(error)}`);
  }
}
