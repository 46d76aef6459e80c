/**
 * The two-byte (0F xx) opcode map: system instructions, Jcc/SETcc/CMOVcc, bit ops,
 * shld/shrd, cmpxchg/xadd/cmpxchg8b, movzx/movsx, bswap, and the SSE/SSE2 escape.
 * @module
 */

import type { CpuCore as Cpu } from "./core.ts";
import { getZF, materialize, testCC } from "./flags.ts";
import { alu, ALU_ADD, ALU_CMP } from "./ops/alu.ts";
import { bitOp, bitScan } from "./ops/bit.ts";
import { imul2 } from "./ops/muldiv.ts";
import { shiftDouble } from "./ops/shift.ts";
import {
  cpuid,
  drIndex,
  lldt,
  ltr,
  queryDescriptor,
  rdmsr,
  rdtsc,
  readCr,
  requireCpl0,
  writeCr,
  wrmsr,
} from "./ops/system.ts";
import {
  decodeEA,
  eaRead,
  eaWrite,
  getR,
  jumpTo,
  readRM,
  rmwRead,
  rmwReadMem,
  rmwWrite,
  setR,
  writeRM,
} from "./operands.ts";
import { VEC_GP, VEC_NM, VEC_UD } from "./platform.ts";
import { DR7_GD, generalDetect } from "./debug_unit.ts";
import { loadFarPointer, popSeg, pushSeg } from "./interp_helpers.ts";
import { fpuDispatch } from "./fpu_dispatch.ts";
import { SSE_IMM8, SSE_OPS } from "./decode/table.ts";

const FS = 4, GS = 5, SS = 2;

/** Executes a 0F-map instruction (the 0F byte consumed) and advances EIP. */
export function step0F(c: Cpu): void {
  const op = c.fb();
  const vs = c.o16 ? 2 : 4;
  const r = c.regs;
  switch (op) {
    case 0x00:
      group6(c);
      break;
    case 0x01:
      group7(c);
      break;
    case 0x02:
    case 0x03: {
      const modrm = c.fb();
      const sel = readRM(c, modrm, 2);
      const v = queryDescriptor(c, sel, op - 2);
      if (v !== null) setR(c, (modrm >> 3) & 7, vs, v);
      break;
    }
    case 0x06:
      requireCpl0(c);
      c.cr0 &= ~8;
      break;
    case 0x08:
    case 0x09:
      requireCpl0(c);
      break;
    case 0x0d:
    case 0x18:
    case 0x19:
    case 0x1a:
    case 0x1b:
    case 0x1c:
    case 0x1d:
    case 0x1e:
    case 0x1f: {
      // prefetch and hint NOPs: decode the operand, access nothing.
      const modrm = c.fb();
      if (modrm < 0xc0) decodeEA(c, modrm);
      break;
    }
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x23: {
      const modrm = c.fb();
      const n = (modrm >> 3) & 7;
      if ((op & 1) === 0 && (n === 1 || n > 4)) c.raise(VEC_UD, -1);
      requireCpl0(c);
      const g = modrm & 7;
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
      break;
    }
    case 0x30:
      requireCpl0(c);
      wrmsr(c);
      break;
    case 0x31:
      rdtsc(c);
      break;
    case 0x32:
      requireCpl0(c);
      rdmsr(c);
      break;
    case 0x33:
      c.raise(VEC_GP, 0);
      break;
    case 0x40:
    case 0x41:
    case 0x42:
    case 0x43:
    case 0x44:
    case 0x45:
    case 0x46:
    case 0x47:
    case 0x48:
    case 0x49:
    case 0x4a:
    case 0x4b:
    case 0x4c:
    case 0x4d:
    case 0x4e:
    case 0x4f: {
      const modrm = c.fb();
      const v = readRM(c, modrm, vs);
      if (testCC(c, op & 15)) setR(c, (modrm >> 3) & 7, vs, v);
      break;
    }
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83:
    case 0x84:
    case 0x85:
    case 0x86:
    case 0x87:
    case 0x88:
    case 0x89:
    case 0x8a:
    case 0x8b:
    case 0x8c:
    case 0x8d:
    case 0x8e:
    case 0x8f: {
      const d = vs === 4 ? c.fd() : (c.fw() << 16) >> 16;
      if (testCC(c, op & 15)) {
        jumpTo(c, c.eip + c.ilen + d);
        return;
      }
      break;
    }
    case 0x90:
    case 0x91:
    case 0x92:
    case 0x93:
    case 0x94:
    case 0x95:
    case 0x96:
    case 0x97:
    case 0x98:
    case 0x99:
    case 0x9a:
    case 0x9b:
    case 0x9c:
    case 0x9d:
    case 0x9e:
    case 0x9f: {
      const modrm = c.fb();
      writeRM(c, modrm, 1, testCC(c, op & 15) ? 1 : 0);
      break;
    }
    case 0xa0:
    case 0xa8:
      pushSeg(c, op === 0xa0 ? FS : GS, vs);
      break;
    case 0xa1:
    case 0xa9:
      popSeg(c, op === 0xa1 ? FS : GS, vs);
      break;
    case 0xa2:
      cpuid(c);
      break;
    case 0xa3:
    case 0xab:
    case 0xb3:
    case 0xbb:
      bitTest(c, (op >> 3) & 3, vs);
      break;
    case 0xa4:
    case 0xa5:
    case 0xac:
    case 0xad: {
      const modrm = c.fb();
      if (modrm < 0xc0) decodeEA(c, modrm);
      const cnt = (op & 1) === 0 ? c.fb() : c.r8[4];
      const v = modrm >= 0xc0 ? getR(c, modrm & 7, vs) : rmwReadMem(c, vs);
      const s = getR(c, (modrm >> 3) & 7, vs);
      rmwWrite(c, modrm, vs, shiftDouble(c, op < 0xa8, v, s, cnt, vs));
      break;
    }
    case 0xae:
      group15(c);
      break;
    case 0xaf: {
      const modrm = c.fb();
      const reg = (modrm >> 3) & 7;
      setR(c, reg, vs, imul2(c, getR(c, reg, vs), readRM(c, modrm, vs), vs));
      break;
    }
    case 0xb0:
    case 0xb1: {
      const sz = op === 0xb0 ? 1 : vs;
      const modrm = c.fb();
      const v = rmwRead(c, modrm, sz);
      const acc = getR(c, 0, sz);
      alu(c, ALU_CMP, acc, v, sz);
      if (getZF(c)) rmwWrite(c, modrm, sz, getR(c, (modrm >> 3) & 7, sz));
      else {
        rmwWrite(c, modrm, sz, v);
        setR(c, 0, sz, v);
      }
      break;
    }
    case 0xb2:
    case 0xb4:
    case 0xb5: {
      const modrm = c.fb();
      if (modrm >= 0xc0) c.raise(VEC_UD, -1);
      loadFarPointer(c, modrm, op === 0xb2 ? SS : op === 0xb4 ? FS : GS, vs);
      break;
    }
    case 0xb6:
    case 0xb7:
    case 0xbe:
    case 0xbf: {
      const modrm = c.fb();
      const ssz = (op & 1) === 0 ? 1 : 2;
      let v = readRM(c, modrm, ssz);
      if (op >= 0xbe) v = ssz === 1 ? (v << 24) >> 24 : (v << 16) >> 16;
      setR(c, (modrm >> 3) & 7, vs, v);
      break;
    }
    case 0xba: {
      const modrm = c.fb();
      const o = (modrm >> 3) & 7;
      if (o < 4) c.raise(VEC_UD, -1);
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
      break;
    }
    case 0xbc:
    case 0xbd: {
      const modrm = c.fb();
      const v = readRM(c, modrm, vs);
      const idx = bitScan(c, v, vs, op === 0xbc);
      if (idx >= 0) setR(c, (modrm >> 3) & 7, vs, idx);
      break;
    }
    case 0xc0:
    case 0xc1: {
      const sz = op === 0xc0 ? 1 : vs;
      const modrm = c.fb();
      const reg = (modrm >> 3) & 7;
      const v = rmwRead(c, modrm, sz);
      const s = getR(c, reg, sz);
      const sum = alu(c, ALU_ADD, v, s, sz);
      setR(c, reg, sz, v);
      rmwWrite(c, modrm, sz, sum);
      break;
    }
    case 0xc3: {
      const modrm = c.fb();
      if (modrm >= 0xc0 || c.ssePrefix !== 0) c.raise(VEC_UD, -1);
      decodeEA(c, modrm);
      c.write32(eaWrite(c, 4), getR(c, (modrm >> 3) & 7, 4));
      break;
    }
    case 0xc7: {
      const modrm = c.fb();
      if (modrm >= 0xc0 || ((modrm >> 3) & 7) !== 1) c.raise(VEC_UD, -1);
      decodeEA(c, modrm);
      cmpxchg8b(c);
      break;
    }
    case 0xc8:
    case 0xc9:
    case 0xca:
    case 0xcb:
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: {
      const g = op & 7;
      if (vs === 2) c.r16[g << 1] = 0; // undefined; Intel hosts zero the low word
      else {
        const v = r[g];
        r[g] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
      }
      break;
    }
    default:
      if (SSE_OPS[op] !== 0) sse(c, op);
      else c.raise(VEC_UD, -1);
  }
  c.eip = (c.eip + c.ilen) >>> 0;
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

function group6(c: Cpu): void {
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
    default:
      c.raise(VEC_UD, -1);
  }
}

function group7(c: Cpu): void {
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

function group15(c: Cpu): void {
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

function sse(c: Cpu, op: number): void {
  const modrm = c.fb();
  let lin = -1;
  if (modrm < 0xc0) {
    decodeEA(c, modrm);
    lin = c.segAddr(c.eaSeg, c.eaOff, 1, false);
  }
  const imm = SSE_IMM8[op] !== 0 ? c.fb() : 0;
  if ((c.cr0 & 4) !== 0 || (c.cr4 & 0x200) === 0) c.raise(VEC_UD, -1);
  if ((c.cr0 & 8) !== 0) c.raise(VEC_NM, -1);
  if (!fpuDispatch.sse(c, c.ssePrefix, op, modrm, lin, imm)) c.raise(VEC_UD, -1);
}
