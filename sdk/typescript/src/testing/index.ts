/**
 * `@clawdstrike/guard-sdk/testing`: test a guard in Node.js, natively and as the built
 * component, against a fake host.
 *
 * ```js
 * import { test } from "node:test";
 * import { guardTargets, fileWriteEvent } from "@clawdstrike/guard-sdk/testing";
 *
 * // native always; the component too when dist/guard.wasm exists
 * for (const guard of guardTargets({ source: "src/guard.ts", component: "dist/guard.wasm" })) {
 *   test(`[${guard.runtime}] blocks .exe`, async () => {
 *     await guard.withConfig({ blocked: [".exe"] })
 *       .check(fileWriteEvent("setup.exe"))
 *       .expectDeny({ severity: "high", reasonContains: ".exe" });
 *   });
 * }
 * ```
 *
 * Every run is a fresh instance given `init(config)` then `check(event)`, as in the
 * engine. The fake host denies every capability unless the test grants it (`withFile`,
 * `withSecret`, `withHttp`); `log` and the `state` store always work, and a tester's
 * state store lasts across its runs, as the engine's does across checks.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { HostError } from "../errors.js";
import { SEVERITIES, type GuardInfo, type Severity, type Status } from "../types.js";
import {
  EMPTY_HOST_CONFIG,
  FakeHost,
  type FakeHostConfig,
  type HttpHandler,
  type Served,
} from "./fake-host.js";
import { CheckOutcome, InitOutcome, type ObservedVerdict } from "./outcome.js";
import {
  classifyFailure,
  loadComponent,
  loadNative,
  type GuardRuntime,
  type RuntimeKind,
} from "./runtime.js";

export { HostError } from "../errors.js";
export type { HostErrorKind } from "../errors.js";
export * from "../types.js";
export * from "./events.js";
export { CheckOutcome, InitOutcome } from "./outcome.js";
export type {
  AllowExpectation,
  FindingExpectation,
  ObservedVerdict,
  Stage,
  VerdictExpectation,
} from "./outcome.js";
export { FakeHost, STATE_LIMITS } from "./fake-host.js";
export type {
  FakeHttpRequest,
  FakeHttpResponse,
  HostCall,
  HttpHandler,
  LogLine,
} from "./fake-host.js";
export type { RuntimeKind } from "./runtime.js";

/** A guard to test: the path (or file URL) of its source, or of a built `.wasm`. */
export type GuardModule = string | URL;

/** Options of {@link guardTest}. */
export interface GuardTestOptions {
  /**
   * `native` (bundle the source and run it in Node.js) or `component` (transpile the
   * `.wasm` with jco). Default: `component` for a path ending in `.wasm`, else `native`.
   */
  runtime?: RuntimeKind;
}

interface TesterSettings {
  readonly path: string;
  readonly runtime: RuntimeKind;
  readonly config: string;
  readonly host: FakeHostConfig;
  readonly initialState: ReadonlyMap<string, Uint8Array>;
}

const encoder = new TextEncoder();

function toPath(module: GuardModule): string {
  return module instanceof URL ? fileURLToPath(module) : resolve(process.cwd(), module);
}

/** A `check` on its way: await it for the {@link CheckOutcome}, or assert directly. */
export class PendingCheck implements PromiseLike<CheckOutcome> {
  constructor(private readonly outcome: Promise<CheckOutcome>) {}

  then<A = CheckOutcome, B = never>(
    onFulfilled?: ((value: CheckOutcome) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.outcome.then(onFulfilled, onRejected);
  }

  /** See {@link CheckOutcome.expectAllow}. */
  expectAllow(...args: Parameters<CheckOutcome["expectAllow"]>): Promise<CheckOutcome> {
    return this.outcome.then((o) => o.expectAllow(...args));
  }

  /** See {@link CheckOutcome.expectWarn}. */
  expectWarn(...args: Parameters<CheckOutcome["expectWarn"]>): Promise<CheckOutcome> {
    return this.outcome.then((o) => o.expectWarn(...args));
  }

  /** See {@link CheckOutcome.expectDeny}. */
  expectDeny(...args: Parameters<CheckOutcome["expectDeny"]>): Promise<CheckOutcome> {
    return this.outcome.then((o) => o.expectDeny(...args));
  }

  /** See {@link CheckOutcome.expectVerdict}. */
  expectVerdict(...args: Parameters<CheckOutcome["expectVerdict"]>): Promise<CheckOutcome> {
    return this.outcome.then((o) => o.expectVerdict(...args));
  }

  /** See {@link CheckOutcome.expectError}. */
  expectError(...args: Parameters<CheckOutcome["expectError"]>): Promise<CheckOutcome> {
    return this.outcome.then((o) => o.expectError(...args));
  }
}

const STATUSES: readonly Status[] = ["allow", "warn", "deny"];

/**
 * Read the verdict record an instance returned. Anything that is not a verdict would
 * fail to cross the component boundary, so it is reported as a trap.
 */
function observe(raw: unknown): ObservedVerdict | string {
  if (raw === null || typeof raw !== "object") return `check returned ${String(raw)}, not a verdict`;
  if (typeof (raw as { then?: unknown }).then === "function") {
    return "check returned a Promise: guard exports are synchronous";
  }
  const v = raw as Record<string, unknown>;
  if (!STATUSES.includes(v.status as Status)) {
    return `check returned a verdict with status ${JSON.stringify(v.status)}`;
  }
  const fields: Record<string, string | null> = {};
  for (const key of ["severity", "reason", "details", "remediation"]) {
    const value = v[key];
    if (value !== undefined && value !== null && typeof value !== "string") {
      return `check returned a verdict whose ${key} is not a string`;
    }
    fields[key] = value ?? null;
  }
  const severity = fields.severity ?? null;
  if (severity !== null && !SEVERITIES.includes(severity as Severity)) {
    return `check returned a verdict with severity ${JSON.stringify(severity)}`;
  }
  return {
    status: v.status as Status,
    severity: severity as Severity | null,
    reason: fields.reason ?? null,
    details: fields.details ?? null,
    remediation: fields.remediation ?? null,
  };
}

/**
 * Runs one guard in one runtime against a fake host. Immutable: each `with*` method
 * returns a new tester (with its own, fresh state store).
 */
export class GuardTester {
  /** The host state store of this tester, shared by its runs; inspect it in tests. */
  readonly state: Map<string, Uint8Array>;

  /** @internal use {@link guardTest} */
  constructor(private readonly settings: TesterSettings) {
    this.state = new Map([...settings.initialState].map(([k, v]) => [k, new Uint8Array(v)]));
  }

  /** `native` or `component`. */
  get runtime(): RuntimeKind {
    return this.settings.runtime;
  }

  /** The absolute path of the source or `.wasm` under test. */
  get path(): string {
    return this.settings.path;
  }

  private with(change: Partial<TesterSettings>): GuardTester {
    return new GuardTester({ ...this.settings, ...change });
  }

  /**
   * Use this configuration: an object (sent as JSON) or raw JSON text. Default `{}`,
   * what the engine sends when the policy gives no `config`.
   */
  withConfig(config: unknown): GuardTester {
    return this.with({ config: typeof config === "string" ? config : JSON.stringify(config) });
  }

  /** Grant the secret `name` with `value`; or make reading it fail with a HostError. */
  withSecret(name: string, value: Served<string>): GuardTester {
    const secrets = new Map(this.settings.host.secrets).set(name, value);
    return this.with({ host: { ...this.settings.host, secrets } });
  }

  /** Grant reading `path` with `content`; or make reading it fail with a HostError. */
  withFile(path: string, content: string | Uint8Array | HostError): GuardTester {
    const served = typeof content === "string" ? encoder.encode(content) : content;
    const files = new Map(this.settings.host.files).set(path, served);
    return this.with({ host: { ...this.settings.host, files } });
  }

  /** Grant HTTP: `handler` answers every request the guard makes. */
  withHttp(handler: HttpHandler): GuardTester {
    return this.with({ host: { ...this.settings.host, http: handler } });
  }

  /** Start the state store with `value` under `key` (text is stored as UTF-8). */
  withState(key: string, value: string | Uint8Array): GuardTester {
    const bytes = typeof value === "string" ? encoder.encode(value) : value;
    return this.with({ initialState: new Map(this.settings.initialState).set(key, bytes) });
  }

  private load(): Promise<GuardRuntime> {
    const { runtime, path } = this.settings;
    if (runtime === "component") return loadComponent(path);
    return loadNative(path);
  }

  private async instance() {
    const runtime = await this.load();
    const host = new FakeHost(this.settings.host, this.state);
    const instance = await runtime.instantiate(host.imports());
    return { instance, host };
  }

  /** Call `describe()` on a fresh instance. */
  async describe(): Promise<GuardInfo> {
    const { instance } = await this.instance();
    return instance.describe() as GuardInfo;
  }

  /** Call `init(config)` on a fresh instance, as the engine does at load. */
  async initialize(): Promise<InitOutcome> {
    const { instance, host } = await this.instance();
    try {
      instance.init(this.settings.config);
      return new InitOutcome(this.runtime, null, false, host.logs);
    } catch (error) {
      const failure = classifyFailure(error);
      return new InitOutcome(this.runtime, failure.message, failure.kind === "trap", host.logs);
    }
  }

  /**
   * Run `init(config)` then `check(event)` on a fresh instance. `event` is an event
   * object (sent as JSON) or raw text (sent as it is, to test malformed input).
   */
  check(event: unknown): PendingCheck {
    return new PendingCheck(this.runCheck(typeof event === "string" ? event : JSON.stringify(event)));
  }

  private async runCheck(eventText: string): Promise<CheckOutcome> {
    const { instance, host } = await this.instance();
    const outcome = (
      verdict: ObservedVerdict | null,
      error: string | null,
      stage: "init" | "check" | null,
      trapped: boolean,
    ) => new CheckOutcome(this.runtime, verdict, error, stage, trapped, host.logs, host.calls);
    try {
      instance.init(this.settings.config);
    } catch (error) {
      const failure = classifyFailure(error);
      return outcome(null, failure.message, "init", failure.kind === "trap");
    }
    let raw: unknown;
    try {
      raw = instance.check(eventText);
    } catch (error) {
      const failure = classifyFailure(error);
      return outcome(null, failure.message, "check", failure.kind === "trap");
    }
    const observed = observe(raw);
    if (typeof observed === "string") return outcome(null, observed, "check", true);
    return outcome(observed, null, null, false);
  }
}

/**
 * A tester for one guard: its source (run natively in Node.js) or its built `.wasm` (run
 * as the real component through jco). Paths are relative to the working directory;
 * `new URL("../src/guard.ts", import.meta.url)` works too.
 */
export function guardTest(module: GuardModule, options: GuardTestOptions = {}): GuardTester {
  const path = toPath(module);
  const runtime = options.runtime ?? (path.endsWith(".wasm") ? "component" : "native");
  return new GuardTester({
    path,
    runtime,
    config: "{}",
    host: EMPTY_HOST_CONFIG,
    initialState: new Map(),
  });
}

/** Options of {@link guardTargets}. */
export interface GuardTargetsOptions {
  /** The guard's source entry, e.g. `src/guard.ts`. */
  source: GuardModule;
  /** The built component, e.g. `dist/guard.wasm`. */
  component?: GuardModule;
  /**
   * Fail when the component is missing instead of leaving it out. Default: true when the
   * environment variable `CLAWDSTRIKE_REQUIRE_COMPONENT` is `1`.
   */
  requireComponent?: boolean;
}

/**
 * The testers to run the same tests through: the native one, and the component one when
 * the `.wasm` exists (or is required). Name tests with `guard.runtime`.
 *
 * @throws {Error} when the component is required and missing
 */
export function guardTargets(options: GuardTargetsOptions): GuardTester[] {
  const targets = [guardTest(options.source, { runtime: "native" })];
  if (options.component !== undefined) {
    const wasm = toPath(options.component);
    const required =
      options.requireComponent ?? process.env.CLAWDSTRIKE_REQUIRE_COMPONENT === "1";
    if (existsSync(wasm)) {
      targets.push(guardTest(wasm, { runtime: "component" }));
    } else if (required) {
      throw new Error(`${wasm} does not exist: build it first (clawdstrike-guard-build)`);
    }
  }
  return targets;
}
