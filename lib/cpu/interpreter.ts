/**
 * The instruction step: prefixes, then the one-byte opcode map. Each case decodes its
 * operands and calls the semantics in ops/; groups live in interp_groups.ts and the 0F
 * map in interp_0f.ts. EIP still holds the instruction start while a case runs; the
 * end of step() advances it unless the case jumped (and returned).
 * @module
 */

import type { CpuCore as Cpu } from "./core.ts";
import { F_DF, F_IF, F_IOPL, getCF, getOF, materialize, testCC } from "./flags.ts";
import { alu, ALU_CMP, dec, inc, test } from "./ops/alu.ts";
import { aad, aam, asciiAdjust, decimalAdjust } from "./ops/bit.ts";
import { callFar, iret, jmpFar, loadFlags, retFar } from "./ops/far.ts";
import { imul2 } from "./ops/muldiv.ts";
import { stringOp } from "./ops/string.ts";
import {
  addSp,
  decodeEA,
  getR,
  jumpTo,
  peek,
  pop,
  push,
  readRM,
  rmwRead,
  rmwWrite,
  setR,
  writeRM,
} from "./operands.ts";
import { EXC_INT3, EXC_INTO, EXC_SOFTINT, EXC_TRAP, VEC_UD } from "./platform.ts";
import { A_DB, loadSegmentOrFault } from "./segmentation.ts";
import { group1, group2, group3, group45, x87Op } from "./interp_groups.ts";
import { step0F } from "./interp_0f.ts";
import { checkLock } from "./lock.ts";
import {
  enter,
  immOf,
  ioCheck,
  loadFarPointer,
  loopOp,
  op6x,
  popSeg,
  pushSeg,
} from "./interp_helpers.ts";
import { fpuDispatch } from "./fpu_dispatch.ts";

const CS = 1, SS = 2, DS = 3;

/** Executes one instruction at cs:eip (faults throw the Cpu's FAULT sentinel). */
export function step(c: Cpu): void {
  c.beginFetch();
  const d32 = (c.segAttr[CS] & A_DB) !== 0;
  c.o16 = !d32;
  c.a16 = !d32;
  c.segOv = -1;
  c.rep = 0;
  c.ssePrefix = 0;
  c.lock = false;
  let op = c.fb();
  // Prefixes (any order, any number up to the 15-byte limit the fetcher enforces).
  for (;;) {
    switch (op) {
      case 0x26:
      case 0x2e:
      case 0x36:
      case 0x3e:
        c.segOv = (op >> 3) & 3;
        break;
      case 0x64:
      case 0x65:
        c.segOv = op - 0x60;
        break;
      case 0x66:
        c.o16 = d32;
        if (c.ssePrefix === 0) c.ssePrefix = 0x66;
        break;
      case 0x67:
        c.a16 = d32;
        break;
      case 0xf0:
        c.lock = true;
        break;
      case 0xf2:
      case 0xf3:
        c.rep = op;
        c.ssePrefix = op;
        break;
      default:
        if (c.lock) checkLock(c, op);
        exec(c, op);
        return;
    }
    op = c.fb();
  }
}

/** Advances EIP past the instruction. */
function next(c: Cpu): void {
  c.eip = (c.eip + c.ilen) >>> 0;
}

function exec(c: Cpu, op: number): void {
  const vs = c.o16 ? 2 : 4;
  const r = c.regs;
  switch (op) {
    // ---- ALU: 00-05, 08-0D, ... 38-3D ------------------------------------------------
    case 0x00:
    case 0x01:
    case 0x08:
    case 0x09:
    case 0x10:
    case 0x11:
    case 0x18:
    case 0x19:
    case 0x20:
    case 0x21:
    case 0x28:
    case 0x29:
    case 0x30:
    case 0x31:
    case 0x38:
    case 0x39: {
      const sz = (op & 1) === 0 ? 1 : vs;
      const a = (op >> 3) & 7;
      const modrm = c.fb();
      const g = getR(c, (modrm >> 3) & 7, sz);
      if (a === ALU_CMP) alu(c, a, readRM(c, modrm, sz), g, sz);
      else {
        const v = rmwRead(c, modrm, sz);
        rmwWrite(c, modrm, sz, alu(c, a, v, g, sz));
      }
      break;
    }
    case 0x02:
    case 0x03:
    case 0x0a:
    case 0x0b:
    case 0x12:
    case 0x13:
    case 0x1a:
    case 0x1b:
    case 0x22:
    case 0x23:
    case 0x2a:
    case 0x2b:
    case 0x32:
    case 0x33:
    case 0x3a:
    case 0x3b: {
      const sz = (op & 1) === 0 ? 1 : vs;
      const a = (op >> 3) & 7;
      const modrm = c.fb();
      const reg = (modrm >> 3) & 7;
      const res = alu(c, a, getR(c, reg, sz), readRM(c, modrm, sz), sz);
      if (a !== ALU_CMP) setR(c, reg, sz, res);
      break;
    }
    case 0x04:
    case 0x0c:
    case 0x14:
    case 0x1c:
    case 0x24:
    case 0x2c:
    case 0x34:
    case 0x3c: {
      const a = (op >> 3) & 7;
      const res = alu(c, a, c.r8[0], c.fb(), 1);
      if (a !== ALU_CMP) c.r8[0] = res;
      break;
    }
    case 0x05:
    case 0x0d:
    case 0x15:
    case 0x1d:
    case 0x25:
    case 0x2d:
    case 0x35:
    case 0x3d: {
      const a = (op >> 3) & 7;
      const imm = vs === 4 ? c.fd() : c.fw();
      const res = alu(c, a, getR(c, 0, vs), imm, vs);
      if (a !== ALU_CMP) setR(c, 0, vs, res);
      break;
    }
    // ---- segment push/pop --------------------------------------------------------------
    case 0x06:
    case 0x0e:
    case 0x16:
    case 0x1e:
      pushSeg(c, op >> 3, vs);
      break;
    case 0x07:
    case 0x17:
    case 0x1f:
      popSeg(c, op >> 3, vs);
      break;
    case 0x0f:
      step0F(c);
      return;
    // ---- BCD ---------------------------------------------------------------------------
    case 0x27:
      decimalAdjust(c, false);
      break;
    case 0x2f:
      decimalAdjust(c, true);
      break;
    case 0x37:
      asciiAdjust(c, false);
      break;
    case 0x3f:
      asciiAdjust(c, true);
      break;
    // ---- inc/dec/push/pop reg ------------------------------------------------------------
    case 0x40:
    case 0x41:
    case 0x42:
    case 0x43:
    case 0x44:
    case 0x45:
    case 0x46:
    case 0x47:
      setR(c, op & 7, vs, inc(c, getR(c, op & 7, vs), vs));
      break;
    case 0x48:
    case 0x49:
    case 0x4a:
    case 0x4b:
    case 0x4c:
    case 0x4d:
    case 0x4e:
    case 0x4f:
      setR(c, op & 7, vs, dec(c, getR(c, op & 7, vs), vs));
      break;
    case 0x50:
    case 0x51:
    case 0x52:
    case 0x53:
    case 0x54:
    case 0x55:
    case 0x56:
    case 0x57:
      push(c, getR(c, op & 7, vs), vs);
      break;
    case 0x58:
    case 0x59:
    case 0x5a:
    case 0x5b:
    case 0x5c:
    case 0x5d:
    case 0x5e:
    case 0x5f: {
      const v = pop(c, vs);
      setR(c, op & 7, vs, v);
      break;
    }
    case 0x60:
    case 0x61:
    case 0x62:
    case 0x63:
      op6x(c, op, vs);
      break;
    case 0x68:
      push(c, vs === 4 ? c.fd() : c.fw(), vs);
      break;
    case 0x6a:
      push(c, (c.fb() << 24) >> 24, vs);
      break;
    case 0x69:
    case 0x6b: {
      const modrm = c.fb();
      const v = readRM(c, modrm, vs);
      const imm = op === 0x69 ? (vs === 4 ? c.fd() : c.fw()) : (c.fb() << 24) >> 24;
      setR(c, (modrm >> 3) & 7, vs, imul2(c, v, imm, vs));
      break;
    }
    case 0x6c:
    case 0x6d:
    case 0x6e:
    case 0x6f:
      ioCheck(c);
      if (!stringOp(c, op < 0x6e ? 5 : 6, (op & 1) === 0 ? 1 : vs)) return;
      break;
    // ---- Jcc rel8 ---------------------------------------------------------------------------
    case 0x70:
    case 0x71:
    case 0x72:
    case 0x73:
    case 0x74:
    case 0x75:
    case 0x76:
    case 0x77:
    case 0x78:
    case 0x79:
    case 0x7a:
    case 0x7b:
    case 0x7c:
    case 0x7d:
    case 0x7e:
    case 0x7f: {
      const d = (c.fb() << 24) >> 24;
      if (testCC(c, op & 15)) {
        jumpTo(c, c.eip + c.ilen + d);
        return;
      }
      break;
    }
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83:
      group1(c, op, vs);
      break;
    case 0x84:
    case 0x85: {
      const sz = op === 0x84 ? 1 : vs;
      const modrm = c.fb();
      test(c, readRM(c, modrm, sz), getR(c, (modrm >> 3) & 7, sz), sz);
      break;
    }
    case 0x86:
    case 0x87: {
      const sz = op === 0x86 ? 1 : vs;
      const modrm = c.fb();
      const reg = (modrm >> 3) & 7;
      const v = rmwRead(c, modrm, sz);
      const g = getR(c, reg, sz);
      rmwWrite(c, modrm, sz, g);
      setR(c, reg, sz, v);
      break;
    }
    case 0x88:
    case 0x89: {
      const sz = op === 0x88 ? 1 : vs;
      const modrm = c.fb();
      writeRM(c, modrm, sz, getR(c, (modrm >> 3) & 7, sz));
      break;
    }
    case 0x8a:
    case 0x8b: {
      const sz = op === 0x8a ? 1 : vs;
      const modrm = c.fb();
      setR(c, (modrm >> 3) & 7, sz, readRM(c, modrm, sz));
      break;
    }
    case 0x8c: {
      const modrm = c.fb();
      const s = (modrm >> 3) & 7;
      if (s > 5) c.raise(VEC_UD, -1);
      if (modrm >= 0xc0) setR(c, modrm & 7, vs, c.segSel[s]);
      else writeRM(c, modrm, 2, c.segSel[s]);
      break;
    }
    case 0x8d: {
      const modrm = c.fb();
      if (modrm >= 0xc0) c.raise(VEC_UD, -1);
      decodeEA(c, modrm);
      setR(c, (modrm >> 3) & 7, vs, c.eaOff);
      break;
    }
    case 0x8e: {
      const modrm = c.fb();
      const s = (modrm >> 3) & 7;
      if (s === CS || s > 5) c.raise(VEC_UD, -1);
      loadSegmentOrFault(c, s, readRM(c, modrm, 2));
      break;
    }
    case 0x8f: {
      const modrm = c.fb();
      if ((modrm & 0x38) !== 0) c.raise(VEC_UD, -1);
      const v = peek(c, 0, vs);
      addSp(c, vs);
      writeRM(c, modrm, vs, v);
      break;
    }
    case 0x90:
      break;
    case 0x91:
    case 0x92:
    case 0x93:
    case 0x94:
    case 0x95:
    case 0x96:
    case 0x97: {
      const v = getR(c, op & 7, vs);
      setR(c, op & 7, vs, getR(c, 0, vs));
      setR(c, 0, vs, v);
      break;
    }
    case 0x98:
      if (vs === 4) r[0] = (r[0] << 16) >> 16;
      else c.r16[0] = (c.r8[0] << 24) >> 24;
      break;
    case 0x99:
      if (vs === 4) r[2] = r[0] >> 31;
      else c.r16[4] = (r[0] << 16) >> 31;
      break;
    case 0x9a: {
      const off = vs === 4 ? c.fd() : c.fw();
      const sel = c.fw();
      next(c);
      callFar(c, sel, off, vs);
      return;
    }
    case 0x9b:
      if ((c.cr0 & 0xa) === 0xa) c.raise(7, -1);
      fpuDispatch.fwait(c);
      break;
    case 0x9c:
      push(c, c.getEflags() & 0xfcffff, vs);
      break;
    case 0x9d: {
      const v = pop(c, vs);
      loadFlags(c, v, vs === 2, false);
      break;
    }
    case 0x9e: {
      const f = materialize(c);
      c.flags = (f & ~0xd5) | (c.r8[1] & 0xd5);
      break;
    }
    case 0x9f:
      c.r8[1] = (materialize(c) & 0xd5) | 2;
      break;
    case 0xa0:
    case 0xa1:
    case 0xa2:
    case 0xa3: {
      const sz = (op & 1) === 0 ? 1 : vs;
      const off = c.a16 ? c.fw() : c.fd();
      const seg = c.segOv >= 0 ? c.segOv : DS;
      if (op < 0xa2) setR(c, 0, sz, c.readN(c.segAddr(seg, off, sz, false), sz));
      else c.writeN(c.segAddr(seg, off, sz, true), sz, getR(c, 0, sz));
      break;
    }
    case 0xa4:
    case 0xa5:
      if (!stringOp(c, 0, op === 0xa4 ? 1 : vs)) return;
      break;
    case 0xa6:
    case 0xa7:
      if (!stringOp(c, 1, op === 0xa6 ? 1 : vs)) return;
      break;
    case 0xa8:
      test(c, c.r8[0], c.fb(), 1);
      break;
    case 0xa9:
      test(c, r[0], vs === 4 ? c.fd() : c.fw(), vs);
      break;
    case 0xaa:
    case 0xab:
      if (!stringOp(c, 2, op === 0xaa ? 1 : vs)) return;
      break;
    case 0xac:
    case 0xad:
      if (!stringOp(c, 3, op === 0xac ? 1 : vs)) return;
      break;
    case 0xae:
    case 0xaf:
      if (!stringOp(c, 4, op === 0xae ? 1 : vs)) return;
      break;
    case 0xb0:
    case 0xb1:
    case 0xb2:
    case 0xb3:
    case 0xb4:
    case 0xb5:
    case 0xb6:
    case 0xb7:
      setR(c, op & 7, 1, c.fb());
      break;
    case 0xb8:
    case 0xb9:
    case 0xba:
    case 0xbb:
    case 0xbc:
    case 0xbd:
    case 0xbe:
    case 0xbf:
      setR(c, op & 7, vs, vs === 4 ? c.fd() : c.fw());
      break;
    case 0xc0:
    case 0xc1:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
      group2(c, op, vs);
      break;
    case 0xc2:
    case 0xc3: {
      const imm = op === 0xc2 ? c.fw() : 0;
      const t = peek(c, 0, vs);
      jumpTo(c, t);
      addSp(c, vs + imm);
      return;
    }
    case 0xc4:
    case 0xc5: {
      const modrm = c.fb();
      if (modrm >= 0xc0) c.raise(VEC_UD, -1);
      loadFarPointer(c, modrm, op === 0xc4 ? 0 : DS, vs);
      break;
    }
    case 0xc6:
    case 0xc7: {
      const sz = op === 0xc6 ? 1 : vs;
      const modrm = c.fb();
      if ((modrm & 0x38) !== 0) c.raise(VEC_UD, -1);
      if (modrm >= 0xc0) setR(c, modrm & 7, sz, immOf(c, sz));
      else {
        decodeEA(c, modrm);
        const imm = immOf(c, sz);
        c.writeN(c.segAddr(c.eaSeg, c.eaOff, sz, true), sz, imm);
      }
      break;
    }
    case 0xc8:
      enter(c, c.fw(), c.fb() & 31, vs);
      break;
    case 0xc9: {
      if ((c.segChk[SS] & 16) !== 0) r[4] = r[5];
      else c.r16[8] = c.r16[10];
      setR(c, 5, vs, pop(c, vs));
      break;
    }
    case 0xca:
    case 0xcb: {
      const imm = op === 0xca ? c.fw() : 0;
      retFar(c, vs, imm);
      return;
    }
    case 0xcc:
      next(c);
      c.report(3, -1, EXC_INT3);
      return;
    case 0xcd: {
      const n = c.fb();
      next(c);
      c.report(n, -1, EXC_SOFTINT);
      return;
    }
    case 0xce:
      if (getOF(c)) {
        next(c);
        c.report(4, -1, EXC_INTO);
        return;
      }
      break;
    case 0xcf:
      iret(c, vs);
      return;
    case 0xd4: {
      const imm = c.fb();
      if (imm === 0) c.raise(0, -1);
      aam(c, imm);
      break;
    }
    case 0xd5:
      aad(c, c.fb());
      break;
    case 0xd6:
      c.r8[0] = getCF(c) ? 0xff : 0;
      break;
    case 0xd7: {
      const off = c.a16 ? (c.r16[6] + c.r8[0]) & 0xffff : r[3] + c.r8[0];
      c.r8[0] = c.read8(c.segAddr(c.segOv >= 0 ? c.segOv : DS, off, 1, false));
      break;
    }
    case 0xd8:
    case 0xd9:
    case 0xda:
    case 0xdb:
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf:
      x87Op(c, op);
      break;
    case 0xe0:
    case 0xe1:
    case 0xe2:
    case 0xe3:
      if (loopOp(c, op)) return;
      break;
    case 0xe4:
    case 0xe5:
    case 0xec:
    case 0xed:
      if (op < 0xe6) c.fb();
      ioCheck(c);
      setR(c, 0, op & 1 ? vs : 1, -1);
      break;
    case 0xe6:
    case 0xe7:
    case 0xee:
    case 0xef:
      if (op < 0xe8) c.fb();
      ioCheck(c);
      break;
    case 0xe8: {
      const d = vs === 4 ? c.fd() : (c.fw() << 16) >> 16;
      const ret = (c.eip + c.ilen) >>> 0;
      push(c, ret, vs);
      jumpTo(c, ret + d);
      return;
    }
    case 0xe9:
    case 0xeb: {
      const d = op === 0xeb ? (c.fb() << 24) >> 24 : vs === 4 ? c.fd() : (c.fw() << 16) >> 16;
      jumpTo(c, c.eip + c.ilen + d);
      return;
    }
    case 0xea: {
      const off = vs === 4 ? c.fd() : c.fw();
      const sel = c.fw();
      jmpFar(c, sel, off);
      return;
    }
    case 0xf1:
      next(c);
      c.report(1, -1, EXC_TRAP);
      return;
    case 0xf4:
      if (c.cpl !== 0) c.gp(0);
      next(c);
      c.halted = true;
      c.stop();
      return;
    case 0xf5:
    case 0xf8:
    case 0xf9: {
      const f = materialize(c);
      c.flags = op === 0xf5 ? f ^ 1 : op === 0xf8 ? f & ~1 : f | 1;
      break;
    }
    case 0xf6:
    case 0xf7:
      group3(c, op, vs);
      break;
    case 0xfa:
    case 0xfb:
      if (c.cpl > (c.flags & F_IOPL) >> 12) c.gp(0);
      if (op === 0xfa) c.flags &= ~F_IF;
      else c.flags |= F_IF;
      break;
    case 0xfc:
      c.flags &= ~F_DF;
      break;
    case 0xfd:
      c.flags |= F_DF;
      break;
    case 0xfe:
    case 0xff:
      if (group45(c, op, vs)) return;
      break;
    default:
      c.raise(VEC_UD, -1);
  }
  c.eip = (c.eip + c.ilen) >>> 0;
}
