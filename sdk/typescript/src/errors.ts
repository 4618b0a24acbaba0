/**
 * Errors a guard sees: {@link HostError} when a host call does not succeed, and
 * {@link GuardError} for a guard's own refusals (bad config, bad event). Both carry a
 * message that is used as-is as the `err` string of `init` / `check`.
 *
 * @module
 */

/** Why a host call did not succeed: the cases of the WIT variant `host-error`. */
export type HostErrorKind = "denied" | "not-found" | "timeout" | "too-large" | "failed";

const KINDS: readonly HostErrorKind[] = ["denied", "not-found", "timeout", "too-large", "failed"];

/** The WIT variant `host-error` as JavaScript sees it: `{tag, val?}`. */
export type HostErrorVariant =
  | { tag: "denied"; val: string }
  | { tag: "not-found" }
  | { tag: "timeout" }
  | { tag: "too-large" }
  | { tag: "failed"; val: string };

const DESCRIPTIONS: Record<HostErrorKind, string> = {
  denied: "denied",
  "not-found": "not found",
  timeout: "timed out",
  "too-large": "too large",
  failed: "failed",
};

/**
 * A host call (`http.request`, `fs.readFile`, `secrets.get`, `state.set`) did not succeed.
 *
 * `kind` says why: `denied` (the manifest does not declare this use; `detail` names the
 * capability), `not-found`, `timeout`, `too-large` or `failed` (`detail` says what). A
 * guard that does not catch it fails the check, which the engine turns into a deny.
 *
 * In tests, throw one from a fake host handler to simulate a failure:
 * `withHttp(() => { throw new HostError("timeout"); })`.
 */
export class HostError extends Error {
  /** Why the call did not succeed. */
  readonly kind: HostErrorKind;
  /** The host's message (`denied` and `failed` carry one). */
  readonly detail: string | undefined;
  /** The host function, e.g. `read-file`, with its target when known. */
  readonly operation: string | undefined;

  /**
   * @param kind why the call did not succeed
   * @param detail the host's message, for `denied` and `failed`
   * @param operation which call, e.g. `read-file "/etc/acme.conf"`
   */
  constructor(kind: HostErrorKind, detail?: string, operation?: string) {
    if (!KINDS.includes(kind)) {
      throw new TypeError(`unknown host error kind ${JSON.stringify(kind)}`);
    }
    const what = operation === undefined ? "host call" : `host call ${operation}`;
    super(`${what} ${DESCRIPTIONS[kind]}${detail ? `: ${detail}` : ""}`);
    this.name = "HostError";
    this.kind = kind;
    this.detail = detail;
    this.operation = operation;
  }

  /** The WIT variant this error stands for. */
  toVariant(): HostErrorVariant {
    switch (this.kind) {
      case "denied":
        return { tag: "denied", val: this.detail ?? "" };
      case "failed":
        return { tag: "failed", val: this.detail ?? "" };
      default:
        return { tag: this.kind };
    }
  }

  /**
   * Build a HostError from the variant a host import threw. A payload that is not a
   * known variant becomes `failed`, so nothing the host sends is lost.
   */
  static fromVariant(payload: unknown, operation?: string): HostError {
    if (payload !== null && typeof payload === "object" && "tag" in payload) {
      const { tag, val } = payload as { tag: unknown; val?: unknown };
      if (typeof tag === "string" && (KINDS as readonly string[]).includes(tag)) {
        return new HostError(
          tag as HostErrorKind,
          typeof val === "string" ? val : undefined,
          operation,
        );
      }
    }
    return new HostError("failed", `unexpected host error ${safeJson(payload)}`, operation);
  }
}

/**
 * A refusal by the guard or the SDK whose message is meant for people: an invalid
 * configuration, an invalid event. Its message becomes the `err` string unchanged.
 */
export class GuardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GuardError";
  }
}

/**
 * The message that an exception thrown by guard code turns into.
 *
 * A plain `Error`, a {@link GuardError} or a {@link HostError} gives its message as it is
 * (so `throw new Error('unknown config key "x"')` is the exact `err` string); any other
 * `Error` subclass keeps its name (`TypeError: x is undefined`) because that is a bug the
 * author wants to see named; a thrown string is itself; anything else is stringified.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const plain =
      error instanceof GuardError ||
      error instanceof HostError ||
      Object.getPrototypeOf(error) === Error.prototype;
    return plain ? error.message : `${error.name}: ${error.message}`;
  }
  if (typeof error === "string") return error;
  return safeJson(error);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
