/**
 * Helpers of the one-byte map that several opcodes share (segment push/pop, far pointers,
 * enter, I/O privilege) and the rarer opcodes moved out of interpreter.ts.
 * @module
 */

import type { CpuCore as Cpu } from "./core.ts";
import { F_IOPL, materialize, testCC } from "./flags.ts";
import {
  addSp,
  decodeEA,
  eaRead,
  getR,
  jumpTo,
  peek,
  push,
  rmwRead,
  rmwWrite,
  setR,
} from "./operands.ts";
import { VEC_UD } from "./platform.ts";
import { loadSegmentOrFault } from "./segmentation.ts";

const SS = 2;

/** pusha, popa, bound, arpl (60-63). */
export function op6x(c: Cpu, op: number, vs: number): void {
  const r = c.regs;
  switch (op) {
    case 0x60: {
      const sp = r[4];
      for (let i = 0; i < 8; i++) push(c, i === 4 ? sp : getR(c, i, vs), vs);
      return;
    }
    case 0x61: {
      for (let i = 7; i >= 0; i--) {
        const v = peek(c, (7 - i) * vs, vs);
        if (i !== 4) setR(c, i, vs, v);
      }
      addSp(c, 8 * vs);
      return;
    }
    case 0x62: {
      const modrm = c.fb();
      if (modrm >= 0xc0) c.raise(VEC_UD, -1);
      decodeEA(c, modrm);
      const lin = eaRead(c, 2 * vs);
      const lo = c.readN(lin, vs), hi = c.readN((lin + vs) | 0, vs);
      const idx = getR(c, (modrm >> 3) & 7, vs);
      const sh = 32 - vs * 8;
      if ((idx << sh) < (lo << sh) || (idx << sh) > (hi << sh)) c.raise(5, -1);
      return;
    }
    case 0x63: {
      // arpl Ew, Gw
      const modrm = c.fb();
      const v = rmwRead(c, modrm, 2);
      const s = getR(c, (modrm >> 3) & 7, 2);
      const f = materialize(c);
      if ((v & 3) < (s & 3)) {
        rmwWrite(c, modrm, 2, (v & ~3) | (s & 3));
        c.flags = f | 0x40;
      } else c.flags = f & ~0x40;
      return;
    }
  }
}

/**
 * loopne/loope/loop/jecxz (E0-E3).
 * @returns true when the branch was taken (EIP set)
 */
export function loopOp(c: Cpu, op: number): boolean {
  const r = c.regs;
  const d = (c.fb() << 24) >> 24;
  let taken: boolean;
  if (op === 0xe3) taken = (c.a16 ? c.r16[2] : r[1]) === 0;
  else {
    let cnt: number;
    if (c.a16) cnt = c.r16[2] = c.r16[2] - 1;
    else cnt = r[1] = r[1] - 1;
    taken = cnt !== 0;
    if (op === 0xe0) taken = taken && !testCC(c, 4);
    else if (op === 0xe1) taken = taken && testCC(c, 4);
  }
  if (!taken) return false;
  jumpTo(c, c.eip + c.ilen + d);
  return true;
}

/** Fetches an immediate of `sz` bytes (1, 2, 4). */
export function immOf(c: Cpu, sz: number): number {
  return sz === 4 ? c.fd() : sz === 2 ? c.fw() : c.fb();
}

/** Raises #GP(0) when CPL > IOPL (in/out/ins/outs; no TSS I/O bitmap is modelled). */
export function ioCheck(c: Cpu): void {
  if (c.cpl > (c.flags & F_IOPL) >> 12) c.gp(0);
}

/** push of a segment register: a 16-bit write into a `sz`-byte slot (as recent Intel CPUs). */
export function pushSeg(c: Cpu, s: number, sz: number): void {
  if (sz === 2) push(c, c.segSel[s], 2);
  else {
    const lin = c.segAddr(SS, (c.regs[4] - 4) | 0, 4, true);
    c.write16(lin, c.segSel[s]);
    addSp(c, -4);
  }
}

/** pop into a segment register. */
export function popSeg(c: Cpu, s: number, sz: number): void {
  const v = peek(c, 0, sz) & 0xffff;
  loadSegmentOrFault(c, s, v);
  addSp(c, sz);
}

/** les/lds/lss/lfs/lgs: loads offset into reg and selector into segment `s`. */
export function loadFarPointer(c: Cpu, modrm: number, s: number, sz: number): void {
  decodeEA(c, modrm);
  const lin = eaRead(c, sz + 2);
  const off = c.readN(lin, sz);
  const sel = c.read16((lin + sz) | 0);
  loadSegmentOrFault(c, s, sel);
  setR(c, (modrm >> 3) & 7, sz, off);
}

/** enter imm16, imm8. */
export function enter(c: Cpu, alloc: number, level: number, sz: number): void {
  const r = c.regs;
  const big = (c.segChk[SS] & 16) !== 0;
  push(c, r[5], sz);
  const frame = big ? r[4] : r[4] & 0xffff;
  let bp = r[5];
  for (let i = 1; i < level; i++) {
    bp = (bp - sz) | 0;
    push(c, c.readN(c.segAddr(SS, big ? bp : bp & 0xffff, sz, false), sz), sz);
  }
  if (level > 0) push(c, frame, sz);
  // Probe the new stack bottom as hardware does before committing.
  const nsp = big ? (r[4] - alloc) | 0 : (r[4] - alloc) & 0xffff;
  if (alloc > 0) c.segAddr(SS, nsp, 1, true);
  setR(c, 5, sz, frame);
  if (big) r[4] = nsp;
  else c.r16[8] = nsp;
}
