/**
 * The multiply and divide instructions of the 64-bit interpreter: F6/F7 /4../7 (mul, imul,
 * div, idiv of rDX:rAX, #DE on a zero divisor or a quotient out of range) and imul r, r/m
 * (0F AF) / imul r, r/m, imm (69, 6B), on the 128-bit routines of muldiv64.ts. CF and OF
 * are set from the product; the flags the SDM leaves undefined follow the host CPU (AMD), as
 * the 32-bit path: mul/imul keep SF ZF AF PF, div/idiv clear SF ZF PF and set AF.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { F_AF, F_ARITH, F_CF, F_OF, LF_NONE, materialize } from "../flags.ts";
import { VEC_DE } from "../platform.ts";
import { div128, mul128, P, REM } from "./muldiv64.ts";
import { D, fetchImm, modrm, opSize, readReg, readRm, writeReg } from "./decode64.ts";
import { V } from "./mem64.ts";

/** Sign- or zero-extends (lo, hi) at size to 64 bits into V. */
function extend(size: number, lo: number, hi: number, signed: boolean): void {
  if (size === 64) {
    V[0] = lo;
    V[1] = hi;
  } else {
    const sh = 32 - size;
    V[0] = signed ? (lo << sh) >> sh : size === 32 ? lo : (lo << sh) >>> sh;
    V[1] = signed ? V[0] >> 31 : 0;
  }
}

/** Whether the product in P overflows `size` bits (CF = OF of mul and imul). */
function productOverflows(size: number, signed: boolean): boolean {
  if (size === 64) {
    const ext = signed ? P[1] >> 31 : 0;
    return P[2] !== ext || P[3] !== ext;
  }
  if (size === 32) return P[1] !== (signed ? P[0] >> 31 : 0);
  const sh = 32 - size;
  return P[0] !== (signed ? (P[0] << sh) >> sh : (P[0] << sh) >>> sh);
}

/** Sets CF and OF to `v`; SF ZF AF PF (undefined) stay as they were, as on the host (AMD). */
function setCarryOverflow(c: CpuCore, v: boolean): void {
  let fl = c.lfOp !== LF_NONE ? materialize(c) : c.flags;
  c.lfOp = LF_NONE;
  fl &= ~(F_CF | F_OF);
  if (v) fl |= F_CF | F_OF;
  c.flags = fl;
}

/** After div/idiv (every flag undefined): SF ZF PF cleared, AF set, CF OF kept (the host). */
function divFlags(c: CpuCore): void {
  const fl = c.lfOp !== LF_NONE ? materialize(c) : c.flags;
  c.lfOp = LF_NONE;
  c.flags = (fl & ~(F_ARITH & ~(F_CF | F_OF))) | F_AF;
}

/** F6/F7 /4../7: mul, imul, div, idiv of rDX:rAX (AX for 8 bits) by (lo, hi). */
export function mulDiv(c: CpuCore, sub: number, size: number, lo: number, hi: number): void {
  const signed = (sub & 1) === 1;
  extend(size, lo, hi, signed);
  const bLo = V[0], bHi = V[1];
  if (sub < 6) {
    readReg(c, 0, size);
    extend(size, V[0], V[1], signed);
    mul128(V[0], V[1], bLo, bHi, signed);
    setCarryOverflow(c, productOverflows(size, signed));
    if (size === 8) return writeReg(c, 0, 16, P[0], 0);
    if (size === 16) {
      writeReg(c, 0, 16, P[0], 0);
      return writeReg(c, 2, 16, P[0] >>> 16, 0);
    }
    if (size === 32) {
      writeReg(c, 0, 32, P[0], 0);
      return writeReg(c, 2, 32, P[1], 0);
    }
    writeReg(c, 0, 64, P[0], P[1]);
    return writeReg(c, 2, 64, P[2], P[3]);
  }
  // The dividend as 128 bits: AX, DX:AX, EDX:EAX or RDX:RAX.
  let n0: number, n1: number, n2: number, n3: number;
  readReg(c, 0, size === 8 ? 16 : size);
  const aLo = V[0], aHi = V[1];
  if (size === 64) {
    readReg(c, 2, 64);
    n0 = aLo;
    n1 = aHi;
    n2 = V[0];
    n3 = V[1];
  } else {
    let lo32 = aLo, hi32 = 0;
    if (size === 8) lo32 = signed ? (aLo << 16) >> 16 : aLo;
    else {
      readReg(c, 2, size);
      if (size === 16) lo32 = (V[0] << 16) | aLo;
      else hi32 = V[0];
    }
    if (size !== 32) hi32 = signed ? lo32 >> 31 : 0;
    n0 = lo32;
    n1 = hi32;
    n2 = n3 = signed ? hi32 >> 31 : 0;
  }
  if (!div128(n0, n1, n2, n3, bLo, bHi, size, signed)) c.raise(VEC_DE, -1);
  divFlags(c);
  if (size === 8) return writeReg(c, 0, 16, (P[0] & 0xff) | ((REM[0] & 0xff) << 8), 0);
  writeReg(c, 0, size, P[0], P[1]);
  writeReg(c, 2, size, REM[0], REM[1]);
}

/** imul r, r/m (0F AF) and imul r, r/m, imm (69, 6B). */
export function imulReg(c: CpuCore, immBytes: number): void {
  const size = opSize();
  modrm(c, immBytes);
  const imm = immBytes > 0 ? fetchImm(c, immBytes) : 0;
  readRm(c, size);
  extend(size, V[0], V[1], true);
  const mLo = V[0], mHi = V[1];
  if (immBytes > 0) extend(size, imm, imm >> 31, true);
  else {
    readReg(c, D.reg, size);
    extend(size, V[0], V[1], true);
  }
  mul128(mLo, mHi, V[0], V[1], true);
  setCarryOverflow(c, productOverflows(size, true));
  writeReg(c, D.reg, size, P[0], P[1]);
}
