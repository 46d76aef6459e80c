/**
 * x87 and SSE/SSE2 in 64-bit mode (the hook step64.ts calls for opcodes it does not
 * decode itself): D8-DF and 9B through lib/cpu/fpu, `0F xx` SSE forms (xmm0-15 with
 * REX.R/B, the REX.W conversions and movq through lib/cpu/sse/sse_wide.ts), 0F AE
 * (fxsave/fxrstor in their 64-bit formats, ldmxcsr/stmxcsr, the fences, clflush), 0F C3
 * movnti and 0F 18 prefetch hints. Memory operands reach the units through the
 * {@link Bus64} adapter (the 64-bit memory path). CR0.EM/TS and CR4.OSFXSR are checked
 * as in 32-bit mode.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { VEC_NM, VEC_UD } from "../platform.ts";
import { x87Execute, x87Fwait } from "../fpu/x87_execute.ts";
import { SSE_OPCODE_MAP, sseExecute } from "../sse/sse_execute.ts";
import { sseExecuteWide } from "../sse/sse_wide.ts";
import { fxrstor, FXS_64, FXS_64W, fxsave, ldmxcsr, stmxcsr } from "../sse/fxsave.ts";
import { Bus64 } from "./bus64.ts";
import { D, fetch8, getLo, modrm, readReg, writeReg, writeRm } from "./decode64.ts";
import { A_WRITE, read64, V, xlate64 } from "./mem64.ts";

let bus: Bus64 | null = null;

function busOf(c: CpuCore): Bus64 {
  if (bus === null) bus = new Bus64(c);
  else bus.c = c;
  return bus;
}

function ud(c: CpuCore): never {
  return c.raise(VEC_UD, -1);
}

/**
 * The memory operand's linear address (FS/GS base added): returns the low half as an
 * unsigned number and leaves the high half in `b.hi`.
 */
function operand(c: CpuCore, b: Bus64): number {
  let lo = D.eaLo, hi = D.eaHi;
  const s = D.segSlot;
  if (s >= 0) {
    const sum = (lo >>> 0) + (c.lm.msr[s * 2] >>> 0);
    lo = sum | 0;
    hi = (hi + c.lm.msr[s * 2 + 1] + (sum > 0xffffffff ? 1 : 0)) | 0;
  }
  b.hi = hi;
  return lo >>> 0;
}

/** maskmovdqu's implicit destination: RDI (EDI with 67) plus an FS/GS base. */
function maskmovDest(c: CpuCore, b: Bus64): number {
  D.eaLo = getLo(c, 7);
  D.eaHi = D.a32 ? 0 : c.lm.hi[7];
  return operand(c, b);
}

/** The ModRM byte at RIP without consuming it. */
function peekModrm(c: CpuCore): number {
  const lo = c.eip, hi = c.lm.ripHi, len = D.len;
  const m = fetch8(c);
  c.eip = lo;
  c.lm.ripHi = hi;
  D.len = len;
  return m;
}

/**
 * Bytes an x87 memory form stores, by (opcode - D8) * 8 + reg (0: not a store): the
 * page check before writing, as for the SSE stores.
 */
const X87_STORE = new Uint8Array([
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0, // D8
  0,
  0,
  4,
  4,
  0,
  0,
  28,
  2, // D9: fst(p) m32, fnstenv, fnstcw
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0, // DA
  0,
  4,
  4,
  4,
  0,
  0,
  0,
  10, // DB: fisttp/fist/fistp m32, fstp m80
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0, // DC
  0,
  8,
  8,
  8,
  0,
  0,
  108,
  2, // DD: fisttp m64, fst(p) m64, fnsave, fnstsw
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0, // DE
  0,
  2,
  2,
  2,
  0,
  0,
  10,
  8, // DF: fisttp/fist/fistp m16, fbstp, fistp m64
]);

/** Checks both pages of a store that crosses one (the second page's start is CR2). */
function probeCross(c: CpuCore, b: Bus64, lin: number, n: number): void {
  if (n === 0 || (lin & 0xfff) + n <= 4096) return;
  xlate64(c, lin | 0, b.hi, A_WRITE);
  const next = lin - (lin & 0xfff) + 0x1000;
  xlate64(c, next | 0, next >= 0x100000000 ? (b.hi + 1) | 0 : b.hi, A_WRITE);
}

/** x87 escape D8..DF: #NM when CR0.EM or CR0.TS, then the x87 unit. */
function x87(c: CpuCore, op: number): void {
  // The instruction's start: RIP less the bytes fetched so far (prefixes and opcode).
  const start = (c.eip >>> 0) - D.len;
  const m = peekModrm(c);
  modrm(c, 0);
  if ((c.cr0 & 0xc) !== 0) c.raise(VEC_NM, -1);
  const b = busOf(c), st = c.x87;
  st.fip = start | 0;
  st.fipHi = start < 0 ? (c.lm.ripHi - 1) | 0 : c.lm.ripHi;
  st.fcs = c.segSel[1];
  let lin = -1;
  if (D.isMem) {
    lin = operand(c, b);
    st.dataHi = b.hi;
    probeCross(c, b, lin, X87_STORE[(op - 0xd8) * 8 + ((m >> 3) & 7)]);
  }
  b.regs[0] = c.regs[0];
  x87Execute(b, st, op, m, lin);
  c.regs[0] = b.regs[0]; // fnstsw ax (the high half of RAX is kept)
}

/**
 * A one-byte opcode `b` (prefixes consumed, D holds them, RIP after the opcode byte).
 * @returns true when handled; false: step64 raises #UD
 */
export function fpu1(c: CpuCore, b: number): boolean {
  if (b >= 0xd8 && b <= 0xdf) {
    if (D.lock) ud(c);
    x87(c, b);
    return true;
  }
  if (b === 0x9b) { // fwait: #NM only when both MP and TS are set
    if ((c.cr0 & 0xa) === 0xa) c.raise(VEC_NM, -1);
    x87Fwait(busOf(c), c.x87);
    return true;
  }
  return false;
}

/**
 * Per `0F xx`: the GPR traffic of the SSE forms: bit 0 reads GPR rm (register forms),
 * bit 1 writes GPR reg, bit 2 writes GPR rm (66 0F 7E, register form).
 */
const GPR_IO = (() => {
  const t = new Uint8Array(256);
  t[0x2a] = t[0x6e] = t[0xc4] = 1;
  t[0x2c] =
    t[0x2d] =
    t[0x50] =
    t[0xc5] =
    t[0xd7] =
      2;
  t[0x7e] = 4;
  return t;
})();

/**
 * Per `0F xx`: the bytes an SSE store form writes to memory (0: not a store; 1: movss/
 * movsd/movups by prefix, 2: movd or movq by REX.W), for the page check before writing.
 */
const STORE = (() => {
  const t = new Uint8Array(256);
  t[0x11] = 1;
  t[0x13] = t[0x17] = t[0xd6] = 8;
  t[0x29] =
    t[0x2b] =
    t[0x7f] =
    t[0xe7] =
      16;
  t[0x7e] = 2;
  return t;
})();

/**
 * A store that may cross a page: both pages must be writable before a byte changes (the
 * units write dword by dword), so the last byte's page is checked first.
 */
function probeStore(c: CpuCore, b: Bus64, op: number, lin: number, prefix: number): void {
  let n = STORE[op];
  if (n === 1) n = prefix === 0xf3 ? 4 : prefix === 0xf2 ? 8 : 16;
  else if (n === 2) {
    if (prefix !== 0x66) return; // F3 0F 7E is a load
    n = (D.rex & 8) !== 0 ? 8 : 4;
  }
  probeCross(c, b, lin, n);
}

/** The SSE/SSE2 forms of `0F op` (SSE_OPCODE_MAP). */
function sse(c: CpuCore, op: number, info: number): void {
  modrm(c, (info & 2) !== 0 ? 1 : 0);
  const b = busOf(c);
  let lin = D.isMem ? operand(c, b) : 0;
  if (!D.isMem && op === 0xf7 && D.o16 && D.rep === 0) lin = maskmovDest(c, b);
  const imm = (info & 2) !== 0 ? fetch8(c) : 0;
  if (D.lock || (c.cr0 & 4) !== 0 || (c.cr4 & 0x200) === 0) ud(c);
  if ((c.cr0 & 8) !== 0) c.raise(VEC_NM, -1);
  // F2/F3 select the form over 66 (the last of F2/F3 wins), as the 32-bit decoder does.
  const prefix = D.rep !== 0 ? D.rep : D.o16 ? 0x66 : 0;
  if (D.isMem) probeStore(c, b, op, lin, prefix);
  const reg = D.reg, rm = D.rm;
  const mb = (D.isMem ? 0 : 0xc0) | ((reg & 7) << 3) | (rm & 7) | ((reg & 8) << 5) |
    ((rm & 8) << 6);
  const io = GPR_IO[op];
  if (io === 0) {
    if (!sseExecute(b, c.sse, prefix, op, mb, lin, imm)) ud(c);
    return;
  }
  if ((io & 1) !== 0 && !D.isMem) {
    b.regs[rm] = getLo(c, rm);
    b.regsHi[rm] = c.lm.hi[rm];
  }
  const wide = (D.rex & 8) !== 0 && sseExecuteWide(b, c.sse, prefix, op, mb, lin, b.regsHi);
  if (!wide && !sseExecute(b, c.sse, prefix, op, mb, lin, imm)) ud(c);
  const size = wide ? 64 : 32; // 32-bit results zero-extend
  if ((io & 2) !== 0) writeReg(c, reg, size, b.regs[reg], wide ? b.regsHi[reg] : 0);
  else if ((io & 4) !== 0 && !D.isMem && prefix === 0x66) {
    writeReg(c, rm, size, b.regs[rm], wide ? b.regsHi[rm] : 0);
  }
}

/** 0F AE: fxsave fxrstor ldmxcsr stmxcsr (memory), the fences (register), clflush. */
function group15(c: CpuCore): void {
  modrm(c, 0);
  const o = D.reg & 7;
  if (!D.isMem) { // lfence / mfence / sfence
    if (o < 5 || D.rep !== 0 || D.o16 || D.lock) ud(c);
    return;
  }
  if (D.rep !== 0 || D.o16 || D.lock) ud(c);
  const b = busOf(c);
  const lin = operand(c, b);
  if (o === 7) { // clflush: faults like a byte read
    read64(c, lin | 0, b.hi, 1);
    return;
  }
  if (o > 3) ud(c); // xsave family: not offered
  if ((c.cr0 & 4) !== 0) ud(c);
  if ((c.cr0 & 8) !== 0) c.raise(VEC_NM, -1);
  const format = (D.rex & 8) !== 0 ? FXS_64W : FXS_64;
  if (o === 0) fxsave(b, c.x87, c.sse, lin, format);
  else if (o === 1) fxrstor(b, c.x87, c.sse, lin, format);
  else if (o === 2) ldmxcsr(b, c.sse, lin);
  else stmxcsr(b, c.sse, lin);
}

/** A `0F b` opcode, as {@link fpu1}. */
export function fpu2(c: CpuCore, b: number): boolean {
  const info = SSE_OPCODE_MAP[b];
  if ((info & 1) !== 0) {
    sse(c, b, info);
    return true;
  }
  switch (b) {
    case 0xae:
      group15(c);
      return true;
    case 0xc3: { // movnti m32/m64, r32/r64
      modrm(c, 0);
      if (!D.isMem || D.rep !== 0 || D.o16 || D.lock) ud(c);
      const size = (D.rex & 8) !== 0 ? 64 : 32;
      readReg(c, D.reg, size);
      writeRm(c, size, V[0], V[1]);
      return true;
    }
    case 0x18: // prefetchnta/t0/t1/t2 (and the reserved hint forms): no architectural effect
      modrm(c, 0);
      return true;
  }
  return false;
}
