/**
 * Group 2 shifts and rotates (rol ror rcl rcr shl shr sal sar) at 8, 16, 32 and 64 bits
 * on int32 halves, flags computed eagerly. The count is masked to 6 bits for 64-bit
 * operands and 5 bits otherwise; a masked count of 0 changes no flag. The result goes
 * to {@link R} (alu64.ts).
 * @module
 */

import type { CpuCore } from "../core.ts";
import { F_AF, F_CF, F_OF, F_PF, F_SF, F_ZF, LF_NONE, materialize, PARITY } from "../flags.ts";
import { R } from "./alu64.ts";

/** Bit i (0..63) of the 64-bit value (lo, hi). */
function bit(lo: number, hi: number, i: number): number {
  return i < 32 ? (lo >>> i) & 1 : (hi >>> (i - 32)) & 1;
}

/** (lo, hi) << n for n in 1..63 into R. */
function shl64(lo: number, hi: number, n: number): void {
  if (n < 32) {
    R[0] = lo << n;
    R[1] = (hi << n) | (lo >>> (32 - n));
  } else {
    R[0] = 0;
    R[1] = lo << (n - 32);
  }
}

/** (lo, hi) >> n for n in 1..63 into R, arithmetic when `arith`. */
function shr64(lo: number, hi: number, n: number, arith: boolean): void {
  if (n < 32) {
    R[0] = (lo >>> n) | (hi << (32 - n));
    R[1] = arith ? hi >> n : hi >>> n;
  } else {
    R[0] = arith ? hi >> (n - 32) : hi >>> (n - 32);
    R[1] = arith ? hi >> 31 : 0;
  }
}

/**
 * Executes group 2 operation `op` (the ModRM reg field, 0..7; 6 is sal) on (aLo, aHi) at
 * `size` bits by `count` (unmasked). Returns false when the masked count is 0 (nothing
 * changes and the caller skips the write-back).
 */
export function shift(
  c: CpuCore,
  op: number,
  size: number,
  aLo: number,
  aHi: number,
  count: number,
): boolean {
  const wide = size === 64;
  const n = count & (wide ? 63 : 31);
  if (n === 0) return false;
  let fl = c.flags;
  if (c.lfOp !== LF_NONE) {
    fl = materialize(c);
    c.lfOp = LF_NONE;
  }
  const m = size === 32 ? -1 : size === 16 ? 0xffff : 0xff;
  const lo = wide ? aLo : aLo & m, hi = wide ? aHi : 0;
  const top = size - 1;
  let cf = 0, of = 0;
  if (op < 4) {
    // Rotates: only CF and OF change.
    if (op < 2) {
      const k = n % size;
      if (k === 0) {
        R[0] = lo;
        R[1] = hi;
      } else if (wide) {
        const l = op === 0 ? k : 64 - k;
        shl64(lo, hi, l);
        const sl = R[0], sh = R[1];
        shr64(lo, hi, 64 - l, false);
        R[0] |= sl;
        R[1] |= sh;
      } else {
        const l = op === 0 ? k : size - k;
        R[0] = ((lo << l) | (lo >>> (size - l))) & m;
        R[1] = 0;
      }
      const msb = bit(R[0], R[1], top);
      if (op === 0) {
        cf = R[0] & 1;
        of = msb ^ cf;
      } else {
        cf = msb;
        of = msb ^ bit(R[0], R[1], top - 1);
      }
    } else {
      // rcl / rcr through CF, one bit at a time (at most 64 steps).
      const k = wide || size === 32 ? n : n % (size + 1);
      let l = lo, h = hi, cy = fl & F_CF;
      for (let i = 0; i < k; i++) {
        if (op === 2) {
          const out = bit(l, h, top);
          if (wide) {
            h = (h << 1) | (l >>> 31);
            l = (l << 1) | cy;
          } else l = ((l << 1) | cy) & m;
          cy = out;
        } else {
          const out = l & 1;
          if (wide) {
            l = (l >>> 1) | (h << 31);
            h = (h >>> 1) | (cy << 31);
          } else l = ((l >>> 1) | (cy << top)) & m;
          cy = out;
        }
      }
      R[0] = l;
      R[1] = wide ? h : 0;
      cf = cy;
      // rcr: MSB XOR the next bit of the result (= the SDM's rule for a count of 1).
      of = op === 2 ? bit(l, h, top) ^ cy : bit(l, h, top) ^ bit(l, h, top - 1);
    }
    fl &= ~(F_CF | F_OF);
  } else {
    if (wide) {
      if (op === 4 || op === 6) {
        shl64(lo, hi, n);
        cf = bit(lo, hi, 64 - n);
      } else {
        shr64(lo, hi, n, op === 7);
        cf = bit(lo, hi, n - 1);
      }
    } else if (op === 4 || op === 6) {
      R[0] = (lo << n) & m;
      cf = n <= size ? (lo >>> (size - n)) & 1 : 0;
    } else if (op === 5) {
      R[0] = lo >>> n;
      cf = (lo >>> (n - 1)) & 1;
    } else {
      const s = (lo << (32 - size)) >> (32 - size);
      R[0] = (s >> n) & m;
      cf = (s >> (n - 1)) & 1;
    }
    if (!wide) R[1] = 0;
    const msb = bit(R[0], R[1], top);
    // shr/sar: MSB XOR the next bit of the result (the SDM's rule for a count of 1; the
    // host's for larger counts); AF is set, as the host does.
    of = op === 4 || op === 6 ? msb ^ cf : msb ^ bit(R[0], R[1], top - 1);
    fl &= ~(F_CF | F_OF | F_SF | F_ZF | F_PF);
    fl |= F_AF;
    if (msb) fl |= F_SF;
    if (R[0] === 0 && R[1] === 0) fl |= F_ZF;
    fl |= PARITY[R[0] & 0xff];
  }
  if (cf) fl |= F_CF;
  if (of) fl |= F_OF;
  c.flags = fl;
  return true;
}

const P32 = 4294967296, P48 = 281474976710656;

/**
 * shld (`left`) or shrd of the destination (dLo, dHi) with bits from (sLo, sHi) at `size`
 * bits by `count` (unmasked), result in {@link R}. 16-bit counts of 17..31 shift the
 * 48-bit funnel dst:src:src as the host CPU does (the SDM leaves them undefined). OF is
 * CF XOR MSB (shld; CF for 16-bit counts of 16 and more) or MSB XOR the next bit (shrd),
 * the SDM's rule for count 1 and the host's for larger counts; AF is set.
 * @returns false when the masked count is 0 (nothing changes)
 */
export function shiftDouble(
  c: CpuCore,
  left: boolean,
  size: number,
  dLo: number,
  dHi: number,
  sLo: number,
  sHi: number,
  count: number,
): boolean {
  const n = count & (size === 64 ? 63 : 31);
  if (n === 0) return false;
  let cf: number;
  if (size === 64) {
    if (left) {
      shl64(dLo, dHi, n);
      const a0 = R[0], a1 = R[1];
      shr64(sLo, sHi, 64 - n, false);
      R[0] |= a0;
      R[1] |= a1;
      cf = bit(dLo, dHi, 64 - n);
    } else {
      shr64(dLo, dHi, n, false);
      const a0 = R[0], a1 = R[1];
      shl64(sLo, sHi, 64 - n);
      R[0] |= a0;
      R[1] |= a1;
      cf = bit(dLo, dHi, n - 1);
    }
  } else if (size === 32) {
    R[1] = 0;
    if (left) {
      R[0] = (dLo << n) | (sLo >>> (32 - n));
      cf = (dLo >>> (32 - n)) & 1;
    } else {
      R[0] = (dLo >>> n) | (sLo << (32 - n));
      cf = (dLo >>> (n - 1)) & 1;
    }
  } else {
    const d = dLo & 0xffff, s = sLo & 0xffff;
    R[1] = 0;
    if (left) {
      const x = (d * P32 + s * 65536 + s) * 2 ** n;
      R[0] = Math.floor(x / P32) % 65536;
      cf = Math.floor(x / P48) % 2;
    } else {
      const v = s * P32 + s * 65536 + d;
      R[0] = Math.floor(v / 2 ** n) % 65536;
      cf = Math.floor(v / 2 ** (n - 1)) % 2;
    }
  }
  let fl = c.flags;
  if (c.lfOp !== LF_NONE) {
    fl = materialize(c);
    c.lfOp = LF_NONE;
  }
  const top = size - 1, msb = bit(R[0], R[1], top);
  // 16-bit shld by 16 or more: OF = CF on the host (AMD).
  const of = left ? (size === 16 && n >= 16 ? cf : cf ^ msb) : msb ^ bit(R[0], R[1], top - 1);
  fl &= ~(F_CF | F_OF | F_SF | F_ZF | F_PF | F_AF);
  fl |= F_AF | PARITY[R[0] & 0xff];
  if (cf) fl |= F_CF;
  if (of) fl |= F_OF;
  if (msb) fl |= F_SF;
  if (R[0] === 0 && R[1] === 0) fl |= F_ZF;
  c.flags = fl;
  return true;
}
