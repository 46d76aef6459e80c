/**
 * String instructions (movs cmps stos lods scas ins outs), one generic routine over kind,
 * size, address size and rep prefix, with a bulk path for forward rep movs/stos within
 * a page. A fault mid-way leaves the registers at the completed iterations (restartable).
 * @module
 */

import type { CpuCore as Cpu } from "../core.ts";
import { F_DF, getZF } from "../flags.ts";
import { alu, ALU_CMP } from "./alu.ts";
import { SC_FLAT } from "../segmentation.ts";

/** String kinds. */
export const STR_MOVS = 0, STR_CMPS = 1, STR_STOS = 2, STR_LODS = 3, STR_SCAS = 4;
export const STR_INS = 5, STR_OUTS = 6;

const ES = 0, DS = 3;

/**
 * Executes one string instruction. A rep runs at most STR_BUDGET elements per call (so a
 * guest's rep with a huge count cannot stall the host), leaving the registers at the
 * elements done, as an interrupted rep on hardware.
 * @param kind STR_*
 * @param sz element size 1, 2 or 4
 * @returns false when the rep is not finished (EIP must stay on the instruction)
 */
export function stringOp(c: Cpu, kind: number, sz: number): boolean {
  const a16 = c.a16;
  const r = c.regs;
  const rep = c.rep;
  let count = 1;
  if (rep !== 0) {
    count = a16 ? c.r16[2] : r[1] >>> 0;
    if (count === 0) return true;
  }
  const delta = (c.flags & F_DF) !== 0 ? -sz : sz;
  const srcSeg = c.segOv >= 0 ? c.segOv : DS;
  if (rep !== 0 && !a16 && delta > 0 && (kind === STR_MOVS || kind === STR_STOS)) {
    count = bulk(c, kind, sz, srcSeg, count);
    if (count === 0) return true;
  }
  let budget = STR_BUDGET;
  for (;;) {
    const si = a16 ? c.r16[12] : r[6];
    const di = a16 ? c.r16[14] : r[7];
    let stopZ = false;
    switch (kind) {
      case 0: { // STR_MOVS
        const v = c.readN(c.segAddr(srcSeg, si, sz, false), sz);
        c.writeN(c.segAddr(ES, di, sz, true), sz, v);
        advance(c, 6, delta);
        advance(c, 7, delta);
        break;
      }
      case 2: // STR_STOS
        c.writeN(c.segAddr(ES, di, sz, true), sz, r[0]);
        advance(c, 7, delta);
        break;
      case 3: { // STR_LODS
        const v = c.readN(c.segAddr(srcSeg, si, sz, false), sz);
        if (sz === 4) r[0] = v;
        else if (sz === 2) c.r16[0] = v;
        else c.r8[0] = v;
        advance(c, 6, delta);
        break;
      }
      case 1: { // STR_CMPS
        const a = c.readN(c.segAddr(srcSeg, si, sz, false), sz);
        const b = c.readN(c.segAddr(ES, di, sz, false), sz);
        alu(c, ALU_CMP, a, b, sz);
        advance(c, 6, delta);
        advance(c, 7, delta);
        stopZ = true;
        break;
      }
      case 4: { // STR_SCAS
        const b = c.readN(c.segAddr(ES, di, sz, false), sz);
        alu(c, ALU_CMP, r[0], b, sz);
        advance(c, 7, delta);
        stopZ = true;
        break;
      }
      case 5: // STR_INS
        // No I/O ports behind the CPU: reads float high.
        c.writeN(c.segAddr(ES, di, sz, true), sz, -1);
        advance(c, 7, delta);
        break;
      default:
        c.readN(c.segAddr(srcSeg, si, sz, false), sz);
        advance(c, 6, delta);
        break;
    }
    if (rep === 0) return true;
    count--;
    if (a16) c.r16[2] = count;
    else r[1] = count;
    if (count === 0) return true;
    if (stopZ && (getZF(c) === 1) !== (rep === 0xf3)) return true;
    if (--budget === 0) return false;
  }
}

/** Elements one call of {@link stringOp} runs element by element at most. */
export const STR_BUDGET = 1 << 16;
/** Elements the bulk path moves per call at most. */
const BULK_BUDGET = 1 << 22;

function advance(c: Cpu, reg: number, delta: number): void {
  if (c.a16) c.r16[reg << 1] = c.r16[reg << 1] + delta;
  else c.regs[reg] = (c.regs[reg] + delta) | 0;
}

/**
 * Forward rep movs/stos in bulk while source and destination stay within their pages.
 * @returns the remaining count (ECX already updated)
 */
function bulk(c: Cpu, kind: number, sz: number, srcSeg: number, count: number): number {
  const r = c.regs;
  if ((c.segChk[ES] & SC_FLAT) === 0) return count;
  if (kind === STR_MOVS && (c.segChk[srcSeg] & SC_FLAT) === 0) return count;
  let left = BULK_BUDGET;
  for (;;) {
    if (left <= 0) return count;
    const di = r[7];
    const dlin = c.segAddr(ES, di, sz, true);
    let n = (4096 - (dlin & 4095)) / sz;
    if (n !== Math.floor(n) || n < 2) return count;
    if (n > count) n = count;
    const dm = c.wAddr(dlin, sz);
    if (dm < 0) return count;
    if (kind === STR_STOS) {
      const v = r[0];
      if (sz === 1) c.u8.fill(v & 0xff, dm, dm + n);
      else if (sz === 2) { for (let i = 0; i < n; i++) c.dv.setUint16(dm + i * 2, v, true); }
      else for (let i = 0; i < n; i++) c.dv.setInt32(dm + i * 4, v, true);
    } else {
      const si = r[6];
      const slin = c.segAddr(srcSeg, si, sz, false);
      const sn = (4096 - (slin & 4095)) / sz;
      if (sn !== Math.floor(sn) || sn < 2) return count;
      if (n > sn) n = sn;
      c.read8(slin);
      const sm = c.translate(slin, 0, c.cpl === 3 ? 1 : 0);
      if (sm < 0) return count;
      const bytes = n * sz;
      // Overlap where the destination runs ahead of the source replicates bytes on x86.
      if (dm > sm && dm - sm < bytes) return count;
      c.u8.copyWithin(dm, sm, sm + bytes);
      r[6] = (si + bytes) | 0;
    }
    r[7] = (di + n * sz) | 0;
    count -= n;
    left -= n;
    r[1] = count;
    if (count === 0) return 0;
  }
}
