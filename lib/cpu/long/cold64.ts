/**
 * The less frequent record kinds of the 64-bit fast loop (fast64.ts keeps the hot ones
 * in its own switch, small enough for V8 to inline their helpers): 8-bit ALU forms,
 * ALU and inc/dec on memory with an immediate or in place, shifts, imul, not/neg, xchg,
 * cbw..cqo, setcc, 8-bit loads, movzx/movsx/movsxd, cmovcc. Registers are the fast loop's
 * {@link GL} (low halves) and `lm.hi`; every form commits them after its last memory
 * access. RIP is advanced by the caller.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { F_CF, F_OF, F_PF, F_SF, F_ZF } from "../flags.ts";
import { R } from "./alu64.ts";
import { alu32, alu64, alu8, F64_CMP, F64_SUB, incDec, shift32, shift64 } from "./alu_fast64.ts";
import { shift } from "./shift64.ts";
import { imul } from "./imul_fast64.ts";
import type { Dcache64 } from "./dcache64.ts";
import { COUNT_CL, MX_SX32, MX_SX8, MX_ZX16, MX_ZX8 } from "./decode_fast64.ts";
import { ea, get8, GL, load, set8, store, vHi } from "./mem_fast64.ts";

/** Whether condition `cc` (0..15) holds for RFLAGS `f`. */
export function cond(f: number, cc: number): boolean {
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

/** The movzx/movsx value of source `v` in mode `mode` (low half; sign-extends to 64). */
export function extend(v: number, mode: number): number {
  switch (mode) {
    case MX_ZX8:
      return v & 0xff;
    case MX_ZX16:
      return v & 0xffff;
    case MX_SX8:
      return (v << 24) >> 24;
    case MX_SX32:
      return v;
    default:
      return (v << 16) >> 16;
  }
}

/** Writes a movzx/movsx result at `size` bits. */
function writeExt(c: CpuCore, r: number, v: number, mode: number, size: number): void {
  GL[r] = v;
  c.lm.hi[r] = size === 64 && mode >= MX_SX8 ? v >> 31 : 0;
}

/** Runs record `r` (kind `k`, instruction length `len`) of the cold kinds. */
export function cold(c: CpuCore, dc: Dcache64, r: number, k: number, len: number): void {
  const a = dc.ka[r] >> 16, b = dc.b[r], d = dc.d[r], i = dc.i[r], j = dc.j[r];
  const H = c.lm.hi;
  switch (k) {
    case 28: { // K64_MOVX_R
      const src = i === MX_ZX8 || i === MX_SX8 ? get8(b) : GL[b];
      return writeExt(c, a, extend(src, i), i, j);
    }
    case 29: { // K64_MOVX_M
      ea(c, b, d, len);
      const bytes = i === MX_ZX8 || i === MX_SX8 ? 1 : i === MX_SX32 ? 4 : 2;
      return writeExt(c, a, extend(load(c, bytes, b), i), i, j);
    }
    case 30: // K64_CMOV (a 32-bit cmov zero-extends even when not taken)
      if (cond(c.flags, i)) {
        GL[a] = GL[b];
        H[a] = j === 64 ? H[b] : 0;
      } else if (j === 32) H[a] = 0;
      return;
    case 31: // K64_SETCC
      return set8(a, cond(c.flags, i) ? 1 : 0);
    case 32: { // K64_SHIFT
      const count = i === COUNT_CL ? GL[1] & 0xff : i;
      if (j === 32 && b >= 4 && (count & 31) !== 0) {
        GL[a] = shift32(c, b, GL[a], count & 31);
        H[a] = 0;
      } else if (j === 64 && b >= 4 && (count & 63) !== 0) {
        GL[a] = shift64(c, b, GL[a], H[a], count & 63);
        H[a] = R[1];
      } else if (shift(c, b, j, GL[a], j === 64 ? H[a] : 0, count)) {
        GL[a] = R[0];
        H[a] = j === 64 ? R[1] : 0;
      } else if (j === 32) H[a] = 0; // a count of 0 still zero-extends
      return;
    }
    case 33: { // K64_ALU8_RR
      const v = alu8(c, i, get8(a), get8(b));
      if (i < F64_CMP) set8(a, v);
      return;
    }
    case 34: { // K64_ALU8_RI
      const v = alu8(c, j, get8(a), i);
      if (j < F64_CMP) set8(a, v);
      return;
    }
    case 35: // K64_LOAD8
      ea(c, b, d, len);
      return set8(a, load(c, 1, b));
    case 36: { // K64_INCDEC_M
      ea(c, b, d, len);
      const bytes = j >> 3;
      const m = load(c, bytes, b);
      const v = incDec(c, i, j, m, vHi);
      return store(c, bytes, b, v, R[1]);
    }
    case 37: // K64_IMUL
      return imul(c, a, b, d, i, j, len);
    case 38: // K64_NOTNEG
      if (i === 2) {
        GL[a] = ~GL[a];
        H[a] = j === 64 ? ~H[a] : 0;
      } else if (j === 64) {
        GL[a] = alu64(c, F64_SUB, 0, 0, GL[a], H[a]);
        H[a] = R[1];
      } else {
        GL[a] = alu32(c, F64_SUB, 0, GL[a]);
        H[a] = 0;
      }
      return;
    case 39: { // K64_XCHG
      const xl = GL[a], xh = H[a];
      GL[a] = GL[b];
      H[a] = j === 64 ? H[b] : 0;
      GL[b] = xl;
      H[b] = j === 64 ? xh : 0;
      return;
    }
    case 40: { // K64_CWD: cwde/cdqe (98), cdq/cqo (99)
      const lo = GL[0];
      if (a === 0x98) {
        if (j === 64) H[0] = lo >> 31;
        else {
          GL[0] = (lo << 16) >> 16;
          H[0] = 0;
        }
      } else if (j === 64) GL[2] = H[2] = H[0] >> 31;
      else {
        GL[2] = lo >> 31;
        H[2] = 0;
      }
      return;
    }
    case 14: { // K64_ALU_MI
      ea(c, b, d, len);
      if (a === 64) {
        const m = load(c, 8, b);
        const v = alu64(c, j, m, vHi, i, i >> 31);
        if (j < F64_CMP) store(c, 8, b, v, R[1]);
      } else if (a === 32) {
        const v = alu32(c, j, load(c, 4, b), i);
        if (j < F64_CMP) store(c, 4, b, v, 0);
      } else {
        const v = alu8(c, j, load(c, 1, b), i);
        if (j < F64_CMP) store(c, 1, b, v, 0);
      }
      return;
    }
    case 13: { // K64_ALU_MR
      ea(c, b, d, len);
      if (j === 64) {
        const m = load(c, 8, b);
        const v = alu64(c, i, m, vHi, GL[a], H[a]);
        if (i < F64_CMP) store(c, 8, b, v, R[1]);
      } else if (j === 32) {
        const v = alu32(c, i, load(c, 4, b), GL[a]);
        if (i < F64_CMP) store(c, 4, b, v, 0);
      } else {
        const v = alu8(c, i, load(c, 1, b), get8(a));
        if (i < F64_CMP) store(c, 1, b, v, 0);
      }
      return;
    }
  }
}
