/**
 * The fast loop of 64-bit code: instructions are decoded once per code frame into
 * {@link Dcache64} records (decode_fast64.ts) and run from a switch over their kinds
 * (literal case labels: a jump table), the hot kinds here, the others in cold64.ts;
 * memory operands through the inline TLB hit paths of mem_fast64.ts, flags eagerly
 * (alu_fast64.ts). run64.ts calls {@link runFast64} when neither TF nor the debug unit
 * is armed. A {@link K64_GENERIC} record runs through step64.ts here; when that changes
 * anything this loop relies on (CS.L, CPL, TF, the debug unit, a stop request) the loop
 * returns. It also returns at a loop head when the block compiler is installed, and at
 * the instruction budget.
 *
 * The GPR low halves live in mem_fast64.ts's `GL` while the loop runs: they are copied
 * back before step64 and at every exit, faults included.
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
import { F_TF, LF_NONE } from "../flags.ts";
import { VEC_GP, VEC_SS } from "../platform.ts";
import { R } from "./alu64.ts";
import { alu32, alu64, alu8, F64_CMP, incDec } from "./alu_fast64.ts";
import { ATTR_L, canonicalHi } from "./long_state.ts";
import { fetchAddr64 } from "./mem64.ts";
import { step64 } from "./step64.ts";
import { type Dcache64, dcache64Of } from "./dcache64.ts";
import { decodeBlock, MX_SX32, MX_SX8, MX_ZX8 } from "./decode_fast64.ts";
import { cold, cond, extend } from "./cold64.ts";
import {
  ea,
  eHi,
  eLo,
  get8,
  GL,
  load,
  loadRegs,
  set8,
  setCpl,
  setEa,
  store,
  storeRegs,
  vHi,
} from "./mem_fast64.ts";

const CS = 1;

/** {@link runFast64} results. */
export const FAST_END = 0, FAST_GENERIC = 1, FAST_LOOP = 2;

/** Switch for tests and measurements: false runs every instruction through step64. */
export const FAST64 = { enabled: true };

/** Low half of the last {@link farTarget}. */
let tLo = 0;

/**
 * RIP + len + rel when it leaves the 4 GiB half (into tLo); returns the high half,
 * #GP(0) if not canonical.
 */
function farTarget(c: CpuCore, len: number, rel: number): number {
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
  const s = (GL[4] >>> 0) - 8;
  const nlo = s | 0, nhi = (c.lm.hi[4] + (s < 0 ? -1 : 0)) | 0;
  if (!canonicalHi(nhi)) c.raise(VEC_SS, 0);
  setEa(nlo, nhi);
  store(c, 8, 0, lo, hi);
  GL[4] = nlo;
  c.lm.hi[4] = nhi;
}

/** Pops the 64-bit value at RSP (low half returned, high in vHi); RSP += 8 after the read. */
function pop(c: CpuCore): number {
  const hi = c.lm.hi[4];
  if (!canonicalHi(hi)) c.raise(VEC_SS, 0);
  setEa(GL[4], hi);
  const v = load(c, 8, 0);
  const s = (GL[4] >>> 0) + 8;
  GL[4] = s | 0;
  if (s > 0xffffffff) c.lm.hi[4] = (hi + 1) | 0;
  return v;
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

/**
 * Runs cached 64-bit instructions until `end` retired instructions, a generic
 * instruction that changed the mode, or (with `jitOn`) a loop head.
 * @returns FAST_END or FAST_LOOP
 */
export function runFast64(c: CpuCore, end: number, jitOn: boolean): number {
  const dc = dcache64Of(c);
  setCpl(c);
  if (dc.cpl !== c.cpl) dc.arr = null;
  loadRegs(c);
  const KA = dc.ka, B = dc.b, Dd = dc.d, I = dc.i, J = dc.j;
  const H = c.lm.hi;
  let ret = c.retired, eip = 0, rh = 0, fl = 0, result = FAST_END, inStep = false;
  // One loop (V8 compiles it on stack; leaving a nested loop would drop that code):
  // `r` is the next record of the current block, or 0 to look RIP up.
  let r = 0, arr: Int32Array | null = null;
  try {
    while (ret < end) {
      eip = c.eip;
      fl = c.flags;
      if (r === 0) {
        // The records of a block follow each other: straight-line code runs without
        // looking RIP up; control transfers, step64's instructions and K64_END come here.
        rh = c.lm.ripHi;
        arr = dc.arr;
        if (
          arr === null || (eip & -4096) !== dc.pageLo || rh !== dc.pageHi ||
          c.tlb64.epoch !== dc.epoch
        ) arr = enterPage(c, dc, eip, rh);
        const off = eip & 4095;
        r = arr[off];
        // (a full pool is emptied by the decoder: the block stays valid for this run)
        if (r === 0) r = decodeBlock(dc, c.u8, dc.base + off, arr, off);
      }
      const ka = KA[r], k = ka & 0xff, len = (ka >> 8) & 0xff, a = ka >> 16, b = B[r];
      let next = (eip + len) | 0;
      switch (k) {
        case 1: // K64_GENERIC: step64 runs it
          storeRegs(c);
          c.retired = ret; // platform callbacks (rdtsc, hypercalls) read it
          inStep = true;
          step64(c);
          inStep = false;
          loadRegs(c);
          ret++;
          // anything it may change that this loop relies on ends the run
          if (
            (c.segAttr[CS] & ATTR_L) === 0 || (c.flags & F_TF) !== 0 || c.dbgArmed !== 0 ||
            c.cpl !== dc.cpl || c.stopRequested || c.lfOp !== LF_NONE
          ) {
            c.retired = ret;
            storeRegs(c);
            return FAST_END;
          }
          if (jitOn && c.lm.ripHi === rh && (c.eip >>> 0) < (eip >>> 0)) {
            c.retired = ret;
            storeRegs(c);
            return FAST_LOOP;
          }
          r = 0;
          continue;
        case 41: // K64_END
          r = 0;
          continue;
        case 2: // K64_NOP
          break;
        case 3: // K64_MOV_RR
          GL[a] = GL[b];
          H[a] = J[r] === 64 ? H[b] : 0;
          break;
        case 4: // K64_MOV_RI
          GL[a] = I[r];
          H[a] = J[r];
          break;
        case 5: { // K64_LOAD
          ea(c, b, Dd[r], len);
          const size = J[r];
          GL[a] = load(c, size, b);
          H[a] = size === 8 ? vHi : 0;
          break;
        }
        case 6: { // K64_STORE
          ea(c, b, Dd[r], len);
          const size = J[r];
          if (size === 8) store(c, 8, b, GL[a], H[a]);
          else if (size === 4) store(c, 4, b, GL[a], 0);
          else store(c, 1, b, get8(a), 0);
          break;
        }
        case 7: // K64_STORE_I
          ea(c, b, Dd[r], len);
          store(c, J[r], b, I[r], I[r] >> 31);
          break;
        case 8: { // K64_ALU_RR32
          const op = I[r];
          const v = alu32(c, op, GL[a], GL[b]);
          if (op < F64_CMP) {
            GL[a] = v;
            H[a] = 0;
          }
          break;
        }
        case 9: { // K64_ALU_RR64
          const op = I[r];
          const v = alu64(c, op, GL[a], H[a], GL[b], H[b]);
          if (op < F64_CMP) {
            GL[a] = v;
            H[a] = R[1];
          }
          break;
        }
        case 10: { // K64_ALU_RI32
          const op = J[r];
          const v = alu32(c, op, GL[a], I[r]);
          if (op < F64_CMP) {
            GL[a] = v;
            H[a] = 0;
          }
          break;
        }
        case 11: { // K64_ALU_RI64
          const op = J[r], imm = I[r];
          const v = alu64(c, op, GL[a], H[a], imm, imm >> 31);
          if (op < F64_CMP) {
            GL[a] = v;
            H[a] = R[1];
          }
          break;
        }
        case 12: { // K64_ALU_RM
          ea(c, b, Dd[r], len);
          const op = I[r], size = J[r];
          if (size === 64) {
            const m = load(c, 8, b);
            const v = alu64(c, op, GL[a], H[a], m, vHi);
            if (op < F64_CMP) {
              GL[a] = v;
              H[a] = R[1];
            }
          } else if (size === 32) {
            const v = alu32(c, op, GL[a], load(c, 4, b));
            if (op < F64_CMP) {
              GL[a] = v;
              H[a] = 0;
            }
          } else {
            const v = alu8(c, op, get8(a), load(c, 1, b));
            if (op < F64_CMP) set8(a, v);
          }
          break;
        }
        case 15: // K64_LEA
          ea(c, b, Dd[r], len);
          GL[a] = eLo;
          H[a] = J[r] === 64 ? eHi : 0;
          break;
        case 16: { // K64_INCDEC_R
          const size = J[r];
          GL[a] = incDec(c, I[r], size, GL[a], H[a]);
          H[a] = R[1];
          break;
        }
        case 17: // K64_PUSH_R
          push(c, GL[a], H[a]);
          break;
        case 18: { // K64_POP_R
          const v = pop(c);
          GL[a] = v;
          H[a] = vHi;
          break;
        }
        case 19: // K64_PUSH_I
          push(c, I[r], I[r] >> 31);
          break;
        case 20: { // K64_CALL
          const s = (next >>> 0) + I[r];
          let th = rh;
          if (s < 0 || s > 0xffffffff || (next >>> 0) < (eip >>> 0)) th = farTarget(c, len, I[r]);
          const tl = s | 0;
          push(c, next, (next >>> 0) < (eip >>> 0) ? (rh + 1) | 0 : rh);
          next = tl;
          c.lm.ripHi = th;
          break;
        }
        case 21: { // K64_RET
          const hi = c.lm.hi[4];
          if (!canonicalHi(hi)) c.raise(VEC_SS, 0);
          setEa(GL[4], hi);
          const tl = load(c, 8, 0), th = vHi;
          if (!canonicalHi(th)) c.raise(VEC_GP, 0);
          const s = (GL[4] >>> 0) + 8;
          GL[4] = s | 0;
          if (s > 0xffffffff) H[4] = (hi + 1) | 0;
          next = tl;
          c.lm.ripHi = th;
          break;
        }
        case 22: // K64_JMP
        case 23: { // K64_JCC
          if (k === 23 && !cond(c.flags, a)) {
            if ((next >>> 0) < (eip >>> 0)) c.lm.ripHi = (rh + 1) | 0;
            break;
          }
          const s = (next >>> 0) + I[r];
          if (s >= 0 && s <= 0xffffffff && (next >>> 0) >= (eip >>> 0)) next = s | 0;
          else {
            c.lm.ripHi = farTarget(c, len, I[r]);
            next = tLo;
          }
          break;
        }
        case 24: // K64_JMP_R
        case 25: // K64_CALL_R
        case 26: // K64_JMP_M
        case 27: { // K64_CALL_M
          let tl = 0, th = 0;
          if (k < 26) {
            tl = GL[a];
            th = H[a];
          } else {
            ea(c, b, Dd[r], len);
            tl = load(c, 8, b);
            th = vHi;
          }
          if (!canonicalHi(th)) c.raise(VEC_GP, 0);
          if (k === 25 || k === 27) push(c, next, (next >>> 0) < (eip >>> 0) ? (rh + 1) | 0 : rh);
          next = tl;
          c.lm.ripHi = th;
          break;
        }
        case 28: { // K64_MOVX_R
          const mode = I[r];
          const v = extend(mode === MX_ZX8 || mode === MX_SX8 ? get8(b) : GL[b], mode);
          GL[a] = v;
          H[a] = J[r] === 64 && mode >= MX_SX8 ? v >> 31 : 0;
          break;
        }
        case 29: { // K64_MOVX_M
          ea(c, b, Dd[r], len);
          const mode = I[r];
          const bytes = mode === MX_ZX8 || mode === MX_SX8 ? 1 : mode === MX_SX32 ? 4 : 2;
          const v = extend(load(c, bytes, b), mode);
          GL[a] = v;
          H[a] = J[r] === 64 && mode >= MX_SX8 ? v >> 31 : 0;
          break;
        }
        default:
          cold(c, dc, r, k, len);
      }
      ret++;
      c.eip = next;
      if (k >= 20 && k <= 27) {
        // branches set the high half; a backward one within it is a loop head
        r = 0;
        if (jitOn && c.lm.ripHi === rh && (next >>> 0) < (eip >>> 0)) {
          result = FAST_LOOP;
          break;
        }
      } else if ((next >>> 0) < (eip >>> 0)) {
        c.lm.ripHi = (rh + 1) | 0; // off the 4 GiB half
        r = 0;
      } else if (dc.arr !== arr) r = 0; // a store dropped this page's records
      else r++;
    }
  } catch (e) {
    // (step64 leaves the registers of a faulting instruction as it defines them)
    if (!inStep) storeRegs(c);
    inStep = false;
    if (e === FAULT) {
      c.eip = eip;
      c.lm.ripHi = rh;
      c.flags = fl;
    }
    c.retired = ret;
    throw e;
  }
  storeRegs(c);
  c.retired = ret;
  return result;
}
