/**
 * The fake host the test harness gives a guard: the imports `clawdstrike:guard/host` and
 * `clawdstrike:guard/state`, behaving like the engine's host for a guard whose manifest
 * declares only what the test configured. By default every capability is denied, exactly
 * as for an undeclared capability in the engine.
 *
 * @module
 */

import { HostError, type HostErrorVariant } from "../errors.js";

/** Severity of a log line. */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

/** One line the guard logged. */
export interface LogLine {
  level: LogLevel;
  message: string;
}

/** One host call the guard made, as the engine would audit it. */
export interface HostCall {
  /** `http-request`, `read-file`, `get-secret`, `state-get`, `state-set`, `state-delete`. */
  op: string;
  /** The URL, path, secret name or state key. */
  target: string;
  /** `ok`, or the host-error kind. */
  outcome: "ok" | HostError["kind"];
}

/** The request a {@link HttpHandler} receives. */
export interface FakeHttpRequest {
  method: string;
  url: string;
  /** Request headers as (name, value) pairs. */
  headers: Array<[string, string]>;
  body: Uint8Array | undefined;
  timeoutMs: number | undefined;
  /** The body decoded as UTF-8 (`""` when there is none). */
  text(): string;
  /** The body parsed as JSON. */
  json(): unknown;
}

/** What a {@link HttpHandler} answers; every field is optional. */
export interface FakeHttpResponse {
  /** Default 200. */
  status?: number;
  /** As an object or as pairs; names are lower-cased like the real host does. */
  headers?: Record<string, string> | Array<[string, string]>;
  /** Text (UTF-8), bytes, or any other value (sent as JSON). */
  body?: string | Uint8Array | unknown;
}

/**
 * Answers the guard's HTTP requests in a test. Synchronous, like the host call. Throw a
 * {@link HostError} to simulate `denied`, `timeout`, `too-large` or `failed`.
 */
export type HttpHandler = (request: FakeHttpRequest) => FakeHttpResponse;

/** A file or secret the fake host serves, or the error it answers with. */
export type Served<T> = T | HostError;

/** What the fake host grants. Immutable: the `with*` methods of the tester copy it. */
export interface FakeHostConfig {
  readonly files: ReadonlyMap<string, Served<Uint8Array>>;
  readonly secrets: ReadonlyMap<string, Served<string>>;
  readonly http: HttpHandler | undefined;
}

/** A fake host that grants nothing. */
export const EMPTY_HOST_CONFIG: FakeHostConfig = {
  files: new Map(),
  secrets: new Map(),
  http: undefined,
};

/** The host's limits on the state store (the WIT's `state` interface). */
export const STATE_LIMITS = {
  maxKeyBytes: 256,
  maxValueBytes: 64 * 1024,
  maxKeys: 1024,
  maxTotalBytes: 1024 * 1024,
} as const;

/**
 * What the guard's code sees thrown when a host import fails: like jco's and
 * ComponentizeJS's ComponentError, an error whose own `payload` is the `host-error`
 * variant.
 */
class ComponentError extends Error {
  declare readonly payload: HostErrorVariant;
  constructor(payload: HostErrorVariant) {
    super(`host error ${payload.tag}`);
    Object.defineProperty(this, "payload", { value: payload, enumerable: true });
  }
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function asHostError(error: unknown, where: string): HostError {
  if (error instanceof HostError) return error;
  // A HostError from another copy of the SDK (a bundle) is recognised by its shape.
  if (error !== null && typeof error === "object" && "kind" in error) {
    const e = error as { kind: unknown; detail?: unknown };
    try {
      return new HostError(
        e.kind as HostError["kind"],
        typeof e.detail === "string" ? e.detail : undefined,
      );
    } catch {
      // not a host error kind: fall through
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  return new HostError("failed", `${where} threw: ${message}`);
}

function headerPairs(headers: FakeHttpResponse["headers"]): Array<[string, string]> {
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers ?? {});
  return pairs.map(([k, v]) => [String(k).toLowerCase(), String(v)]);
}

function bodyBytes(body: unknown): Uint8Array {
  if (body === undefined) return new Uint8Array();
  if (typeof body === "string") return encoder.encode(body);
  if (body instanceof Uint8Array) return new Uint8Array(body);
  return encoder.encode(JSON.stringify(body));
}

/** The raw imports as a component sees them. */
export interface RawImports {
  host: {
    log(level: LogLevel, message: string): void;
    httpRequest(request: {
      method: string;
      url: string;
      headers: Array<[string, string]>;
      body?: Uint8Array;
      timeoutMs?: number;
    }): { status: number; headers: Array<[string, string]>; body: Uint8Array };
    readFile(path: string): Uint8Array;
    getSecret(name: string): string;
  };
  state: {
    get(key: string): Uint8Array | undefined;
    set(key: string, value: Uint8Array): void;
    delete(key: string): void;
  };
}

/**
 * One run's view of the host: records logs and calls, serves what the config grants, and
 * reads and writes the tester's state store (which outlives the run, as in the engine).
 */
export class FakeHost {
  /** Lines logged during this run. */
  readonly logs: LogLine[] = [];
  /** Host calls made during this run. */
  readonly calls: HostCall[] = [];

  constructor(
    private readonly config: FakeHostConfig,
    /** The guard's state store, shared by every run of one tester. */
    readonly store: Map<string, Uint8Array>,
  ) {}

  private fail(op: string, target: string, error: HostError): never {
    this.calls.push({ op, target, outcome: error.kind });
    throw new ComponentError(error.toVariant());
  }

  private ok(op: string, target: string): void {
    this.calls.push({ op, target, outcome: "ok" });
  }

  /** The import objects to hand to the guard. */
  imports(): RawImports {
    const { config, store } = this;
    return {
      host: {
        log: (level, message) => {
          this.logs.push({ level, message });
        },
        httpRequest: (request) => {
          const target = `${request.method} ${request.url}`;
          if (!config.http) {
            this.fail(
              "http-request",
              target,
              new HostError("denied", "capability network is not declared"),
            );
          }
          const body = request.body === undefined ? undefined : new Uint8Array(request.body);
          let answer: FakeHttpResponse;
          try {
            answer = config.http({
              method: request.method,
              url: request.url,
              headers: request.headers.map(([k, v]) => [k, v]),
              body,
              timeoutMs: request.timeoutMs,
              text: () => (body ? decoder.decode(body) : ""),
              json: () => JSON.parse(body ? decoder.decode(body) : ""),
            });
          } catch (error) {
            this.fail("http-request", target, asHostError(error, "the withHttp handler"));
          }
          if (answer !== null && typeof (answer as { then?: unknown })?.then === "function") {
            throw new TypeError("a withHttp handler must answer synchronously, not with a Promise");
          }
          this.ok("http-request", target);
          return {
            status: answer?.status ?? 200,
            headers: headerPairs(answer?.headers),
            body: bodyBytes(answer?.body),
          };
        },
        readFile: (path) => {
          const served = config.files.get(path);
          if (served === undefined) {
            this.fail(
              "read-file",
              path,
              new HostError("denied", `capability filesystem.read does not cover ${path}`),
            );
          }
          if (served instanceof HostError) this.fail("read-file", path, served);
          this.ok("read-file", path);
          return new Uint8Array(served);
        },
        getSecret: (name) => {
          const served = config.secrets.get(name);
          if (served === undefined) {
            this.fail(
              "get-secret",
              name,
              new HostError("denied", `capability secrets does not allow ${name}`),
            );
          }
          if (served instanceof HostError) this.fail("get-secret", name, served);
          this.ok("get-secret", name);
          return served;
        },
      },
      state: {
        get: (key) => {
          this.ok("state-get", key);
          const value = store.get(key);
          return value === undefined ? undefined : new Uint8Array(value);
        },
        set: (key, value) => {
          const keyBytes = encoder.encode(key).length;
          const tooLarge = (why: string) =>
            this.fail("state-set", key, new HostError("too-large", why));
          if (keyBytes > STATE_LIMITS.maxKeyBytes) tooLarge("key over 256 bytes");
          if (value.length > STATE_LIMITS.maxValueBytes) tooLarge("value over 64 KiB");
          if (!store.has(key) && store.size >= STATE_LIMITS.maxKeys) tooLarge("over 1024 keys");
          let total = keyBytes + value.length;
          for (const [k, v] of store) {
            if (k !== key) total += encoder.encode(k).length + v.length;
          }
          if (total > STATE_LIMITS.maxTotalBytes) tooLarge("store over 1 MiB");
          store.set(key, new Uint8Array(value));
          this.ok("state-set", key);
        },
        delete: (key) => {
          store.delete(key);
          this.ok("state-delete", key);
        },
      },
    };
  }
}
