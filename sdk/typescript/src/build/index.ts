/**
 * `@clawdstrike/guard-sdk/build`: build a guard's source into its WebAssembly component
 * (what the `clawdstrike-guard-build` command runs), and inspect a built component.
 *
 * ```js
 * import { buildGuard } from "@clawdstrike/guard-sdk/build";
 * const result = await buildGuard({ cwd: "my-guard" }); // src/guard.ts -> dist/guard.wasm
 * ```
 *
 * Steps: bundle the source with esbuild (the SDK and dependencies inlined, the
 * `clawdstrike:` imports left to the component runtime); check `describe()` against
 * `clawdstrike.plugin.json`; componentize the bundle with ComponentizeJS against the WIT
 * shipped in this package, with every WASI feature disabled so that the component
 * imports only the guard world's own interfaces; check that it does; write it. A build
 * whose bundle, WIT and toolchain are unchanged is skipped (`dist/guard.build.json`
 * records them), so running it again is cheap.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { EMPTY_HOST_CONFIG, FakeHost } from "../testing/fake-host.js";
import { loadNative } from "../testing/runtime.js";
import { bundleGuard } from "./bundle.js";

export { BundleError, bundleGuard, HOST_MODULES } from "./bundle.js";
export type { Bundle } from "./bundle.js";

/** The WIT world file shipped in this package (identical to the repository's sdk/wit). */
export const WIT_PATH = fileURLToPath(new URL("../../wit/guard.wit", import.meta.url));

/** The world every guard implements. */
export const WORLD_NAME = "guard";

/**
 * The ComponentizeJS features turned off: with all of them off the component imports no
 * WASI interface at all, only the world's own (`Date.now()`, `Math.random()`, `console`
 * and `fetch` are then not backed by the host).
 */
export const DISABLED_FEATURES = ["random", "stdio", "clocks", "http", "fetch-event"] as const;

/**
 * The imports a guard component may have. `types` holds only type definitions (no
 * functions); it appears because the world `use`s it.
 */
export const ALLOWED_IMPORTS: readonly string[] = [
  "clawdstrike:guard/host@1.0.0",
  "clawdstrike:guard/state@1.0.0",
  "clawdstrike:guard/types@1.0.0",
];

/** The exports every guard component has. */
export const REQUIRED_EXPORTS: readonly string[] = ["describe", "init", "check"];

/** Why a guard could not be built. */
export class BuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BuildError";
  }
}

/** Options of {@link buildGuard}. */
export interface BuildGuardOptions {
  /** The guard package's directory. Default: the working directory. */
  cwd?: string;
  /** The source entry, relative to `cwd`. Default `src/guard.ts`, else `src/guard.js`. */
  entry?: string;
  /** The component to write, relative to `cwd`. Default `dist/guard.wasm`. */
  out?: string;
  /** Rebuild even when nothing changed. */
  force?: boolean;
}

/** What a build did. */
export interface BuildResult {
  /** Absolute path of the source entry. */
  entry: string;
  /** Absolute path of the component. */
  outFile: string;
  /** Size of the component in bytes. */
  size: number;
  /** True when nothing changed and the component was kept. */
  upToDate: boolean;
  /** Size of the bundle in bytes and how many source files went into it. */
  bundle: { size: number; inputs: number };
  /** Milliseconds spent bundling, componentizing and in all. */
  timings: { bundleMs: number; componentizeMs: number; totalMs: number };
  /** The component's imports and exports (from its WIT). */
  imports: string[];
  exports: string[];
  /** The guard's `describe()`. */
  info: { name: string; version: string; handles: string[] };
  /** Non-fatal findings, e.g. no manifest entry for this component. */
  warnings: string[];
}

/** The component's world, as `jco wit` prints it, and its import and export names. */
export interface ComponentInterface {
  wit: string;
  imports: string[];
  exports: string[];
}

/** Read the world of a component (the text `jco wit FILE` prints) and list its imports and exports. */
export async function inspectComponent(component: Uint8Array | string): Promise<ComponentInterface> {
  const bytes = typeof component === "string" ? await readFile(component) : component;
  const { componentWit } = await import("@bytecodealliance/jco");
  const wit = await componentWit(bytes);
  const imports: string[] = [];
  const exports: string[] = [];
  // `import ns:pkg/iface@1.0.0;` or `export name: func(...)`: the name ends at `;` or `: `.
  const item = /^\s*(import|export)\s+([^\s:;]+(?::[^\s;]+)?)\s*[;:]/;
  for (const line of wit.split("\n")) {
    const match = item.exec(line);
    if (!match) continue;
    (match[1] === "import" ? imports : exports).push(match[2]!);
  }
  return { wit, imports, exports };
}

/** What is wrong with a component's interface for the engine (empty when nothing). */
export function interfaceProblems(iface: ComponentInterface): string[] {
  const problems: string[] = [];
  for (const name of iface.imports) {
    if (!ALLOWED_IMPORTS.includes(name)) {
      problems.push(
        `imports ${name}, which the engine refuses (a guard may import only ${ALLOWED_IMPORTS.join(", ")})`,
      );
    }
  }
  for (const name of REQUIRED_EXPORTS) {
    if (!iface.exports.includes(name)) problems.push(`does not export ${name}`);
  }
  return problems;
}

interface Stamp {
  sdk: string;
  componentizeJs: string;
  disabledFeatures: string[];
  witSha256: string;
  bundleSha256: string;
  wasmSha256: string;
}

function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

async function sdkVersion(): Promise<string> {
  const text = await readFile(new URL("../../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

async function readStamp(path: string): Promise<Stamp | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as Stamp;
  } catch {
    return undefined;
  }
}

function sameStamp(a: Stamp | undefined, b: Omit<Stamp, "wasmSha256">): boolean {
  return (
    a !== undefined &&
    a.sdk === b.sdk &&
    a.componentizeJs === b.componentizeJs &&
    a.disabledFeatures.join(",") === b.disabledFeatures.join(",") &&
    a.witSha256 === b.witSha256 &&
    a.bundleSha256 === b.bundleSha256
  );
}

interface ManifestGuard {
  name?: unknown;
  entrypoint?: unknown;
  handles?: unknown;
}

/**
 * Write a file whole or not at all (write a sibling, then rename), so a concurrent build
 * or test never reads half a component.
 */
async function writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, path);
}

/**
 * Compare `describe()` with the `clawdstrike.plugin.json` in `cwd`, the guard entry whose
 * entrypoint is `outFile`: a different name or handles means the engine would misreport
 * or misroute the guard, so it is an error. A missing manifest or entry is a warning.
 *
 * @returns the warnings
 * @throws {BuildError} when describe() and the manifest disagree
 */
export async function checkManifest(
  cwd: string,
  outFile: string,
  info: BuildResult["info"],
): Promise<string[]> {
  const manifestPath = resolve(cwd, "clawdstrike.plugin.json");
  if (!existsSync(manifestPath)) {
    return [`no clawdstrike.plugin.json in ${cwd}: the engine needs one to load the guard`];
  }
  let manifest: { guards?: unknown };
  try {
    manifest = JSON.parse(await readFile(manifestPath, "utf8")) as { guards?: unknown };
  } catch (error) {
    throw new BuildError(`cannot read ${manifestPath}: ${(error as Error).message}`);
  }
  const guards = Array.isArray(manifest.guards) ? (manifest.guards as ManifestGuard[]) : [];
  const entry = guards.find(
    (g) => typeof g.entrypoint === "string" && resolve(cwd, g.entrypoint) === outFile,
  );
  const rel = relative(cwd, outFile);
  if (!entry) return [`clawdstrike.plugin.json has no guard whose entrypoint is ${rel}`];
  if (entry.name !== info.name) {
    throw new BuildError(
      `describe() says the guard is ${JSON.stringify(info.name)} but clawdstrike.plugin.json names the guard at ${rel} ${JSON.stringify(entry.name)}`,
    );
  }
  const declared = Array.isArray(entry.handles) ? [...(entry.handles as string[])].sort() : [];
  const described = [...info.handles].sort();
  if (declared.join(",") !== described.join(",")) {
    throw new BuildError(
      `describe() handles [${info.handles.join(", ")}] but clawdstrike.plugin.json declares [${declared.join(", ")}] for ${info.name}`,
    );
  }
  return [];
}

async function describeBundle(entry: string): Promise<BuildResult["info"]> {
  const runtime = await loadNative(entry);
  const instance = await runtime.instantiate(new FakeHost(EMPTY_HOST_CONFIG, new Map()).imports());
  const info = instance.describe() as BuildResult["info"];
  if (!info || typeof info.name !== "string" || !Array.isArray(info.handles)) {
    throw new BuildError(`describe() of ${entry} did not return {name, version, handles}`);
  }
  return info;
}

/** Build one guard: source -> `dist/guard.wasm` (see the module documentation). */
export async function buildGuard(options: BuildGuardOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  const cwd = resolve(options.cwd ?? process.cwd());
  const entry = resolve(
    cwd,
    options.entry ?? (existsSync(resolve(cwd, "src/guard.ts")) ? "src/guard.ts" : "src/guard.js"),
  );
  if (!existsSync(entry)) throw new BuildError(`no guard source at ${entry}`);
  const outFile = resolve(cwd, options.out ?? "dist/guard.wasm");
  const stampFile = outFile.replace(/\.wasm$/, "") + ".build.json";
  const bundleFile = outFile.replace(/\.wasm$/, "") + ".bundle.js";

  const bundle = await bundleGuard(entry, "esm", cwd);
  const bundleMs = performance.now() - started;
  const info = await describeBundle(entry);
  const warnings = await checkManifest(cwd, outFile, info);

  const { componentize, version: componentizeJs } = await import(
    "@bytecodealliance/componentize-js"
  );
  const wit = await readFile(WIT_PATH);
  const stamp: Omit<Stamp, "wasmSha256"> = {
    sdk: await sdkVersion(),
    componentizeJs,
    disabledFeatures: [...DISABLED_FEATURES],
    witSha256: sha256(wit),
    bundleSha256: sha256(bundle.code),
  };

  const previous = await readStamp(stampFile);
  if (!options.force && existsSync(outFile) && sameStamp(previous, stamp)) {
    const existing = await readFile(outFile);
    if (sha256(existing) === previous!.wasmSha256) {
      const iface = await inspectComponent(existing);
      return {
        entry,
        outFile,
        size: existing.length,
        upToDate: true,
        bundle: { size: Buffer.byteLength(bundle.code), inputs: bundle.inputs.length },
        timings: { bundleMs, componentizeMs: 0, totalMs: performance.now() - started },
        imports: iface.imports,
        exports: iface.exports,
        info,
        warnings,
      };
    }
  }

  await mkdir(dirname(outFile), { recursive: true });
  await writeAtomically(bundleFile, bundle.code);
  const componentizeStarted = performance.now();
  let component: Uint8Array;
  try {
    ({ component } = await componentize({
      sourcePath: bundleFile,
      witPath: WIT_PATH,
      worldName: WORLD_NAME,
      disableFeatures: [...DISABLED_FEATURES],
    }));
  } catch (error) {
    throw new BuildError(`ComponentizeJS failed on ${relative(cwd, bundleFile)}: ${(error as Error).message}`);
  }
  const componentizeMs = performance.now() - componentizeStarted;

  const iface = await inspectComponent(component);
  const problems = interfaceProblems(iface);
  if (problems.length > 0) {
    throw new BuildError(`the component built from ${relative(cwd, entry)} ${problems.join("; ")}`);
  }

  await writeAtomically(outFile, component);
  await writeAtomically(
    stampFile,
    `${JSON.stringify({ ...stamp, wasmSha256: sha256(component) }, null, 2)}\n`,
  );
  return {
    entry,
    outFile,
    size: component.length,
    upToDate: false,
    bundle: { size: Buffer.byteLength(bundle.code), inputs: bundle.inputs.length },
    timings: { bundleMs, componentizeMs, totalMs: performance.now() - started },
    imports: iface.imports,
    exports: iface.exports,
    info,
    warnings,
  };
}
