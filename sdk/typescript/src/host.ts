/**
 * Typed wrappers over the host imports, the only way out of the sandbox:
 * {@link log}, {@link http}, {@link fs}, {@link secrets} and the per-guard key-value
 * store {@link state}.
 *
 * Every call except `log` and `state` needs a capability in the guard's manifest
 * (`capabilities.network`, `filesystem.read`, `secrets.allowedKeys`); an undeclared use
 * throws a {@link HostError} of kind `denied` and never reaches the resource. All calls
 * are synchronous: the host applies its own deadline to each.
 *
 * @module
 */

import * as hostImports from "clawdstrike:guard/host@1.0.0";
import * as stateImports from "clawdstrike:guard/state@1.0.0";
import { HostError } from "./errors.js";

/** Run a host import, turning the thrown `host-error` variant into a {@link HostError}. */
function call<T>(operation: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    // ComponentizeJS (and jco) throw a ComponentError whose own `payload` is the variant.
    if (error !== null && typeof error === "object" && "payload" in error) {
      throw HostError.fromVariant((error as { payload: unknown }).payload, operation);
    }
    throw error;
  }
}

const encoder = new TextEncoder();

function utf8(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** Severity of a log line. */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

/**
 * The guard's log (size-capped by the host, kept in the audit log). Needs no capability.
 *
 * ```ts
 * log.debug(`checking ${event.eventId}`);
 * ```
 */
export const log = {
  /** Write one line at `level`. */
  write(level: LogLevel, message: string): void {
    hostImports.log(level, message);
  },
  /** Write one line at level trace. */
  trace(message: string): void {
    hostImports.log("trace", message);
  },
  /** Write one line at level debug. */
  debug(message: string): void {
    hostImports.log("debug", message);
  },
  /** Write one line at level info. */
  info(message: string): void {
    hostImports.log("info", message);
  },
  /** Write one line at level warn. */
  warn(message: string): void {
    hostImports.log("warn", message);
  },
  /** Write one line at level error. */
  error(message: string): void {
    hostImports.log("error", message);
  },
};

/** HTTP methods the host accepts (each must also be in `allowedMethods`). */
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";

/** One HTTP request. */
export interface HttpRequest {
  /** The method; must be in the manifest's `allowedMethods`. */
  method: HttpMethod;
  /** An absolute http or https URL whose host is in `allowedHosts`. */
  url: string;
  /** Request headers, as an object or as (name, value) pairs. */
  headers?: Record<string, string> | Array<[string, string]>;
  /** The body: text (sent as UTF-8) or bytes; at most `maxRequestSizeBytes`. */
  body?: string | Uint8Array;
  /** A shorter deadline than the host's, in milliseconds. */
  timeoutMs?: number;
}

/** The answer to an HTTP request. */
export interface HttpResponse {
  /** HTTP status code. */
  status: number;
  /** Response headers as (name, value) pairs, names in lower case. */
  headers: Array<[string, string]>;
  /** The body; at most `maxResponseSizeBytes`. */
  body: Uint8Array;
  /** The first value of a header (case-insensitive), if present. */
  header(name: string): string | undefined;
  /** The body decoded as UTF-8. */
  text(): string;
  /** The body parsed as JSON. */
  json<T = unknown>(): T;
}

/**
 * HTTP through the host (capability `network`: hosts, methods, size limits).
 *
 * ```ts
 * const res = http.request({ method: "GET", url: "https://api.example.com/v1/check" });
 * if (res.status === 200) { const body = res.json<{ bad: boolean }>(); }
 * ```
 */
export const http = {
  /**
   * Send one request and wait for the answer.
   *
   * @throws {HostError} `denied` (host or method not declared), `timeout`, `too-large`,
   *   `failed` (connection refused, malformed URL, ...)
   */
  request(request: HttpRequest): HttpResponse {
    const headers = Array.isArray(request.headers)
      ? request.headers.map(([k, v]) => [k, v] as [string, string])
      : Object.entries(request.headers ?? {});
    const body =
      typeof request.body === "string" ? encoder.encode(request.body) : request.body;
    const raw = call(`http-request ${request.method} ${request.url}`, () =>
      hostImports.httpRequest({
        method: request.method,
        url: request.url,
        headers,
        body,
        timeoutMs: request.timeoutMs,
      }),
    );
    return {
      status: raw.status,
      headers: raw.headers,
      body: raw.body,
      header(name: string) {
        const lower = name.toLowerCase();
        return raw.headers.find(([k]) => k.toLowerCase() === lower)?.[1];
      },
      text() {
        return utf8(raw.body);
      },
      json<T>() {
        return JSON.parse(utf8(raw.body)) as T;
      },
    };
  },
  /** `request({method: "GET", url, ...options})`. */
  get(url: string, options?: Omit<HttpRequest, "method" | "url" | "body">): HttpResponse {
    return http.request({ ...options, method: "GET", url });
  },
  /** `request({method: "POST", url, body, ...options})`. */
  post(
    url: string,
    body: string | Uint8Array,
    options?: Omit<HttpRequest, "method" | "url" | "body">,
  ): HttpResponse {
    return http.request({ ...options, method: "POST", url, body });
  },
};

/**
 * Files through the host (capability `filesystem.read`: explicit globs). The path is
 * normalised and symlinks resolved before it is matched.
 */
export const fs = {
  /**
   * Read a whole file.
   *
   * @throws {HostError} `denied` (path not declared), `not-found`, `too-large`, `failed`
   */
  readFile(path: string): Uint8Array {
    return call(`read-file ${JSON.stringify(path)}`, () => hostImports.readFile(path));
  },
  /** Read a whole file as UTF-8 text. */
  readTextFile(path: string): string {
    return utf8(fs.readFile(path));
  },
};

/** Secrets through the host (capability `secrets.allowedKeys`). Secrets cannot be listed. */
export const secrets = {
  /**
   * Read a named secret.
   *
   * @throws {HostError} `denied` (key not declared), `not-found` (not set)
   */
  get(name: string): string {
    return call(`get-secret ${JSON.stringify(name)}`, () => hostImports.getSecret(name));
  },
};

/**
 * A small key-value store the host keeps for this guard (per policy entry), the only
 * thing that survives from one check to the next. Limits: keys up to 256 bytes, values
 * up to 64 KiB, 1024 keys, 1 MiB in all. Not persisted across engine restarts.
 */
export const state = {
  /** The bytes stored under `key`, if any. */
  get(key: string): Uint8Array | undefined {
    return stateImports.get(key);
  },
  /** The value under `key` decoded as UTF-8, if any. */
  getText(key: string): string | undefined {
    const value = stateImports.get(key);
    return value === undefined ? undefined : utf8(value);
  },
  /** The value under `key` parsed as JSON, if any. */
  getJson<T = unknown>(key: string): T | undefined {
    const text = state.getText(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  },
  /**
   * Store `value` (bytes, or text stored as UTF-8) under `key`.
   *
   * @throws {HostError} `too-large` when a limit would be exceeded
   */
  set(key: string, value: Uint8Array | string): void {
    const bytes = typeof value === "string" ? encoder.encode(value) : value;
    call(`state set ${JSON.stringify(key)}`, () => stateImports.set(key, bytes));
  },
  /** Store `JSON.stringify(value)` under `key`. */
  setJson(key: string, value: unknown): void {
    state.set(key, JSON.stringify(value));
  },
  /** Remove `key` (no error when it is absent). */
  delete(key: string): void {
    stateImports.delete(key);
  },
};
