/**
 * Native exception and interrupt delivery in IA-32e mode (SDM vol. 3 §6.14): the 16-byte
 * IDT gate (interrupt or trap gate, DPL checked for software interrupts), a 64-bit code
 * segment target at the same or an inner level, the stack from TSS.RSPn on a privilege
 * change or TSS.ISTn when the gate names one, aligned down to 16 bytes, and the frame
 * SS, RSP, RFLAGS (RF set for a fault), CS, RIP (and the error code) always pushed as
 * 8-byte values; TF, NT,
 * RF (and IF through an interrupt gate) cleared, SS null at the new level on a change.
 * The CPU never calls it itself (every event goes to `Platform.exception`); a platform
 * that runs a native long-mode kernel (the tests, a future non-PV user) calls it there.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { FAULT } from "../core.ts";
import {
  EXC_FAULT,
  EXC_INT3,
  EXC_INTO,
  EXC_SOFTINT,
  VEC_DB,
  VEC_GP,
  VEC_NP,
  VEC_TS,
} from "../platform.ts";
import { F_IF, F_NT, F_RF, F_TF, F_VM, getEflagsOf, setEflagsOf } from "../flags.ts";
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
import { readAt, V, writeBelow } from "./operands64.ts";

const CS = 1, SS = 2;

/** Reads 8 bytes of the TSS at `off` into V; #TS(TR | ext) beyond its limit. */
export function tssRead(c: CpuCore, off: number, ext: number): void {
  if (off + 7 > (c.trLimit >>> 0)) c.raise(VEC_TS, (c.trSel & 0xfffc) | ext);
  readAt(c, c.trBase, c.lm.trBaseHi, off, 8);
}

function deliver(c: CpuCore, vector: number, errorCode: number, kind: number): void {
  const soft = kind === EXC_SOFTINT || kind === EXC_INT3 || kind === EXC_INTO;
  const ext = soft ? 0 : 1;
  const gateErr = vector * 8 + 2 + ext;
  const cpl = c.cpl;
  // System-table reads are supervisor accesses.
  c.cpl = 0;
  if (vector * 16 + 15 > (c.idtLimit & 0xffff)) c.raise(VEC_GP, gateErr);
  readAt(c, c.idtBase, c.lm.idtBaseHi, vector * 16, 8);
  const w0 = V[0], w1 = V[1];
  readAt(c, c.idtBase, c.lm.idtBaseHi, vector * 16 + 8, 4);
  const offHi = V[0];
  const type = (w1 >> 8) & 0x1f;
  if (type !== 0x0e && type !== 0x0f) c.raise(VEC_GP, gateErr);
  if (soft && ((w1 >> 13) & 3) < cpl) c.raise(VEC_GP, gateErr);
  if ((w1 & 0x8000) === 0) c.raise(VEC_NP, gateErr);
  const sel = w0 >>> 16, offLo = (w0 & 0xffff) | (w1 & 0xffff0000), ist = w1 & 7;
  if ((sel & 0xfffc) === 0) c.raise(VEC_GP, ext);
  if (!readDescriptor(c, sel)) c.raise(VEC_GP, (sel & 0xfffc) | ext);
  const dlo = c.desc[0], dhi = c.desc[1];
  const attrs = descAttrs(dhi);
  const dpl = dplOf(attrs);
  if (
    (attrs & (A_S | A_CODE)) !== (A_S | A_CODE) || (attrs & ATTR_L) === 0 ||
    (attrs & A_DB) !== 0 || dpl > cpl
  ) c.raise(VEC_GP, (sel & 0xfffc) | ext);
  if ((attrs & A_P) === 0) c.raise(VEC_NP, (sel & 0xfffc) | ext);
  if (!canonicalHi(offHi)) c.raise(VEC_GP, ext);
  const newCpl = (attrs & A_DC) !== 0 ? cpl : dpl;
  let spLo = c.regs[4], spHi = c.lm.hi[4];
  if (ist !== 0) {
    tssRead(c, 0x24 + 8 * (ist - 1), ext);
    spLo = V[0];
    spHi = V[1];
  } else if (newCpl < cpl) {
    tssRead(c, 4 + 8 * newCpl, ext);
    spLo = V[0];
    spHi = V[1];
  }
  if (!canonicalHi(spHi)) c.raise(VEC_TS, (c.trSel & 0xfffc) | ext);
  spLo &= ~15;
  // The frame, written with the new level's rights.
  c.cpl = newCpl;
  const fl = getEflagsOf(c);
  // A fault's saved RFLAGS has RF set (the return re-runs the instruction without a
  // second instruction-breakpoint #DB), except for that #DB itself.
  const saved = kind === EXC_FAULT && vector !== VEC_DB ? fl | F_RF : fl;
  writeBelow(c, spLo, spHi, 8, 8, c.segSel[SS], 0);
  writeBelow(c, spLo, spHi, 16, 8, c.regs[4], c.lm.hi[4]);
  writeBelow(c, spLo, spHi, 24, 8, saved, 0);
  writeBelow(c, spLo, spHi, 32, 8, c.segSel[CS], 0);
  writeBelow(c, spLo, spHi, 40, 8, c.eip, c.lm.ripHi);
  let size = 40;
  if (errorCode >= 0) {
    writeBelow(c, spLo, spHi, 48, 8, errorCode, 0);
    size = 48;
  }
  // Commit.
  c.cpl = cpl;
  if (newCpl < cpl) c.setSegmentRaw(SS, newCpl, 0, 0, 0);
  c.desc[0] = dlo;
  c.desc[1] = dhi;
  setAccessed(c, sel);
  commitSegment(c, CS, (sel & 0xfffc) | newCpl);
  const s = (spLo >>> 0) - size;
  c.regs[4] = s | 0;
  c.lm.hi[4] = (spHi + (s < 0 ? -1 : 0)) | 0;
  c.eip = offLo;
  c.lm.ripHi = offHi;
  let nf = fl & ~(F_TF | F_NT | F_RF | F_VM);
  if (type === 0x0e) nf &= ~F_IF;
  setEflagsOf(c, nf);
}

/**
 * Delivers `vector` through the long-mode IDT (see the module doc). RIP must be where the
 * event leaves it: the faulting instruction for a fault, the next one for a trap or a
 * software interrupt (as `Platform.exception` receives them).
 * @param errorCode pushed when >= 0
 * @param kind EXC_* (software interrupts check the gate's DPL; the others set EXT in
 *   the error code of a fault met while delivering)
 * @returns 0, or the vector of the fault met (error code in `c.excCode`); nothing changed
 *   then except stack bytes already written
 */
export function deliver64(c: CpuCore, vector: number, errorCode: number, kind: number): number {
  const cpl = c.cpl;
  try {
    deliver(c, vector, errorCode, kind);
    return 0;
  } catch (e) {
    if (e !== FAULT) throw e;
    c.cpl = cpl;
    return c.excVector;
  }
}
