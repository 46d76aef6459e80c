/**
 * `pvx boot`: the command's options go to the toolstack (lib/toolstack/boot.ts), which
 * builds and runs the domain(s) and maps the outcome to the exit code
 * (lib/toolstack/exit_code.ts).
 * @module
 */
import { boot, type BootOptions } from "../lib/toolstack/mod.ts";

export type { BootOptions } from "../lib/toolstack/mod.ts";
export { parseOnEof } from "../lib/toolstack/mod.ts";

/**
 * Runs `pvx boot`.
 * @returns the exit code
 */
export async function run(opts: BootOptions): Promise<number> {
  return await boot(opts);
}
