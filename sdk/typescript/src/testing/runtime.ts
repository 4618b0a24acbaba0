/**
 * The two ways the harness runs a guard: **native** (its source bundled and evaluated in
 * Node.js, `clawdstrike:` imports mapped to the fake host) and **component** (the built
 * `.wasm` transpiled by jco and instantiated in Node.js, the real artifact the engine
 * loads). Both create a fresh instance per run, like the engine does per check.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import vm from "node:vm";
import { bundleGuard } from "../build/bundle.js";
import type { RawImports } from "./fake-host.js";

/** The exports of one guard instance, as JavaScript sees them. */
export interface GuardInstance {
  describe(): unknown;
  init(config: string): unknown;
  check(event: string): unknown;
}

/** How a guard is run. */
export type RuntimeKind = "native" | "component";

/** A loaded guard that can make instances. */
export interface GuardRuntime {
  readonly kind: RuntimeKind;
  /** A new instance wired to `imports`. */
  instantiate(imports: RawImports): Promise<GuardInstance>;
}

/** What an export's failure was: an `err` of its `result`, or a trap. */
export type CallFailure = { kind: "error"; message: string } | { kind: "trap"; message: string };

const HOST = "clawdstrike:guard/host@1.0.0";
const STATE = "clawdstrike:guard/state@1.0.0";

/**
 * Classify what an export threw. Under the component model a thrown string (native) or a
 * ComponentError carrying a string payload (component) is `err(string)`; anything else
 * is a trap, which the engine turns into a deny.
 */
export function classifyFailure(error: unknown): CallFailure {
  if (typeof error === "string") return { kind: "error", message: error };
  if (error !== null && typeof error === "object" && "payload" in error) {
    const payload = (error as { payload: unknown }).payload;
    if (typeof payload === "string") return { kind: "error", message: payload };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { kind: "trap", message };
}

const nativeCache = new Map<string, Promise<GuardRuntime>>();

/** Bundle a guard's source once per process and evaluate it per instance. */
export function loadNative(entry: string): Promise<GuardRuntime> {
  let runtime = nativeCache.get(entry);
  if (!runtime) {
    runtime = (async () => {
      const { code } = await bundleGuard(entry, "cjs");
      // A CommonJS wrapper evaluated per instance: each call gets fresh module state.
      const factory = vm.compileFunction(`"use strict";\n${code}`, ["require", "module", "exports"], {
        filename: `${entry} (bundled for the test harness)`,
      });
      return {
        kind: "native" as const,
        async instantiate(imports: RawImports): Promise<GuardInstance> {
          const module = { exports: {} as Record<string, unknown> };
          const require = (specifier: string): unknown => {
            if (specifier === HOST) return imports.host;
            if (specifier === STATE) return imports.state;
            throw new Error(
              `the guard imports ${JSON.stringify(specifier)}, which a guard component cannot import`,
            );
          };
          factory(require, module, module.exports);
          return exportsOf(module.exports, entry);
        },
      };
    })();
    nativeCache.set(entry, runtime);
    // A failed load is not cached: the next test reports the same error afresh.
    runtime.catch(() => nativeCache.delete(entry));
  }
  return runtime;
}

function exportsOf(exports: Record<string, unknown>, where: string): GuardInstance {
  for (const name of ["describe", "init", "check"]) {
    if (typeof exports[name] !== "function") {
      throw new Error(
        `${where} does not export a function ${name}: a guard module is \`export const { describe, init, check } = defineGuard({...})\``,
      );
    }
  }
  return exports as unknown as GuardInstance;
}

const componentCache = new Map<string, Promise<GuardRuntime>>();

// Node.js has the WebAssembly global; @types/node declares only its types.
const wasmApi = (globalThis as unknown as {
  WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> };
}).WebAssembly;

/** The imports a guard component may have that carry functions. */
const COMPONENT_IMPORTS = new Set(["clawdstrike:guard/host", "clawdstrike:guard/state"]);

/**
 * Transpile a component with jco once per process (keyed by content) and instantiate it
 * per run, its imports bound to the fake host.
 */
export async function loadComponent(wasmPath: string): Promise<GuardRuntime> {
  const bytes = await readFile(wasmPath);
  const key = createHash("sha256").update(bytes).digest("hex");
  let runtime = componentCache.get(key);
  if (!runtime) {
    runtime = transpileComponent(bytes, wasmPath);
    componentCache.set(key, runtime);
    runtime.catch(() => componentCache.delete(key));
  }
  return runtime;
}

interface Transpiled {
  instantiate(
    getCoreModule: (name: string) => Promise<WebAssembly.Module>,
    imports: Record<string, unknown>,
  ): Promise<Record<string, unknown>>;
}

async function transpileComponent(bytes: Uint8Array, wasmPath: string): Promise<GuardRuntime> {
  const { transpile } = await import("@bytecodealliance/jco");
  const { files, imports } = await transpile(bytes, {
    name: "guard",
    instantiation: "async",
    noTypescript: true,
    quiet: true,
  });
  const foreign = imports.filter((name) => !COMPONENT_IMPORTS.has(name.replace(/@[^@]*$/, "")));
  if (foreign.length > 0) {
    throw new Error(
      `${wasmPath} imports ${foreign.join(", ")}: the engine refuses components that import anything but clawdstrike:guard/host and clawdstrike:guard/state`,
    );
  }
  const js = files["guard.js"];
  if (!js) throw new Error(`jco produced no guard.js for ${wasmPath}`);
  // The generated module imports nothing (instantiation mode), so a data: URL loads it.
  const url = `data:text/javascript;base64,${Buffer.from(js).toString("base64")}`;
  const generated = (await import(url)) as Transpiled;
  const cores = new Map<string, Promise<WebAssembly.Module>>();
  const getCoreModule = (name: string): Promise<WebAssembly.Module> => {
    let core = cores.get(name);
    if (!core) {
      const file = files[name];
      if (!file) return Promise.reject(new Error(`jco output has no core module ${name}`));
      core = wasmApi.compile(file);
      cores.set(name, core);
    }
    return core;
  };
  return {
    kind: "component",
    async instantiate(raw: RawImports): Promise<GuardInstance> {
      // jco names imports without their version; give both spellings.
      const instance = await generated.instantiate(getCoreModule, {
        "clawdstrike:guard/host": raw.host,
        [HOST]: raw.host,
        "clawdstrike:guard/state": raw.state,
        [STATE]: raw.state,
      });
      return exportsOf(instance, wasmPath);
    },
  };
}
