/**
 * Per-instruction notes of the 64-bit system instructions for the run loop (run64.ts).
 * @module
 */

/**
 * `softInt`: the instruction just run entered a handler the way int n / int3 / int1 do,
 * or handed itself to `Platform.syscall`: no single-step trap after it (run64.ts clears
 * it before each checked instruction).
 */
export const SYS = { softInt: false };
