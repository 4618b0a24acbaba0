/**
 * What a test run of a guard produced, with assertions: {@link CheckOutcome} for
 * `check`, {@link InitOutcome} for `initialize`.
 *
 * @module
 */

import { AssertionError } from "node:assert";
import type { Severity, Status } from "../types.js";
import type { HostCall, LogLine } from "./fake-host.js";
import type { RuntimeKind } from "./runtime.js";

/** A verdict as the engine receives it: absent fields are `null`, `details` is JSON text. */
export interface ObservedVerdict {
  status: Status;
  severity: Severity | null;
  reason: string | null;
  details: string | null;
  remediation: string | null;
}

/** What to expect of a warn or deny (every field optional). */
export interface FindingExpectation {
  /** The exact severity. */
  severity?: Severity;
  /** A substring of the reason. */
  reasonContains?: string;
  /** The exact reason. */
  reason?: string;
  /** Details (compared as parsed JSON) the verdict must carry. */
  details?: Record<string, unknown>;
}

/** What to expect of an allow (every field optional). */
export interface AllowExpectation {
  /** A substring of the reason. */
  reasonContains?: string;
  /** The exact reason. */
  reason?: string;
}

/** An exact expectation: each given key must equal the verdict's (`null` = absent). */
export interface VerdictExpectation {
  status: Status;
  severity?: Severity | null;
  reason?: string | null;
  /** The exact JSON text, or `null` for none. */
  details?: string | null;
  remediation?: string | null;
}

/** Where a run stopped with an error. */
export type Stage = "init" | "check";

function fail(message: string, actual: unknown, expected: unknown): never {
  throw new AssertionError({ message, actual, expected, operator: "guardTest" });
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) =>
    deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

/** The result of one `check` run (a fresh instance: `init(config)` then `check(event)`). */
export class CheckOutcome {
  /**
   * @param runtime how the guard ran
   * @param verdict the verdict, when both calls succeeded
   * @param error the `err` string or trap message, when one of them failed
   * @param stage which call failed
   * @param trapped whether the failure was a trap rather than an `err`
   * @param logs lines the guard logged
   * @param hostCalls host calls it made
   */
  constructor(
    readonly runtime: RuntimeKind,
    readonly verdict: ObservedVerdict | null,
    readonly error: string | null,
    readonly stage: Stage | null,
    readonly trapped: boolean,
    readonly logs: readonly LogLine[],
    readonly hostCalls: readonly HostCall[],
  ) {}

  /** The verdict's status, or `null` when the run failed. */
  get status(): Status | null {
    return this.verdict?.status ?? null;
  }

  /** The verdict's severity, or `null`. */
  get severity(): Severity | null {
    return this.verdict?.severity ?? null;
  }

  /** The verdict's reason, or `null`. */
  get reason(): string | null {
    return this.verdict?.reason ?? null;
  }

  /** The verdict's details parsed from JSON, or `null`. */
  get details(): Record<string, unknown> | null {
    const text = this.verdict?.details;
    return text == null ? null : (JSON.parse(text) as Record<string, unknown>);
  }

  private describe(): string {
    if (this.verdict) return `[${this.runtime}] verdict ${JSON.stringify(this.verdict)}`;
    return `[${this.runtime}] ${this.trapped ? "trap" : "error"} in ${this.stage}: ${this.error}`;
  }

  private requireVerdict(wanted: Status): ObservedVerdict {
    if (!this.verdict) {
      fail(`expected ${wanted}, got ${this.describe()}`, this.error, wanted);
    }
    if (this.verdict.status !== wanted) {
      fail(`expected ${wanted}, got ${this.describe()}`, this.verdict.status, wanted);
    }
    return this.verdict;
  }

  private checkReason(v: ObservedVerdict, e: { reason?: string; reasonContains?: string }): void {
    if (e.reason !== undefined && v.reason !== e.reason) {
      fail(`expected reason ${JSON.stringify(e.reason)}, got ${this.describe()}`, v.reason, e.reason);
    }
    if (e.reasonContains !== undefined && !(v.reason ?? "").includes(e.reasonContains)) {
      fail(
        `expected the reason to contain ${JSON.stringify(e.reasonContains)}, got ${this.describe()}`,
        v.reason,
        e.reasonContains,
      );
    }
  }

  private expectFinding(status: "warn" | "deny", e: FindingExpectation): this {
    const v = this.requireVerdict(status);
    if (e.severity !== undefined && v.severity !== e.severity) {
      fail(`expected severity ${e.severity}, got ${this.describe()}`, v.severity, e.severity);
    }
    this.checkReason(v, e);
    if (e.details !== undefined && !deepEqual(this.details, e.details)) {
      fail(`expected details ${JSON.stringify(e.details)}, got ${this.describe()}`, this.details, e.details);
    }
    return this;
  }

  /** Assert an allow (optionally with a reason). Returns `this` for chaining. */
  expectAllow(e: AllowExpectation = {}): this {
    this.checkReason(this.requireVerdict("allow"), e);
    return this;
  }

  /** Assert a warn, optionally of a severity, with a reason, with details. */
  expectWarn(e: FindingExpectation = {}): this {
    return this.expectFinding("warn", e);
  }

  /** Assert a deny, optionally of a severity, with a reason, with details. */
  expectDeny(e: FindingExpectation = {}): this {
    return this.expectFinding("deny", e);
  }

  /**
   * Assert the verdict field by field: every key given must be equal (`null` meaning
   * absent, `details` compared as exact JSON text). This is what parity tests use.
   */
  expectVerdict(expected: VerdictExpectation): this {
    if (!this.verdict) fail(`expected a verdict, got ${this.describe()}`, this.error, expected);
    for (const key of Object.keys(expected) as Array<keyof VerdictExpectation>) {
      if (expected[key] === undefined) continue;
      if (this.verdict[key] !== expected[key]) {
        fail(
          `expected ${key} ${JSON.stringify(expected[key])}, got ${this.describe()}`,
          this.verdict[key],
          expected[key],
        );
      }
    }
    return this;
  }

  /**
   * Assert that the run failed with an `err` (not a trap) from `init` or `check`,
   * optionally one starting with `prefix` (or matching a RegExp).
   */
  expectError(prefix?: string | RegExp): this {
    if (this.error === null) fail(`expected an error, got ${this.describe()}`, this.verdict, prefix);
    if (this.trapped) fail(`expected an error, got ${this.describe()}`, this.error, prefix);
    const matches =
      prefix === undefined ||
      (typeof prefix === "string" ? this.error.startsWith(prefix) : prefix.test(this.error));
    if (!matches) {
      fail(`expected an error starting with ${String(prefix)}, got ${this.describe()}`, this.error, prefix);
    }
    return this;
  }

  /** Assert that the guard logged a line containing `text` (at `level`, if given). */
  expectLog(text: string, level?: LogLine["level"]): this {
    const found = this.logs.some(
      (line) => line.message.includes(text) && (level === undefined || line.level === level),
    );
    if (!found) {
      fail(`expected a log line containing ${JSON.stringify(text)}`, this.logs, text);
    }
    return this;
  }
}

/** The result of `initialize()`: `init(config)` on a fresh instance. */
export class InitOutcome {
  constructor(
    readonly runtime: RuntimeKind,
    /** The `err` string or trap message, or `null` when init accepted the config. */
    readonly error: string | null,
    readonly trapped: boolean,
    readonly logs: readonly LogLine[],
  ) {}

  /** Whether init accepted the config. */
  get ok(): boolean {
    return this.error === null;
  }

  /** Assert that init accepted the config. */
  expectOk(): this {
    if (this.error !== null) {
      fail(`[${this.runtime}] expected init to accept the config, got: ${this.error}`, this.error, null);
    }
    return this;
  }

  /** Assert that init refused the config with an `err` starting with `prefix` (or matching). */
  expectError(prefix?: string | RegExp): this {
    if (this.error === null || this.trapped) {
      fail(`[${this.runtime}] expected init to fail, got ${this.error ?? "ok"}`, this.error, prefix);
    }
    const matches =
      prefix === undefined ||
      (typeof prefix === "string" ? this.error.startsWith(prefix) : prefix.test(this.error));
    if (!matches) {
      fail(`[${this.runtime}] expected an init error starting with ${String(prefix)}, got: ${this.error}`, this.error, prefix);
    }
    return this;
  }
}
