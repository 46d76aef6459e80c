/**
 * Test builders for the CPU: a recording Platform and a flat machine with code loaded
 * at an address (used by the CPU tests, the host-differential runner and the bench).
 * @module
 */

import { Cpu } from "./cpu.ts";
import { PhysMemory } from "./phys_memory.ts";
import type { PageWalker, Platform } from "./platform.ts";

/** One recorded Platform.exception call. */
export interface ExceptionRecord {
  vector: number;
  errorCode: number;
  kind: number;
  eip: number;
  cr2: number;
}

/**
 * A Platform that records exceptions and stops the CPU on each (unless `onException`
 * handles it), answers cpuid with fixed values and rdtsc from the retired count.
 */
export class RecordingPlatform implements Platform {
  /** Every exception reported, in order. */
  readonly exceptions: ExceptionRecord[] = [];
  /** The CPU (set by {@link flatMachine}). */
  cpu: Cpu | null = null;
  /** Optional handler; when absent the CPU is stopped. */
  onException: ((vector: number, errorCode: number, kind: number) => void) | null = null;

  exception(vector: number, errorCode: number, kind: number): void {
    const c = this.cpu;
    this.exceptions.push({ vector, errorCode, kind, eip: c ? c.eip : 0, cr2: c ? c.cr2 : 0 });
    if (this.onException) this.onException(vector, errorCode, kind);
    else c?.stop();
  }

  cpuid(leaf: number, _subleaf: number, out: Int32Array): void {
    if (leaf === 0) {
      out[0] = 1;
      out[1] = 0x756e6547; // "GenuineIntel"
      out[2] = 0x6c65746e;
      out[3] = 0x49656e69;
    } else if (leaf === 1) {
      out[0] = 0x6f6;
      out[1] = 0;
      out[2] = 0;
      out[3] = 0x0789a1b1 | 0x8000 | 0x10 | 0x20 | 0x100 | 0x1000000 | 0x2000000 | 0x4000000;
    }
  }

  rdtsc(): number {
    return this.cpu ? this.cpu.retired * 2 : 0;
  }
}

/** A flat test machine. */
export interface FlatMachine {
  cpu: Cpu;
  mem: PhysMemory;
  platform: RecordingPlatform;
}

/**
 * Builds a CPU over `frames` frames of memory, flat 4 GiB segments at CPL 0, code
 * copied to `codeAt` (default 0x1000), EIP there and ESP at the top of memory.
 */
export function flatMachine(
  code: Uint8Array = new Uint8Array(0),
  codeAt = 0x1000,
  frames = 256,
  walker: PageWalker | null = null,
): FlatMachine {
  const mem = new PhysMemory(frames);
  const platform = new RecordingPlatform();
  const cpu = new Cpu(mem, platform, walker);
  platform.cpu = cpu;
  mem.write(codeAt, code);
  cpu.eip = codeAt;
  cpu.regs[4] = frames * 4096 - 16;
  return { cpu, mem, platform };
}

/** Parses "0f 1f 44 00 00"-style hex into bytes. */
export function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, "");
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(i * 2, i * 2 + 2), 16);
  return out;
}
