/**
 * The block compiler's own decoder of 64-bit code: one instruction at a page offset, read
 * from the code bytes of that page (never across it), into an {@link Insn} when it is one
 * of the forms the code generator compiles (codegen.ts), else null (the region ends there
 * and the interpreter runs it). No 0x66/0x67 operand forms, no LOCK, no string forms.
 * @module
 */

/** Instruction kinds. */
export const I_ALU_MR = 1, I_ALU_RM = 2, I_ALU_MI = 3, I_MOV_MR = 4, I_MOV_RM = 5;
export const I_MOV_MI = 6, I_LEA = 7, I_MOVX = 8, I_INCDEC = 9, I_NOTNEG = 10, I_SHIFT = 11;
export const I_PUSH = 12, I_POP = 13, I_PUSH_I = 14, I_JCC = 15, I_JMP = 16, I_CALL = 17;
export const I_RET = 18, I_CMOV = 19, I_SETCC = 20, I_NOP = 21, I_CDQE = 22, I_CQO = 23;
export const I_XCHG = 24, I_JMP_M = 25, I_CALL_M = 26, I_MOV_RI = 27, I_IMUL = 28;

/** ALU sub-operations (group 1 order), and test (an `and` without write-back). */
export const A_ADD = 0, A_OR = 1, A_ADC = 2, A_SBB = 3, A_AND = 4, A_SUB = 5, A_XOR = 6;
export const A_CMP = 7, A_TEST = 8;

/** The base register of a RIP-relative operand. */
export const RIP = 16;

/** One decoded instruction. */
export interface Insn {
  /** Page offset and length. */
  off: number;
  len: number;
  kind: number;
  /** Operand size in bits (8, 32, 64); for movx the destination size. */
  size: number;
  /** ALU / shift / inc-dec sub-operation; movx source size (8, 16, or 32 for movsxd). */
  sub: number;
  /** Sign-extending movx. */
  signed: boolean;
  /** ModRM reg (with REX.R), or the register of the short forms. */
  reg: number;
  /** ModRM r/m register (with REX.B) when not memory. */
  rm: number;
  mem: boolean;
  /** Memory operand: base (-1 none, RIP), index (-1 none), scale (0..3), displacement. */
  base: number;
  index: number;
  scale: number;
  disp: number;
  /** FS/GS override (4, 5) or -1. */
  seg: number;
  /** A REX prefix was present (8-bit registers 4..7 are SPL..DIL). */
  rex: boolean;
  /** Immediate (sign-extended int32), and its high half (imm64 moves). */
  imm: number;
  immHi: number;
  /** Condition code of jcc/cmov/setcc. */
  cc: number;
  /** Branch target as a page offset (may lie outside 0..4095). */
  target: number;
}

function blank(off: number): Insn {
  return {
    off,
    len: 0,
    kind: 0,
    size: 32,
    sub: 0,
    signed: false,
    reg: 0,
    rm: 0,
    mem: false,
    base: -1,
    index: -1,
    scale: 0,
    disp: 0,
    seg: -1,
    rex: false,
    imm: 0,
    immHi: 0,
    cc: 0,
    target: 0,
  };
}

/** A cursor over the code bytes of one page. */
class Bytes {
  p: number;
  constructor(readonly u8: Uint8Array, readonly base: number, off: number) {
    this.p = off;
  }
  /** Whether n more bytes are on the page. */
  has(n: number): boolean {
    return this.p + n <= 4096;
  }
  u(): number {
    return this.u8[this.base + this.p++];
  }
  s8(): number {
    return (this.u() << 24) >> 24;
  }
  s32(): number {
    const b = this.base + this.p;
    this.p += 4;
    const u = this.u8;
    return u[b] | (u[b + 1] << 8) | (u[b + 2] << 16) | (u[b + 3] << 24);
  }
}

/** Decodes ModRM (and SIB, displacement) into `i`; false when it runs off the page. */
function modrm(b: Bytes, i: Insn, rex: number): boolean {
  if (!b.has(1)) return false;
  const m = b.u();
  const mod = m >> 6, rm3 = m & 7;
  i.reg = ((m >> 3) & 7) | ((rex & 4) << 1);
  if (mod === 3) {
    i.mem = false;
    i.rm = rm3 | ((rex & 1) << 3);
    return true;
  }
  i.mem = true;
  let disp32 = mod === 2;
  if (rm3 === 4) {
    if (!b.has(1)) return false;
    const sib = b.u();
    const idx = ((sib >> 3) & 7) | ((rex & 2) << 2), base = (sib & 7) | ((rex & 1) << 3);
    i.scale = sib >> 6;
    i.index = idx === 4 ? -1 : idx;
    if ((base & 7) === 5 && mod === 0) {
      i.base = -1;
      disp32 = true;
    } else i.base = base;
  } else if (rm3 === 5 && mod === 0) {
    i.base = RIP;
    disp32 = true;
  } else i.base = rm3 | ((rex & 1) << 3);
  if (mod === 1) {
    if (!b.has(1)) return false;
    i.disp = b.s8();
  } else if (disp32) {
    if (!b.has(4)) return false;
    i.disp = b.s32();
  }
  return true;
}

/** Reads an immediate of `n` bytes (1 or 4) sign-extended into i.imm. */
function imm(b: Bytes, i: Insn, n: number): boolean {
  if (!b.has(n)) return false;
  i.imm = n === 1 ? b.s8() : b.s32();
  return true;
}

/** Ends an instruction: its length, the RIP-relative displacement from its end. */
function done(b: Bytes, i: Insn): Insn {
  i.len = b.p - i.off;
  if (i.mem && i.base === RIP) i.disp = i.disp + b.p; // now a page offset
  return i;
}

/**
 * Decodes the instruction at page offset `off` of the page at machine address `base`.
 * @returns the instruction, or null when it is not compiled (or not wholly on the page)
 */
export function decodeAt(u8: Uint8Array, base: number, off: number): Insn | null {
  const b = new Bytes(u8, base, off);
  const i = blank(off);
  let rex = 0, o16 = false, rep = 0;
  let op = 0;
  for (;;) {
    if (!b.has(1) || b.p - off > 14) return null;
    op = b.u();
    if ((op & 0xf0) === 0x40) {
      rex = op;
      continue;
    }
    if (op === 0x64 || op === 0x65) i.seg = op === 0x64 ? 4 : 5;
    else if (op === 0x2e || op === 0x3e || op === 0x26 || op === 0x36) {
      // ignored in 64-bit mode (FS/GS keep priority)
    } else if (op === 0x66) o16 = true;
    else if (op === 0xf3) rep = op;
    else break;
    rex = 0; // a REX not directly before the opcode is ignored
  }
  i.rex = rex !== 0;
  const w = (rex & 8) !== 0;
  const size = w ? 64 : 32;
  // Padding and pause: 90 (with 66/F3), the hint space 0F 0D, 0F 18-1F (nopl, endbr64,
  // prefetches: no access) with any of these prefixes.
  if (op === 0x90 && (rex & 1) === 0) {
    i.kind = I_NOP;
    return done(b, i);
  }
  const op2 = b.has(1) ? u8[base + b.p] : 0;
  if (op === 0x0f && (op2 === 0x0d || (op2 >= 0x18 && op2 <= 0x1f))) {
    b.p++;
    if (!modrm(b, i, rex)) return null;
    i.kind = I_NOP;
    i.mem = false; // no access
    return done(b, i);
  }
  if (op === 0xc3 && !o16) {
    i.kind = I_RET;
    return done(b, i);
  }
  if (o16 || rep !== 0) return null;
  if (op < 0x40 && (op & 7) < 6) {
    const form = op & 7;
    i.sub = op >> 3;
    i.size = (form & 1) === 0 ? 8 : size;
    if (form >= 4) {
      i.kind = I_ALU_MI;
      i.rm = 0;
      if (!imm(b, i, form === 4 ? 1 : 4)) return null;
      return done(b, i);
    }
    if (!modrm(b, i, rex)) return null;
    i.kind = form < 2 ? I_ALU_MR : I_ALU_RM;
    return done(b, i);
  }
  if (op >= 0x50 && op < 0x60) {
    i.kind = op < 0x58 ? I_PUSH : I_POP;
    i.reg = (op & 7) | ((rex & 1) << 3);
    i.size = 64;
    return done(b, i);
  }
  if (op >= 0x70 && op < 0x80) {
    if (!imm(b, i, 1)) return null;
    i.kind = I_JCC;
    i.cc = op & 15;
    i.target = b.p + i.imm;
    return done(b, i);
  }
  if (op >= 0xb0 && op < 0xc0) {
    i.reg = (op & 7) | ((rex & 1) << 3);
    i.kind = I_MOV_RI;
    if (op < 0xb8) {
      i.size = 8;
      if (!imm(b, i, 1)) return null;
      i.imm &= 255;
    } else {
      i.size = size;
      if (!imm(b, i, 4)) return null;
      if (w) {
        if (!b.has(4)) return null;
        i.immHi = b.s32();
      }
    }
    return done(b, i);
  }
  switch (op) {
    case 0x0f:
      return twoByte(b, i, rex, size);
    case 0x63:
      if (!w || !modrm(b, i, rex)) return null;
      i.kind = I_MOVX;
      i.size = 64;
      i.sub = 32;
      i.signed = true;
      return done(b, i);
    case 0x69:
    case 0x6b:
      if (!modrm(b, i, rex) || !imm(b, i, op === 0x6b ? 1 : 4)) return null;
      i.kind = I_IMUL;
      i.size = size;
      i.sub = 1; // the immediate is the second factor
      return done(b, i);
    case 0x68:
    case 0x6a:
      if (!imm(b, i, op === 0x6a ? 1 : 4)) return null;
      i.kind = I_PUSH_I;
      return done(b, i);
    case 0x80:
    case 0x81:
    case 0x83:
      if (!modrm(b, i, rex)) return null;
      i.sub = i.reg & 7;
      i.size = op === 0x80 ? 8 : size;
      if (!imm(b, i, op === 0x81 ? 4 : 1)) return null;
      i.kind = I_ALU_MI;
      return done(b, i);
    case 0x84:
    case 0x85:
      if (!modrm(b, i, rex)) return null;
      i.size = op === 0x84 ? 8 : size;
      i.sub = A_TEST;
      i.kind = I_ALU_MR;
      return done(b, i);
    case 0x87:
      if (!modrm(b, i, rex) || i.mem) return null;
      i.size = size;
      i.kind = I_XCHG;
      return done(b, i);
    case 0x88:
    case 0x89:
    case 0x8a:
    case 0x8b:
      if (!modrm(b, i, rex)) return null;
      i.size = (op & 1) === 0 ? 8 : size;
      i.kind = op < 0x8a ? I_MOV_MR : I_MOV_RM;
      return done(b, i);
    case 0x8d:
      if (!modrm(b, i, rex) || !i.mem) return null;
      i.size = size;
      i.kind = I_LEA;
      return done(b, i);
    case 0x98:
      i.kind = I_CDQE;
      i.size = size;
      return done(b, i);
    case 0x99:
      i.kind = I_CQO;
      i.size = size;
      return done(b, i);
    case 0xa8:
    case 0xa9:
      i.size = op === 0xa8 ? 8 : size;
      i.sub = A_TEST;
      i.kind = I_ALU_MI;
      i.rm = 0;
      if (!imm(b, i, op === 0xa8 ? 1 : 4)) return null;
      return done(b, i);
    case 0xc0:
    case 0xc1:
    case 0xd0:
    case 0xd1: {
      if (!modrm(b, i, rex)) return null;
      i.sub = i.reg & 7;
      // shl shr sar at 32 and 64 bits (8-bit counts up to 31 exceed the operand)
      if ((i.sub !== 4 && i.sub !== 5 && i.sub !== 7) || (op & 1) === 0) return null;
      i.size = size;
      if (op < 0xd0) {
        if (!imm(b, i, 1)) return null;
      } else i.imm = 1;
      i.imm &= i.size === 64 ? 63 : 31;
      i.kind = I_SHIFT;
      return done(b, i);
    }
    case 0xc6:
    case 0xc7:
      if (!modrm(b, i, rex) || (i.reg & 7) !== 0) return null;
      i.size = op === 0xc6 ? 8 : size;
      if (!imm(b, i, op === 0xc6 ? 1 : 4)) return null;
      i.kind = I_MOV_MI;
      return done(b, i);
    case 0xe8:
    case 0xe9:
    case 0xeb:
      if (!imm(b, i, op === 0xeb ? 1 : 4)) return null;
      i.kind = op === 0xe8 ? I_CALL : I_JMP;
      i.target = b.p + i.imm;
      return done(b, i);
    case 0xf6:
    case 0xf7: {
      if (!modrm(b, i, rex)) return null;
      const sub = i.reg & 7;
      i.size = op === 0xf6 ? 8 : size;
      if (sub === 0) {
        if (!imm(b, i, op === 0xf6 ? 1 : 4)) return null;
        i.sub = A_TEST;
        i.kind = I_ALU_MI;
      } else if (sub === 2 || sub === 3) {
        i.sub = sub;
        i.kind = I_NOTNEG;
      } else return null;
      return done(b, i);
    }
    case 0xfe:
    case 0xff: {
      if (!modrm(b, i, rex)) return null;
      const sub = i.reg & 7;
      if (sub < 2) {
        i.size = op === 0xfe ? 8 : size;
        i.sub = sub;
        i.kind = I_INCDEC;
        return done(b, i);
      }
      if (op === 0xfe) return null;
      i.size = 64;
      if (sub === 2) i.kind = I_CALL_M;
      else if (sub === 4) i.kind = I_JMP_M;
      else return null;
      return done(b, i);
    }
  }
  return null;
}

function twoByte(b: Bytes, i: Insn, rex: number, size: number): Insn | null {
  if (!b.has(1)) return null;
  const op = b.u();
  if (op >= 0x80 && op < 0x90) {
    if (!imm(b, i, 4)) return null;
    i.kind = I_JCC;
    i.cc = op & 15;
    i.target = b.p + i.imm;
    return done(b, i);
  }
  if ((op & 0xf0) === 0x40 || (op & 0xf0) === 0x90) {
    if (!modrm(b, i, rex)) return null;
    i.cc = op & 15;
    i.kind = op < 0x90 ? I_CMOV : I_SETCC;
    i.size = op < 0x90 ? size : 8;
    return done(b, i);
  }
  if (op === 0xaf) {
    if (!modrm(b, i, rex)) return null;
    i.kind = I_IMUL;
    i.size = size;
    return done(b, i);
  }
  if (op === 0xb6 || op === 0xb7 || op === 0xbe || op === 0xbf) {
    if (!modrm(b, i, rex)) return null;
    i.kind = I_MOVX;
    i.size = size;
    i.sub = (op & 1) === 0 ? 8 : 16;
    i.signed = op >= 0xbe;
    return done(b, i);
  }
  return null;
}
