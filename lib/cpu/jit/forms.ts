/**
 * Instruction forms the decoded cache leaves generic (K_GENERIC) that the block compiler
 * recognises from the code bytes itself: movsb/movsd/stosb/stosd without prefixes, the
 * ALU group on AL with imm8 (`cmp al, imm8` ...), the moffs moves of EAX, `leave`,
 * `ret imm16` and `call [reg + disp]` (no SIB). Only the plain encodings (no prefix) are taken, in 32-bit flat code.
 * @module
 */

/** Form codes. */
export const F_MOVS = 1, F_STOS = 2, F_ALU_AL = 3, F_LEAVE = 4, F_RET_IMM = 5;
export const F_MOV_A_MOFFS = 6, F_MOV_MOFFS_A = 7, F_CALL_M = 8;

/** A recognised form: code, length, element size or ALU op, immediate. */
export interface Form {
  f: number;
  len: number;
  /** F_MOVS / F_STOS: element size; F_ALU_AL: ALU group number; F_CALL_M: packed EA. */
  a: number;
  /** Immediate (imm8, imm16 or moffs32), or F_CALL_M's displacement. */
  i: number;
}

/** The form of the instruction at machine address `m` (`room` bytes left), or null. */
export function formAt(u8: Uint8Array, m: number, room: number): Form | null {
  if (room < 5) return null;
  const op = u8[m];
  switch (op) {
    case 0xa4:
    case 0xa5:
      return { f: F_MOVS, len: 1, a: op === 0xa4 ? 1 : 4, i: 0 };
    case 0xaa:
    case 0xab:
      return { f: F_STOS, len: 1, a: op === 0xaa ? 1 : 4, i: 0 };
    case 0xc9:
      return { f: F_LEAVE, len: 1, a: 0, i: 0 };
    case 0xc2:
      return { f: F_RET_IMM, len: 3, a: 0, i: u8[m + 1] | (u8[m + 2] << 8) };
    case 0xa1:
    case 0xa3:
      return {
        f: op === 0xa1 ? F_MOV_A_MOFFS : F_MOV_MOFFS_A,
        len: 5,
        a: 0,
        i: u8[m + 1] | (u8[m + 2] << 8) | (u8[m + 3] << 16) | (u8[m + 4] << 24),
      };
  }
  if (op === 0xff && room >= 6) return callMem(u8, m);
  if (op < 0x40 && (op & 7) === 4) return { f: F_ALU_AL, len: 2, a: op >> 3, i: u8[m + 1] };
  return null;
}

/**
 * `call [base + disp]` (ff /2, a memory operand without SIB, not disp32-only), as a packed
 * effective address (base | no index | segment << 12: SS for ebp, else DS).
 */
function callMem(u8: Uint8Array, m: number): Form | null {
  const modrm = u8[m + 1], mod = modrm >> 6, rm = modrm & 7;
  if (((modrm >> 3) & 7) !== 2 || mod === 3 || rm === 4 || (mod === 0 && rm === 5)) return null;
  const e = rm | 0x80 | ((rm === 5 ? 2 : 3) << 12);
  if (mod === 0) return { f: F_CALL_M, len: 2, a: e, i: 0 };
  if (mod === 1) return { f: F_CALL_M, len: 3, a: e, i: (u8[m + 2] << 24) >> 24 };
  const d = u8[m + 2] | (u8[m + 3] << 8) | (u8[m + 4] << 16) | (u8[m + 5] << 24);
  return { f: F_CALL_M, len: 6, a: e, i: d };
}
