/**
 * What the CPU core's memory path asks of the debug unit (debug_unit.ts implements it;
 * cpu.ts installs it). A leaf file, so that the core does not import the unit (which
 * sits above the interpreter).
 * @module
 */

/** The debug unit as the core's memory path sees it. */
export interface DebugHooks {
  /** Whether a linear page is watched (no data translation is cached for it). */
  pageWatched(page: number): boolean;
  /** A data access of the running instruction reached the slow path (K_READ / K_WRITE). */
  dataAccess(linear: number, len: number, kind: number): void;
  /** Recomputes what is armed (after a change of DR0-3, DR7 or CR4). */
  refresh(): void;
}

/** `cpu.dbgArmed` bits of a data check (debug_unit.ts: ARM_GUEST_DATA | ARM_WATCH). */
export const ARM_DATA_BITS = 2 | 8;

/** DR6 after reset (reserved bits read as one). */
export const DR6_DEFAULT = 0xffff0ff0;
/** DR7 after reset (bit 10 reads as one). */
export const DR7_DEFAULT = 0x400;

/** Hooks of a CPU with no debug unit installed yet. */
export const NO_DEBUG: DebugHooks = {
  pageWatched: () => false,
  dataAccess: () => {},
  refresh: () => {},
};
