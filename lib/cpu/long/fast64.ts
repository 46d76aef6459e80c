/**
 * The fast loop of 64-bit code: instructions are decoded once per code frame into
 * {@link Dcache64} records (decode_fast64.ts) and run from a switch over their kinds,
 * memory operands through the inline TLB hit paths of mem_fast64.ts, flags eagerly
 * (alu_fast64.ts). run64.ts calls {@link runFast64} when neither TF nor the debug unit
 * is armed; it returns for anything else: a {@link K_GENERIC} record (run64.ts runs that
 * instruction through step64.ts, so system instructions, CS/CPL/TF/debug changes and
 * platform calls all happen outside this loop), a loop head when the block compiler is
 * installed, or the instruction budget.
 *
 * Faults: every record commits registers (RSP included) only after its last memory
 * access; RIP and RFLAGS are restored to the faulting instruction's values before the
 * fault propagates, so run64.ts reports it as for step64.
 *
 * The current code page (linear page, high half, machine frame) is kept in the cache and
 * looked up again when RIP leaves it, when the TLB epoch moves (any flush), or when its
 * records are dropped (a write to the frame, by this CPU's slow write path or anyone's
 * `noteWrite`).
 * @module
 */

import { type CpuCore, FAULT } from "../core.ts";
import { F_CF, F_OF, F_PF, F_SF, F_TF, F_ZF, LF_NONE } from "../flags.ts";
import { VEC_GP, VEC_SS } from "../platform.ts";
import { R } from "./alu64.ts";
import { alu32, alu64, alu8, incDec, OP_CMP, OP_SUB } from "./alu_fast64.ts";
import { ATTR_L, canonicalHi } from "./long_state.ts";
import { step64 } from "./step64.ts";
import { imul } from "./imul_fast64.ts";
import { fetchAddr64 } from "./mem64.ts";
import { shift } from "./shift64.ts";
import { type Dcache64, dcache64Of } from "./dcache64.ts";
import * as K from "./decode_fast64.ts";
import {
  ea,
  eHi,
  eLo,
  get8,
  getR,
  load,
  set32,
  set64,
  set8,
  setCpl,
  setEa,
  store,
  vHi,
} from "./mem_fast64.ts";

const CS = 1;

/** {@link runFast64} results. */
export const FAST_END = 0, FAST_GENERIC = 1, FAST_LOOP = 2;

/** Switch for tests and measurements: false runs every instruction through step64. */
export const FAST64 = { enabled: true };

/** Whether condition `cc` (0..15) holds for RFLAGS `f`. */
function cond(f: number, cc: number): boolean {
  let t: boolean;
  switch (cc >> 1) {
    case 0:
      t = (f & F_OF) !== 0;
      break;
    case 1:
      t = (f & F_CF) !== 0;
      break;
    case 2:
      t = (f & F_ZF) !== 0;
      break;
    case 3:
      t = (f & (F_CF | F_ZF)) !== 0;
      break;
    case 4:
      t = (f & F_SF) !== 0;
      break;
    case 5:
      t = (f & F_PF) !== 0;
      break;
    case 6:
      t = (((f >> 7) ^ (f >> 11)) & 1) !== 0;
      break;
    default:
      t = (f & F_ZF) !== 0 || (((f >> 7) ^ (f >> 11)) & 1) !== 0;
  }
  return t !== ((cc & 1) !== 0);
}

/** Target of a branch: the high half (the low half is {@link tLo}); #GP(0) if not canonical. */
let tLo = 0;

/** next + rel (next = RIP + len) into tLo; returns the high half. */
function relTarget(c: CpuCore, len: number, rel: number): number {
  const n = (c.eip >>> 0) + len;
  const s = (n >>> 0) + rel;
  const hi = (c.lm.ripHi + (n > 0xffffffff ? 1 : 0) + (s < 0 ? -1 : s > 0xffffffff ? 1 : 0)) |
    0;
  if (!canonicalHi(hi)) c.raise(VEC_GP, 0);
  tLo = s | 0;
  return hi;
}

/** Pushes (lo, hi) (RSP committed after the write). */
function push(c: CpuCore, lo: number, hi: number): void {
  const s = (c.regs[4] >>> 0) - 8;
  const nlo = s | 0, nhi = (c.lm.hi[4] + (s < 0 ? -1 : 0)) | 0;
  if (!canonicalHi(nhi)) c.raise(VEC_SS, 0);
  setEa(nlo, nhi);
  store(c, 8, 0, lo, hi);
  c.regs[4] = nlo;
  c.lm.hi[4] = nhi;
}

/** Reads the 64-bit value at RSP (low half returned, high in vHi); RSP unchanged. */
function peek(c: CpuCore): number {
  const hi = c.lm.hi[4];
  if (!canonicalHi(hi)) c.raise(VEC_SS, 0);
  setEa(c.regs[4], hi);
  return load(c, 8, 0);
}

/** RSP += 8. */
function drop8(c: CpuCore): void {
  const s = (c.regs[4] >>> 0) + 8;
  c.regs[4] = s | 0;
  if (s > 0xffffffff) c.lm.hi[4] = (c.lm.hi[4] + 1) | 0;
}

/** Makes RIP's code page current; may raise #PF. */
function enterPage(c: CpuCore, dc: Dcache64, eip: number, rh: number): Int32Array {
  const page = eip & -4096;
  const m = fetchAddr64(c, page, rh);
  const mfn = m >>> 12;
  const arr = dc.page(mfn);
  dc.arr = arr;
  dc.mfn = mfn;
  dc.base = m;
  dc.pageLo = page;
  dc.pageHi = rh;
  dc.epoch = c.tlb64.epoch; // after page(), which may flush write entries
  dc.cpl = c.cpl;
  return arr;
}

/** The 64-bit value of a movzx/movsx source `v` in mode `mode`: low half (sign in vs). */
function extend(v: number, mode: number): number {
  switch (mode) {
    case K.MX_ZX8:
      return v & 0xff;
    case K.MX_ZX16:
      return v & 0xffff;
    case K.MX_SX8:
      return (v << 24) >> 24;
    case K.MX_SX16:
      return (v << 16) >> 16;
    default:
      return v;
  }
}

/** Memory bytes of a movzx/movsx mode. */
function extendSize(mode: number): number {
  return mode === K.MX_ZX8 || mode === K.MX_SX8 ? 1 : mode === K.MX_SX32 ? 4 : 2;
}

/** Writes a movzx/movsx result at `size` bits. */
function writeExt(c: CpuCore, r: number, v: number, mode: number, size: number): void {
  if (size === 64) set64(c, r, v, mode >= K.MX_SX8 ? v >> 31 : 0);
  else set32(c, r, v);
}

/**
 * Runs cached 64-bit instructions until `end` retired instructions, a record that needs
 * step64 (not run), or (with `jitOn`) a loop head.
 * @returns FAST_END, FAST_GENERIC or FAST_LOOP
 */
export function runFast64(c: CpuCore, end: number, jitOn: boolean): number {
  const dc = dcache64Of(c);
  setCpl(c);
  if (dc.cpl !== c.cpl) dc.arr = null;
  const kind = dc.kind, lens = dc.len, A = dc.a, B = dc.b, Dd = dc.d, I = dc.i, J = dc.j;
  const hi = c.lm.hi;
  let ret = c.retired, eip = 0, rh = 0, fl = 0;
  try {
    while (ret < end) {
      eip = c.eip;
      rh = c.lm.ripHi;
      fl = c.flags;
      let arr = dc.arr;
      if (
        arr === null || (eip & -4096) !== dc.pageLo || rh !== dc.pageHi ||
        c.tlb64.epoch !== dc.epoch
      ) arr = enterPage(c, dc, eip, rh);
      const off = eip & 4095;
      let r = arr[off];
      if (r === 0) {
        r = K.decodeFast64(dc, c.u8, dc.base + off, arr, off);
        // the pool may have been emptied: the record stays valid for this run
      }
      const len = lens[r], a = A[r], b = B[r];
      let th = 0, jump = false;
      switch (kind[r]) {
        case 1: // K_GENERIC
          // step64 runs it; anything it may change that this loop relies on ends the run
          step64(c);
          if (
            (c.segAttr[CS] & ATTR_L) === 0 || (c.flags & F_TF) !== 0 || c.dbgArmed !== 0 ||
            c.cpl !== dc.cpl || c.stopRequested || c.lfOp !== LF_NONE
          ) {
            c.retired = ret + 1;
            return FAST_END;
          }
          jump = true;
          break;
        case 37: // K_IMUL
          imul(c, a, b, Dd[r], I[r], J[r], len);
          break;
        case 38: { // K_NOTNEG
          const size = J[r];
          if (I[r] === 2) {
            if (size === 64) set64(c, a, ~getR(c, a), ~hi[a]);
            else set32(c, a, ~getR(c, a));
          } else if (size === 64) {
            const v = alu64(c, OP_SUB, 0, 0, getR(c, a), hi[a]);
            set64(c, a, v, R[1]);
          } else set32(c, a, alu32(c, OP_SUB, 0, getR(c, a)));
          break;
        }
        case 39: { // K_XCHG
          const xl = getR(c, a), xh = hi[a];
          if (J[r] === 64) {
            set64(c, a, getR(c, b), hi[b]);
            set64(c, b, xl, xh);
          } else {
            set32(c, a, getR(c, b));
            set32(c, b, xl);
          }
          break;
        }
        case 40: { // K_CWD
          const size = J[r], lo = c.regs[0];
          if (a === 0x98) {
            if (size === 64) set64(c, 0, lo, lo >> 31);
            else set32(c, 0, (lo << 16) >> 16);
          } else if (size === 64) {
            const sign = hi[0] >> 31;
            set64(c, 2, sign, sign);
          } else set32(c, 2, lo >> 31);
          break;
        }
        case 2: // K_NOP
          break;
        case 3: // K_MOV_RR
          if (J[r] === 64) set64(c, a, getR(c, b), hi[b]);
          else set32(c, a, getR(c, b));
          break;
        case 4: // K_MOV_RI
          set64(c, a, I[r], J[r]);
          break;
        case 5: { // K_LOAD
          ea(c, b, Dd[r], len);
          const v = load(c, J[r], b);
          if (J[r] === 8) set64(c, a, v, vHi);
          else set32(c, a, v);
          break;
        }
        case 35: // K_LOAD8
          ea(c, b, Dd[r], len);
          set8(c, a, load(c, 1, b));
          break;
        case 6: { // K_STORE
          ea(c, b, Dd[r], len);
          const size = J[r];
          if (size === 8) store(c, 8, b, getR(c, a), hi[a]);
          else if (size === 4) store(c, 4, b, getR(c, a), 0);
          else store(c, 1, b, get8(c, a), 0);
          break;
        }
        case 7: // K_STORE_I
          ea(c, b, Dd[r], len);
          store(c, J[r], b, I[r], I[r] >> 31);
          break;
        case 8: { // K_ALU_RR32
          const op = I[r];
          const v = alu32(c, op, getR(c, a), getR(c, b));
          if (op < OP_CMP) set32(c, a, v);
          break;
        }
        case 9: { // K_ALU_RR64
          const op = I[r];
          const v = alu64(c, op, getR(c, a), hi[a], getR(c, b), hi[b]);
          if (op < OP_CMP) set64(c, a, v, R[1]);
          break;
        }
        case 10: { // K_ALU_RI32
          const op = J[r];
          const v = alu32(c, op, getR(c, a), I[r]);
          if (op < OP_CMP) set32(c, a, v);
          break;
        }
        case 11: { // K_ALU_RI64
          const op = J[r], imm = I[r];
          const v = alu64(c, op, getR(c, a), hi[a], imm, imm >> 31);
          if (op < OP_CMP) set64(c, a, v, R[1]);
          break;
        }
        case 12: { // K_ALU_RM
          ea(c, b, Dd[r], len);
          const op = I[r], size = J[r];
          if (size === 64) {
            const m = load(c, 8, b);
            const v = alu64(c, op, getR(c, a), hi[a], m, vHi);
            if (op < OP_CMP) set64(c, a, v, R[1]);
          } else if (size === 32) {
            const v = alu32(c, op, getR(c, a), load(c, 4, b));
            if (op < OP_CMP) set32(c, a, v);
          } else {
            const v = alu8(c, op, get8(c, a), load(c, 1, b));
            if (op < OP_CMP) set8(c, a, v);
          }
          break;
        }
        case 13: { // K_ALU_MR
          ea(c, b, Dd[r], len);
          const op = I[r], size = J[r];
          if (size === 64) {
            const m = load(c, 8, b);
            const v = alu64(c, op, m, vHi, getR(c, a), hi[a]);
            if (op < OP_CMP) store(c, 8, b, v, R[1]);
          } else if (size === 32) {
            const v = alu32(c, op, load(c, 4, b), getR(c, a));
            if (op < OP_CMP) store(c, 4, b, v, 0);
          } else {
            const v = alu8(c, op, load(c, 1, b), get8(c, a));
            if (op < OP_CMP) store(c, 1, b, v, 0);
          }
          break;
        }
        case 14: { // K_ALU_MI
          ea(c, b, Dd[r], len);
          const op = J[r], size = a, imm = I[r];
          if (size === 64) {
            const m = load(c, 8, b);
            const v = alu64(c, op, m, vHi, imm, imm >> 31);
            if (op < OP_CMP) store(c, 8, b, v, R[1]);
          } else if (size === 32) {
            const v = alu32(c, op, load(c, 4, b), imm);
            if (op < OP_CMP) store(c, 4, b, v, 0);
          } else {
            const v = alu8(c, op, load(c, 1, b), imm);
            if (op < OP_CMP) store(c, 1, b, v, 0);
          }
          break;
        }
        case 15: // K_LEA
          ea(c, b, Dd[r], len);
          if (J[r] === 64) set64(c, a, eLo, eHi);
          else set32(c, a, eLo);
          break;
        case 16: { // K_INCDEC_R
          const size = J[r];
          const v = incDec(c, I[r], size, getR(c, a), hi[a]);
          if (size === 64) set64(c, a, v, R[1]);
          else set32(c, a, v);
          break;
        }
        case 36: { // K_INCDEC_M
          ea(c, b, Dd[r], len);
          const size = J[r], bytes = size >> 3;
          const m = load(c, bytes, b);
          const v = incDec(c, I[r], size, m, vHi);
          store(c, bytes, b, v, R[1]);
          break;
        }
        case 17: // K_PUSH_R
          push(c, getR(c, a), hi[a]);
          break;
        case 18: { // K_POP_R
          const v = peek(c), vh = vHi;
          drop8(c);
          set64(c, a, v, vh);
          break;
        }
        case 19: // K_PUSH_I
          push(c, I[r], I[r] >> 31);
          break;
        case 20: { // K_CALL
          th = relTarget(c, len, I[r]);
          const tl = tLo;
          const n = (eip + len) | 0;
          push(c, n, (n >>> 0) < (eip >>> 0) ? (rh + 1) | 0 : rh);
          c.eip = tl;
          c.lm.ripHi = th;
          jump = true;
          break;
        }
        case 21: { // K_RET
          const tl = peek(c);
          th = vHi;
          if (!canonicalHi(th)) c.raise(VEC_GP, 0);
          drop8(c);
          c.eip = tl;
          c.lm.ripHi = th;
          jump = true;
          break;
        }
        case 22: // K_JMP
          th = relTarget(c, len, I[r]);
          c.eip = tLo;
          c.lm.ripHi = th;
          jump = true;
          break;
        case 23: // K_JCC
          if (cond(c.flags, a)) {
            th = relTarget(c, len, I[r]);
            c.eip = tLo;
            c.lm.ripHi = th;
            jump = true;
          }
          break;
        case 24: // K_JMP_R
        case 25: // K_CALL_R
        case 26: // K_JMP_M
        case 27: { // K_CALL_M
          const k = kind[r];
          let tl = 0;
          if (k === K.K_JMP_R || k === K.K_CALL_R) {
            tl = getR(c, a);
            th = hi[a];
          } else {
            ea(c, b, Dd[r], len);
            tl = load(c, 8, b);
            th = vHi;
          }
          if (!canonicalHi(th)) c.raise(VEC_GP, 0);
          if (k === K.K_CALL_R || k === K.K_CALL_M) {
            const n = (eip + len) | 0;
            push(c, n, (n >>> 0) < (eip >>> 0) ? (rh + 1) | 0 : rh);
          }
          c.eip = tl;
          c.lm.ripHi = th;
          jump = true;
          break;
        }
        case 28: { // K_MOVX_R
          const mode = I[r];
          const src = mode === K.MX_ZX8 || mode === K.MX_SX8 ? get8(c, b) : getR(c, b);
          writeExt(c, a, extend(src, mode), mode, J[r]);
          break;
        }
        case 29: { // K_MOVX_M
          ea(c, b, Dd[r], len);
          const mode = I[r];
          writeExt(c, a, extend(load(c, extendSize(mode), b), mode), mode, J[r]);
          break;
        }
        case 30: // K_CMOV
          if (cond(c.flags, I[r])) {
            if (J[r] === 64) set64(c, a, getR(c, b), hi[b]);
            else set32(c, a, getR(c, b));
          } else if (J[r] === 32) hi[a] = 0;
          break;
        case 31: // K_SETCC
          set8(c, a, cond(c.flags, I[r]) ? 1 : 0);
          break;
        case 32: { // K_SHIFT
          const size = J[r], count = I[r] === K.COUNT_CL ? c.regs[1] & 0xff : I[r];
          const lo = getR(c, a);
          if (shift(c, b, size, lo, size === 64 ? hi[a] : 0, count)) {
            if (size === 64) set64(c, a, R[0], R[1]);
            else set32(c, a, R[0]);
          } else if (size === 32) hi[a] = 0;
          break;
        }
        case 33: { // K_ALU8_RR
          const op = I[r];
          const v = alu8(c, op, get8(c, a), get8(c, b));
          if (op < OP_CMP) set8(c, a, v);
          break;
        }
        case 34: { // K_ALU8_RI
          const op = J[r];
          const v = alu8(c, op, get8(c, a), I[r]);
          if (op < OP_CMP) set8(c, a, v);
          break;
        }
        default:
          c.retired = ret;
          return FAST_GENERIC;
      }
      ret++;
      if (jump) {
        // A backward transfer within the high half is a loop head (run64.ts's rule).
        if (jitOn && c.lm.ripHi === rh && (c.eip >>> 0) < (eip >>> 0)) {
          c.retired = ret;
          return FAST_LOOP;
        }
      } else {
        const n = (eip + len) | 0;
        c.eip = n;
        if ((n >>> 0) < (eip >>> 0)) c.lm.ripHi = (rh + 1) | 0;
      }
    }
  } catch (e) {
    if (e === FAULT) {
      c.eip = eip;
      c.lm.ripHi = rh;
      c.flags = fl;
    }
    c.retired = ret;
    throw e;
  }
  c.retired = ret;
  return FAST_END;
}
