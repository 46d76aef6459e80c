/**
 * Decodes the hot 32-bit instruction forms into DecodedCache records (the rest become
 * K_GENERIC). Only called for a 32-bit flat code segment; an optional segment override
 * is kept in the effective address, any other prefix gives K_GENERIC.
 * @module
 */

import {
  BLOCK_MAX,
  type DecodedCache,
  K_ALU8_MI,
  K_ALU8_RI,
  K_ALU8_RR,
  K_ALU_AI,
  K_ALU_MI,
  K_ALU_MR,
  K_ALU_RI,
  K_ALU_RM,
  K_ALU_RR,
  K_CALL,
  K_CALL_R,
  K_CDQ,
  K_CMOV,
  K_DEC,
  K_DEC_M,
  K_END,
  K_GENERIC,
  K_IMUL_RM,
  K_IMUL_RRI,
  K_INC,
  K_INC_M,
  K_JCC,
  K_JMP,
  K_JMP_R,
  K_LEA,
  K_MOV8_MI,
  K_MOV8_MR,
  K_MOV8_RM,
  K_MOV_MI,
  K_MOV_MR,
  K_MOV_RI,
  K_MOV_RM,
  K_MOV_RR,
  K_MOVX_RM,
  K_MOVX_RR,
  K_NOP,
  K_POP_R,
  K_PUSH_I,
  K_PUSH_R,
  K_RET,
  K_SETCC,
  K_SHIFT_RI,
  K_TEST_RI,
  K_XCHG_R,
  OP_TEST,
} from "../decoded_cache.ts";

const SS = 2, DS = 3, NOREG = 8;

// Scratch results of ea().
let eaPack = 0, eaDisp = 0, eaEnd = 0;

/** Decodes a 32-bit ModRM memory operand at u8[p] (the ModRM byte). */
function ea(u8: Uint8Array, dv: DataView, p: number, seg: number): void {
  const modrm = u8[p++];
  const mod = modrm >> 6, rm = modrm & 7;
  let base = rm, index = NOREG, scale = 0, disp = 0;
  if (rm === 4) {
    const sib = u8[p++];
    base = sib & 7;
    index = (sib >> 3) & 7;
    if (index === 4) index = NOREG;
    scale = sib >> 6;
    if (base === 5 && mod === 0) {
      base = NOREG;
      disp = dv.getInt32(p, true);
      p += 4;
    }
  } else if (rm === 5 && mod === 0) {
    base = NOREG;
    disp = dv.getInt32(p, true);
    p += 4;
  }
  if (mod === 1) disp = (u8[p++] << 24) >> 24;
  else if (mod === 2) {
    disp = dv.getInt32(p, true);
    p += 4;
  }
  const s = seg >= 0 ? seg : base === 4 || base === 5 ? SS : DS;
  eaPack = base | (index << 4) | (scale << 8) | (s << 12);
  eaDisp = disp;
  eaEnd = p;
}

/**
 * Decodes a basic block starting at page offset `o` of the code page whose machine base
 * is `mBase` into contiguous records: straight-line instructions, ended by a control
 * transfer, a K_GENERIC instruction, or a K_END record (page end, block limit, or an
 * offset already decoded). Each instruction's offset is entered in `index`.
 * @returns the first record
 */
export function decodeBlock(
  dc: DecodedCache,
  index: Int32Array,
  u8: Uint8Array,
  dv: DataView,
  mBase: number,
  o: number,
): number {
  dc.reserveBlock();
  const first = dc.next;
  for (let i = 0;; i++) {
    if (i > 0 && (i >= BLOCK_MAX || 4096 - o < 16 || index[o] !== 0)) {
      const end = dc.alloc();
      dc.kind[end] = K_END;
      dc.len[end] = 0;
      return first;
    }
    const rec = dc.alloc();
    const kind = 4096 - o >= 16 ? decodeInto(dc, rec, u8, dv, mBase + o) : K_GENERIC;
    dc.kind[rec] = kind;
    index[o] = rec;
    if (kind === K_GENERIC || BRANCH[kind] !== 0) return first;
    o += dc.len[rec];
  }
}

/** Kinds that transfer control (a block ends after them). */
const BRANCH = new Uint8Array(64);
for (const k of [K_CALL, K_RET, K_JMP, K_JCC, K_JMP_R, K_CALL_R]) BRANCH[k] = 1;

function decodeInto(
  dc: DecodedCache,
  rec: number,
  u8: Uint8Array,
  dv: DataView,
  m: number,
): number {
  let p = m;
  let seg = -1;
  let op = u8[p++];
  switch (op) {
    case 0x26:
    case 0x2e:
    case 0x36:
    case 0x3e:
      seg = (op >> 3) & 3;
      op = u8[p++];
      break;
    case 0x64:
    case 0x65:
      seg = op - 0x60;
      op = u8[p++];
      break;
  }
  const A = dc.a, B = dc.b, D = dc.d, I = dc.i;
  let kind = K_GENERIC;
  if (op < 0x40 && (op & 7) < 4 && (op & 7) !== 0 && (op & 7) !== 2) {
    // ALU Ev,Gv (01 09 ... 39) and Gv,Ev (03 0B ... 3B), 32-bit
    const alu = (op >> 3) & 7;
    const modrm = u8[p];
    const reg = (modrm >> 3) & 7;
    if (modrm >= 0xc0) {
      p++;
      A[rec] = alu;
      if ((op & 2) === 0) {
        B[rec] = modrm & 7; // dest
        I[rec] = reg;
      } else {
        B[rec] = reg;
        I[rec] = modrm & 7;
      }
      kind = K_ALU_RR;
    } else {
      ea(u8, dv, p, seg);
      p = eaEnd;
      A[rec] = alu;
      B[rec] = eaPack;
      D[rec] = eaDisp;
      I[rec] = reg;
      kind = (op & 2) === 0 ? K_ALU_MR : K_ALU_RM;
    }
  } else if (op < 0x40 && (op & 7) === 5) {
    A[rec] = (op >> 3) & 7;
    I[rec] = dv.getInt32(p, true);
    p += 4;
    kind = K_ALU_AI;
  } else if (op < 0x40 && (op & 7) === 2 && (u8[p] >= 0xc0)) {
    // ALU Gb,Eb register form
    const modrm = u8[p++];
    A[rec] = (op >> 3) & 7;
    B[rec] = (modrm >> 3) & 7;
    I[rec] = modrm & 7;
    kind = K_ALU8_RR;
  } else if (op < 0x40 && (op & 7) === 0 && (u8[p] >= 0xc0)) {
    // ALU Eb,Gb register form
    const modrm = u8[p++];
    A[rec] = (op >> 3) & 7;
    B[rec] = modrm & 7;
    I[rec] = (modrm >> 3) & 7;
    kind = K_ALU8_RR;
  } else {
    switch (op) {
      case 0x40:
      case 0x41:
      case 0x42:
      case 0x43:
      case 0x44:
      case 0x45:
      case 0x46:
      case 0x47:
        A[rec] = op & 7;
        kind = K_INC;
        break;
      case 0x48:
      case 0x49:
      case 0x4a:
      case 0x4b:
      case 0x4c:
      case 0x4d:
      case 0x4e:
      case 0x4f:
        A[rec] = op & 7;
        kind = K_DEC;
        break;
      case 0x50:
      case 0x51:
      case 0x52:
      case 0x53:
      case 0x54:
      case 0x55:
      case 0x56:
      case 0x57:
        A[rec] = op & 7;
        kind = K_PUSH_R;
        break;
      case 0x58:
      case 0x59:
      case 0x5a:
      case 0x5b:
      case 0x5c:
      case 0x5d:
      case 0x5e:
      case 0x5f:
        A[rec] = op & 7;
        kind = K_POP_R;
        break;
      case 0x68:
        I[rec] = dv.getInt32(p, true);
        p += 4;
        kind = K_PUSH_I;
        break;
      case 0x6a:
        I[rec] = (u8[p++] << 24) >> 24;
        kind = K_PUSH_I;
        break;
      case 0x69:
      case 0x6b: {
        const modrm = u8[p];
        A[rec] = (modrm >> 3) & 7;
        if (modrm >= 0xc0) {
          p++;
          B[rec] = (modrm & 7) | (NOREG << 4) | (DS << 12) | 0x10000; // register source flag
          D[rec] = 0;
        } else {
          ea(u8, dv, p, seg);
          p = eaEnd;
          B[rec] = eaPack;
          D[rec] = eaDisp;
        }
        if (op === 0x69) {
          I[rec] = dv.getInt32(p, true);
          p += 4;
        } else I[rec] = (u8[p++] << 24) >> 24;
        kind = K_IMUL_RRI;
        break;
      }
      case 0x70:
      case 0x71:
      case 0x72:
      case 0x73:
      case 0x74:
      case 0x75:
      case 0x76:
      case 0x77:
      case 0x78:
      case 0x79:
      case 0x7a:
      case 0x7b:
      case 0x7c:
      case 0x7d:
      case 0x7e:
      case 0x7f:
        A[rec] = op & 15;
        I[rec] = (u8[p++] << 24) >> 24;
        kind = K_JCC;
        break;
      case 0x80:
      case 0x81:
      case 0x83: {
        const modrm = u8[p];
        const alu = (modrm >> 3) & 7;
        A[rec] = alu;
        if (modrm >= 0xc0) {
          p++;
          B[rec] = modrm & 7;
          kind = op === 0x80 ? K_ALU8_RI : K_ALU_RI;
        } else {
          ea(u8, dv, p, seg);
          p = eaEnd;
          B[rec] = eaPack;
          D[rec] = eaDisp;
          kind = op === 0x80 ? K_ALU8_MI : K_ALU_MI;
        }
        if (op === 0x81) {
          I[rec] = dv.getInt32(p, true);
          p += 4;
        } else if (op === 0x83) I[rec] = (u8[p++] << 24) >> 24;
        else I[rec] = u8[p++];
        break;
      }
      case 0x85: {
        const modrm = u8[p];
        A[rec] = OP_TEST;
        if (modrm >= 0xc0) {
          p++;
          B[rec] = modrm & 7;
          I[rec] = (modrm >> 3) & 7;
          kind = K_ALU_RR;
        } else {
          ea(u8, dv, p, seg);
          p = eaEnd;
          B[rec] = eaPack;
          D[rec] = eaDisp;
          I[rec] = (modrm >> 3) & 7;
          kind = K_ALU_RM;
        }
        break;
      }
      case 0x84: {
        const modrm = u8[p];
        if (modrm < 0xc0) return K_GENERIC;
        p++;
        A[rec] = OP_TEST;
        B[rec] = modrm & 7;
        I[rec] = (modrm >> 3) & 7;
        kind = K_ALU8_RR;
        break;
      }
      case 0x88:
      case 0x8a: {
        const modrm = u8[p];
        if (modrm >= 0xc0) return K_GENERIC;
        ea(u8, dv, p, seg);
        p = eaEnd;
        A[rec] = (modrm >> 3) & 7;
        B[rec] = eaPack;
        D[rec] = eaDisp;
        kind = op === 0x88 ? K_MOV8_MR : K_MOV8_RM;
        break;
      }
      case 0x89:
      case 0x8b: {
        const modrm = u8[p];
        const reg = (modrm >> 3) & 7;
        if (modrm >= 0xc0) {
          p++;
          A[rec] = op === 0x89 ? modrm & 7 : reg;
          I[rec] = op === 0x89 ? reg : modrm & 7;
          kind = K_MOV_RR;
        } else {
          ea(u8, dv, p, seg);
          p = eaEnd;
          A[rec] = reg;
          B[rec] = eaPack;
          D[rec] = eaDisp;
          kind = op === 0x89 ? K_MOV_MR : K_MOV_RM;
        }
        break;
      }
      case 0x8d: {
        const modrm = u8[p];
        if (modrm >= 0xc0) return K_GENERIC;
        ea(u8, dv, p, seg);
        p = eaEnd;
        A[rec] = (modrm >> 3) & 7;
        B[rec] = eaPack;
        D[rec] = eaDisp;
        kind = K_LEA;
        break;
      }
      case 0x90:
        kind = K_NOP;
        break;
      case 0x91:
      case 0x92:
      case 0x93:
      case 0x94:
      case 0x95:
      case 0x96:
      case 0x97:
        A[rec] = op & 7;
        kind = K_XCHG_R;
        break;
      case 0x99:
        kind = K_CDQ;
        break;
      case 0xa9:
        A[rec] = 0;
        I[rec] = dv.getInt32(p, true);
        p += 4;
        kind = K_TEST_RI;
        break;
      case 0xb8:
      case 0xb9:
      case 0xba:
      case 0xbb:
      case 0xbc:
      case 0xbd:
      case 0xbe:
      case 0xbf:
        A[rec] = op & 7;
        I[rec] = dv.getInt32(p, true);
        p += 4;
        kind = K_MOV_RI;
        break;
      case 0xc1:
      case 0xd1:
      case 0xd3: {
        const modrm = u8[p];
        if (modrm < 0xc0) return K_GENERIC;
        p++;
        A[rec] = (modrm >> 3) & 7;
        B[rec] = modrm & 7;
        I[rec] = op === 0xc1 ? u8[p++] : op === 0xd1 ? 1 : -1; // -1: count in CL
        kind = K_SHIFT_RI;
        break;
      }
      case 0xc6: {
        const modrm = u8[p];
        if (modrm >= 0xc0 || (modrm & 0x38) !== 0) return K_GENERIC;
        ea(u8, dv, p, seg);
        p = eaEnd;
        B[rec] = eaPack;
        D[rec] = eaDisp;
        I[rec] = u8[p++];
        kind = K_MOV8_MI;
        break;
      }
      case 0xc3:
        kind = K_RET;
        break;
      case 0xc7: {
        const modrm = u8[p];
        if ((modrm & 0x38) !== 0) return K_GENERIC;
        if (modrm >= 0xc0) {
          p++;
          A[rec] = modrm & 7;
          I[rec] = dv.getInt32(p, true);
          p += 4;
          kind = K_MOV_RI;
        } else {
          ea(u8, dv, p, seg);
          p = eaEnd;
          B[rec] = eaPack;
          D[rec] = eaDisp;
          I[rec] = dv.getInt32(p, true);
          p += 4;
          kind = K_MOV_MI;
        }
        break;
      }
      case 0xe8:
        I[rec] = dv.getInt32(p, true);
        p += 4;
        kind = K_CALL;
        break;
      case 0xe9:
        I[rec] = dv.getInt32(p, true);
        p += 4;
        kind = K_JMP;
        break;
      case 0xeb:
        I[rec] = (u8[p++] << 24) >> 24;
        kind = K_JMP;
        break;
      case 0xf7: {
        const modrm = u8[p];
        if (modrm < 0xc0 || (modrm & 0x38) !== 0) return K_GENERIC;
        p++;
        A[rec] = modrm & 7;
        I[rec] = dv.getInt32(p, true);
        p += 4;
        kind = K_TEST_RI;
        break;
      }
      case 0xff: {
        const modrm = u8[p];
        const o = (modrm >> 3) & 7;
        if (modrm < 0xc0 && o < 2) {
          ea(u8, dv, p, seg);
          p = eaEnd;
          B[rec] = eaPack;
          D[rec] = eaDisp;
          kind = o === 0 ? K_INC_M : K_DEC_M;
          break;
        }
        if (modrm < 0xc0 || (o !== 2 && o !== 4)) return K_GENERIC;
        p++;
        A[rec] = modrm & 7;
        kind = o === 2 ? K_CALL_R : K_JMP_R;
        break;
      }
      case 0x0f:
        return decode0F(dc, rec, u8, dv, p, seg, m);
      default:
        return K_GENERIC;
    }
  }
  dc.len[rec] = p - m;
  return kind;
}

function decode0F(
  dc: DecodedCache,
  rec: number,
  u8: Uint8Array,
  dv: DataView,
  p: number,
  seg: number,
  m: number,
): number {
  const A = dc.a, B = dc.b, D = dc.d, I = dc.i;
  const op = u8[p++];
  let kind: number;
  if (op >= 0x80 && op <= 0x8f) {
    A[rec] = op & 15;
    I[rec] = dv.getInt32(p, true);
    p += 4;
    kind = K_JCC;
  } else if (op === 0x1f) {
    const modrm = u8[p];
    if (modrm >= 0xc0) p++;
    else {
      ea(u8, dv, p, seg);
      p = eaEnd;
    }
    kind = K_NOP;
  } else if (
    op === 0xb6 || op === 0xb7 || op === 0xbe || op === 0xbf || op === 0xaf ||
    (op >= 0x40 && op <= 0x4f)
  ) {
    const modrm = u8[p];
    A[rec] = (modrm >> 3) & 7;
    // i: 1 = zero-extend byte, 2 = zero-extend word, 3 = sign byte, 4 = sign word
    I[rec] = op === 0xb6 ? 1 : op === 0xb7 ? 2 : op === 0xbe ? 3 : op === 0xbf ? 4 : op & 15;
    const reg = modrm >= 0xc0;
    if (reg) {
      p++;
      B[rec] = modrm & 7;
    } else {
      ea(u8, dv, p, seg);
      p = eaEnd;
      B[rec] = eaPack;
      D[rec] = eaDisp;
    }
    if (op === 0xaf) {
      if (reg) B[rec] = (modrm & 7) | (8 << 4) | (DS << 12) | 0x10000;
      kind = K_IMUL_RM;
    } else if (op >= 0x40 && op <= 0x4f) {
      if (reg) B[rec] = (modrm & 7) | (8 << 4) | (DS << 12) | 0x10000;
      kind = K_CMOV;
    } else kind = reg ? K_MOVX_RR : K_MOVX_RM;
  } else if (op >= 0x90 && op <= 0x9f) {
    const modrm = u8[p];
    if (modrm < 0xc0) return K_GENERIC;
    p++;
    A[rec] = op & 15;
    B[rec] = modrm & 7;
    kind = K_SETCC;
  } else return K_GENERIC;
  dc.len[rec] = p - m;
  return kind;
}
