// The raw host imports of the world `clawdstrike:guard/guard@1.0.0`, as ComponentizeJS
// binds them (function names in camelCase, `result` errors thrown as a ComponentError
// whose `payload` is the `host-error` variant). Internal to the SDK: guard code uses the
// typed wrappers in host.ts.

declare module "clawdstrike:guard/host@1.0.0" {
  export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";
  export interface Request {
    method: string;
    url: string;
    headers: Array<[string, string]>;
    body: Uint8Array | undefined;
    timeoutMs: number | undefined;
  }
  export interface Response {
    status: number;
    headers: Array<[string, string]>;
    body: Uint8Array;
  }
  export function log(level: LogLevel, message: string): void;
  export function httpRequest(request: Request): Response;
  export function readFile(path: string): Uint8Array;
  export function getSecret(name: string): string;
}

declare module "clawdstrike:guard/state@1.0.0" {
  export function get(key: string): Uint8Array | undefined;
  export function set(key: string, value: Uint8Array): void;
  function _delete(key: string): void;
  export { _delete as delete };
}
