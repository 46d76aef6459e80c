/**
 * The 64-bit bus adapter: lets the x87 and SSE units (which speak {@link CpuBus} with
 * 32-bit linear addresses) reach memory in 64-bit mode. The core passes the low half of
 * the operand's address as an unsigned number and keeps the high half here; an access
 * at `linear + k` past 2^32 carries into the high half. Every access goes through the
 * 64-bit memory path (canonical check -> #GP(0), #PF with CR2 as the integer path).
 * @module
 */

import type { CpuCore } from "../core.ts";
import type { CpuBus } from "../fpu/bus.ts";
import { read64, V, write64 } from "./mem64.ts";

const TWO32 = 4294967296;

/** One adapter per run loop: {@link Bus64.c} is set before each use. */
export class Bus64 implements CpuBus {
  /** The CPU being served. */
  c: CpuCore;
  /** High half of the current memory operand's address. */
  hi = 0;
  /** Low halves of the 16 GPRs for the units' register forms (the core copies in and out). */
  readonly regs: Int32Array = new Int32Array(16);
  /** High halves of the GPRs, for the REX.W forms (lib/cpu/sse/sse_wide.ts). */
  readonly regsHi: Int32Array = new Int32Array(16);

  constructor(c: CpuCore) {
    this.c = c;
  }

  /** The address's high half for unit address `a` (an unsigned low half plus a small k). */
  private hiOf(a: number): number {
    return a >= TWO32 ? (this.hi + 1) | 0 : this.hi;
  }

  /** Reads a byte. */
  read8(a: number): number {
    read64(this.c, a | 0, this.hiOf(a), 1);
    return V[0];
  }

  /** Reads a word. */
  read16(a: number): number {
    read64(this.c, a | 0, this.hiOf(a), 2);
    return V[0];
  }

  /** Reads a dword (int32). */
  read32(a: number): number {
    read64(this.c, a | 0, this.hiOf(a), 4);
    return V[0];
  }

  /** Writes a byte. */
  write8(a: number, v: number): void {
    V[0] = v;
    write64(this.c, a | 0, this.hiOf(a), 1);
  }

  /** Writes a word. */
  write16(a: number, v: number): void {
    V[0] = v;
    write64(this.c, a | 0, this.hiOf(a), 2);
  }

  /** Writes a dword. */
  write32(a: number, v: number): void {
    V[0] = v;
    write64(this.c, a | 0, this.hiOf(a), 4);
  }

  /** Raises through the CPU. */
  raise(vector: number, errorCode: number): never {
    return this.c.raise(vector, errorCode);
  }

  /** The CPU's EFLAGS. */
  getEflags(): number {
    return this.c.getEflags();
  }

  /** Sets ZF/PF/CF from a compare on the CPU. */
  setFlagsFromCompare(zf: number, pf: number, cf: number): void {
    this.c.setFlagsFromCompare(zf, pf, cf);
  }
}
