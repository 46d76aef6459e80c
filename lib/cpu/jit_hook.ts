/**
 * What the instruction loop asks of the block compiler (lib/cpu/jit implements it; cpu.ts
 * installs it). A leaf file, so that the core does not import the compiler.
 * @module
 */

/** Runs compiled code for a CPU of type `C`. */
export interface RegionRunner<C> {
  /**
   * Runs a compiled region at the CPU's EIP if there is one.
   * @returns instructions run (0: nothing compiled here, interpret)
   */
  run(c: C, end: number): number;
}
