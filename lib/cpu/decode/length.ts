/**
 * Instruction-length decoder for 32-bit (and 16-bit) code: prefixes, opcode maps,
 * ModRM/SIB/displacement and immediates, with the #UD encodings of the maps.
 * Used by tests, tools and the hypervisor's instruction emulation.
 * @module
 */

import {
  I_AP,
  I_B,
  I_GRP3,
  I_MOFFS,
  I_W,
  I_WB,
  I_Z,
  MAP1,
  MAP2,
  SSE_OPS,
  T_INVALID,
  T_MODRM,
  T_PREFIX,
  x87Valid,
} from "./table.ts";

/** Details of the last {@link instructionLength} call (valid when it returned > 0). */
export const lastDecode = {
  /** The opcode: 0..255 for the one-byte map, 0x100 + op2 for 0F op2. */
  opcode: 0,
  /** The ModRM byte, or -1. */
  modrm: -1,
  /** The last F2/F3 prefix, or 0. */
  rep: 0,
  /** Whether a 66 prefix was seen. */
  opsize: false,
  /** Whether the instruction goes to the SSE unit (validity decided there). */
  sse: false,
};

function lockOk(opcode: number, modrm: number): boolean {
  if (modrm < 0 || modrm >= 0xc0) return false;
  const reg = (modrm >> 3) & 7;
  if (opcode < 0x40) return (opcode & 7) < 2 && (opcode & 0x38) !== 0x38;
  switch (opcode) {
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83:
      return reg !== 7;
    case 0x86:
    case 0x87:
      return true;
    case 0xf6:
    case 0xf7:
      return reg === 2 || reg === 3;
    case 0xfe:
    case 0xff:
      return reg < 2;
    case 0x1ab:
    case 0x1b3:
    case 0x1bb:
    case 0x1b0:
    case 0x1b1:
    case 0x1c0:
    case 0x1c1:
      return true;
    case 0x1ba:
      return reg >= 5;
    case 0x1c7:
      return reg === 1;
  }
  return false;
}

/** ModRM-dependent #UD encodings. */
function modrmValid(opcode: number, modrm: number): boolean {
  const mod3 = modrm >= 0xc0;
  const reg = (modrm >> 3) & 7;
  switch (opcode) {
    case 0x62:
    case 0x8d:
    case 0xc4:
    case 0xc5:
      return !mod3;
    case 0x8c:
      return reg <= 5;
    case 0x8e:
      return reg <= 5 && reg !== 1;
    case 0x8f:
    case 0xc6:
    case 0xc7:
      return reg === 0;
    case 0xfe:
      return reg <= 1;
    case 0xff:
      return reg !== 7 && !(mod3 && (reg === 3 || reg === 5));
    case 0x100:
      return reg <= 5;
    case 0x101:
      return mod3 ? reg === 4 || reg === 6 : reg !== 5;
    case 0x1b2:
    case 0x1b4:
    case 0x1b5:
    case 0x1c3:
      return !mod3;
    case 0x1ba:
      return reg >= 4;
    case 0x1c7:
      return !mod3 && reg === 1;
    case 0x1ae:
      return mod3 ? reg >= 5 : true;
  }
  return true;
}

/**
 * Decodes the length of the instruction at `bytes[off]`.
 * @param code32 true for a 32-bit code segment (default), false for 16-bit
 * @returns the length in bytes (1..15), or -1 for an invalid encoding (#UD, or longer
 *   than 15 bytes, or running past the end of `bytes`)
 */
export function instructionLength(bytes: Uint8Array, off: number, code32 = true): number {
  const end = Math.min(bytes.length, off + 15);
  let i = off;
  let o16 = !code32, a16 = !code32, lock = false, rep = 0, opsize = false;
  let op: number;
  for (;;) {
    if (i >= end) return -1;
    op = bytes[i++];
    if ((MAP1[op] & T_PREFIX) === 0) break;
    if (op === 0x66) {
      o16 = code32;
      opsize = true;
    } else if (op === 0x67) a16 = code32;
    else if (op === 0xf0) lock = true;
    else if (op === 0xf2 || op === 0xf3) rep = op;
  }
  let rowv: number;
  let opcode = op;
  if (op === 0x0f) {
    if (i >= end) return -1;
    const op2 = bytes[i++];
    if (op2 === 0x38 || op2 === 0x3a) return -1; // three-byte maps: not supported
    rowv = MAP2[op2];
    opcode = 0x100 + op2;
  } else rowv = MAP1[op];
  if ((rowv & T_INVALID) !== 0) return -1;
  let modrm = -1;
  if ((rowv & T_MODRM) !== 0) {
    if (i >= end) return -1;
    modrm = bytes[i++];
    const mod = modrm >> 6, rm = modrm & 7;
    if (opcode >= 0x120 && opcode <= 0x123) {
      // mov to/from cr/dr: always a register operand; CR1 and CR5..7 do not exist.
      const reg = (modrm >> 3) & 7;
      if (opcode <= 0x122 && (opcode & 1) === 0 && (reg === 1 || reg > 4)) return -1;
    } else if (mod !== 3) {
      if (a16) {
        if (mod === 1) i += 1;
        else if (mod === 2 || (mod === 0 && rm === 6)) i += 2;
      } else {
        if (rm === 4) {
          if (i >= end) return -1;
          const sib = bytes[i++];
          if (mod === 0 && (sib & 7) === 5) i += 4;
        }
        if (mod === 1) i += 1;
        else if (mod === 2 || (mod === 0 && rm === 5)) i += 4;
      }
    }
    if (!modrmValid(opcode, modrm)) return -1;
    if (op >= 0xd8 && op <= 0xdf && !x87Valid(op, modrm)) return -1;
  }
  const zs = o16 ? 2 : 4;
  switch (rowv >> 4) {
    case I_B:
      i += 1;
      break;
    case I_W:
      i += 2;
      break;
    case I_Z:
      i += zs;
      break;
    case I_AP:
      i += zs + 2;
      break;
    case I_MOFFS:
      i += a16 ? 2 : 4;
      break;
    case I_WB:
      i += 3;
      break;
    case I_GRP3:
      if (((modrm >> 3) & 7) < 2) i += op === 0xf6 ? 1 : zs;
      break;
  }
  if (lock && !lockOk(opcode, modrm)) return -1;
  // Opcodes whose 66/F2/F3 forms are other (unsupported) instructions.
  if ((rep !== 0 || opsize) && (opcode === 0x177 || opcode === 0x1c3 || opcode === 0x1ae)) {
    return -1;
  }
  if (i > end) return -1;
  lastDecode.opcode = opcode;
  lastDecode.modrm = modrm;
  lastDecode.rep = rep;
  lastDecode.opsize = opsize;
  lastDecode.sse = opcode >= 0x100 && SSE_OPS[opcode & 0xff] !== 0;
  return i - off;
}
