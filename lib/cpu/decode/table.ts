/**
 * Opcode properties for the one-byte and 0F maps in 32-bit mode: ModRM presence,
 * immediate kind, validity and the SSE escape rows. Drives the length decoder
 * (decode/length.ts) and the interpreter's SSE dispatch.
 * @module
 */

/** Row bit: the opcode takes a ModRM byte. */
export const T_MODRM = 0x01;
/** Row bit: the opcode is invalid in 32-bit protected mode (#UD). */
export const T_INVALID = 0x02;
/** Row bit: a prefix byte (one-byte map only). */
export const T_PREFIX = 0x04;
/** Immediate kinds (row >> 4). */
export const I_NONE = 0, I_B = 1, I_W = 2, I_Z = 3, I_AP = 4, I_MOFFS = 5, I_WB = 6, I_GRP3 = 7;

function row(flags: number, imm: number): number {
  return flags | (imm << 4);
}

/** One-byte map rows. */
export const MAP1: Uint8Array = new Uint8Array(256);
/** 0F map rows. */
export const MAP2: Uint8Array = new Uint8Array(256);
/** Non-zero for `0F xx` opcodes that go to the SSE unit. */
export const SSE_OPS: Uint8Array = new Uint8Array(256);
/** Non-zero for SSE opcodes that carry an imm8 after the ModRM operand. */
export const SSE_IMM8: Uint8Array = new Uint8Array(256);

function set(map: Uint8Array, from: number, to: number, v: number): void {
  for (let i = from; i <= to; i++) map[i] = v;
}

// ---- one-byte map ---------------------------------------------------------------------
for (let base = 0; base < 0x40; base += 8) {
  set(MAP1, base, base + 3, row(T_MODRM, I_NONE));
  MAP1[base + 4] = row(0, I_B);
  MAP1[base + 5] = row(0, I_Z);
}
// 06/07/0E/16/17/1E/1F push/pop sreg, 27/2F/37/3F BCD: no operands (already 0).
for (const p of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]) {
  MAP1[p] = T_PREFIX;
}
MAP1[0x0f] = 0; // escape, handled by the decoder
MAP1[0x62] = row(T_MODRM, I_NONE);
MAP1[0x63] = row(T_MODRM, I_NONE);
MAP1[0x68] = row(0, I_Z);
MAP1[0x69] = row(T_MODRM, I_Z);
MAP1[0x6a] = row(0, I_B);
MAP1[0x6b] = row(T_MODRM, I_B);
set(MAP1, 0x70, 0x7f, row(0, I_B));
MAP1[0x80] = row(T_MODRM, I_B);
MAP1[0x81] = row(T_MODRM, I_Z);
MAP1[0x82] = row(T_MODRM, I_B);
MAP1[0x83] = row(T_MODRM, I_B);
set(MAP1, 0x84, 0x8f, row(T_MODRM, I_NONE));
MAP1[0x9a] = row(0, I_AP);
set(MAP1, 0xa0, 0xa3, row(0, I_MOFFS));
MAP1[0xa8] = row(0, I_B);
MAP1[0xa9] = row(0, I_Z);
set(MAP1, 0xb0, 0xb7, row(0, I_B));
set(MAP1, 0xb8, 0xbf, row(0, I_Z));
MAP1[0xc0] = row(T_MODRM, I_B);
MAP1[0xc1] = row(T_MODRM, I_B);
MAP1[0xc2] = row(0, I_W);
MAP1[0xc4] = row(T_MODRM, I_NONE);
MAP1[0xc5] = row(T_MODRM, I_NONE);
MAP1[0xc6] = row(T_MODRM, I_B);
MAP1[0xc7] = row(T_MODRM, I_Z);
MAP1[0xc8] = row(0, I_WB);
MAP1[0xca] = row(0, I_W);
MAP1[0xcd] = row(0, I_B);
set(MAP1, 0xd0, 0xd3, row(T_MODRM, I_NONE));
MAP1[0xd4] = row(0, I_B);
MAP1[0xd5] = row(0, I_B);
set(MAP1, 0xd8, 0xdf, row(T_MODRM, I_NONE));
set(MAP1, 0xe0, 0xe7, row(0, I_B));
MAP1[0xe8] = row(0, I_Z);
MAP1[0xe9] = row(0, I_Z);
MAP1[0xea] = row(0, I_AP);
MAP1[0xeb] = row(0, I_B);
MAP1[0xf6] = row(T_MODRM, I_GRP3);
MAP1[0xf7] = row(T_MODRM, I_GRP3);
MAP1[0xfe] = row(T_MODRM, I_NONE);
MAP1[0xff] = row(T_MODRM, I_NONE);

// ---- 0F map ----------------------------------------------------------------------------
set(MAP2, 0, 255, row(T_MODRM, I_NONE));
for (const o of [0x04, 0x0a, 0x0c, 0x0e, 0x0f, 0x24, 0x25, 0x26, 0x27, 0x36, 0x37, 0x39]) {
  MAP2[o] = T_INVALID;
}
set(MAP2, 0x3b, 0x3f, T_INVALID);
set(MAP2, 0x78, 0x7b, T_INVALID); // VMX vmread/vmwrite (#UD outside VMX), holes
MAP2[0xb8] = T_INVALID; // jmpe; F3 0F B8 is popcnt, not implemented
MAP2[0xa6] = T_INVALID;
MAP2[0xa7] = T_INVALID;
for (const o of [0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35]) {
  MAP2[o] = 0;
}
MAP2[0x77] = 0;
set(MAP2, 0x80, 0x8f, row(0, I_Z));
for (const o of [0xa0, 0xa1, 0xa2, 0xa8, 0xa9, 0xaa]) MAP2[o] = 0;
set(MAP2, 0xc8, 0xcf, 0);
for (const o of [0x70, 0x71, 0x72, 0x73, 0xa4, 0xac, 0xba, 0xc2, 0xc4, 0xc5, 0xc6]) {
  MAP2[o] = row(T_MODRM, I_B);
}

// SSE/SSE2 (and the MMX forms sharing their opcodes): the SSE unit decides validity.
set(SSE_OPS, 0x10, 0x17, 1);
set(SSE_OPS, 0x28, 0x2f, 1);
set(SSE_OPS, 0x50, 0x76, 1);
set(SSE_OPS, 0x7c, 0x7f, 1);
for (const o of [0xc2, 0xc4, 0xc5, 0xc6]) SSE_OPS[o] = 1;
set(SSE_OPS, 0xd0, 0xfe, 1);
for (const o of [0x70, 0x71, 0x72, 0x73, 0xc2, 0xc4, 0xc5, 0xc6]) SSE_IMM8[o] = 1;

/**
 * Whether an x87 escape (D8..DF) with this ModRM is a defined instruction (including the
 * undocumented aliases real CPUs execute); the holes raise #UD.
 */
export function x87Valid(op: number, modrm: number): boolean {
  const reg = (modrm >> 3) & 7;
  if (modrm < 0xc0) {
    if (op === 0xd9) return reg !== 1;
    if (op === 0xdb) return reg !== 4 && reg !== 6;
    if (op === 0xdd) return reg !== 5;
    return true;
  }
  switch (op) {
    case 0xd9:
      if (reg === 2) return modrm === 0xd0;
      if (reg === 4) return modrm !== 0xe2 && modrm !== 0xe3 && modrm !== 0xe6 && modrm !== 0xe7;
      if (reg === 5) return modrm !== 0xef;
      return true;
    case 0xda:
      return reg < 4 || modrm === 0xe9;
    case 0xdb:
      if (reg === 4) return modrm >= 0xe0 && modrm <= 0xe4;
      return reg !== 7;
    case 0xdd:
      return reg !== 6 && reg !== 7;
    case 0xde:
      return reg !== 3 || modrm === 0xd9;
    case 0xdf:
      if (reg === 4) return modrm === 0xe0;
      return reg !== 7;
  }
  return true;
}
