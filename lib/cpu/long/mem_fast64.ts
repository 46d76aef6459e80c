/**
 * Operands of the 64-bit fast loop (fast64.ts): the GPR low halves as one array, the
 * effective address of a packed memory operand (decode_fast64.ts), and loads/stores that
 * hit the 64-bit TLB inline (an access inside one page whose translation is cached) and
 * otherwise take mem64.ts's `read64`/`write64` (misses, page crossings, code frames,
 * faults) after the #SS(0) check of stack accesses.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { VEC_SS } from "../platform.ts";
import { TLB64_HASH, TLB64_MASK, TLB64_SHIFT, TLB64_TABLE } from "../tlb64.ts";
import { canonicalHi } from "./long_state.ts";
import { read64, V, write64 } from "./mem64.ts";
import { EA_NONE, EA_RIP, EA_SS } from "./decode_fast64.ts";

/**
 * The low halves of the 16 GPRs while the fast loop runs (RAX..RDI live in `c.regs`,
 * R8-R15 in `lm.rlo` otherwise): one array indexed by register number. {@link loadRegs}
 * at entry and after anything else ran (step64), {@link storeRegs} before anything else
 * runs and at every exit (faults included). The high halves stay in `lm.hi`.
 */
export const GL: Int32Array = new Int32Array(16);

/** Copies the GPR low halves of `c` into {@link GL}. */
export function loadRegs(c: CpuCore): void {
  const g = c.regs, x = c.lm.rlo;
  for (let i = 0; i < 8; i++) {
    GL[i] = g[i];
    GL[i + 8] = x[i];
  }
}

/** Copies {@link GL} back into the GPR low halves of `c`. */
export function storeRegs(c: CpuCore): void {
  const g = c.regs, x = c.lm.rlo;
  for (let i = 0; i < 8; i++) {
    g[i] = GL[i];
    x[i] = GL[i + 8];
  }
}

/** 8-bit register code r (0..15 low bytes, 16..19 AH..BH). */
export function get8(r: number): number {
  return r < 16 ? GL[r] & 0xff : (GL[r - 16] >> 8) & 0xff;
}

/** Writes 8-bit register code r (the other bits are kept). */
export function set8(r: number, v: number): void {
  if (r < 16) GL[r] = (GL[r] & ~0xff) | (v & 0xff);
  else GL[r - 16] = (GL[r - 16] & ~0xff00) | ((v & 0xff) << 8);
}

/** The effective (linear) address of the last {@link ea}: low and high halves. */
export let eLo = 0, eHi = 0;
/** High half of the last {@link load}. */
export let vHi = 0;
/** Table bases in `tlb64.e` of reads and writes at the current CPL (set by {@link setCpl}). */
let rT = 0, wT = 2 * TLB64_TABLE;

/** Selects the read/write tables of the current CPL (at each fast-loop entry). */
export function setCpl(c: CpuCore): void {
  const user = c.cpl === 3 ? 1 : 0;
  rT = user * TLB64_TABLE;
  wT = (2 + user) * TLB64_TABLE;
}

/** Sets the effective address to (lo, hi) (stack accesses). */
export function setEa(lo: number, hi: number): void {
  eLo = lo;
  eHi = hi;
}

/**
 * Computes the linear address of packed operand `b` with displacement `d` (instruction
 * at RIP of length `len`, for RIP-relative operands) into {@link eLo}/{@link eHi}.
 */
export function ea(c: CpuCore, b: number, d: number, len: number): void {
  if ((b & 0x7fe0) === EA_NONE << 5) {
    // base + displacement, or the displacement alone: the common forms
    const base = b & 31;
    if (base === EA_NONE) {
      eLo = d;
      eHi = d >> 31;
    } else {
      const s = (GL[base] >>> 0) + d;
      eLo = s | 0;
      eHi = (c.lm.hi[base] + (s < 0 ? -1 : s > 0xffffffff ? 1 : 0)) | 0;
    }
    return;
  }
  eaFull(c, b, d, len);
}

function eaFull(c: CpuCore, b: number, d: number, len: number): void {
  let lo = d, hi = d >> 31, s = 0;
  const h = c.lm.hi;
  if ((b & EA_RIP) !== 0) {
    const n = (c.eip >>> 0) + len;
    s = (lo >>> 0) + (n >>> 0);
    hi = (hi + c.lm.ripHi + (n > 0xffffffff ? 1 : 0) + (s > 0xffffffff ? 1 : 0)) | 0;
    lo = s | 0;
  }
  const base = b & 31;
  if (base !== EA_NONE) {
    s = (lo >>> 0) + (GL[base] >>> 0);
    hi = (hi + h[base] + (s > 0xffffffff ? 1 : 0)) | 0;
    lo = s | 0;
  }
  const idx = (b >> 5) & 31;
  if (idx !== EA_NONE) {
    const sc = (b >> 10) & 3;
    let il = GL[idx], ih = h[idx];
    if (sc !== 0) {
      ih = (ih << sc) | (il >>> (32 - sc));
      il <<= sc;
    }
    s = (lo >>> 0) + (il >>> 0);
    hi = (hi + ih + (s > 0xffffffff ? 1 : 0)) | 0;
    lo = s | 0;
  }
  const seg = b & 0x3000;
  if (seg !== 0) {
    const slot = seg === 0x1000 ? 8 : 10; // FS_BASE, GS_BASE (LongState.msr)
    const m = c.lm.msr;
    s = (lo >>> 0) + (m[slot] >>> 0);
    hi = (hi + m[slot + 1] + (s > 0xffffffff ? 1 : 0)) | 0;
    lo = s | 0;
  }
  eLo = lo;
  eHi = hi;
}

/**
 * Loads `size` (1, 2, 4, 8) bytes at the effective address (operand flags `b` for the
 * stack check): returns the low half, the high half in {@link vHi}.
 */
export function load(c: CpuCore, size: number, b: number): number {
  const lo = eLo, hi = eHi, o = lo & 4095;
  if (o + size <= 4096) {
    const e = c.tlb64.e;
    const i = rT +
      ((((lo >>> 12) ^ (Math.imul(hi, TLB64_HASH) >>> TLB64_SHIFT)) & TLB64_MASK) << 2);
    if (e[i] === ((lo & -4096) | 1) && e[i + 1] === hi) {
      const m = e[i + 2] + o;
      if (size === 8) {
        vHi = c.dv.getInt32(m + 4, true);
        return c.dv.getInt32(m, true);
      }
      vHi = 0;
      if (size === 4) return c.dv.getInt32(m, true);
      return size === 1 ? c.u8[m] : c.dv.getUint16(m, true);
    }
  }
  if ((b & EA_SS) !== 0 && !canonicalHi(hi)) c.raise(VEC_SS, 0);
  read64(c, lo, hi, size);
  vHi = V[1];
  return V[0];
}

/** Stores the low `size` (1, 2, 4, 8) bytes of (vlo, vhi) at the effective address. */
export function store(c: CpuCore, size: number, b: number, vlo: number, vhi: number): void {
  const lo = eLo, hi = eHi, o = lo & 4095;
  if (o + size <= 4096) {
    const e = c.tlb64.e;
    const i = wT +
      ((((lo >>> 12) ^ (Math.imul(hi, TLB64_HASH) >>> TLB64_SHIFT)) & TLB64_MASK) << 2);
    if (e[i] === ((lo & -4096) | 1) && e[i + 1] === hi) {
      const m = e[i + 2] + o;
      if (size === 8) {
        c.dv.setInt32(m, vlo, true);
        c.dv.setInt32(m + 4, vhi, true);
      } else if (size === 4) c.dv.setInt32(m, vlo, true);
      else if (size === 1) c.u8[m] = vlo;
      else c.dv.setUint16(m, vlo & 0xffff, true);
      return;
    }
  }
  if ((b & EA_SS) !== 0 && !canonicalHi(hi)) c.raise(VEC_SS, 0);
  V[0] = vlo;
  V[1] = vhi;
  write64(c, lo, hi, size);
}
