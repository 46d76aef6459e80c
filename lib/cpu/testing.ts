/**
 * Test builders for the CPU: a recording Platform and a flat machine with code loaded
 * at an address (used by the CPU tests, the host-differential runner and the bench).
 * @module
 */

import { Cpu } from "./cpu.ts";
import { PhysMemory } from "./phys_memory.ts";
import {
  ACC_FETCH,
  ACC_USER,
  ACC_WRITE,
  type DescriptorTables,
  type PageWalker,
  type Platform,
  TABLE_GDT,
} from "./platform.ts";

/** One recorded Platform.exception call. */
export interface ExceptionRecord {
  /** The vector. */
  vector: number;
  /** The error code, or -1. */
  errorCode: number;
  /** EXC_FAULT / EXC_TRAP / EXC_SOFTINT / EXC_INT3 / EXC_INTO. */
  kind: number;
  /** EIP when reported. */
  eip: number;
  /** CR2 when reported. */
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
  /** The CPU. */
  cpu: Cpu;
  /** Its machine memory. */
  mem: PhysMemory;
  /** The recording platform. */
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

/**
 * Encodes a segment descriptor.
 * @param base segment base
 * @param limit byte limit (encoded page-granular when above 1 MiB)
 * @param attrs attribute word (descriptor bits 40..55 >> 8; the G bit is set here as needed)
 * @returns [low dword, high dword]
 */
export function descriptor(base: number, limit: number, attrs: number): [number, number] {
  let a = attrs & ~0x8000;
  let l = limit >>> 0;
  if (l > 0xfffff) {
    l = l >>> 12;
    a |= 0x8000;
  }
  const lo = ((base & 0xffff) << 16) | (l & 0xffff);
  const hi = ((base >>> 16) & 0xff) | ((a & 0xf0ff) << 8) | (l & 0xf0000) | (base & 0xff000000);
  return [lo | 0, hi | 0];
}

/** DescriptorTables over plain arrays (GDT and LDT), recording accessed-bit updates. */
export class ArrayDescriptorTables implements DescriptorTables {
  /** GDT entries as [lo, hi]. */
  readonly gdt: [number, number][] = [[0, 0]];
  /** LDT entries as [lo, hi]. */
  readonly ldt: [number, number][] = [];
  /** "table:index" of every setAccessed call. */
  readonly accessed: string[] = [];

  read(table: number, index: number, out: Int32Array): boolean {
    const t = table === TABLE_GDT ? this.gdt : this.ldt;
    if (index >= t.length) return false;
    out[0] = t[index][0];
    out[1] = t[index][1];
    return true;
  }

  setAccessed(table: number, index: number): void {
    this.accessed.push(`${table}:${index}`);
    const t = table === TABLE_GDT ? this.gdt : this.ldt;
    t[index][1] |= 0x100;
  }
}

/** A PageWalker over a map of linear page -> [machine page, flags]; counts its calls. */
export class MapWalker implements PageWalker {
  /** Linear page number -> machine page number and ACC-style permission bits. */
  readonly map: Map<number, { mfn: number; writable: boolean; user: boolean; nx?: boolean }> =
    new Map();
  pfErrorCode = 0;
  /** translate() calls (TLB misses). */
  calls = 0;

  translate(linear: number, access: number): number {
    this.calls++;
    const e = this.map.get(linear >>> 12);
    const fault = e === undefined ||
      ((access & ACC_WRITE) !== 0 && !e.writable) ||
      ((access & ACC_USER) !== 0 && !e.user) ||
      ((access & ACC_FETCH) !== 0 && e.nx === true);
    if (fault) {
      this.pfErrorCode = (e === undefined ? 0 : 1) | (access & (ACC_WRITE | ACC_USER | ACC_FETCH));
      return -1;
    }
    return e.mfn * 4096 + (linear & 4095);
  }
}
