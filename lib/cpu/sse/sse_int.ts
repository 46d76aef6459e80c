/**
 * SSE2 integer operations on xmm registers (66-prefixed 0F 6x/7x/Dx/Ex/Fx): add/sub
 * (wrapping and saturating), multiplies, compares, logic, unpack/pack, averages,
 * min/max, psadbw, shifts and shuffles. Results go to XMM_TMP.
 * @module
 */

import { type SseState, XMM_TMP } from "./sse_state.ts";

const T = XMM_TMP;

function sat8(v: number): number {
  return v > 127 ? 127 : v < -128 ? -128 : v;
}
function satU8(v: number): number {
  return v > 255 ? 255 : v < 0 ? 0 : v;
}
function sat16(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}
function satU16(v: number): number {
  return v > 65535 ? 65535 : v < 0 ? 0 : v;
}

/**
 * The lane-wise and pack/unpack operations, `0F op2` with a 66 prefix.
 * @returns false when op2 is not one of them
 */
export function intOp(x: SseState, op2: number, d: number, s: number): boolean {
  const u8 = x.u8, i8 = x.i8, u16 = x.u16, i16 = x.i16, i32 = x.i32, u32 = x.u32;
  const D8 = d * 16, S8 = s * 16, T8 = T * 16;
  const D16 = d * 8, S16 = s * 8, T16 = T * 8;
  const D32 = d * 4, S32 = s * 4, T32 = T * 4;
  let i: number;
  switch (op2) {
    case 0x60: // punpcklbw
      for (i = 0; i < 8; i++) {
        u8[T8 + 2 * i] = u8[D8 + i];
        u8[T8 + 2 * i + 1] = u8[S8 + i];
      }
      return true;
    case 0x68: // punpckhbw
      for (i = 0; i < 8; i++) {
        u8[T8 + 2 * i] = u8[D8 + 8 + i];
        u8[T8 + 2 * i + 1] = u8[S8 + 8 + i];
      }
      return true;
    case 0x61: // punpcklwd
    case 0x69: // punpckhwd
      for (i = 0; i < 4; i++) {
        const o = op2 === 0x69 ? 4 : 0;
        u16[T16 + 2 * i] = u16[D16 + o + i];
        u16[T16 + 2 * i + 1] = u16[S16 + o + i];
      }
      return true;
    case 0x62: // punpckldq
    case 0x6a: { // punpckhdq
      const o = op2 === 0x6a ? 2 : 0;
      const a0 = i32[D32 + o], a1 = i32[D32 + o + 1], b0 = i32[S32 + o], b1 = i32[S32 + o + 1];
      i32[T32] = a0;
      i32[T32 + 1] = b0;
      i32[T32 + 2] = a1;
      i32[T32 + 3] = b1;
      return true;
    }
    case 0x6c: // punpcklqdq
    case 0x6d: { // punpckhqdq
      const o = op2 === 0x6d ? 2 : 0;
      i32[T32] = i32[D32 + o];
      i32[T32 + 1] = i32[D32 + o + 1];
      i32[T32 + 2] = i32[S32 + o];
      i32[T32 + 3] = i32[S32 + o + 1];
      return true;
    }
    case 0x63: // packsswb
    case 0x67: // packuswb
      for (i = 0; i < 8; i++) {
        const a = i16[D16 + i], b = i16[S16 + i];
        if (op2 === 0x63) {
          i8[T8 + i] = sat8(a);
          i8[T8 + 8 + i] = sat8(b);
        } else {
          u8[T8 + i] = satU8(a);
          u8[T8 + 8 + i] = satU8(b);
        }
      }
      return true;
    case 0x6b: // packssdw
      for (i = 0; i < 4; i++) {
        i16[T16 + i] = sat16(i32[D32 + i]);
        i16[T16 + 4 + i] = sat16(i32[S32 + i]);
      }
      return true;
    case 0x64: // pcmpgtb
    case 0x74: // pcmpeqb
      for (i = 0; i < 16; i++) {
        const t = op2 === 0x64 ? i8[D8 + i] > i8[S8 + i] : u8[D8 + i] === u8[S8 + i];
        u8[T8 + i] = t ? 0xff : 0;
      }
      return true;
    case 0x65: // pcmpgtw
    case 0x75: // pcmpeqw
      for (i = 0; i < 8; i++) {
        const t = op2 === 0x65 ? i16[D16 + i] > i16[S16 + i] : u16[D16 + i] === u16[S16 + i];
        u16[T16 + i] = t ? 0xffff : 0;
      }
      return true;
    case 0x66: // pcmpgtd
    case 0x76: // pcmpeqd
      for (i = 0; i < 4; i++) {
        const t = op2 === 0x66 ? i32[D32 + i] > i32[S32 + i] : i32[D32 + i] === i32[S32 + i];
        i32[T32 + i] = t ? -1 : 0;
      }
      return true;
  }
  if (op2 < 0xd0) return false;
  switch (op2) {
    case 0xd4: // paddq
    case 0xfb: // psubq
      for (i = 0; i < 2; i++) {
        const lo = D32 + 2 * i, slo = S32 + 2 * i;
        if (op2 === 0xd4) {
          const l = u32[lo] + u32[slo];
          u32[T32 + 2 * i] = l;
          u32[T32 + 2 * i + 1] = u32[lo + 1] + u32[slo + 1] + (l > 0xffffffff ? 1 : 0);
        } else {
          const l = u32[lo] - u32[slo];
          u32[T32 + 2 * i] = l;
          u32[T32 + 2 * i + 1] = u32[lo + 1] - u32[slo + 1] - (l < 0 ? 1 : 0);
        }
      }
      return true;
    case 0xd5: // pmullw
      for (i = 0; i < 8; i++) i16[T16 + i] = Math.imul(i16[D16 + i], i16[S16 + i]);
      return true;
    case 0xe5: // pmulhw
      for (i = 0; i < 8; i++) i16[T16 + i] = (i16[D16 + i] * i16[S16 + i]) >> 16;
      return true;
    case 0xe4: // pmulhuw
      for (i = 0; i < 8; i++) u16[T16 + i] = (u16[D16 + i] * u16[S16 + i]) >>> 16;
      return true;
    case 0xf4: // pmuludq: low dword of each qword, 64-bit product
      for (i = 0; i < 2; i++) {
        const a = u32[D32 + 2 * i], b = u32[S32 + 2 * i];
        const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
        const ll = al * bl, mid = ah * bl + al * bh; // mid < 2^33
        const lo = ll + (mid % 65536) * 65536;
        u32[T32 + 2 * i] = lo;
        u32[T32 + 2 * i + 1] = ah * bh + Math.floor(mid / 65536) + Math.floor(lo / 4294967296);
      }
      return true;
    case 0xf5: // pmaddwd
      for (i = 0; i < 4; i++) {
        i32[T32 + i] = (i16[D16 + 2 * i] * i16[S16 + 2 * i] +
          i16[D16 + 2 * i + 1] * i16[S16 + 2 * i + 1]) | 0;
      }
      return true;
    case 0xf6: { // psadbw
      for (let h = 0; h < 2; h++) {
        let sum = 0;
        for (i = 0; i < 8; i++) sum += Math.abs(u8[D8 + 8 * h + i] - u8[S8 + 8 * h + i]);
        i32[T32 + 2 * h] = sum;
        i32[T32 + 2 * h + 1] = 0;
      }
      return true;
    }
    case 0xdb: // pand
    case 0xdf: // pandn
    case 0xeb: // por
    case 0xef: // pxor
      for (i = 0; i < 4; i++) {
        const a = i32[D32 + i], b = i32[S32 + i];
        i32[T32 + i] = op2 === 0xdb ? a & b : op2 === 0xdf ? ~a & b : op2 === 0xeb ? a | b : a ^ b;
      }
      return true;
    case 0xe0: // pavgb
    case 0xda: // pminub
    case 0xde: // pmaxub
    case 0xd8: // psubusb
    case 0xdc: // paddusb
    case 0xe8: // psubsb
    case 0xec: // paddsb
    case 0xf8: // psubb
    case 0xfc: // paddb
      for (i = 0; i < 16; i++) {
        u8[T8 + i] = byteOp(op2, u8[D8 + i], u8[S8 + i], i8[D8 + i], i8[S8 + i]);
      }
      return true;
    case 0xe3: // pavgw
    case 0xea: // pminsw
    case 0xee: // pmaxsw
    case 0xd9: // psubusw
    case 0xdd: // paddusw
    case 0xe9: // psubsw
    case 0xed: // paddsw
    case 0xf9: // psubw
    case 0xfd: // paddw
      for (i = 0; i < 8; i++) {
        u16[T16 + i] = wordOp(op2, u16[D16 + i], u16[S16 + i], i16[D16 + i], i16[S16 + i]);
      }
      return true;
    case 0xfa: // psubd
    case 0xfe: // paddd
      for (i = 0; i < 4; i++) {
        i32[T32 + i] = op2 === 0xfe ? i32[D32 + i] + i32[S32 + i] : i32[D32 + i] - i32[S32 + i];
      }
      return true;
  }
  return false;
}

function byteOp(op2: number, a: number, b: number, sa: number, sb: number): number {
  switch (op2) {
    case 0xe0:
      return (a + b + 1) >> 1;
    case 0xda:
      return a < b ? a : b;
    case 0xde:
      return a > b ? a : b;
    case 0xd8:
      return satU8(a - b);
    case 0xdc:
      return satU8(a + b);
    case 0xe8:
      return sat8(sa - sb) & 0xff;
    case 0xec:
      return sat8(sa + sb) & 0xff;
    case 0xf8:
      return (a - b) & 0xff;
    default:
      return (a + b) & 0xff;
  }
}

function wordOp(op2: number, a: number, b: number, sa: number, sb: number): number {
  switch (op2) {
    case 0xe3:
      return (a + b + 1) >> 1;
    case 0xea:
      return (sa < sb ? sa : sb) & 0xffff;
    case 0xee:
      return (sa > sb ? sa : sb) & 0xffff;
    case 0xd9:
      return satU16(a - b);
    case 0xdd:
      return satU16(a + b);
    case 0xe9:
      return sat16(sa - sb) & 0xffff;
    case 0xed:
      return sat16(sa + sb) & 0xffff;
    case 0xf9:
      return (a - b) & 0xffff;
    default:
      return (a + b) & 0xffff;
  }
}

/** Shift kinds for {@link shiftOp}. */
export const SH_SRL = 2, SH_SRA = 4, SH_SLL = 6;

/**
 * psrl/psra/psll on lanes of `width` bits (16, 32, 64) of register d by `count`
 * (an unsigned count; counts past the width clear the lanes, or fill with the sign).
 */
export function shiftOp(x: SseState, kind: number, width: number, d: number, count: number): void {
  x.copy(T, d);
  const big = count >= width || count < 0;
  if (width === 16) {
    const u16 = x.u16, i16 = x.i16;
    for (let i = T * 8; i < T * 8 + 8; i++) {
      if (kind === SH_SRA) i16[i] = i16[i] >> (big ? 15 : count);
      else if (big) u16[i] = 0;
      else u16[i] = kind === SH_SLL ? u16[i] << count : u16[i] >>> count;
    }
  } else if (width === 32) {
    const i32 = x.i32;
    for (let i = T * 4; i < T * 4 + 4; i++) {
      if (kind === SH_SRA) i32[i] = i32[i] >> (big ? 31 : count);
      else if (big) i32[i] = 0;
      else i32[i] = kind === SH_SLL ? i32[i] << count : i32[i] >>> count;
    }
  } else {
    const u = x.u32;
    for (let q = T * 2; q < T * 2 + 2; q++) {
      const lo = u[2 * q], hi = u[2 * q + 1];
      if (big) u[2 * q] = u[2 * q + 1] = 0;
      else if (count >= 32) {
        if (kind === SH_SLL) {
          u[2 * q + 1] = lo << (count - 32);
          u[2 * q] = 0;
        } else {
          u[2 * q] = hi >>> (count - 32);
          u[2 * q + 1] = 0;
        }
      } else if (count > 0) {
        if (kind === SH_SLL) {
          u[2 * q + 1] = (hi << count) | (lo >>> (32 - count));
          u[2 * q] = lo << count;
        } else {
          u[2 * q] = (lo >>> count) | (hi << (32 - count));
          u[2 * q + 1] = hi >>> count;
        }
      }
    }
  }
}

/** pslldq (left) / psrldq: byte shift of the whole register d. */
export function byteShift(x: SseState, d: number, n: number, left: boolean): void {
  const u8 = x.u8, D = d * 16, TT = T * 16;
  if (n > 16) n = 16;
  for (let i = 0; i < 16; i++) {
    const j = left ? i - n : i + n;
    u8[TT + i] = j >= 0 && j < 16 ? u8[D + j] : 0;
  }
}

/** pshufd / pshuflw / pshufhw (kind 0, 1, 2) of register s by imm8 into XMM_TMP. */
export function pshuf(x: SseState, kind: number, s: number, imm: number): void {
  if (kind === 0) {
    const i32 = x.i32, S = s * 4;
    const a0 = i32[S + (imm & 3)], a1 = i32[S + ((imm >> 2) & 3)];
    const a2 = i32[S + ((imm >> 4) & 3)], a3 = i32[S + ((imm >> 6) & 3)];
    i32[T * 4] = a0;
    i32[T * 4 + 1] = a1;
    i32[T * 4 + 2] = a2;
    i32[T * 4 + 3] = a3;
    return;
  }
  x.copy(T, s);
  const u16 = x.u16, o = kind === 2 ? 4 : 0, S = s * 8 + o, TT = T * 8 + o;
  for (let i = 0; i < 4; i++) u16[TT + i] = u16[S + ((imm >> (2 * i)) & 3)];
}
