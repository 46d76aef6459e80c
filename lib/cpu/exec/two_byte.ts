/**
 * Handlers of the two-byte (0F xx) map: system instructions, Jcc/SETcc/CMOVcc (Jcc is in
 * ops/near.ts), bit ops, shld/shrd, cmpxchg/xadd/cmpxchg8b, movzx/movsx, bswap, and the
 * SSE/SSE2 escape. ModRM.reg validity is checked from the opcode table before they run.
 * @module
 */

import { type CpuCore as Cpu, DS } from "../core.ts";
import { getZF, materialize, testCC } from "../flags.ts";
import { alu, ALU_ADD, ALU_CMP } from "../ops/alu.ts";
import { bitOp, bitScan, popCount } from "../ops/bit.ts";
import { imul2 } from "../ops/muldiv.ts";
import { shiftDouble } from "../ops/shift.ts";
import {
  cpuid as cpuidOp,
  drIndex,
  lldt,
  ltr,
  queryDescriptor,
  rdmsr as rdmsrOp,
  rdtsc as rdtscOp,
  readCr,
  requireCpl0,
  writeCr,
  wrmsr as wrmsrOp,
} from "../ops/system.ts";
import {
  decodeEA,
  eaRead,
  eaWrite,
  getR,
  readRM,
  rmwRead,
  rmwReadMem,
  rmwWrite,
  setR,
  writeRM,
} from "../operands.ts";
import { VEC_GP, VEC_NM, VEC_UD } from "../platform.ts";
import { fpuDispatch } from "../fpu_dispatch.ts";
import { DR7_GD, generalDetect } from "../debug_unit.ts";
import { I_B, immKind, INFO, MAP_0F, MODE_LEGACY, opIndex } from "../decode/opcodes.ts";
import { loadFarPointer } from "./one_byte.ts";

const FS = 4, GS = 5, SS = 2;

function vsOf(c: Cpu): number {
  return c.o16 ? 2 : 4;
}

/** lar / lsl (0F 02, 0F 03). */
export function larLsl(c: Cpu, op: number): void {
  const modrm = c.fb();
  const sel = readRM(c, modrm, 2);
  const v = queryDescriptor(c, sel, op - 2);
  if (v !== null) setR(c, (modrm >> 3) & 7, vsOf(c), v);
}

/** clts (0F 06). */
export function clts(c: Cpu): void {
  requireCpl0(c);
  c.cr0 &= ~8;
}

/** invd / wbinvd (0F 08, 0F 09): privileged no-ops. */
export function privNop(c: Cpu): void {
  requireCpl0(c);
}

/** prefetch and hint NOPs (0F 0D, 0F 18-1F): decode the operand, access nothing. */
export function hintNop(c: Cpu): void {
  const modrm = c.fb();
  if (modrm < 0xc0) decodeEA(c, modrm);
}

/** mov to/from CRn / DRn (0F 20-23). */
export function movCrDr(c: Cpu, op: number): void {
  const modrm = c.fb();
  const n = (modrm >> 3) & 7;
  requireCpl0(c);
  const g = modrm & 7;
  const r = c.regs;
  if (op === 0x20) r[g] = readCr(c, n);
  else if (op === 0x22) writeCr(c, n, r[g]);
  else {
    const i = drIndex(c, n);
    if ((c.dr[7] & DR7_GD) !== 0) generalDetect(c);
    if (op === 0x21) r[g] = c.dr[i];
    else {
      c.dr[i] = r[g];
      c.debug.refresh();
    }
  }
}

/** wrmsr (0F 30). */
export function wrmsr(c: Cpu): void {
  requireCpl0(c);
  wrmsrOp(c);
}

/** rdtsc (0F 31). */
export function rdtsc(c: Cpu): void {
  rdtscOp(c);
}

/** rdmsr (0F 32). */
export function rdmsr(c: Cpu): void {
  requireCpl0(c);
  rdmsrOp(c);
}

/** rdpmc (0F 33): no counters are modelled. */
export function rdpmc(c: Cpu): void {
  c.raise(VEC_GP, 0);
}

/** cmovcc Gv, Ev (0F 40-4F). */
export function cmov(c: Cpu, op: number): void {
  const vs = vsOf(c);
  const modrm = c.fb();
  const v = readRM(c, modrm, vs);
  if (testCC(c, op & 15)) setR(c, (modrm >> 3) & 7, vs, v);
}

/** setcc Eb (0F 90-9F). */
export function setcc(c: Cpu, op: number): void {
  const modrm = c.fb();
  writeRM(c, modrm, 1, testCC(c, op & 15) ? 1 : 0);
}

/** cpuid (0F A2); #GP(0) above CPL 0 under CPUID faulting. */
export function cpuid(c: Cpu): void {
  if (c.cpuidFaulting && c.cpl !== 0) c.gp(0);
  cpuidOp(c);
}

/** bt/bts/btr/btc Ev, Gv (0F A3 AB B3 BB). */
export function btEG(c: Cpu, op: number): void {
  bitTest(c, (op >> 3) & 3, vsOf(c));
}

/** shld / shrd by imm8 or CL (0F A4 A5 AC AD). */
export function shxd(c: Cpu, op: number): void {
  const vs = vsOf(c);
  const modrm = c.fb();
  if (modrm < 0xc0) decodeEA(c, modrm);
  const cnt = (op & 1) === 0 ? c.fb() : c.r8[4];
  const v = modrm >= 0xc0 ? getR(c, modrm & 7, vs) : rmwReadMem(c, vs);
  const s = getR(c, (modrm >> 3) & 7, vs);
  rmwWrite(c, modrm, vs, shiftDouble(c, op < 0xa8, v, s, cnt, vs));
}

/** imul Gv, Ev (0F AF). */
export function imulGE(c: Cpu): void {
  const vs = vsOf(c);
  const modrm = c.fb();
  const reg = (modrm >> 3) & 7;
  setR(c, reg, vs, imul2(c, getR(c, reg, vs), readRM(c, modrm, vs), vs));
}

/** cmpxchg Eb,Gb / Ev,Gv (0F B0, B1). */
export function cmpxchg(c: Cpu, op: number): void {
  const sz = op === 0xb0 ? 1 : vsOf(c);
  const modrm = c.fb();
  const v = rmwRead(c, modrm, sz);
  const acc = getR(c, 0, sz);
  alu(c, ALU_CMP, acc, v, sz);
  if (getZF(c)) rmwWrite(c, modrm, sz, getR(c, (modrm >> 3) & 7, sz));
  else {
    rmwWrite(c, modrm, sz, v);
    setR(c, 0, sz, v);
  }
}

/** lss / lfs / lgs (0F B2 B4 B5). */
export function loadSegPtr(c: Cpu, op: number): void {
  loadFarPointer(c, c.fb(), op === 0xb2 ? SS : op === 0xb4 ? FS : GS, vsOf(c));
}

/** movzx / movsx (0F B6 B7 BE BF). */
export function movx(c: Cpu, op: number): void {
  const modrm = c.fb();
  const ssz = (op & 1) === 0 ? 1 : 2;
  let v = readRM(c, modrm, ssz);
  if (op >= 0xbe) v = ssz === 1 ? (v << 24) >> 24 : (v << 16) >> 16;
  setR(c, (modrm >> 3) & 7, vsOf(c), v);
}

/** Group 8: bt/bts/btr/btc Ev, imm8 (0F BA /4-/7). */
export function group8(c: Cpu): void {
  const vs = vsOf(c);
  const modrm = c.fb();
  const o = (modrm >> 3) & 7;
  if (modrm >= 0xc0) {
    const bit = c.fb() & (vs * 8 - 1);
    const v = getR(c, modrm & 7, vs);
    const res = bitOp(c, o - 4, v, bit);
    if (o !== 4) setR(c, modrm & 7, vs, res);
  } else {
    decodeEA(c, modrm);
    const bit = c.fb() & (vs * 8 - 1);
    if (o === 4) bitOp(c, 0, c.readN(eaRead(c, vs), vs), bit);
    else {
      const v = rmwReadMem(c, vs);
      rmwWrite(c, modrm, vs, bitOp(c, o - 4, v, bit));
    }
  }
}

/** bsf / bsr (0F BC, BD). */
export function bsfBsr(c: Cpu, op: number): void {
  const vs = vsOf(c);
  const modrm = c.fb();
  const v = readRM(c, modrm, vs);
  const idx = bitScan(c, v, vs, op === 0xbc);
  if (idx >= 0) setR(c, (modrm >> 3) & 7, vs, idx);
}

/** popcnt Gv,Ev (F3 0F B8; without F3 it is #UD, the IA-64 jmpe slot). */
export function popcnt(c: Cpu): void {
  if (c.rep !== 0xf3) c.raise(VEC_UD, -1);
  const vs = vsOf(c);
  const modrm = c.fb();
  const v = readRM(c, modrm, vs);
  setR(c, (modrm >> 3) & 7, vs, popCount(c, v, vs));
}

/** xadd Eb,Gb / Ev,Gv (0F C0, C1). */
export function xadd(c: Cpu, op: number): void {
  const sz = op === 0xc0 ? 1 : vsOf(c);
  const modrm = c.fb();
  const reg = (modrm >> 3) & 7;
  const v = rmwRead(c, modrm, sz);
  const s = getR(c, reg, sz);
  const sum = alu(c, ALU_ADD, v, s, sz);
  setR(c, reg, sz, v);
  rmwWrite(c, modrm, sz, sum);
}

/** movnti My, Gy (0F C3). */
export function movnti(c: Cpu): void {
  const modrm = c.fb();
  decodeEA(c, modrm);
  c.write32(eaWrite(c, 4), getR(c, (modrm >> 3) & 7, 4));
}

/** Group 9: cmpxchg8b (0F C7 /1). */
export function group9(c: Cpu): void {
  decodeEA(c, c.fb());
  cmpxchg8b(c);
}

/** bswap r (0F C8-CF). */
export function bswap(c: Cpu, op: number): void {
  const g = op & 7;
  const r = c.regs;
  if (c.o16) c.r16[g << 1] = 0; // undefined; Intel hosts zero the low word
  else {
    const v = r[g];
    r[g] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
  }
}

/** bt/bts/btr/btc Ev, Gv with the register's bit offset (signed, may leave the operand). */
function bitTest(c: Cpu, o: number, vs: number): void {
  const modrm = c.fb();
  const off = getR(c, (modrm >> 3) & 7, vs);
  if (modrm >= 0xc0) {
    const v = getR(c, modrm & 7, vs);
    const res = bitOp(c, o, v, off & (vs * 8 - 1));
    if (o !== 0) setR(c, modrm & 7, vs, res);
    return;
  }
  decodeEA(c, modrm);
  const soff = vs === 2 ? (off << 16) >> 16 : off;
  const disp = vs === 2 ? (soff >> 4) * 2 : (soff >> 5) * 4;
  c.eaOff = c.a16 ? (c.eaOff + disp) & 0xffff : (c.eaOff + disp) | 0;
  const bit = off & (vs * 8 - 1);
  if (o === 0) bitOp(c, 0, c.readN(eaRead(c, vs), vs), bit);
  else {
    const v = rmwReadMem(c, vs);
    rmwWrite(c, modrm, vs, bitOp(c, o, v, bit));
  }
}

function cmpxchg8b(c: Cpu): void {
  const r = c.regs;
  const lin = eaWrite(c, 8);
  c.wAddr(lin, 8);
  const lo = c.read32(lin), hi = c.read32((lin + 4) | 0);
  const f = materialize(c);
  if (lo === r[0] && hi === r[2]) {
    c.write32(lin, r[3]);
    c.write32((lin + 4) | 0, r[1]);
    c.flags = f | 0x40;
  } else {
    c.write32(lin, lo);
    c.write32((lin + 4) | 0, hi);
    r[0] = lo;
    r[2] = hi;
    c.flags = f & ~0x40;
  }
}

/** Group 6: sldt str lldt ltr verr verw (0F 00). */
export function group6(c: Cpu): void {
  const modrm = c.fb();
  const o = (modrm >> 3) & 7;
  switch (o) {
    case 0:
    case 1: {
      const v = o === 0 ? c.ldtSel : c.trSel;
      if (modrm >= 0xc0) setR(c, modrm & 7, c.o16 ? 2 : 4, v);
      else writeRM(c, modrm, 2, v);
      return;
    }
    case 2:
    case 3: {
      const sel = readRM(c, modrm, 2);
      requireCpl0(c);
      if (o === 2) lldt(c, sel);
      else ltr(c, sel);
      return;
    }
    case 4:
    case 5:
      queryDescriptor(c, readRM(c, modrm, 2), o - 2);
      return;
  }
}

/** Group 7: sgdt sidt lgdt lidt smsw lmsw invlpg (0F 01). */
export function group7(c: Cpu): void {
  const modrm = c.fb();
  const o = (modrm >> 3) & 7;
  if (modrm >= 0xc0) {
    if (o === 4) setR(c, modrm & 7, c.o16 ? 2 : 4, c.cr0);
    else if (o === 6) {
      requireCpl0(c);
      lmsw(c, getR(c, modrm & 7, 2));
    } else c.raise(VEC_UD, -1);
    return;
  }
  decodeEA(c, modrm);
  switch (o) {
    case 0:
    case 1: {
      const lin = eaWrite(c, 6);
      c.write16(lin, o === 0 ? c.gdtLimit : c.idtLimit);
      c.write32((lin + 2) | 0, o === 0 ? c.gdtBase : c.idtBase);
      return;
    }
    case 2:
    case 3: {
      requireCpl0(c);
      const lin = eaRead(c, 6);
      const limit = c.read16(lin);
      let base = c.read32((lin + 2) | 0);
      if (c.o16) base &= 0xffffff;
      if (o === 2) {
        c.gdtLimit = limit;
        c.gdtBase = base;
      } else {
        c.idtLimit = limit;
        c.idtBase = base;
      }
      return;
    }
    case 4:
      c.write16(eaWrite(c, 2), c.cr0);
      return;
    case 6:
      requireCpl0(c);
      lmsw(c, c.read16(eaRead(c, 2)));
      return;
    case 7:
      requireCpl0(c);
      c.invlpg((c.segBase[c.eaSeg] + c.eaOff) | 0);
      return;
    default:
      c.raise(VEC_UD, -1);
  }
}

function lmsw(c: Cpu, v: number): void {
  // lmsw sets PE MP EM TS but cannot clear PE.
  c.cr0 = (c.cr0 & ~0xe) | (v & 0xf) | (c.cr0 & 1);
}

/** Group 15: fxsave fxrstor ldmxcsr stmxcsr, the fences, clflush (0F AE). */
export function group15(c: Cpu): void {
  const modrm = c.fb();
  const o = (modrm >> 3) & 7;
  if (modrm >= 0xc0) {
    // lfence / mfence / sfence
    if (o < 5 || c.ssePrefix !== 0) c.raise(VEC_UD, -1);
    return;
  }
  decodeEA(c, modrm);
  if (c.ssePrefix !== 0) c.raise(VEC_UD, -1);
  if (o === 7) {
    c.read8(eaRead(c, 1)); // clflush: faults like a byte read
    return;
  }
  if (o > 3) c.raise(VEC_UD, -1);
  if ((c.cr0 & 4) !== 0) c.raise(VEC_UD, -1);
  if ((c.cr0 & 8) !== 0) c.raise(VEC_NM, -1);
  fpuDispatch.fxop(c, o, c.segAddr(c.eaSeg, c.eaOff, 1, o === 0 || o === 3));
}

/** The SSE/SSE2 escape (and the MMX forms sharing its opcodes). */
export function sse(c: Cpu, op: number): void {
  const info = INFO[opIndex(MODE_LEGACY, MAP_0F, op)];
  const modrm = c.fb();
  let lin = -1;
  if (modrm < 0xc0) {
    decodeEA(c, modrm);
    lin = c.segAddr(c.eaSeg, c.eaOff, 1, false);
  } else if (op === 0xf7 && c.ssePrefix === 0x66) {
    // maskmovdqu: the implicit destination DS:eDI (a segment override applies)
    lin = c.segAddr(c.segOv >= 0 ? c.segOv : DS, c.a16 ? c.r16[14] : c.regs[7], 16, true);
  }
  const imm = immKind(info) === I_B ? c.fb() : 0;
  if ((c.cr0 & 4) !== 0 || (c.cr4 & 0x200) === 0) c.raise(VEC_UD, -1);
  if ((c.cr0 & 8) !== 0) c.raise(VEC_NM, -1);
  if (!fpuDispatch.sse(c, c.ssePrefix, op, modrm, lin, imm)) c.raise(VEC_UD, -1);
}
