/**
 * A small {@link CpuBus} for unit-testing the x87/SSE units without the core: 128 KiB of
 * flat memory at MEM_BASE, the general registers, EFLAGS, and exceptions as JS errors.
 * @module
 */

import type { CpuBus } from "../../../lib/cpu/fpu/bus.ts";
import { MEM_BASE } from "./vectors.ts";

/** Thrown by {@link FakeBus.raise}. */
export class RaisedException extends Error {
  constructor(readonly vector: number, readonly errorCode: number) {
    super(`exception ${vector} (${errorCode})`);
  }
}

/** Scratch area for fnsave/fxsave images, inside the fake memory. */
export const SCRATCH = MEM_BASE + 0x10000;

/** The fake CPU side. */
export class FakeBus implements CpuBus {
  readonly mem = new Uint8Array(0x20000);
  readonly regs = new Int32Array(8);
  eflags = 0x202;

  private off(linear: number, n: number): number {
    const o = (linear >>> 0) - MEM_BASE;
    if (o < 0 || o + n > this.mem.length) throw new RangeError(`access at ${linear.toString(16)}`);
    return o;
  }
  read8(l: number): number {
    return this.mem[this.off(l, 1)];
  }
  read16(l: number): number {
    const o = this.off(l, 2);
    return this.mem[o] | (this.mem[o + 1] << 8);
  }
  read32(l: number): number {
    const o = this.off(l, 4);
    return this.mem[o] | (this.mem[o + 1] << 8) | (this.mem[o + 2] << 16) | (this.mem[o + 3] << 24);
  }
  write8(l: number, v: number): void {
    this.mem[this.off(l, 1)] = v;
  }
  write16(l: number, v: number): void {
    const o = this.off(l, 2);
    this.mem[o] = v;
    this.mem[o + 1] = v >> 8;
  }
  write32(l: number, v: number): void {
    const o = this.off(l, 4);
    this.mem[o] = v;
    this.mem[o + 1] = v >> 8;
    this.mem[o + 2] = v >> 16;
    this.mem[o + 3] = v >> 24;
  }
  raise(vector: number, errorCode: number): never {
    throw new RaisedException(vector, errorCode);
  }
  getEflags(): number {
    return this.eflags;
  }
  setFlagsFromCompare(zf: number, pf: number, cf: number): void {
    this.eflags = (this.eflags & ~0x8d5) | (zf ? 0x40 : 0) | (pf ? 4 : 0) | (cf ? 1 : 0);
  }
  /** Copies bytes into memory at a linear address. */
  load(linear: number, bytes: Uint8Array): void {
    this.mem.set(bytes, this.off(linear, bytes.length));
  }
  /** A view of memory at a linear address. */
  view(linear: number, n: number): Uint8Array {
    const o = this.off(linear, n);
    return this.mem.subarray(o, o + n);
  }
}

/** Effective address of a ModRM memory operand built from the harness's forms ([ebx+d8]). */
export function harnessLinear(bus: FakeBus, modrm: number, disp: number): number {
  const mod = modrm >> 6, rm = modrm & 7;
  if (mod === 3) return -1;
  if (rm !== 3) throw new Error(`harness forms use [ebx] operands, got modrm ${modrm}`);
  return (bus.regs[3] + (mod === 1 ? (disp << 24) >> 24 : 0)) >>> 0;
}
