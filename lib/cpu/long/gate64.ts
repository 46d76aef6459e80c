/**
 * Call gates in IA-32e mode (SDM vol. 3 §5.8.3.1): a far jmp or call whose selector names
 * a 16-byte 64-bit call gate (type 0xC) transfers to the gate's 64-bit code segment and
 * offset; a call to a more privileged non-conforming segment switches to TSS.RSPn with a
 * null SS at the new level and pushes the old SS and RSP before CS and RIP, all as 8-byte
 * values (no parameters are copied in IA-32e mode). A `rex.w lret` returns outward.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { VEC_GP, VEC_NP } from "../platform.ts";
import {
  A_CODE,
  A_DB,
  A_DC,
  A_P,
  A_S,
  commitSegment,
  descAttrs,
  dplOf,
  readDescriptor,
  setAccessed,
} from "../segmentation.ts";
import { ATTR_L, canonicalHi } from "./long_state.ts";
import { tssRead } from "./deliver64.ts";
import { V, writeBelow } from "./operands64.ts";

const CS = 1, SS = 2;

/**
 * A far jmp (`call` false) or call through `sel` when it names a call gate.
 * @returns false when `sel` is not a system descriptor (the caller's code-segment path
 *   runs, and raises what a bad selector raises); true when the transfer was made
 */
export function throughGate(c: CpuCore, sel: number, call: boolean): boolean {
  const code = sel & 0xfffc;
  if ((code === 0 && (sel & 4) === 0) || !readDescriptor(c, sel)) return false;
  const a = descAttrs(c.desc[1]);
  if ((a & A_S) !== 0) return false;
  if ((a & 0x1f) !== 0x0c) c.raise(VEC_GP, code);
  const gdpl = dplOf(a);
  if (gdpl < c.cpl || gdpl < (sel & 3)) c.raise(VEC_GP, code);
  if ((a & A_P) === 0) c.raise(VEC_NP, code);
  const w0 = c.desc[0], w1 = c.desc[1];
  // The upper 8 bytes: offset 63..32, and a type field of 0.
  if (!readDescriptor(c, ((sel & ~7) + 8) | (sel & 4))) c.raise(VEC_GP, code);
  const offHi = c.desc[0];
  if (((c.desc[1] >> 8) & 0x1f) !== 0) c.raise(VEC_GP, code);
  const target = w0 >>> 16, tcode = target & 0xfffc;
  const offLo = (w0 & 0xffff) | (w1 & 0xffff0000);
  if (tcode === 0 && (target & 4) === 0) c.raise(VEC_GP, 0);
  if (!readDescriptor(c, target)) c.raise(VEC_GP, tcode);
  const ta = descAttrs(c.desc[1]);
  if (
    (ta & (A_S | A_CODE)) !== (A_S | A_CODE) || (ta & ATTR_L) === 0 || (ta & A_DB) !== 0
  ) c.raise(VEC_GP, tcode);
  const tdpl = dplOf(ta), conforming = (ta & A_DC) !== 0;
  if (call ? tdpl > c.cpl : conforming ? tdpl > c.cpl : tdpl !== c.cpl) c.raise(VEC_GP, tcode);
  if ((ta & A_P) === 0) c.raise(VEC_NP, tcode);
  if (!canonicalHi(offHi)) c.raise(VEC_GP, 0);
  const dlo = c.desc[0], dhi = c.desc[1];
  const cpl = c.cpl;
  const newCpl = call && !conforming ? tdpl : cpl;
  if (call) {
    let spLo = c.regs[4], spHi = c.lm.hi[4], n = 16;
    if (newCpl < cpl) {
      c.cpl = 0; // a supervisor read of the TSS
      try {
        tssRead(c, 4 + 8 * newCpl, 0);
      } finally {
        c.cpl = cpl;
      }
      spLo = V[0];
      spHi = V[1];
      n = 32;
    }
    c.cpl = newCpl;
    try {
      if (n === 32) {
        writeBelow(c, spLo, spHi, 8, 8, c.segSel[SS], 0);
        writeBelow(c, spLo, spHi, 16, 8, c.regs[4], c.lm.hi[4]);
      }
      writeBelow(c, spLo, spHi, n - 8, 8, c.segSel[CS], 0);
      writeBelow(c, spLo, spHi, n, 8, c.eip, c.lm.ripHi);
    } finally {
      c.cpl = cpl;
    }
    if (newCpl < cpl) c.setSegmentRaw(SS, newCpl, 0, 0, 0);
    const s = (spLo >>> 0) - n;
    c.regs[4] = s | 0;
    c.lm.hi[4] = (spHi + (s < 0 ? -1 : 0)) | 0;
  }
  c.desc[0] = dlo;
  c.desc[1] = dhi;
  setAccessed(c, target);
  commitSegment(c, CS, tcode | newCpl);
  c.eip = offLo;
  c.lm.ripHi = offHi;
  return true;
}
