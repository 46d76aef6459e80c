/**
 * Operand access for the interpreter: ModRM/SIB effective addresses (32- and 16-bit
 * forms), register and r/m reads and writes by size, read-modify-write, and the stack.
 * @module
 */

import type { CpuCore as Cpu } from "./core.ts";
import { SC_BIG, SC_WIDE } from "./segmentation.ts";

const DS = 3, SS = 2, CS = 1;

/** Byte offset in the register file of 8-bit register r (AL CL DL BL AH CH DH BH). */
export const R8 = new Uint8Array([0, 4, 8, 12, 1, 5, 9, 13]);

/**
 * Decodes the memory operand of `modrm` (mod != 3), consuming SIB and displacement,
 * into c.eaSeg / c.eaOff.
 */
export function decodeEA(c: Cpu, modrm: number): void {
  const mod = modrm >> 6;
  const rm = modrm & 7;
  const regs = c.regs;
  if (c.a16) {
    decodeEA16(c, mod, rm);
    return;
  }
  let off: number;
  let seg = DS;
  if (rm === 4) {
    const sib = c.fb();
    const base = sib & 7;
    const idx = (sib >> 3) & 7;
    if (base === 5 && mod === 0) off = c.fd();
    else {
      off = regs[base];
      if (base === 4 || base === 5) seg = SS;
    }
    if (idx !== 4) off += regs[idx] << (sib >> 6);
  } else if (rm === 5 && mod === 0) {
    off = c.fd();
  } else {
    off = regs[rm];
    if (rm === 5) seg = SS;
  }
  if (mod === 1) off += (c.fb() << 24) >> 24;
  else if (mod === 2) off += c.fd();
  c.eaOff = off | 0;
  c.eaSeg = c.segOv >= 0 ? c.segOv : seg;
}

function decodeEA16(c: Cpu, mod: number, rm: number): void {
  const r = c.regs;
  let off = 0;
  let seg = DS;
  if (mod === 0 && rm === 6) off = c.fw();
  else {
    switch (rm) {
      case 0:
        off = r[3] + r[6];
        break;
      case 1:
        off = r[3] + r[7];
        break;
      case 2:
        off = r[5] + r[6];
        seg = SS;
        break;
      case 3:
        off = r[5] + r[7];
        seg = SS;
        break;
      case 4:
        off = r[6];
        break;
      case 5:
        off = r[7];
        break;
      case 6:
        off = r[5];
        seg = SS;
        break;
      default:
        off = r[3];
    }
    if (mod === 1) off += (c.fb() << 24) >> 24;
    else if (mod === 2) off += c.fw();
  }
  c.eaOff = off & 0xffff;
  c.eaSeg = c.segOv >= 0 ? c.segOv : seg;
}

/** Reads register `r` of `sz` bytes (1, 2, 4); 8-bit reads are unsigned. */
export function getR(c: Cpu, r: number, sz: number): number {
  return sz === 4 ? c.regs[r] : sz === 2 ? c.r16[r << 1] : c.r8[R8[r]];
}

/** Writes register `r` of `sz` bytes (upper bits preserved for 8/16). */
export function setR(c: Cpu, r: number, sz: number, v: number): void {
  if (sz === 4) c.regs[r] = v;
  else if (sz === 2) c.r16[r << 1] = v;
  else c.r8[R8[r]] = v;
}

/** Linear address of the decoded memory operand, checked for a read of `sz` bytes. */
export function eaRead(c: Cpu, sz: number): number {
  return c.segAddr(c.eaSeg, c.eaOff, sz, false);
}

/** Linear address of the decoded memory operand, checked for a write of `sz` bytes. */
export function eaWrite(c: Cpu, sz: number): number {
  return c.segAddr(c.eaSeg, c.eaOff, sz, true);
}

/** Reads the r/m operand (decodes the memory form's address first). */
export function readRM(c: Cpu, modrm: number, sz: number): number {
  if (modrm >= 0xc0) return getR(c, modrm & 7, sz);
  decodeEA(c, modrm);
  return c.readN(c.segAddr(c.eaSeg, c.eaOff, sz, false), sz);
}

/** Writes the r/m operand (decodes the memory form's address first). */
export function writeRM(c: Cpu, modrm: number, sz: number, v: number): void {
  if (modrm >= 0xc0) setR(c, modrm & 7, sz, v);
  else {
    decodeEA(c, modrm);
    c.writeN(c.segAddr(c.eaSeg, c.eaOff, sz, true), sz, v);
  }
}

/** Machine address (or -1 for a page-crossing operand) and linear address of an RMW operand. */
let rmwM = 0, rmwLin = 0;

/**
 * Starts a read-modify-write of the r/m operand: for memory forms the write access is
 * checked first, so the final write cannot fault after flags changed.
 * @returns the current value
 */
export function rmwRead(c: Cpu, modrm: number, sz: number): number {
  if (modrm >= 0xc0) return getR(c, modrm & 7, sz);
  decodeEA(c, modrm);
  return rmwReadMem(c, sz);
}

/** rmwRead for an already decoded memory operand. */
export function rmwReadMem(c: Cpu, sz: number): number {
  const lin = c.segAddr(c.eaSeg, c.eaOff, sz, true);
  const m = c.wAddr(lin, sz);
  rmwLin = lin;
  rmwM = m;
  if (m < 0) return c.readN(lin, sz);
  return sz === 4 ? c.dv.getInt32(m, true) : sz === 2 ? c.dv.getUint16(m, true) : c.u8[m];
}

/** Finishes a read-modify-write begun by {@link rmwRead}. */
export function rmwWrite(c: Cpu, modrm: number, sz: number, v: number): void {
  if (modrm >= 0xc0) {
    setR(c, modrm & 7, sz, v);
    return;
  }
  const m = rmwM;
  if (m < 0) c.writeN(rmwLin, sz, v);
  else if (sz === 4) c.dv.setInt32(m, v, true);
  else if (sz === 2) c.dv.setUint16(m, v, true);
  else c.u8[m] = v;
}

// ---- stack ---------------------------------------------------------------------------

/** Pushes `sz` (2 or 4) bytes. */
export function push(c: Cpu, v: number, sz: number): void {
  const esp = c.regs[4];
  if ((c.segChk[SS] & SC_BIG) !== 0) {
    const n = (esp - sz) | 0;
    c.writeN(c.segAddr(SS, n, sz, true), sz, v);
    c.regs[4] = n;
  } else {
    const n = (esp - sz) & 0xffff;
    c.writeN(c.segAddr(SS, n, sz, true), sz, v);
    c.r16[8] = n;
  }
}

/** Pops `sz` (2 or 4) bytes. */
export function pop(c: Cpu, sz: number): number {
  const v = peek(c, 0, sz);
  if ((c.segChk[SS] & SC_BIG) !== 0) c.regs[4] = (c.regs[4] + sz) | 0;
  else c.r16[8] = c.regs[4] + sz;
  return v;
}

/** Reads `sz` bytes at stack offset `at` from ESP (or SP) without popping. */
export function peek(c: Cpu, at: number, sz: number): number {
  const sp = (c.segChk[SS] & SC_BIG) !== 0 ? c.regs[4] + at : (c.regs[4] + at) & 0xffff;
  return c.readN(c.segAddr(SS, sp, sz, false), sz);
}

/** Adds `n` to ESP (or SP for a 16-bit stack). */
export function addSp(c: Cpu, n: number): void {
  if ((c.segChk[SS] & SC_BIG) !== 0) c.regs[4] = (c.regs[4] + n) | 0;
  else c.r16[8] = c.regs[4] + n;
}

/** Jumps to `target` within CS, raising #GP(0) beyond the CS limit. */
export function jumpTo(c: Cpu, target: number): void {
  const t = c.o16 ? target & 0xffff : target >>> 0;
  if ((c.segChk[CS] & SC_WIDE) === 0 && t > (c.segLimit[CS] >>> 0)) c.gp(0);
  c.eip = t;
}
