/**
 * Instruction-length decoder for 16-, 32- and 64-bit code, driven by the one opcode table
 * (decode/opcodes.ts): prefixes (REX in 64-bit mode), opcode maps, ModRM/SIB/displacement
 * (RIP-relative in 64-bit mode), immediates by operand size, and the #UD encodings (rows
 * missing in the mode, ModRM.reg rules, LOCK). Used by tests, tools and the hypervisor's
 * instruction emulation.
 * @module
 */

import {
  I_AP,
  I_B,
  I_GRP3,
  I_MOFFS,
  I_V,
  I_W,
  I_WB,
  I_Z,
  immKind,
  INFO,
  lockOk,
  MAP_0F,
  MAP_1,
  MODE_LEGACY,
  MODE_LONG,
  modrmOk,
  opIndex,
  OS_F64,
  osKind,
  T_MODRM,
  T_MODRM_REG,
  T_NOPFX,
  T_PREFIX,
  T_REX,
  T_SSE,
  T_VALID,
  T_X87,
  x87Valid,
} from "./opcodes.ts";

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
  /** The REX prefix in effect (0x40..0x4f), or 0. */
  rex: 0,
};

/**
 * Decodes the length of the instruction at `bytes[off]`.
 * @param mode true or 32 for 32-bit code (default), false or 16 for 16-bit code, 64 for
 *   64-bit mode (IA-32e with CS.L)
 * @returns the length in bytes (1..15), or -1 for an invalid encoding (#UD, or longer
 *   than 15 bytes, or running past the end of `bytes`)
 */
export function instructionLength(
  bytes: Uint8Array,
  off: number,
  mode: boolean | 16 | 32 | 64 = true,
): number {
  const long = mode === 64;
  const code32 = mode === true || mode === 32;
  const tm = long ? MODE_LONG : MODE_LEGACY;
  const end = Math.min(bytes.length, off + 15);
  let i = off;
  let o16 = !code32 && !long, a16 = !code32 && !long, a32 = false;
  let lock = false, rep = 0, opsize = false, rex = 0;
  let op: number;
  for (;;) {
    if (i >= end) return -1;
    op = bytes[i++];
    const info = INFO[opIndex(tm, MAP_1, op)];
    if ((info & T_PREFIX) === 0) break;
    if ((info & T_REX) !== 0) {
      rex = op;
      continue;
    }
    rex = 0; // a legacy prefix after REX cancels it
    if (op === 0x66) {
      o16 = long || code32;
      opsize = true;
    } else if (op === 0x67) {
      if (long) a32 = true;
      else a16 = code32;
    } else if (op === 0xf0) lock = true;
    else if (op === 0xf2 || op === 0xf3) rep = op;
  }
  const rexW = (rex & 8) !== 0;
  let idx: number;
  let opcode = op;
  if (op === 0x0f) {
    if (i >= end) return -1;
    const op2 = bytes[i++];
    idx = opIndex(tm, MAP_0F, op2);
    opcode = 0x100 + op2;
  } else idx = opIndex(tm, MAP_1, op);
  const info = INFO[idx];
  if ((info & T_VALID) === 0) return -1;
  let modrm = -1;
  if ((info & T_MODRM) !== 0) {
    if (i >= end) return -1;
    modrm = bytes[i++];
    const mod = modrm >> 6, rm = modrm & 7;
    if ((info & T_MODRM_REG) !== 0) {
      // mov to/from cr/dr: always a register operand; in 64-bit mode REX.R reaches CR8
      // (and no DR8..15 exist).
      if (long && (rex & 4) !== 0) {
        if ((opcode & 1) !== 0 || ((modrm >> 3) & 7) !== 0) return -1;
      } else if (!modrmOk(idx, modrm)) return -1;
    } else {
      if (mod !== 3) {
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
          else if (mod === 2 || (mod === 0 && rm === 5)) i += 4; // RIP-relative in 64-bit
        }
      }
      if (!modrmOk(idx, modrm)) return -1;
    }
    if ((info & T_X87) !== 0 && !x87Valid(op, modrm)) return -1;
  }
  // Operand size of an Iz/Iv immediate: 2 with 66 (and no REX.W), else 4 (8 for Iv + W).
  const f64 = long && osKind(info) === OS_F64;
  const zs = o16 && !rexW && !f64 ? 2 : 4;
  switch (immKind(info)) {
    case I_B:
      i += 1;
      break;
    case I_W:
      i += 2;
      break;
    case I_Z:
      i += zs;
      break;
    case I_V:
      i += rexW ? 8 : zs;
      break;
    case I_AP:
      i += zs + 2;
      break;
    case I_MOFFS:
      i += long ? (a32 ? 4 : 8) : a16 ? 2 : 4;
      break;
    case I_WB:
      i += 3;
      break;
    case I_GRP3:
      if (((modrm >> 3) & 7) < 2) i += op === 0xf6 ? 1 : zs;
      break;
  }
  if (lock && !lockOk(idx, modrm)) return -1;
  // Opcodes whose 66/F2/F3 forms are other (unsupported) instructions.
  if ((rep !== 0 || opsize) && (info & T_NOPFX) !== 0) return -1;
  // 0F B8 is popcnt only behind F3 (the last of F2/F3); bare it is IA-64's jmpe: #UD.
  if (opcode === 0x1b8 && rep !== 0xf3) return -1;
  if (i > end) return -1;
  lastDecode.opcode = opcode;
  lastDecode.modrm = modrm;
  lastDecode.rep = rep;
  lastDecode.opsize = opsize;
  lastDecode.sse = (info & T_SSE) !== 0;
  lastDecode.rex = rex;
  return i - off;
}
