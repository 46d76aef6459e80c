/**
 * Where `pvx boot` reads the block compiler's environment variables (lib/cpu/jit takes
 * them as options and reads no environment itself):
 *
 * - `PVX_JIT=0`: interpret only, as `--no-jit` (MachineOptions.jit false).
 * - `PVX_JIT_DUMP=DIR`: write each generated region to `DIR/region_N_ENTRY.js`
 *   (MachineOptions.jitDump), for debugging the compiler.
 * @module
 */
import type { MachineOptions } from "../hypervisor/mod.ts";

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission: the defaults
  }
}

/**
 * The machine options PVX_JIT and PVX_JIT_DUMP ask for (empty when neither is set).
 * @example
 * ```ts
 * const machine = { ...jitOptionsFromEnv(), ...opts.machine }; // --no-jit still wins
 * ```
 */
export function jitOptionsFromEnv(): Partial<MachineOptions> {
  const o: Partial<MachineOptions> = {};
  if (env("PVX_JIT") === "0") o.jit = false;
  const dir = env("PVX_JIT_DUMP");
  if (dir !== undefined) {
    o.jitDump = (name, source) => Deno.writeTextFileSync(`${dir}/${name}`, source);
  }
  return o;
}
