/**
 * Bundling a guard's source (TypeScript or JavaScript, with the SDK and any other
 * dependency) into the one JavaScript module ComponentizeJS takes, with esbuild.
 *
 * @module
 */

import { dirname } from "node:path";
import type { BuildOptions } from "esbuild";

/** Import specifiers that the component runtime provides (left as imports). */
export const HOST_MODULES = [
  "clawdstrike:guard/host@1.0.0",
  "clawdstrike:guard/state@1.0.0",
] as const;

/** A bundle: the module text and the files it was made from. */
export interface Bundle {
  code: string;
  inputs: string[];
}

/** Why a guard's source could not be bundled. */
export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BundleError";
  }
}

/**
 * Bundle `entry` (an absolute path) into one module; source files are named relative to
 * `workingDir` in it (default: the entry's directory).
 *
 * `format: "esm"` gives what ComponentizeJS takes (the world's exports are the module's
 * named exports); `"cjs"` is what the test harness evaluates in Node.js. Both keep the
 * `clawdstrike:` imports external. `platform: "neutral"` means Node.js built-ins do not
 * resolve: the sandbox has none, so using one fails here, at build time.
 */
export async function bundleGuard(
  entry: string,
  format: "esm" | "cjs",
  workingDir: string = dirname(entry),
): Promise<Bundle> {
  const esbuild = await import("esbuild");
  const options: BuildOptions = {
    entryPoints: [entry],
    // The bundle names its source files relative to this directory: fixing it makes the
    // bundle, and so the component, the same wherever the build is started from.
    absWorkingDir: workingDir,
    bundle: true,
    write: false,
    format,
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    external: ["clawdstrike:*"],
    metafile: true,
    logLevel: "silent",
    legalComments: "none",
    charset: "utf8",
  };
  let result;
  try {
    result = await esbuild.build(options);
  } catch (error) {
    const failure = error as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } | null }> };
    if (Array.isArray(failure.errors) && failure.errors.length > 0) {
      const lines = failure.errors.map((e) => {
        const at = e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ` : "";
        const hint = /Could not resolve "(node:|fs|path|os|child_process|crypto)/.test(e.text)
          ? " (guards run in a WebAssembly sandbox without Node.js APIs; use the SDK's host wrappers)"
          : "";
        return `${at}${e.text}${hint}`;
      });
      throw new BundleError(`cannot bundle ${entry}:\n  ${lines.join("\n  ")}`);
    }
    throw error;
  }
  const output = result.outputFiles?.[0];
  if (!output) throw new BundleError(`esbuild produced no output for ${entry}`);
  const inputs = Object.keys(result.metafile?.inputs ?? {});
  return { code: output.text, inputs };
}
