/**
 * Decodes the hot 32-bit instruction forms into DecodedCache records from the opcode
 * table's fast recipes (decode/opcodes.ts; the rest become K_GENERIC). Only called for a 32-bit flat code segment; an optional segment override
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
import {
  FAST,
  FAST_RECIPE,
  I_B,
  I_GRP3,
  I_V,
  I_Z,
  immKind,
  INFO,
  MAP_0F,
  MAP_1,
  MODE_LEGACY,
  opIndex,
  OS_B,
  osKind,
  T_MODRM,
} from "./opcodes.ts";

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

/** The register-source marker of IMUL/CMOV records (b = reg | NOREG<<4 | DS<<12 | this). */
const REG_SRC = 0x10000;

/**
 * Decodes one instruction at machine address `m` into record `rec` from its opcode-table
 * row: the row's fast recipe picks the record kind, its ModRM and immediate columns
 * give the operands. Rows without a recipe, forms a recipe does not cover, and any prefix
 * other than one segment override give K_GENERIC (the interpreter runs those).
 */
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
  let idx = opIndex(MODE_LEGACY, MAP_1, op);
  if (op === 0x0f) {
    op = u8[p++];
    idx = opIndex(MODE_LEGACY, MAP_0F, op);
  }
  const recipe = FAST[FAST_RECIPE[idx]];
  if (recipe === "none") return K_GENERIC;
  const info = INFO[idx];
  const A = dc.a, B = dc.b, D = dc.d, I = dc.i;
  // ModRM operand: reg field, and either a register (rm) or a packed address.
  let modrm = -1, reg = 0, rm = 0, mem = false;
  if ((info & T_MODRM) !== 0) {
    modrm = u8[p];
    reg = (modrm >> 3) & 7;
    rm = modrm & 7;
    if (modrm >= 0xc0) p++;
    else {
      ea(u8, dv, p, seg);
      p = eaEnd;
      mem = true;
      B[rec] = eaPack;
      D[rec] = eaDisp;
    }
  }
  // Immediate: Ib is sign-extended for a full-size operand, zero-extended for a byte one.
  let imm = 0;
  const ik = immKind(info);
  if (ik === I_B) {
    imm = osKind(info) === OS_B ? u8[p] : (u8[p] << 24) >> 24;
    p++;
  } else if (ik === I_Z || ik === I_V || (ik === I_GRP3 && reg < 2 && op === 0xf7)) {
    imm = dv.getInt32(p, true);
    p += 4;
  } else if (ik !== 0 && ik !== I_GRP3) return K_GENERIC;
  let kind: number;
  switch (recipe) {
    case "aluEG": // ALU Ev,Gv
      A[rec] = (op >> 3) & 7;
      I[rec] = reg;
      if (mem) kind = K_ALU_MR;
      else {
        B[rec] = rm;
        kind = K_ALU_RR;
      }
      break;
    case "aluGE": // ALU Gv,Ev
      A[rec] = (op >> 3) & 7;
      if (mem) {
        I[rec] = reg;
        kind = K_ALU_RM;
      } else {
        B[rec] = reg;
        I[rec] = rm;
        kind = K_ALU_RR;
      }
      break;
    case "alu8EG":
    case "alu8GE":
    case "test8EG":
      if (mem) return K_GENERIC;
      A[rec] = recipe === "test8EG" ? OP_TEST : (op >> 3) & 7;
      B[rec] = recipe === "alu8GE" ? reg : rm;
      I[rec] = recipe === "alu8GE" ? rm : reg;
      kind = K_ALU8_RR;
      break;
    case "aluAI":
      A[rec] = (op >> 3) & 7;
      I[rec] = imm;
      kind = K_ALU_AI;
      break;
    case "incR":
    case "decR":
    case "pushR":
    case "popR":
    case "xchgR":
    case "movRI":
      A[rec] = op & 7;
      I[rec] = imm;
      kind = recipe === "incR"
        ? K_INC
        : recipe === "decR"
        ? K_DEC
        : recipe === "pushR"
        ? K_PUSH_R
        : recipe === "popR"
        ? K_POP_R
        : recipe === "xchgR"
        ? K_XCHG_R
        : K_MOV_RI;
      break;
    case "pushI":
      I[rec] = imm;
      kind = K_PUSH_I;
      break;
    case "imulI":
    case "imulGE":
    case "cmov":
      A[rec] = reg;
      if (!mem) B[rec] = rm | (NOREG << 4) | (DS << 12) | REG_SRC;
      if (!mem) D[rec] = 0;
      I[rec] = recipe === "cmov" ? op & 15 : imm;
      kind = recipe === "imulI" ? K_IMUL_RRI : recipe === "imulGE" ? K_IMUL_RM : K_CMOV;
      break;
    case "jcc":
      A[rec] = op & 15;
      I[rec] = imm;
      kind = K_JCC;
      break;
    case "group1": // 80 81 83
      A[rec] = reg;
      I[rec] = imm;
      if (!mem) B[rec] = rm;
      kind = op === 0x80 ? (mem ? K_ALU8_MI : K_ALU8_RI) : mem ? K_ALU_MI : K_ALU_RI;
      break;
    case "testEG":
      A[rec] = OP_TEST;
      if (mem) {
        I[rec] = reg;
        kind = K_ALU_RM;
      } else {
        B[rec] = rm;
        I[rec] = reg;
        kind = K_ALU_RR;
      }
      break;
    case "mov8EG":
    case "mov8GE":
    case "lea":
      if (!mem) return K_GENERIC;
      A[rec] = reg;
      kind = recipe === "mov8EG" ? K_MOV8_MR : recipe === "mov8GE" ? K_MOV8_RM : K_LEA;
      break;
    case "movEG":
    case "movGE":
      if (mem) {
        A[rec] = reg;
        kind = recipe === "movEG" ? K_MOV_MR : K_MOV_RM;
      } else {
        A[rec] = recipe === "movEG" ? rm : reg;
        I[rec] = recipe === "movEG" ? reg : rm;
        kind = K_MOV_RR;
      }
      break;
    case "nop":
      kind = K_NOP;
      break;
    case "cdq":
      kind = K_CDQ;
      break;
    case "testAI":
      A[rec] = 0;
      I[rec] = imm;
      kind = K_TEST_RI;
      break;
    case "shift": // C1 D1 D3, register forms
      if (mem) return K_GENERIC;
      A[rec] = reg;
      B[rec] = rm;
      I[rec] = op === 0xc1 ? imm & 0xff : op === 0xd1 ? 1 : -1; // -1: count in CL
      kind = K_SHIFT_RI;
      break;
    case "mov8EI":
      if (!mem || reg !== 0) return K_GENERIC;
      I[rec] = imm;
      kind = K_MOV8_MI;
      break;
    case "movEI":
      if (reg !== 0) return K_GENERIC;
      I[rec] = imm;
      if (mem) kind = K_MOV_MI;
      else {
        A[rec] = rm;
        kind = K_MOV_RI;
      }
      break;
    case "ret":
      kind = K_RET;
      break;
    case "call":
      I[rec] = imm;
      kind = K_CALL;
      break;
    case "jmp":
      I[rec] = imm;
      kind = K_JMP;
      break;
    case "testEI": // F7 /0, register form
      if (mem || reg !== 0) return K_GENERIC;
      A[rec] = rm;
      I[rec] = imm;
      kind = K_TEST_RI;
      break;
    case "group5": // FF: inc/dec m32, call/jmp r32
      if (mem && reg < 2) kind = reg === 0 ? K_INC_M : K_DEC_M;
      else if (!mem && (reg === 2 || reg === 4)) {
        A[rec] = rm;
        kind = reg === 2 ? K_CALL_R : K_JMP_R;
      } else return K_GENERIC;
      break;
    case "movx": // i: 1 = zero-extend byte, 2 = zero-extend word, 3 = sign byte, 4 = sign word
      A[rec] = reg;
      I[rec] = op === 0xb6 ? 1 : op === 0xb7 ? 2 : op === 0xbe ? 3 : 4;
      if (!mem) B[rec] = rm;
      kind = mem ? K_MOVX_RM : K_MOVX_RR;
      break;
    case "setcc":
      if (mem) return K_GENERIC;
      A[rec] = op & 15;
      B[rec] = rm;
      kind = K_SETCC;
      break;
    default:
      return K_GENERIC;
  }
  dc.len[rec] = p - m;
  return kind;
}
