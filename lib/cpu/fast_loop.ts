/**
 * The instruction loop over the decoded-instruction cache: each cached record runs a
 * specialised handler (semantics shared with ops/ through the lazy-flag helpers); K_GENERIC
 * records and non-flat code segments go through interpreter.ts.
 * @module
 */

import type { CpuCore as Cpu } from "./core.ts";
import { K_INC_M, OP_TEST } from "./decoded_cache.ts";
import { decodeBlock } from "./decode/fast_decode.ts";
import { LF_ADD, LF_LOGIC, LF_SUB, testCC } from "./flags.ts";
import { alu, dec, inc } from "./ops/alu.ts";
import { imul2 } from "./ops/muldiv.ts";
import { shift } from "./ops/shift.ts";
import { pop, push, R8 } from "./operands.ts";
import { SC_BIG, SC_FLAT, SC_WIDE } from "./segmentation.ts";
import { step } from "./interpreter.ts";
import { checkedStep } from "./debug_unit.ts";

const SS = 2;
const STACK_FAST = SC_FLAT | SC_BIG;

/** Linear address of a record's memory operand (packed EA in b, displacement in d). */
function eaLin(c: Cpu, e: number, disp: number, sz: number, write: boolean): number {
  const rx = c.rx;
  const off = (rx[e & 15] + (rx[(e >> 4) & 15] << ((e >> 8) & 3)) + disp) | 0;
  const s = (e >> 12) & 7;
  return (c.segChk[s] & SC_FLAT) !== 0 ? off : c.segAddr(s, off, sz, write);
}

/** 32-bit ALU op with lazy flags; returns the result (callers skip the write for cmp/test). */
function alu32(c: Cpu, op: number, a: number, b: number): number {
  let r: number;
  switch (op) {
    case 0:
      r = (a + b) | 0;
      c.lfOp = LF_ADD;
      break;
    case 1:
      r = a | b;
      c.lfOp = LF_LOGIC;
      break;
    case 4:
    case 8: // OP_TEST
      r = a & b;
      c.lfOp = LF_LOGIC;
      break;
    case 5:
    case 7:
      r = (a - b) | 0;
      c.lfOp = LF_SUB;
      break;
    case 6:
      r = a ^ b;
      c.lfOp = LF_LOGIC;
      break;
    default:
      return alu(c, op, a, b, 4);
  }
  const lf = c.lf;
  lf[0] = a;
  lf[1] = b;
  lf[2] = r;
  c.lfSz = 32;
  return r;
}

/** A branch target, or #GP(0) when it is beyond a limited CS. */
function target(c: Cpu, t: number): number {
  if ((c.segChk[1] & SC_WIDE) === 0 && t > c.segLimit[1] >>> 0) c.gp(0);
  return t;
}

function push32(c: Cpu, v: number): void {
  const sp = (c.rx[4] - 4) | 0;
  if ((c.segChk[SS] & STACK_FAST) === STACK_FAST) c.write32(sp, v);
  else if ((c.segChk[SS] & SC_BIG) !== 0) c.write32(c.segAddr(SS, sp, 4, true), v);
  else {
    push(c, v, 4);
    return;
  }
  c.rx[4] = sp;
}

function pop32(c: Cpu): number {
  const sp = c.rx[4];
  if ((c.segChk[SS] & SC_BIG) === 0) return pop(c, 4);
  const v = (c.segChk[SS] & STACK_FAST) === STACK_FAST
    ? c.read32(sp)
    : c.read32(c.segAddr(SS, sp, 4, false));
  c.rx[4] = (sp + 4) | 0;
  return v;
}

/**
 * Runs instructions until `c.retired` reaches `end` or a stop is requested. Faults throw
 * (EIP is left at the faulting instruction; for the full interpreter, the caller rolls
 * back to c.eipStart / c.espStart, see Cpu.inStep).
 */
export function runLoop(c: Cpu, end: number): void {
  const dc = c.dcache;
  const K = dc.kind, L = dc.len, A = dc.a, B = dc.b, D = dc.d, I = dc.i;
  const rx = c.rx;
  const dv = c.dv;
  // The retired count lives in a local while running; it is written back before the
  // interpreter runs (platform callbacks read it) and when the loop ends or faults.
  let n = c.retired;
  let eip = c.eip;
  let loopHead = true; // where a run starts is an entry too (often inside a hot loop)
  try {
    outer: while (n < end) {
      if ((c.flags & 0x100) !== 0 || c.dbgArmed !== 0) {
        // EFLAGS.TF or an armed debug unit: one checked instruction at a time. TF can only
        // become set by popf/iret, which end a block, so checking here suffices.
        c.eip = eip;
        c.retired = n;
        checkedStep(c);
        n = c.retired;
        eip = c.eip;
        if (c.stopRequested) break;
        continue;
      }
      if (eip >>> 12 !== c.cPage) {
        if (!c.cs32flat || !c.codePage(eip)) {
          c.eip = eip;
          c.eipStart = eip;
          c.retired = n;
          c.espStart = rx[4];
          c.inStep = true;
          step(c);
          c.inStep = false;
          eip = c.eip;
          n++;
          if (c.stopRequested) break;
          continue;
        }
      }
      // Block compiler hook (lib/cpu/jit): at a loop head (the target of a backward jump),
      // a compiled region of this page runs instead of the records below (it keeps
      // EIP/retired exact, faults included).
      const jit = c.jit;
      if (loopHead && jit !== null) {
        loopHead = false;
        c.eip = eip;
        c.retired = n;
        let ran: number;
        try {
          ran = jit.run(c, end);
        } finally {
          n = c.retired;
          eip = c.eip;
        }
        if (ran !== 0) continue outer;
      }
      const o = eip & 4095;
      let rec = c.cArr[o];
      if (rec === 0) rec = decodeBlock(dc, c.cArr, c.u8, c.dv, c.cBase, o);
      // Straight-line records of a block follow each other; control transfers, generic
      // instructions and K_END go back to the lookup above.
      for (;;) {
        const next = (eip + L[rec]) >>> 0;
        // Literal case labels (the K_* values of decoded_cache.ts) let V8 build a jump
        // table; imported constants would make this a chain of comparisons.
        switch (K[rec]) {
          case 7: // K_MOV_RR
            rx[A[rec]] = rx[I[rec]];
            eip = next;
            break;
          case 8: { // K_MOV_RM
            const lin = eaLin(c, B[rec], D[rec], 4, false);
            const t = c.tRd[lin >>> 12], po = lin & 4095;
            rx[A[rec]] = t !== 0 && po <= 4092 ? dv.getInt32(t - 1 + po, true) : c.read32(lin);
            eip = next;
            break;
          }
          case 9: { // K_MOV_MR
            const lin = eaLin(c, B[rec], D[rec], 4, true);
            const t = c.tWr[lin >>> 12], po = lin & 4095;
            if (t !== 0 && po <= 4092) dv.setInt32(t - 1 + po, rx[A[rec]], true);
            else c.write32(lin, rx[A[rec]]);
            eip = next;
            break;
          }
          case 10: // K_MOV_RI
            rx[A[rec]] = I[rec];
            eip = next;
            break;
          case 11: // K_MOV_MI
            c.write32(eaLin(c, B[rec], D[rec], 4, true), I[rec]);
            eip = next;
            break;
          case 2: { // K_ALU_RR
            const op = A[rec], d = B[rec];
            const r = alu32(c, op, rx[d], rx[I[rec]]);
            if (op < 7) rx[d] = r;
            eip = next;
            break;
          }
          case 3: { // K_ALU_RM
            const op = A[rec], g = I[rec];
            const lin = eaLin(c, B[rec], D[rec], 4, false);
            const t = c.tRd[lin >>> 12], po = lin & 4095;
            const v = t !== 0 && po <= 4092 ? dv.getInt32(t - 1 + po, true) : c.read32(lin);
            const r = alu32(c, op, rx[g], v);
            if (op < 7) rx[g] = r;
            eip = next;
            break;
          }
          case 4: { // K_ALU_MR
            const op = A[rec];
            const lin = eaLin(c, B[rec], D[rec], 4, op !== 7);
            if (op === 7) alu32(c, op, c.read32(lin), rx[I[rec]]);
            else {
              const m = c.wAddr(lin, 4);
              if (m >= 0) c.dv.setInt32(m, alu32(c, op, c.dv.getInt32(m, true), rx[I[rec]]), true);
              else c.write32(lin, alu32(c, op, c.read32(lin), rx[I[rec]]));
            }
            eip = next;
            break;
          }
          case 5: { // K_ALU_RI
            const op = A[rec], d = B[rec];
            const r = alu32(c, op, rx[d], I[rec]);
            if (op < 7) rx[d] = r;
            eip = next;
            break;
          }
          case 39: { // K_ALU_AI
            const op = A[rec];
            const r = alu32(c, op, rx[0], I[rec]);
            if (op < 7) rx[0] = r;
            eip = next;
            break;
          }
          case 6: { // K_ALU_MI
            const op = A[rec];
            const lin = eaLin(c, B[rec], D[rec], 4, op !== 7);
            if (op === 7) alu32(c, op, c.read32(lin), I[rec]);
            else {
              const m = c.wAddr(lin, 4);
              if (m >= 0) c.dv.setInt32(m, alu32(c, op, c.dv.getInt32(m, true), I[rec]), true);
              else c.write32(lin, alu32(c, op, c.read32(lin), I[rec]));
            }
            eip = next;
            break;
          }
          case 32: { // K_ALU8_MI
            const op = A[rec];
            const lin = eaLin(c, B[rec], D[rec], 1, op !== 7);
            if (op === 7) alu(c, op, c.read8(lin), I[rec], 1);
            else {
              const m = c.wAddr(lin, 1);
              c.u8[m] = alu(c, op, c.u8[m], I[rec], 1);
            }
            eip = next;
            break;
          }
          case 34: { // K_ALU8_RR
            const op = A[rec];
            const di = R8[B[rec]];
            const r8 = c.r8;
            const r = alu(c, op === OP_TEST ? 4 : op, r8[di], r8[R8[I[rec]]], 1);
            if (op < 7) r8[di] = r;
            eip = next;
            break;
          }
          case 33: { // K_TEST_RI
            const a = rx[A[rec]], b = I[rec];
            c.lfOp = LF_LOGIC;
            c.lf[0] = a;
            c.lf[1] = b;
            c.lf[2] = a & b;
            c.lfSz = 32;
            eip = next;
            break;
          }
          case 12: { // K_LEA
            const e = B[rec];
            rx[A[rec]] = rx[e & 15] + (rx[(e >> 4) & 15] << ((e >> 8) & 3)) + D[rec];
            eip = next;
            break;
          }
          case 13: { // K_INC
            const r = A[rec];
            rx[r] = inc(c, rx[r], 4);
            eip = next;
            break;
          }
          case 14: { // K_DEC
            const r = A[rec];
            rx[r] = dec(c, rx[r], 4);
            eip = next;
            break;
          }
          case 15: // K_PUSH_R
            push32(c, rx[A[rec]]);
            eip = next;
            break;
          case 17: // K_PUSH_I
            push32(c, I[rec]);
            eip = next;
            break;
          case 16: { // K_POP_R
            const v = pop32(c);
            rx[A[rec]] = v;
            eip = next;
            break;
          }
          case 37: { // K_XCHG_R
            const r = A[rec];
            const v = rx[r];
            rx[r] = rx[0];
            rx[0] = v;
            eip = next;
            break;
          }
          case 38: // K_CDQ
            rx[2] = rx[0] >> 31;
            eip = next;
            break;
          case 29: // K_NOP
            eip = next;
            break;
          case 20: { // K_JMP
            const t = target(c, (next + I[rec]) >>> 0);
            loopHead = t <= eip; // a backward jump: the block compiler's entry points
            eip = t;
            n++;
            continue outer;
          }
          case 21: { // K_JCC
            const t = testCC(c, A[rec]) ? target(c, (next + I[rec]) >>> 0) : next;
            loopHead = t <= eip;
            eip = t;
            n++;
            continue outer;
          }
          case 18: { // K_CALL
            const t = target(c, (next + I[rec]) >>> 0);
            push32(c, next);
            eip = t;
            n++;
            continue outer;
          }
          case 36: { // K_CALL_R
            const t = target(c, rx[A[rec]] >>> 0);
            push32(c, next);
            eip = t;
            n++;
            continue outer;
          }
          case 35: // K_JMP_R
            eip = target(c, rx[A[rec]] >>> 0);
            n++;
            continue outer;
          case 19: { // K_RET
            const sp = rx[4];
            const t = pop32(c) >>> 0;
            if ((c.segChk[1] & SC_WIDE) === 0 && t > c.segLimit[1] >>> 0) {
              rx[4] = sp;
              c.gp(0);
            }
            eip = t;
            n++;
            continue outer;
          }
          case 42: // K_END
            continue outer;
          case 22: { // K_SHIFT_RI
            const r = B[rec], k = I[rec];
            rx[r] = shift(c, A[rec], rx[r], k < 0 ? c.r8[4] : k, 4);
            eip = next;
            break;
          }
          case 43: // K_MOV8_MI
            c.write8(eaLin(c, B[rec], D[rec], 1, true), I[rec]);
            eip = next;
            break;
          case 44: { // K_ALU8_RI
            const op = A[rec], di = R8[B[rec]];
            const r8 = c.r8;
            const r = alu(c, op, r8[di], I[rec], 1);
            if (op < 7) r8[di] = r;
            eip = next;
            break;
          }
          case 23: { // K_MOVX_RM
            const kind = I[rec];
            const lin = eaLin(c, B[rec], D[rec], kind & 1 ? 1 : 2, false);
            let v: number;
            if (kind === 1) v = c.read8(lin);
            else if (kind === 2) v = c.read16(lin);
            else if (kind === 3) v = (c.read8(lin) << 24) >> 24;
            else v = (c.read16(lin) << 16) >> 16;
            rx[A[rec]] = v;
            eip = next;
            break;
          }
          case 24: { // K_MOVX_RR
            const kind = I[rec], s = B[rec];
            let v: number;
            if (kind === 1) v = c.r8[R8[s]];
            else if (kind === 2) v = rx[s] & 0xffff;
            else if (kind === 3) v = (c.r8[R8[s]] << 24) >> 24;
            else v = (rx[s] << 16) >> 16;
            rx[A[rec]] = v;
            eip = next;
            break;
          }
          case 25: { // K_IMUL_RM
            const e = B[rec];
            const v = (e & 0x10000) !== 0 ? rx[e & 7] : c.read32(eaLin(c, e, D[rec], 4, false));
            const g = A[rec];
            rx[g] = imul2(c, rx[g], v, 4);
            eip = next;
            break;
          }
          case 26: { // K_IMUL_RRI
            const e = B[rec];
            const v = (e & 0x10000) !== 0 ? rx[e & 7] : c.read32(eaLin(c, e, D[rec], 4, false));
            rx[A[rec]] = imul2(c, v, I[rec], 4);
            eip = next;
            break;
          }
          case 27: { // K_CMOV
            const e = B[rec];
            const v = (e & 0x10000) !== 0 ? rx[e & 7] : c.read32(eaLin(c, e, D[rec], 4, false));
            if (testCC(c, I[rec])) rx[A[rec]] = v;
            eip = next;
            break;
          }
          case 28: // K_SETCC
            c.r8[R8[B[rec]]] = testCC(c, A[rec]) ? 1 : 0;
            eip = next;
            break;
          case 30: // K_MOV8_RM
            c.r8[R8[A[rec]]] = c.read8(eaLin(c, B[rec], D[rec], 1, false));
            eip = next;
            break;
          case 31: // K_MOV8_MR
            c.write8(eaLin(c, B[rec], D[rec], 1, true), c.r8[R8[A[rec]]]);
            eip = next;
            break;
          case 40: // K_INC_M
          case 41: { // K_DEC_M
            const lin = eaLin(c, B[rec], D[rec], 4, true);
            const m = c.wAddr(lin, 4);
            const v = m >= 0 ? c.dv.getInt32(m, true) : c.read32(lin);
            const r = K[rec] === K_INC_M ? inc(c, v, 4) : dec(c, v, 4);
            if (m >= 0) c.dv.setInt32(m, r, true);
            else c.write32(lin, r);
            eip = next;
            break;
          }
          default:
            c.eip = eip;
            c.eipStart = eip;
            c.retired = n;
            c.espStart = rx[4];
            c.inStep = true;
            step(c);
            c.inStep = false;
            eip = c.eip;
            n++;
            if (c.stopRequested) return;
            continue outer;
        }
        n++;
        if (n >= end) break outer;
        // A store into decoded code (or a TLB/CS change) dropped the page: the rest of this
        // block may be stale, so look the next instruction up again.
        if (c.cPage === -1) continue outer;
        rec++;
      }
    }
  } finally {
    c.retired = n;
    c.eip = eip;
  }
}
