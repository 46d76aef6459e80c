/**
 * Decodes one 64-bit instruction from machine memory into a {@link Dcache64} record for
 * the fast loop (fast64.ts): the hot general-purpose forms at 32 and 64 bits (and a few
 * 8-bit ones) with REX-resolved register numbers; anything else (16-bit operands, LOCK,
 * REP, 0x67, system and string instructions, an instruction reaching past its code page)
 * is recorded as {@link K64_GENERIC} and runs through step64.ts.
 *
 * Registers are 0..15 (RAX..R15); 8-bit register operands are 0..15 for AL..R15B (SPL..
 * DIL with REX) and 16..19 for AH..BH (no REX). A memory operand is packed into one int
 * (`b`): base (0..15, {@link EA_NONE}), index, scale, FS/GS, RIP-relative, stack access;
 * the displacement goes to `d`. RIP-relative operands and branch targets are kept
 * relative (the same frame may be mapped at several linear addresses).
 * @module
 */

import type { Dcache64 } from "./dcache64.ts";

/** Record kinds (0 = not decoded). */
export const K64_GENERIC = 1,
  K64_NOP = 2,
  K64_MOV_RR = 3,
  K64_MOV_RI = 4,
  K64_LOAD = 5,
  K64_STORE = 6;
export const K64_STORE_I = 7,
  K64_ALU_RR32 = 8,
  K64_ALU_RR64 = 9,
  K64_ALU_RI32 = 10,
  K64_ALU_RI64 = 11;
export const K64_ALU_RM = 12, K64_ALU_MR = 13, K64_ALU_MI = 14, K64_LEA = 15, K64_INCDEC_R = 16;
export const K64_PUSH_R = 17,
  K64_POP_R = 18,
  K64_PUSH_I = 19,
  K64_CALL = 20,
  K64_RET = 21,
  K64_JMP = 22;
export const K64_JCC = 23, K64_JMP_R = 24, K64_CALL_R = 25, K64_JMP_M = 26, K64_CALL_M = 27;
export const K64_MOVX_R = 28, K64_MOVX_M = 29, K64_CMOV = 30, K64_SETCC = 31, K64_SHIFT = 32;
export const K64_ALU8_RR = 33, K64_ALU8_RI = 34, K64_LOAD8 = 35, K64_INCDEC_M = 36, K64_IMUL = 37;
export const K64_NOTNEG = 38, K64_XCHG = 39, K64_CWD = 40;
/** Block end: the loop looks RIP up again (nothing retires). */
export const K64_END = 41;
/** Longest block (instructions). */
export const BLOCK64_MAX = 48;

/** K64_IMUL's `j`: operand size, plus these bits. */
export const IMUL_IMM = 0x100, IMUL_MEM = 0x200;

/** Packed memory operand: base bits 0-4, index 5-9, scale 10-11, segment 12-13. */
export const EA_NONE = 16, EA_FS = 1 << 12, EA_GS = 2 << 12;
/** RIP-relative (from the end of the instruction). */
export const EA_RIP = 1 << 14;
/** Stack access (RSP/RBP base, no FS/GS): a non-canonical address is #SS(0). */
export const EA_SS = 1 << 15;

/** movzx/movsx modes (K64_MOVX_*: `i`). */
export const MX_ZX8 = 0, MX_ZX16 = 1, MX_SX8 = 2, MX_SX16 = 3, MX_SX32 = 4;

/** Shift amount in K64_SHIFT's `i` meaning "CL". */
export const COUNT_CL = -1;

// The instruction being decoded: machine position, page end, start.
let u8: Uint8Array = new Uint8Array(0);
let pos = 0, lim = 0, start = 0;
let bad = false;

function byte(): number {
  if (pos >= lim) {
    bad = true;
    return 0;
  }
  return u8[pos++];
}

function imm8(): number {
  return (byte() << 24) >> 24;
}

function imm32(): number {
  if (pos + 4 > lim) {
    bad = true;
    pos = lim;
    return 0;
  }
  const v = u8[pos] | (u8[pos + 1] << 8) | (u8[pos + 2] << 16) | (u8[pos + 3] << 24);
  pos += 4;
  return v;
}

// The decoded ModRM.
let mReg = 0, mRm = 0, mMem = false, mB = 0, mD = 0;

function modrm(rex: number, seg: number): void {
  const b = byte();
  const mod = b >> 6, rm3 = b & 7;
  mReg = ((b >> 3) & 7) | ((rex & 4) << 1);
  if (mod === 3) {
    mMem = false;
    mRm = rm3 | ((rex & 1) << 3);
    return;
  }
  mMem = true;
  let base = EA_NONE, idx = EA_NONE, scale = 0, disp32 = mod === 2, stack = false;
  if (rm3 === 4) {
    const sib = byte();
    scale = sib >> 6;
    const x = ((sib >> 3) & 7) | ((rex & 2) << 2);
    if (x !== 4) idx = x;
    const bs = (sib & 7) | ((rex & 1) << 3);
    if ((bs & 7) === 5 && mod === 0) disp32 = true;
    else {
      base = bs;
      stack = bs === 4 || bs === 5;
    }
  } else if (rm3 === 5 && mod === 0) {
    mB = EA_RIP | EA_NONE | (EA_NONE << 5) | seg;
    mD = imm32();
    return;
  } else {
    base = rm3 | ((rex & 1) << 3);
    stack = base === 5;
  }
  mB = base | (idx << 5) | (scale << 10) | seg | (stack && seg === 0 ? EA_SS : 0);
  mD = mod === 1 ? imm8() : disp32 ? imm32() : 0;
}

/** The 8-bit register code of ModRM register r (AH..BH without REX). */
function reg8(r: number, rex: number): number {
  return rex === 0 && r >= 4 && r < 8 ? 12 + r : r;
}

// The record being built.
let kind = 0, ra = 0, rb = 0, rd = 0, ri = 0, rj = 0;

function rec(k: number, a: number, b: number, d: number, i: number, j: number): void {
  kind = k;
  ra = a;
  rb = b;
  rd = d;
  ri = i;
  rj = j;
}

/** ALU forms 00-3F (op 0..7, form 0..5). */
function aluForm(op: number, form: number, rex: number, seg: number, size: number): void {
  if (form >= 4) {
    const imm = form === 4 ? imm8() : imm32();
    if (form === 4) return rec(K64_ALU8_RI, 0, 0, 0, imm, op);
    return rec(size === 64 ? K64_ALU_RI64 : K64_ALU_RI32, 0, 0, 0, imm, op);
  }
  modrm(rex, seg);
  const byteOp = (form & 1) === 0, sz = byteOp ? 8 : size;
  if (!mMem) {
    if (byteOp) {
      const r = reg8(mReg, rex), m = reg8(mRm, rex);
      return form === 0 ? rec(K64_ALU8_RR, m, r, 0, op, 0) : rec(K64_ALU8_RR, r, m, 0, op, 0);
    }
    const k = size === 64 ? K64_ALU_RR64 : K64_ALU_RR32;
    return form === 1 ? rec(k, mRm, mReg, 0, op, 0) : rec(k, mReg, mRm, 0, op, 0);
  }
  const r = byteOp ? reg8(mReg, rex) : mReg;
  rec(form < 2 ? K64_ALU_MR : K64_ALU_RM, r, mB, mD, op, sz);
}

function twoByte(rex: number, seg: number, size: number): void {
  const b = byte();
  if (b >= 0x80 && b <= 0x8f) return rec(K64_JCC, b & 15, 0, 0, imm32(), 0);
  if ((b & 0xf0) === 0x40) {
    modrm(rex, seg);
    if (mMem) return rec(K64_GENERIC, 0, 0, 0, 0, 0);
    return rec(K64_CMOV, mReg, mRm, 0, b & 15, size);
  }
  if ((b & 0xf0) === 0x90) {
    modrm(rex, seg);
    if (mMem) return rec(K64_GENERIC, 0, 0, 0, 0, 0);
    return rec(K64_SETCC, reg8(mRm, rex), 0, 0, b & 15, 0);
  }
  switch (b) {
    case 0x1f:
      modrm(rex, seg);
      return rec(K64_NOP, 0, 0, 0, 0, 0);
    case 0xaf:
      modrm(rex, seg);
      if (mMem) return rec(K64_IMUL, mReg, mB, mD, 0, size | IMUL_MEM);
      return rec(K64_IMUL, mReg, mRm, 0, 0, size);
    case 0xb6:
    case 0xb7:
    case 0xbe:
    case 0xbf: {
      modrm(rex, seg);
      const mode = b === 0xb6 ? MX_ZX8 : b === 0xb7 ? MX_ZX16 : b === 0xbe ? MX_SX8 : MX_SX16;
      if (mMem) return rec(K64_MOVX_M, mReg, mB, mD, mode, size);
      const src = (b & 1) === 0 ? reg8(mRm, rex) : mRm;
      return rec(K64_MOVX_R, mReg, src, 0, mode, size);
    }
  }
  rec(K64_GENERIC, 0, 0, 0, 0, 0);
}

function oneByte(b: number, rex: number, seg: number): void {
  const size = (rex & 8) !== 0 ? 64 : 32;
  if (b < 0x40) {
    if (b === 0x0f) return twoByte(rex, seg, size);
    if ((b & 7) < 6) return aluForm(b >> 3, b & 7, rex, seg, size);
    return rec(K64_GENERIC, 0, 0, 0, 0, 0);
  }
  if (b >= 0x50 && b < 0x58) return rec(K64_PUSH_R, (b & 7) | ((rex & 1) << 3), 0, 0, 0, 0);
  if (b >= 0x58 && b < 0x60) return rec(K64_POP_R, (b & 7) | ((rex & 1) << 3), 0, 0, 0, 0);
  if (b >= 0x70 && b < 0x80) return rec(K64_JCC, b & 15, 0, 0, imm8(), 0);
  if (b > 0x90 && b < 0x98) return rec(K64_XCHG, 0, (b & 7) | ((rex & 1) << 3), 0, 0, size);
  if (b >= 0xb8 && b < 0xc0) {
    const r = (b & 7) | ((rex & 1) << 3);
    const lo = imm32();
    return rec(K64_MOV_RI, r, 0, 0, lo, size === 64 ? imm32() : 0);
  }
  switch (b) {
    case 0x63:
      modrm(rex, seg);
      if (size !== 64) return rec(K64_GENERIC, 0, 0, 0, 0, 0);
      if (mMem) return rec(K64_MOVX_M, mReg, mB, mD, MX_SX32, 64);
      return rec(K64_MOVX_R, mReg, mRm, 0, MX_SX32, 64);
    case 0x68:
      return rec(K64_PUSH_I, 0, 0, 0, imm32(), 0);
    case 0x69:
    case 0x6b: {
      modrm(rex, seg);
      const imm = b === 0x69 ? imm32() : imm8();
      if (mMem) return rec(K64_IMUL, mReg, mB, mD, imm, size | IMUL_MEM | IMUL_IMM);
      return rec(K64_IMUL, mReg, mRm, 0, imm, size | IMUL_IMM);
    }
    case 0x87:
      modrm(rex, seg);
      if (mMem) return rec(K64_GENERIC, 0, 0, 0, 0, 0);
      return rec(K64_XCHG, mReg, mRm, 0, 0, size);
    case 0x98:
    case 0x99:
      return rec(K64_CWD, b, 0, 0, 0, size);
    case 0x6a:
      return rec(K64_PUSH_I, 0, 0, 0, imm8(), 0);
    case 0x80:
    case 0x81:
    case 0x83: {
      modrm(rex, seg);
      const imm = b === 0x81 ? imm32() : imm8();
      const op = mReg & 7;
      if (b === 0x80) {
        if (mMem) return rec(K64_ALU_MI, 8, mB, mD, imm, op);
        return rec(K64_ALU8_RI, reg8(mRm, rex), 0, 0, imm, op);
      }
      if (mMem) return rec(K64_ALU_MI, size, mB, mD, imm, op);
      return rec(size === 64 ? K64_ALU_RI64 : K64_ALU_RI32, mRm, 0, 0, imm, op);
    }
    case 0x84:
    case 0x85: {
      modrm(rex, seg);
      if (b === 0x84) {
        const r = reg8(mReg, rex);
        if (mMem) return rec(K64_ALU_MR, r, mB, mD, 8, 8);
        return rec(K64_ALU8_RR, reg8(mRm, rex), r, 0, 8, 0);
      }
      if (mMem) return rec(K64_ALU_MR, mReg, mB, mD, 8, size);
      return rec(size === 64 ? K64_ALU_RR64 : K64_ALU_RR32, mRm, mReg, 0, 8, 0);
    }
    case 0x88:
    case 0x89:
      modrm(rex, seg);
      if (b === 0x88) {
        if (!mMem) return rec(K64_GENERIC, 0, 0, 0, 0, 0);
        return rec(K64_STORE, reg8(mReg, rex), mB, mD, 0, 1);
      }
      if (mMem) return rec(K64_STORE, mReg, mB, mD, 0, size >> 3);
      return rec(K64_MOV_RR, mRm, mReg, 0, 0, size);
    case 0x8a:
    case 0x8b:
      modrm(rex, seg);
      if (b === 0x8a) {
        if (!mMem) return rec(K64_GENERIC, 0, 0, 0, 0, 0);
        return rec(K64_LOAD8, reg8(mReg, rex), mB, mD, 0, 0);
      }
      if (mMem) return rec(K64_LOAD, mReg, mB, mD, 0, size >> 3);
      return rec(K64_MOV_RR, mReg, mRm, 0, 0, size);
    case 0x8d:
      modrm(rex, seg);
      if (!mMem) return rec(K64_GENERIC, 0, 0, 0, 0, 0);
      // lea ignores the segment: the base is not added
      return rec(K64_LEA, mReg, mB & ~(3 << 12), mD, 0, size);
    case 0x90:
      if ((rex & 1) !== 0) return rec(K64_XCHG, 0, 8, 0, 0, size);
      return rec(K64_NOP, 0, 0, 0, 0, 0);
    case 0xa8:
      return rec(K64_ALU8_RI, 0, 0, 0, imm8(), 8);
    case 0xa9:
      return rec(size === 64 ? K64_ALU_RI64 : K64_ALU_RI32, 0, 0, 0, imm32(), 8);
    case 0xc1:
    case 0xd1:
    case 0xd3: {
      modrm(rex, seg);
      const count = b === 0xc1 ? byte() : b === 0xd1 ? 1 : COUNT_CL;
      if (mMem) return rec(K64_GENERIC, 0, 0, 0, 0, 0);
      return rec(K64_SHIFT, mRm, mReg & 7, 0, count, size);
    }
    case 0xc3:
      return rec(K64_RET, 0, 0, 0, 0, 0);
    case 0xc6:
    case 0xc7: {
      modrm(rex, seg);
      const imm = b === 0xc6 ? imm8() : imm32();
      if ((mReg & 7) !== 0) return rec(K64_GENERIC, 0, 0, 0, 0, 0);
      if (mMem) return rec(K64_STORE_I, 0, mB, mD, imm, b === 0xc6 ? 1 : size >> 3);
      if (b === 0xc6) return rec(K64_GENERIC, 0, 0, 0, 0, 0);
      return rec(K64_MOV_RI, mRm, 0, 0, imm, size === 64 ? imm >> 31 : 0);
    }
    case 0xe8:
      return rec(K64_CALL, 0, 0, 0, imm32(), 0);
    case 0xe9:
      return rec(K64_JMP, 0, 0, 0, imm32(), 0);
    case 0xeb:
      return rec(K64_JMP, 0, 0, 0, imm8(), 0);
    case 0xf6:
    case 0xf7: {
      modrm(rex, seg);
      const sub = mReg & 7;
      if (b === 0xf7 && !mMem && (sub === 2 || sub === 3)) {
        return rec(K64_NOTNEG, mRm, 0, 0, sub, size);
      }
      if (sub !== 0) return rec(K64_GENERIC, 0, 0, 0, 0, 0);
      if (b === 0xf6) {
        const imm = imm8();
        if (mMem) return rec(K64_ALU_MI, 8, mB, mD, imm, 8);
        return rec(K64_ALU8_RI, reg8(mRm, rex), 0, 0, imm, 8);
      }
      const imm = imm32();
      if (mMem) return rec(K64_ALU_MI, size, mB, mD, imm, 8);
      return rec(size === 64 ? K64_ALU_RI64 : K64_ALU_RI32, mRm, 0, 0, imm, 8);
    }
    case 0xff: {
      modrm(rex, seg);
      const sub = mReg & 7;
      if (sub < 2) {
        const delta = sub === 0 ? 1 : -1;
        if (mMem) return rec(K64_INCDEC_M, 0, mB, mD, delta, size);
        return rec(K64_INCDEC_R, mRm, 0, 0, delta, size);
      }
      if (sub === 2) {
        return mMem ? rec(K64_CALL_M, 0, mB, mD, 0, 0) : rec(K64_CALL_R, mRm, 0, 0, 0, 0);
      }
      if (sub === 4) {
        return mMem ? rec(K64_JMP_M, 0, mB, mD, 0, 0) : rec(K64_JMP_R, mRm, 0, 0, 0, 0);
      }
      return rec(K64_GENERIC, 0, 0, 0, 0, 0);
    }
  }
  rec(K64_GENERIC, 0, 0, 0, 0, 0);
}

/** Decodes the instruction at machine address `m` (page offset `off`) into the record vars. */
function decodeOne(m: number, off: number): void {
  start = pos = m;
  lim = m - off + 4096;
  if (lim > start + 15) lim = start + 15;
  bad = false;
  let rex = 0, seg = 0, plain = true, o16 = false;
  let b = byte();
  for (;; b = byte()) {
    if ((b & 0xf0) === 0x40) {
      rex = b;
      continue;
    }
    if (b === 0x66) o16 = true;
    else if (b === 0x64) seg = EA_FS;
    else if (b === 0x65) seg = EA_GS;
    else if (b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e) {
      // ignored in 64-bit mode (base 0; FS/GS keep priority)
    } else if (b === 0x67 || b === 0xf0 || b === 0xf2 || b === 0xf3) plain = false;
    else break;
    rex = 0; // a REX not directly before the opcode is ignored
    if (bad) break;
  }
  if (bad || !plain) rec(K64_GENERIC, 0, 0, 0, 0, 0);
  else if (o16) {
    // 16-bit operands run through step64; the nop forms are common padding
    if (b === 0x90 && (rex & 1) === 0) rec(K64_NOP, 0, 0, 0, 0, 0);
    else if (b === 0x0f && byte() === 0x1f) {
      modrm(rex, seg);
      rec(K64_NOP, 0, 0, 0, 0, 0);
    } else rec(K64_GENERIC, 0, 0, 0, 0, 0);
  } else oneByte(b, rex, seg);
  if (bad) kind = K64_GENERIC;
}

/** Whether a kind ends a block (control transfers and step64's instructions). */
function ends(k: number): boolean {
  return k === K64_GENERIC || (k >= K64_CALL && k <= K64_CALL_M);
}

/**
 * Decodes the straight-line block at machine address `m` (page offset `off` of a code
 * frame) into consecutive new records of `dc`: up to {@link BLOCK64_MAX} instructions,
 * ending with a control transfer or a generic instruction, or with a {@link K64_END}
 * record at the page end or the length limit. Each instruction's offset is indexed in
 * `arr` where it was not yet.
 * @returns the first record
 */
export function decodeBlock(
  dc: Dcache64,
  mem: Uint8Array,
  m: number,
  arr: Int32Array,
  off: number,
): number {
  u8 = mem;
  dc.reserve(BLOCK64_MAX + 1);
  const first = dc.next;
  for (let n = 0;; n++) {
    if (off >= 4096 || n === BLOCK64_MAX) {
      dc.put(K64_END, 0, 0, 0, 0, 0, 0);
      break;
    }
    decodeOne(m, off);
    const len = pos - start;
    const r = dc.put(kind, len, ra, rb, rd, ri, rj);
    if (arr[off] === 0) arr[off] = r;
    if (ends(kind)) break;
    m += len;
    off += len;
  }
  return first;
}
