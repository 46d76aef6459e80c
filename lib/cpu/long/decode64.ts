/**
 * Decoding in 64-bit mode: instruction fetch through the 64-bit memory path, legacy and
 * REX prefixes, ModRM/SIB with RIP-relative addressing, and access to the 16 GPRs as
 * lo/hi halves (RAX..RDI low halves live in the 32-bit `regs`, R8-R15 in {@link LongState}).
 * The decode state is module-level (one instruction at a time, no allocation).
 * @module
 */

import type { CpuCore } from "../core.ts";
import { VEC_GP, VEC_SS } from "../platform.ts";
import { fetchAddr64, read64, V, write64 } from "./mem64.ts";
import { canonicalHi } from "./long_state.ts";

/** The decoded prefixes and ModRM of the current instruction. */
export const D = {
  /** The REX byte, or 0. */
  rex: 0,
  /** 0x66 seen. */
  o16: false,
  /** 0x67 seen (32-bit addresses). */
  a32: false,
  /** FS/GS override: the LongState.msr slot of its base, or -1. */
  segSlot: -1,
  /** The last segment override (ES=0 CS SS DS FS GS), or -1. */
  sreg: -1,
  /** The memory operand is a stack access (RSP/RBP base, no FS/GS): non-canonical is #SS(0). */
  ss: false,
  /** The last of F2/F3 seen (rep/repne, or an SSE mandatory prefix), or 0. */
  rep: 0,
  /** F0 (LOCK) seen. */
  lock: false,
  /** The last of 66/F2/F3 seen, or 0: the SSE mandatory prefix as lib/cpu/sse takes it. */
  mand: 0,
  /** Bytes fetched so far. */
  len: 0,
  /** ModRM: whether the r/m operand is memory. */
  isMem: false,
  /** ModRM reg field with REX.R (0..15). */
  reg: 0,
  /** ModRM r/m register with REX.B (when not memory). */
  rm: 0,
  /** Effective address (offset, before the FS/GS base). */
  eaLo: 0,
  /** High half of the effective address. */
  eaHi: 0,
};

/**
 * The fetch window: the code page (linear fPageHi:fPage) of the last fetch and its
 * machine base, kept across instructions while it cannot be stale: same core and TLB,
 * same `tlb64.epoch` (bumped by every flush: CR3 loads, invlpg, the walker's flush
 * requests) and same CPL (the fetch tables are per privilege). Code bytes are read from
 * memory at each fetch, so writes to the page (self-modifying code) are seen at once.
 */
let fPage = -1, fPageHi = 0, fBase = 0, fEpoch = -1, fCpl = -1;
let fTlb: object | null = null;

/** Starts an instruction: drops the fetch window when it may be stale. */
export function resetFetch(c: CpuCore): void {
  const t = c.tlb64;
  if (t !== fTlb || t.epoch !== fEpoch || c.cpl !== fCpl) {
    fPage = -1;
    fTlb = t;
    fEpoch = t.epoch;
    fCpl = c.cpl;
  }
}

/** Forgets the fetch window (mode switches, faults). */
export function dropFetch(): void {
  fPage = -1;
  fTlb = null;
}

function refetch(c: CpuCore, lo: number, hi: number): void {
  const page = lo & ~0xfff;
  fBase = fetchAddr64(c, page, hi);
  fPage = page;
  fPageHi = hi;
}

/** Fetches the next code byte at RIP and advances RIP. */
export function fetch8(c: CpuCore): number {
  if (++D.len > 15) c.raise(VEC_GP, 0);
  const lo = c.eip;
  if ((lo & ~0xfff) !== fPage || c.lm.ripHi !== fPageHi) refetch(c, lo, c.lm.ripHi);
  const b = c.u8[fBase + (lo & 0xfff)];
  const n = (lo + 1) | 0;
  c.eip = n;
  if (n === 0) c.lm.ripHi = (c.lm.ripHi + 1) | 0;
  return b;
}

/** Fetches an immediate of 1, 2 or 4 bytes, sign-extended to int32. */
export function fetchImm(c: CpuCore, n: number): number {
  const lo = c.eip, off = lo & 0xfff;
  // Inside the fetch window and the 15-byte limit (not ending at the page's last byte,
  // so RIP's low half cannot wrap): one load.
  if (
    off + n < 4096 && (lo & ~0xfff) === fPage && c.lm.ripHi === fPageHi && D.len + n <= 15
  ) {
    D.len += n;
    c.eip = (lo + n) | 0;
    const m = fBase + off;
    if (n === 4) return c.dv.getInt32(m, true);
    return n === 1 ? (c.u8[m] << 24) >> 24 : c.dv.getInt16(m, true);
  }
  if (n === 1) return (fetch8(c) << 24) >> 24;
  if (n === 2) return ((fetch8(c) | (fetch8(c) << 8)) << 16) >> 16;
  return fetch8(c) | (fetch8(c) << 8) | (fetch8(c) << 16) | (fetch8(c) << 24);
}

/** Prefix bytes of 64-bit mode (REX 40-4F included). */
const PFX = new Uint8Array(256);
for (const b of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]) PFX[b] = 1;
for (let b = 0x40; b < 0x50; b++) PFX[b] = 1;

/** Whether D holds prefixes of an earlier instruction (then they are cleared first). */
let dirty = true;

/**
 * Reads prefixes; returns the opcode byte (D holds the prefixes, D.len counts from 0).
 */
export function prefixes(c: CpuCore): number {
  D.len = 0;
  if (dirty) {
    D.rex = 0;
    D.o16 = false;
    D.a32 = false;
    D.segSlot = -1;
    D.sreg = -1;
    D.rep = 0;
    D.lock = false;
    D.mand = 0;
    dirty = false;
  }
  const b0 = fetch8(c);
  if (PFX[b0] === 0) return b0;
  dirty = true;
  for (let b = b0;; b = fetch8(c)) {
    if ((b & 0xf0) === 0x40) {
      D.rex = b;
      continue;
    }
    switch (b) {
      case 0x66:
        D.o16 = true;
        D.mand = b;
        break;
      case 0x67:
        D.a32 = true;
        break;
      case 0x64:
        D.segSlot = 4; // M_FS_BASE
        D.sreg = 4;
        break;
      case 0x65:
        D.segSlot = 5; // M_GS_BASE
        D.sreg = 5;
        break;
      case 0x26:
      case 0x2e:
      case 0x36:
      case 0x3e:
        // ES CS SS DS: base 0, and ignored after FS/GS in 64-bit mode (FS/GS keep
        // priority, as iced-x86 and the hardware decode it)
        if (D.segSlot < 0) D.sreg = (b >> 3) & 3;
        break;
      case 0xf0:
        D.lock = true;
        break;
      case 0xf2:
      case 0xf3:
        D.rep = b;
        D.mand = b;
        break;
      default:
        return b;
    }
    D.rex = 0; // a REX not directly before the opcode is ignored
  }
}

/** Operand size of a non-byte instruction: 64 with REX.W, else 16 with 0x66, else 32. */
export function opSize(): number {
  return (D.rex & 8) !== 0 ? 64 : D.o16 ? 16 : 32;
}

/** Low half of GPR r (0..15). */
export function getLo(c: CpuCore, r: number): number {
  return r < 8 ? c.regs[r] : c.lm.rlo[r - 8];
}

function setLo(c: CpuCore, r: number, v: number): void {
  if (r < 8) c.regs[r] = v;
  else c.lm.rlo[r - 8] = v;
}

/** Reads GPR r at `size` bits into V (zero-extended; 8-bit AH..BH without REX). */
export function readReg(c: CpuCore, r: number, size: number): void {
  if (size === 64) {
    V[0] = getLo(c, r);
    V[1] = c.lm.hi[r];
    return;
  }
  V[1] = 0;
  if (size === 32) V[0] = getLo(c, r);
  else if (size === 16) V[0] = getLo(c, r) & 0xffff;
  else if (D.rex === 0 && r >= 4 && r < 8) V[0] = (c.regs[r - 4] >> 8) & 0xff;
  else V[0] = getLo(c, r) & 0xff;
}

/** Writes GPR r at `size` bits (32-bit writes zero the high half, 8/16 merge). */
export function writeReg(c: CpuCore, r: number, size: number, lo: number, hi: number): void {
  if (size === 64) {
    setLo(c, r, lo);
    c.lm.hi[r] = hi;
  } else if (size === 32) {
    setLo(c, r, lo);
    c.lm.hi[r] = 0;
  } else if (size === 16) setLo(c, r, (getLo(c, r) & ~0xffff) | (lo & 0xffff));
  else if (D.rex === 0 && r >= 4 && r < 8) {
    c.regs[r - 4] = (c.regs[r - 4] & ~0xff00) | ((lo & 0xff) << 8);
  } else setLo(c, r, (getLo(c, r) & ~0xff) | (lo & 0xff));
}

function eaAdd(lo: number, hi: number): void {
  const s = (D.eaLo >>> 0) + (lo >>> 0);
  D.eaLo = s | 0;
  D.eaHi = (D.eaHi + hi + (s > 0xffffffff ? 1 : 0)) | 0;
}

/**
 * Decodes ModRM (and SIB, displacement) into D.
 * @param immLen bytes of immediate after the displacement (for RIP-relative addresses)
 */
export function modrm(c: CpuCore, immLen: number): void {
  const b = fetch8(c);
  const mod = b >> 6, rm3 = b & 7, rex = D.rex;
  D.reg = ((b >> 3) & 7) | ((rex & 4) << 1);
  if (mod === 3) {
    D.isMem = false;
    D.rm = rm3 | ((rex & 1) << 3);
    return;
  }
  D.isMem = true;
  D.eaLo = 0;
  D.eaHi = 0;
  let disp32 = mod === 2, stackBase = false;
  if (rm3 === 4) {
    const sib = fetch8(c);
    const scale = sib >> 6, idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
    const base = (sib & 7) | ((rex & 1) << 3);
    if ((base & 7) === 5 && mod === 0) disp32 = true;
    else {
      eaAdd(getLo(c, base), c.lm.hi[base]);
      stackBase = base === 4 || base === 5;
    }
    if (idx !== 4) {
      const lo = getLo(c, idx), hi = c.lm.hi[idx];
      if (scale === 0) eaAdd(lo, hi);
      else eaAdd(lo << scale, (hi << scale) | (lo >>> (32 - scale)));
    }
  } else if (rm3 === 5 && mod === 0) {
    const d = fetchImm(c, 4);
    // RIP-relative: from the end of the instruction (after the immediate).
    eaAdd(c.eip, c.lm.ripHi);
    eaAdd(d, d >> 31);
    eaAdd(immLen, 0);
    if (D.a32) D.eaHi = 0;
    D.ss = false;
    return;
  } else {
    const r = rm3 | ((rex & 1) << 3);
    eaAdd(getLo(c, r), c.lm.hi[r]);
    stackBase = r === 5;
  }
  // ES/CS/SS/DS overrides are ignored in 64-bit mode: the base register alone makes an
  // access a stack access (not R12/R13), unless FS/GS override it (XTF memop-seg agrees).
  D.ss = stackBase && D.segSlot < 0;
  if (mod === 1) {
    const d = fetchImm(c, 1);
    eaAdd(d, d >> 31);
  } else if (disp32) {
    const d = fetchImm(c, 4);
    eaAdd(d, d >> 31);
  }
  if (D.a32) D.eaHi = 0;
}

let linLo = 0, linHi = 0;

function linear(c: CpuCore): void {
  linLo = D.eaLo;
  linHi = D.eaHi;
  const s = D.segSlot;
  if (s >= 0) {
    const b = (linLo >>> 0) + (c.lm.msr[s * 2] >>> 0);
    linLo = b | 0;
    linHi = (linHi + c.lm.msr[s * 2 + 1] + (b > 0xffffffff ? 1 : 0)) | 0;
  } else if (D.ss && !canonicalHi(linHi)) c.raise(VEC_SS, 0);
}

/** Reads the r/m operand (decoded by {@link modrm}) into V. */
export function readRm(c: CpuCore, size: number): void {
  if (!D.isMem) return readReg(c, D.rm, size);
  linear(c);
  read64(c, linLo, linHi, size >> 3);
}

/** Writes the r/m operand. */
export function writeRm(c: CpuCore, size: number, lo: number, hi: number): void {
  if (!D.isMem) return writeReg(c, D.rm, size, lo, hi);
  linear(c);
  V[0] = lo;
  V[1] = hi;
  write64(c, linLo, linHi, size >> 3);
}

/** Sets RIP, raising #GP(0) when the target is not canonical. */
export function setRip(c: CpuCore, lo: number, hi: number): void {
  if (!canonicalHi(hi)) c.raise(VEC_GP, 0);
  c.eip = lo;
  c.lm.ripHi = hi;
}

/** RIP + a sign-extended 32-bit displacement, through {@link setRip}. */
export function jumpRel(c: CpuCore, d: number): void {
  const s = (c.eip >>> 0) + d;
  setRip(c, s | 0, (c.lm.ripHi + (s < 0 ? -1 : s > 0xffffffff ? 1 : 0)) | 0);
}

/** Raises #SS(0) when a stack address with high half `hi` is not canonical. */
export function stackCheck(c: CpuCore, hi: number): void {
  if (!canonicalHi(hi)) c.raise(VEC_SS, 0);
}

/** Pushes `bytes` (2 or 8) of (lo, hi) (RSP changes only after the write succeeds). */
export function pushN(c: CpuCore, lo: number, hi: number, bytes: number): void {
  const s = (c.regs[4] >>> 0) - bytes;
  const nlo = s | 0, nhi = (c.lm.hi[4] + (s < 0 ? -1 : 0)) | 0;
  if (!canonicalHi(nhi)) c.raise(VEC_SS, 0);
  V[0] = lo;
  V[1] = hi;
  write64(c, nlo, nhi, bytes);
  c.regs[4] = nlo;
  c.lm.hi[4] = nhi;
}

/** Pushes a 64-bit value (RSP changes only after the write succeeds). */
export function push64(c: CpuCore, lo: number, hi: number): void {
  pushN(c, lo, hi, 8);
}

/** Reads `bytes` (2 or 8) at RSP into V (RSP unchanged: call {@link dropStack}). */
export function peekN(c: CpuCore, bytes: number): void {
  const hi = c.lm.hi[4];
  if (!canonicalHi(hi)) c.raise(VEC_SS, 0);
  read64(c, c.regs[4], hi, bytes);
}

/** Reads the 64-bit value at RSP into V (RSP unchanged: call {@link dropStack}). */
export function peek64(c: CpuCore): void {
  peekN(c, 8);
}

/** RSP += n. */
export function dropStack(c: CpuCore, n: number): void {
  const s = (c.regs[4] >>> 0) + n;
  c.regs[4] = s | 0;
  c.lm.hi[4] = (c.lm.hi[4] + (s > 0xffffffff ? 1 : 0)) | 0;
}
