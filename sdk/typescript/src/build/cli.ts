/**
 * The `clawdstrike-guard-build` command: build a guard package's component.
 *
 * ```text
 * clawdstrike-guard-build [ENTRY] [--out FILE] [--force]
 * ```
 *
 * @module
 */

import { relative } from "node:path";
import { buildGuard, type BuildGuardOptions } from "./index.js";

const USAGE = `Usage: clawdstrike-guard-build [ENTRY] [--out FILE] [--force]

Build a Clawdstrike guard into its WebAssembly component, in the current package.

  ENTRY        the guard's source (default src/guard.ts, else src/guard.js)
  --out FILE   the component to write (default dist/guard.wasm)
  --force      rebuild even when the bundle, the WIT and the toolchain are unchanged
  -h, --help   show this help
`;

function size(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

function time(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** Parse the command line; `undefined` means help was asked for. */
export function parseArgs(args: string[]): BuildGuardOptions | undefined {
  const options: BuildGuardOptions = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-h" || arg === "--help") return undefined;
    if (arg === "--force") options.force = true;
    else if (arg === "--out" || arg.startsWith("--out=")) {
      const value = arg === "--out" ? args[++i] : arg.slice("--out=".length);
      if (!value) throw new Error("--out needs a file name");
      options.out = value;
    } else if (arg.startsWith("-")) {
      throw new Error(`unknown option ${arg}`);
    } else if (options.entry === undefined) {
      options.entry = arg;
    } else {
      throw new Error(`unexpected argument ${arg} (one ENTRY only)`);
    }
  }
  return options;
}

/** Run the command; returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  let options: BuildGuardOptions | undefined;
  try {
    options = parseArgs(args);
  } catch (error) {
    process.stderr.write(`clawdstrike-guard-build: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!options) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    const cwd = process.cwd();
    const r = await buildGuard(options);
    const out = relative(cwd, r.outFile);
    const src = relative(cwd, r.entry);
    for (const warning of r.warnings) process.stderr.write(`warning: ${warning}\n`);
    if (r.upToDate) {
      process.stdout.write(
        `${out} is up to date (${r.info.name} ${r.info.version}, ${size(r.size)}; ${src} bundles to the same code), checked in ${time(r.timings.totalMs)}\n`,
      );
      return 0;
    }
    process.stdout.write(
      [
        `${src} -> ${out}`,
        `  guard      ${r.info.name} ${r.info.version}, handles ${r.info.handles.join(", ")}`,
        `  bundle     ${size(r.bundle.size)} from ${r.bundle.inputs} source files in ${time(r.timings.bundleMs)}`,
        `  component  ${size(r.size)}, componentized in ${time(r.timings.componentizeMs)}`,
        `  imports    ${r.imports.join(", ")}`,
        `  exports    ${r.exports.join(", ")}`,
        `built ${out} (${size(r.size)}) in ${time(r.timings.totalMs)}`,
        "",
      ].join("\n"),
    );
    return 0;
  } catch (error) {
    process.stderr.write(`clawdstrike-guard-build: error: ${(error as Error).message}\n`);
    return 1;
  }
}
