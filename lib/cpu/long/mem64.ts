/**
 * The 64-bit memory path: linear addresses as two int32 halves, looked up in the CPU's
 * {@link Tlb64} (`c.tlb64`) and on a miss translated by the 4-level walker of
 * {@link LongState} (or taken as machine addresses below the top of memory when there is
 * none), then cached. Non-canonical addresses raise #GP(0), translation failures #PF with
 * CR2 (both halves). Values move through {@link V} (lo, hi) so nothing allocates.
 *
 * The TLB keeps one table per access kind and privilege, so the walker sees the first
 * read, write and fetch of each page at each privilege: it checks the permissions there
 * (U/S, R/W with CR0.WP, NX) and sets the accessed and dirty bits. Write entries never
 * cover frames holding decoded code (`PhysMemory.codeFrame`), as in the 32-bit path.
 * Entries live until `Cpu.flushTlb` (CR3 load, the hypervisor's flush requests),
 * `invlpg` / `invlpg64`: whoever changes `lm.walker` or its CR3 must flush, as a CR3
 * write does on hardware.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { VEC_GP, VEC_PF } from "../platform.ts";
import { TLB64_HASH, TLB64_MASK, TLB64_SHIFT, TLB64_TABLE } from "../tlb64.ts";
import { canonicalHi } from "./long_state.ts";
import { ARM_DATA_BITS } from "../debug_hooks.ts";
import { watch64 } from "./watch64.ts";

/** Access bits (the #PF error-code bits). */
export const A_READ = 0, A_WRITE = 2, A_USER = 4, A_FETCH = 16;
const WALK_NONCANONICAL = 3;
const K_READ = 0, K_WRITE = 1, K_FETCH = 2;

/** The value read or to write: [lo, hi]. */
export const V: Int32Array = new Int32Array(2);

function pageFault(c: CpuCore, lo: number, hi: number, code: number): never {
  c.cr2 = lo;
  c.lm.cr2Hi = hi;
  c.pfErrorCode = code;
  return c.raise(VEC_PF, code);
}

/** Table base in `Tlb64.e` per access bits (A_WRITE, A_USER, A_FETCH; fetch wins). */
const BASE = new Int32Array(32);
for (let a = 0; a < 32; a++) {
  const kind = (a & A_FETCH) !== 0 ? K_FETCH : (a & A_WRITE) !== 0 ? K_WRITE : K_READ;
  BASE[a] = (kind * 2 + ((a & A_USER) !== 0 ? 1 : 0)) * TLB64_TABLE;
}

/**
 * The TLB miss: translates hi:lo for one access to table `t` (kind * 2 + user: kind 0
 * read, 1 write, 2 fetch), caches it, returns the machine address; raises #GP(0) or #PF.
 */
function miss64(c: CpuCore, lo: number, hi: number, t: number): number {
  const kind = t >> 1;
  const acc = (kind === K_WRITE ? A_WRITE : kind === K_FETCH ? A_FETCH : A_READ) |
    ((t & 1) !== 0 ? A_USER : 0);
  const w = c.lm.walker;
  let m: number;
  if (w === null) {
    if (!canonicalHi(hi)) c.raise(VEC_GP, 0);
    m = lo >>> 0;
    if (hi !== 0 || m >= c.u8.length) pageFault(c, lo, hi, acc);
  } else {
    m = w.translate64(lo, hi, acc);
    if (m < 0) {
      if (w.lastFault === WALK_NONCANONICAL) c.raise(VEC_GP, 0);
      pageFault(c, lo, hi, w.pfErrorCode);
    }
    // A walker answering beyond machine memory: reserved-bit #PF, as the 32-bit path.
    if (m + 4096 - (lo & 4095) > c.u8.length) pageFault(c, lo, hi, acc | 9);
  }
  // A write to a frame holding decoded code drops its records first; write entries
  // exist only for frames that are not code (core.ts codePage flushes them).
  if (kind === K_WRITE && c.mem.codeFrame[m >>> 12] !== 0) c.mem.noteWrite(m, 1);
  c.tlb64.fill(t, lo, hi, m - (lo & 4095));
  return m;
}

/**
 * Translates hi:lo for one access (A_READ, A_WRITE or A_FETCH, plus A_USER to force a
 * user access) at the current CPL; raises #GP(0) or #PF.
 */
export function xlate64(c: CpuCore, lo: number, hi: number, access: number): number {
  const b = BASE[(access | (c.cpl === 3 ? A_USER : 0)) & 31];
  const e = c.tlb64.e;
  const i = b + ((((lo >>> 12) ^ (Math.imul(hi, TLB64_HASH) >>> TLB64_SHIFT)) & TLB64_MASK) << 2);
  if (e[i] === ((lo & -4096) | 1) && e[i + 1] === hi) return e[i + 2] + (lo & 4095);
  return miss64(c, lo, hi, b / TLB64_TABLE);
}

/**
 * The machine address of the code byte at linear hi:lo (an execute access at the current
 * CPL): a TLB hit costs a hash and two compares, no allocation. For decode64's fetch:
 * the result stays valid for the rest of that 4 KiB page while `c.tlb64.epoch` and
 * `c.cpl` are unchanged (every flush bumps the epoch).
 */
export function fetchAddr64(c: CpuCore, lo: number, hi: number): number {
  const e = c.tlb64.e;
  const user = c.cpl === 3 ? 1 : 0;
  const i = (4 + user) * TLB64_TABLE +
    ((((lo >>> 12) ^ (Math.imul(hi, TLB64_HASH) >>> TLB64_SHIFT)) & TLB64_MASK) << 2);
  if (e[i] === ((lo & -4096) | 1) && e[i + 1] === hi) return e[i + 2] + (lo & 4095);
  return miss64(c, lo, hi, 4 + user);
}

/** Reads `size` (1, 2, 4, 8) bytes at hi:lo into {@link V} (zero-extended). */
export function read64(c: CpuCore, lo: number, hi: number, size: number): void {
  if ((c.dbgArmed & ARM_DATA_BITS) !== 0) watch64(c, lo, hi, size, K_READ); // data breakpoints (watch64.ts)
  const o = lo & 4095;
  if (o + size <= 4096) {
    const e = c.tlb64.e;
    const user = c.cpl === 3 ? 1 : 0;
    const i = user * TLB64_TABLE +
      ((((lo >>> 12) ^ (Math.imul(hi, TLB64_HASH) >>> TLB64_SHIFT)) & TLB64_MASK) << 2);
    const m = e[i] === ((lo & -4096) | 1) && e[i + 1] === hi
      ? e[i + 2] + o
      : miss64(c, lo, hi, user);
    const dv = c.dv;
    if (size === 4) {
      V[0] = dv.getInt32(m, true);
      V[1] = 0;
    } else if (size === 8) {
      V[0] = dv.getInt32(m, true);
      V[1] = dv.getInt32(m + 4, true);
    } else {
      V[0] = size === 1 ? c.u8[m] : dv.getUint16(m, true);
      V[1] = 0;
    }
    return;
  }
  let vlo = 0, vhi = 0;
  for (let i = 0; i < size; i++) {
    const s = (lo >>> 0) + i;
    const b = c.u8[xlate64(c, s | 0, s > 0xffffffff ? (hi + 1) | 0 : hi, A_READ)];
    if (i < 4) vlo |= b << (i * 8);
    else vhi |= b << ((i - 4) * 8);
  }
  V[0] = vlo;
  V[1] = vhi;
}

/** Writes the low `size` bytes of {@link V} at hi:lo. */
export function write64(c: CpuCore, lo: number, hi: number, size: number): void {
  if ((c.dbgArmed & ARM_DATA_BITS) !== 0) watch64(c, lo, hi, size, K_WRITE); // data breakpoints (watch64.ts)
  const o = lo & 4095;
  if (o + size <= 4096) {
    const e = c.tlb64.e;
    const user = c.cpl === 3 ? 1 : 0;
    const i = (2 + user) * TLB64_TABLE +
      ((((lo >>> 12) ^ (Math.imul(hi, TLB64_HASH) >>> TLB64_SHIFT)) & TLB64_MASK) << 2);
    const m = e[i] === ((lo & -4096) | 1) && e[i + 1] === hi
      ? e[i + 2] + o
      : miss64(c, lo, hi, 2 + user);
    const dv = c.dv;
    if (size === 4) dv.setInt32(m, V[0], true);
    else if (size === 8) {
      dv.setInt32(m, V[0], true);
      dv.setInt32(m + 4, V[1], true);
    } else if (size === 1) c.u8[m] = V[0];
    else dv.setUint16(m, V[0] & 0xffff, true);
    return;
  }
  // Both pages must be writable before any byte changes.
  const end = (lo >>> 0) + size - 1;
  xlate64(c, lo, hi, A_WRITE);
  xlate64(c, end | 0, end > 0xffffffff ? (hi + 1) | 0 : hi, A_WRITE);
  for (let i = 0; i < size; i++) {
    const s = (lo >>> 0) + i;
    const m = xlate64(c, s | 0, s > 0xffffffff ? (hi + 1) | 0 : hi, A_WRITE);
    c.u8[m] = i < 4 ? V[0] >>> (i * 8) : V[1] >>> ((i - 4) * 8);
  }
}
