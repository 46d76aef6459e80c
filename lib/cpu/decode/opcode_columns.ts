/**
 * The columns of the one opcode table (opcodes.ts holds the rows): one row per opcode form per map (one-byte, 0F, 0F 38, 0F 3A) and
 * per mode (legacy/compatibility, 64-bit), with its operand kinds, ModRM, immediate kind,
 * operand-size / REX.W behaviour, LOCK and ModRM validity, whether it ends a decoded
 * block, the flags it reads and writes, the interpreter handler and the fast-loop decode
 * recipe. The length decoder, the LOCK rule, the fast decoder and the interpreter's
 * dispatch are all driven from it (and so is the block compiler).
 * @module
 */

/** Opcode maps (index = map * 256 + opcode). */
export const MAP_1 = 0, MAP_0F = 1, MAP_0F38 = 2, MAP_0F3A = 3;
/** Table modes: legacy = 32/16-bit protected mode and compatibility mode; long = 64-bit mode. */
export const MODE_LEGACY = 0, MODE_LONG = 1;

// ---- INFO bits -------------------------------------------------------------------------
/** The form has a ModRM byte. */
export const T_MODRM = 0x1;
/** The row is defined (a missing row is an invalid encoding: #UD). */
export const T_VALID = 0x2;
/** A prefix byte (one-byte map only). */
export const T_PREFIX = 0x4;
/** ModRM always names registers: mod is ignored, no SIB/displacement (mov cr/dr). */
export const T_MODRM_REG = 0x8;
/** Immediate kind (see I_*): bits 4..7. */
export const T_IMM_SHIFT = 4;
/** Operand-size behaviour (see OS_*): bits 8..10. */
export const T_OS_SHIFT = 8;
/** The handler sets EIP itself (branches, far transfers, rep strings, traps). */
export const T_SETS_IP = 0x800;
/** Goes to the SSE unit, which decides validity of the 66/F2/F3 forms. */
export const T_SSE = 0x1000;
/** x87 escape (ModRM-level validity in {@link x87Valid}). */
export const T_X87 = 0x2000;
/** 66/F2/F3 forms of this opcode are other instructions that are not implemented (#UD). */
export const T_NOPFX = 0x4000;
/** REX prefix (40..4F in 64-bit mode). */
export const T_REX = 0x8000;

/** Immediate kinds. */
export const I_NONE = 0, I_B = 1, I_W = 2, I_Z = 3, I_AP = 4, I_MOFFS = 5, I_WB = 6, I_GRP3 = 7;
/** Iz, or an 8-byte immediate with REX.W (mov r64, imm64). */
export const I_V = 8;

/**
 * Operand-size behaviour: OS_NONE no sized operand; OS_B byte; OS_V 16/32 by 66, 64 with
 * REX.W; OS_D64 defaults to 64 in 64-bit mode (66 gives 16; push/pop/leave); OS_F64 is 64
 * in 64-bit mode whatever the prefixes (near branches); OS_W always 16; OS_D 32 (or 64
 * with REX.W where the row says so, e.g. movsxd).
 */
export const OS_NONE = 0, OS_B = 1, OS_V = 2, OS_D64 = 3, OS_F64 = 4, OS_W = 5, OS_D = 6;

/** Flags bits in FLAGS_R / FLAGS_W. */
export const FL_C = 1, FL_P = 2, FL_A = 4, FL_Z = 8, FL_S = 16, FL_O = 32, FL_D = 64;
/** Other flags or state (IF, TF, AC, IOPL...): treat as a barrier. */
export const FL_X = 128;
/** The six arithmetic flags. */
export const FL_ARITH = 63;

/** Interpreter handler names (dispatch.ts maps each to its function). */
export const HANDLERS = [
  "ud",
  "esc0F",
  "aluEG",
  "aluGE",
  "aluAI",
  "pushSeg",
  "popSeg",
  "bcd",
  "incR",
  "decR",
  "pushR",
  "popR",
  "pusha",
  "popa",
  "bound",
  "arpl",
  "pushI",
  "imulI",
  "insOuts",
  "jccRel",
  "group1",
  "testEG",
  "xchgEG",
  "movEG",
  "movGE",
  "movEvSw",
  "lea",
  "movSwEw",
  "popEv",
  "nop",
  "xchgR",
  "cbw",
  "cwd",
  "callFarAp",
  "fwait",
  "pushf",
  "popf",
  "sahf",
  "lahf",
  "movMoffs",
  "string",
  "testAI",
  "movRIb",
  "movRIv",
  "group2",
  "retNear",
  "loadFarPtr",
  "movEI",
  "enter",
  "leave",
  "retFar",
  "int3",
  "intIb",
  "into",
  "iret",
  "aam",
  "aad",
  "salc",
  "xlat",
  "x87",
  "loop",
  "inImm",
  "outImm",
  "inDx",
  "outDx",
  "callRel",
  "jmpRel",
  "jmpFarAp",
  "int1",
  "hlt",
  "cfOp",
  "group3",
  "cliSti",
  "cldStd",
  "group45",
  "movsxd",
  // 0F map
  "group6",
  "group7",
  "larLsl",
  "clts",
  "privNop",
  "hintNop",
  "movCrDr",
  "wrmsr",
  "rdtsc",
  "rdmsr",
  "rdpmc",
  "cmov",
  "setcc",
  "pushFsGs",
  "popFsGs",
  "cpuid",
  "btEG",
  "shxd",
  "group15",
  "imulGE",
  "cmpxchg",
  "loadSegPtr",
  "movx",
  "group8",
  "bsfBsr",
  "popcnt",
  "xadd",
  "movnti",
  "group9",
  "bswap",
  "sse",
] as const;
/** An interpreter handler name. */
export type HandlerName = typeof HANDLERS[number];

/** Fast-loop decode recipes (decode/fast_decode.ts turns a row into a record with one). */
export const FAST = [
  "none",
  "aluEG",
  "aluGE",
  "alu8EG",
  "alu8GE",
  "aluAI",
  "incR",
  "decR",
  "pushR",
  "popR",
  "pushI",
  "imulI",
  "jcc",
  "group1",
  "testEG",
  "test8EG",
  "mov8EG",
  "mov8GE",
  "movEG",
  "movGE",
  "lea",
  "nop",
  "xchgR",
  "cdq",
  "testAI",
  "movRI",
  "shift",
  "mov8EI",
  "ret",
  "movEI",
  "call",
  "jmp",
  "testEI",
  "group5",
  "movx",
  "imulGE",
  "cmov",
  "setcc",
] as const;
/** A fast-loop decode recipe name. */
export type FastRecipe = typeof FAST[number];

/** What a row says about one opcode form (see the column docs above). */
export interface RowSpec {
  /** Has a ModRM byte. */
  m?: boolean;
  /** Immediate kind (I_*). */
  i?: number;
  /** Operand-size behaviour (OS_*). */
  os?: number;
  /** Modes the form exists in (default both). */
  mode?: "both" | "legacy" | "long";
  /** ModRM.reg values for which LOCK is accepted with a memory operand (0 = never). */
  lock?: number;
  /** ModRM.reg values valid with a memory operand (default all). */
  mem?: number;
  /** ModRM.reg values valid with a register operand (default all). */
  reg?: number;
  /** ModRM.reg values (0xff for all) for which the form ends a decoded block. */
  end?: number;
  /** Handler sets EIP (T_SETS_IP). */
  ip?: boolean;
  /** Flags read / written (FL_*); unknown = read all, write none (safe for a compiler). */
  fr?: number;
  fw?: number;
  /** Extra INFO bits (T_PREFIX, T_SSE, T_X87, T_NOPFX, T_MODRM_REG, T_REX). */
  t?: number;
  /** Fast-loop decode recipe. */
  fast?: FastRecipe;
}

const N = 2 * 4 * 256;
/** Packed INFO bits per [mode][map][opcode] (index {@link opIndex}). */
export const INFO: Uint32Array = new Uint32Array(N);
/** LOCK-able ModRM.reg mask (memory forms only). */
export const LOCK_REGS: Uint8Array = new Uint8Array(N);
/** Valid ModRM.reg values with a memory operand. */
export const MEM_REGS: Uint8Array = new Uint8Array(N);
/** Valid ModRM.reg values with a register operand. */
export const REG_REGS: Uint8Array = new Uint8Array(N);
/** ModRM.reg values for which the form ends a block (0xff = always). */
export const END_REGS: Uint8Array = new Uint8Array(N);
/** Flags read (FL_*). */
export const FLAGS_R: Uint8Array = new Uint8Array(N);
/** Flags written (FL_*). */
export const FLAGS_W: Uint8Array = new Uint8Array(N);
/** Handler index into {@link HANDLERS}. */
export const HANDLER: Uint8Array = new Uint8Array(N);
/** Fast decode recipe index into {@link FAST}. */
export const FAST_RECIPE: Uint8Array = new Uint8Array(N);
/** Mnemonic and operand kinds (SDM notation), for tools, tests and the block compiler. */
export const MNEMONIC: string[] = new Array(N).fill("");
export const OPERANDS: string[] = new Array(N).fill("");

/** Index of a row. */
export function opIndex(mode: number, map: number, op: number): number {
  return (mode << 10) | (map << 8) | op;
}

/**
 * Defines the rows for opcodes `ops` (a number or an inclusive [from, to] range).
 * @param operands SDM operand kinds, e.g. "Ev,Gv"
 */
export function def(
  map: number,
  ops: number | [number, number],
  mnemonic: string,
  operands: string,
  handler: HandlerName,
  s: RowSpec = {},
): void {
  const [from, to] = typeof ops === "number" ? [ops, ops] : ops;
  const h = HANDLERS.indexOf(handler);
  const fast = FAST.indexOf(s.fast ?? "none");
  const info = T_VALID | (s.m ? T_MODRM : 0) | ((s.i ?? I_NONE) << T_IMM_SHIFT) |
    ((s.os ?? OS_NONE) << T_OS_SHIFT) | (s.ip ? T_SETS_IP : 0) | (s.t ?? 0);
  const modes = s.mode === "legacy"
    ? [MODE_LEGACY]
    : s.mode === "long"
    ? [MODE_LONG]
    : [MODE_LEGACY, MODE_LONG];
  for (const mode of modes) {
    for (let op = from; op <= to; op++) {
      const x = opIndex(mode, map, op);
      INFO[x] = info;
      LOCK_REGS[x] = s.lock ?? 0;
      MEM_REGS[x] = s.mem ?? 0xff;
      REG_REGS[x] = s.reg ?? 0xff;
      END_REGS[x] = s.end ?? (s.ip ? 0xff : 0);
      FLAGS_R[x] = s.fr ?? 0xff;
      FLAGS_W[x] = s.fw ?? 0;
      HANDLER[x] = h;
      FAST_RECIPE[x] = fast;
      MNEMONIC[x] = mnemonic;
      OPERANDS[x] = operands;
    }
  }
}

/** Immediate kind of a row's INFO. */
export function immKind(info: number): number {
  return (info >> T_IMM_SHIFT) & 15;
}

/** Operand-size behaviour of a row's INFO. */
export function osKind(info: number): number {
  return (info >> T_OS_SHIFT) & 7;
}

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

/**
 * Whether the form at `idx` accepts LOCK with this ModRM (memory destination and a
 * lockable ModRM.reg); the one LOCK rule for the decoder and the interpreter.
 */
export function lockOk(idx: number, modrm: number): boolean {
  if (modrm < 0 || modrm >= 0xc0) return false;
  return ((LOCK_REGS[idx] >> ((modrm >> 3) & 7)) & 1) !== 0;
}

/** Whether ModRM is a valid encoding for the form at `idx` (reg-field and mod rules). */
export function modrmOk(idx: number, modrm: number): boolean {
  const reg = (modrm >> 3) & 7;
  const mask = modrm >= 0xc0 || (INFO[idx] & T_MODRM_REG) !== 0 ? REG_REGS[idx] : MEM_REGS[idx];
  return ((mask >> reg) & 1) !== 0;
}
