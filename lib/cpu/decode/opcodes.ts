/**
 * The one opcode table: the rows of the one-byte and 0F maps for both modes (the columns
 * and their meaning are in opcode_columns.ts, re-exported here). Everything that needs
 * to know an opcode (length, LOCK, decode, dispatch, the block compiler) reads this.
 * @module
 */

import {
  def,
  FL_A,
  FL_ARITH,
  FL_C,
  FL_D,
  FL_O,
  FL_P,
  FL_S,
  FL_X,
  FL_Z,
  I_AP,
  I_B,
  I_GRP3,
  I_MOFFS,
  I_V,
  I_W,
  I_WB,
  I_Z,
  MAP_0F,
  MAP_1,
  OS_B,
  OS_D,
  OS_D64,
  OS_F64,
  OS_V,
  OS_W,
  T_MODRM_REG,
  T_NOPFX,
  T_PREFIX,
  T_REX,
  T_SSE,
  T_X87,
} from "./opcode_columns.ts";

export * from "./opcode_columns.ts";

const M = true;
const ALL = FL_ARITH;
/** Flags a Jcc/SETcc/CMOVcc condition may read. */
const CC = FL_C | FL_P | FL_Z | FL_S | FL_O;

// ---- one-byte map ---------------------------------------------------------------------
const ALU = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];
for (let a = 0; a < 8; a++) {
  const b = a * 8;
  const lock = a === 7 ? 0 : 0xff;
  const fr = a === 2 || a === 3 ? FL_C : 0;
  const s = { m: M, lock, fr, fw: ALL };
  def(MAP_1, b, ALU[a], "Eb,Gb", "aluEG", { ...s, os: OS_B, fast: "alu8EG" });
  def(MAP_1, b + 1, ALU[a], "Ev,Gv", "aluEG", { ...s, os: OS_V, fast: "aluEG" });
  def(MAP_1, b + 2, ALU[a], "Gb,Eb", "aluGE", { m: M, fr, fw: ALL, os: OS_B, fast: "alu8GE" });
  def(MAP_1, b + 3, ALU[a], "Gv,Ev", "aluGE", { m: M, fr, fw: ALL, os: OS_V, fast: "aluGE" });
  def(MAP_1, b + 4, ALU[a], "AL,Ib", "aluAI", { i: I_B, os: OS_B, fr, fw: ALL });
  def(MAP_1, b + 5, ALU[a], "rAX,Iz", "aluAI", { i: I_Z, os: OS_V, fr, fw: ALL, fast: "aluAI" });
}
for (const [op, seg] of [[0x06, "ES"], [0x0e, "CS"], [0x16, "SS"], [0x1e, "DS"]] as const) {
  def(MAP_1, op, "push", seg, "pushSeg", { mode: "legacy", os: OS_V, fr: 0 });
}
for (const [op, seg] of [[0x07, "ES"], [0x17, "SS"], [0x1f, "DS"]] as const) {
  def(MAP_1, op, "pop", seg, "popSeg", { mode: "legacy", os: OS_V, fr: 0, end: 0xff });
}
def(MAP_1, 0x0f, "(0F escape)", "", "esc0F", { ip: M, end: 0 });
for (const p of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]) {
  def(MAP_1, p, "(prefix)", "", "ud", { t: T_PREFIX });
}
def(MAP_1, 0x27, "daa", "", "bcd", { mode: "legacy", fr: FL_C | FL_A, fw: ALL });
def(MAP_1, 0x2f, "das", "", "bcd", { mode: "legacy", fr: FL_C | FL_A, fw: ALL });
def(MAP_1, 0x37, "aaa", "", "bcd", { mode: "legacy", fr: FL_A, fw: ALL });
def(MAP_1, 0x3f, "aas", "", "bcd", { mode: "legacy", fr: FL_A, fw: ALL });
const INCDEC = FL_ARITH & ~FL_C;
def(MAP_1, [0x40, 0x47], "inc", "Zv", "incR", {
  mode: "legacy",
  os: OS_V,
  fr: 0,
  fw: INCDEC,
  fast: "incR",
});
def(MAP_1, [0x48, 0x4f], "dec", "Zv", "decR", {
  mode: "legacy",
  os: OS_V,
  fr: 0,
  fw: INCDEC,
  fast: "decR",
});
def(MAP_1, [0x40, 0x4f], "(REX)", "", "ud", { mode: "long", t: T_PREFIX | T_REX });
def(MAP_1, [0x50, 0x57], "push", "Zv", "pushR", { os: OS_D64, fr: 0, fast: "pushR" });
def(MAP_1, [0x58, 0x5f], "pop", "Zv", "popR", { os: OS_D64, fr: 0, fast: "popR" });
def(MAP_1, 0x60, "pusha", "", "pusha", { mode: "legacy", os: OS_V, fr: 0 });
def(MAP_1, 0x61, "popa", "", "popa", { mode: "legacy", os: OS_V, fr: 0 });
def(MAP_1, 0x62, "bound", "Gv,Ma", "bound", { mode: "legacy", m: M, reg: 0, os: OS_V, fr: 0 });
def(MAP_1, 0x63, "arpl", "Ew,Gw", "arpl", { mode: "legacy", m: M, os: OS_W, fr: 0, fw: FL_Z });
def(MAP_1, 0x63, "movsxd", "Gv,Ed", "movsxd", { mode: "long", m: M, os: OS_D, fr: 0 });
def(MAP_1, 0x68, "push", "Iz", "pushI", { i: I_Z, os: OS_D64, fr: 0, fast: "pushI" });
def(MAP_1, 0x69, "imul", "Gv,Ev,Iz", "imulI", {
  m: M,
  i: I_Z,
  os: OS_V,
  fr: 0,
  fw: ALL,
  fast: "imulI",
});
def(MAP_1, 0x6a, "push", "Ib", "pushI", { i: I_B, os: OS_D64, fr: 0, fast: "pushI" });
def(MAP_1, 0x6b, "imul", "Gv,Ev,Ib", "imulI", {
  m: M,
  i: I_B,
  os: OS_V,
  fr: 0,
  fw: ALL,
  fast: "imulI",
});
def(MAP_1, 0x6c, "insb", "Yb,DX", "insOuts", { os: OS_B, ip: M, end: 0, fr: FL_D | FL_X });
def(MAP_1, 0x6d, "ins", "Yz,DX", "insOuts", { os: OS_V, ip: M, end: 0, fr: FL_D | FL_X });
def(MAP_1, 0x6e, "outsb", "DX,Xb", "insOuts", { os: OS_B, ip: M, end: 0, fr: FL_D | FL_X });
def(MAP_1, 0x6f, "outs", "DX,Xz", "insOuts", { os: OS_V, ip: M, end: 0, fr: FL_D | FL_X });
def(MAP_1, [0x70, 0x7f], "jcc", "Jb", "jccRel", { i: I_B, os: OS_F64, ip: M, fr: CC, fast: "jcc" });
const G1 = { m: M, lock: 0x7f, fw: ALL };
def(MAP_1, 0x80, "(group 1)", "Eb,Ib", "group1", { ...G1, i: I_B, os: OS_B, fast: "group1" });
def(MAP_1, 0x81, "(group 1)", "Ev,Iz", "group1", { ...G1, i: I_Z, os: OS_V, fast: "group1" });
def(MAP_1, 0x82, "(group 1)", "Eb,Ib", "group1", { ...G1, i: I_B, os: OS_B, mode: "legacy" });
def(MAP_1, 0x83, "(group 1)", "Ev,Ib", "group1", { ...G1, i: I_B, os: OS_V, fast: "group1" });
def(MAP_1, 0x84, "test", "Eb,Gb", "testEG", { m: M, os: OS_B, fr: 0, fw: ALL, fast: "test8EG" });
def(MAP_1, 0x85, "test", "Ev,Gv", "testEG", { m: M, os: OS_V, fr: 0, fw: ALL, fast: "testEG" });
def(MAP_1, 0x86, "xchg", "Eb,Gb", "xchgEG", { m: M, os: OS_B, lock: 0xff, fr: 0 });
def(MAP_1, 0x87, "xchg", "Ev,Gv", "xchgEG", { m: M, os: OS_V, lock: 0xff, fr: 0 });
def(MAP_1, 0x88, "mov", "Eb,Gb", "movEG", { m: M, os: OS_B, fr: 0, fast: "mov8EG" });
def(MAP_1, 0x89, "mov", "Ev,Gv", "movEG", { m: M, os: OS_V, fr: 0, fast: "movEG" });
def(MAP_1, 0x8a, "mov", "Gb,Eb", "movGE", { m: M, os: OS_B, fr: 0, fast: "mov8GE" });
def(MAP_1, 0x8b, "mov", "Gv,Ev", "movGE", { m: M, os: OS_V, fr: 0, fast: "movGE" });
def(MAP_1, 0x8c, "mov", "Ev,Sw", "movEvSw", { m: M, os: OS_V, mem: 0x3f, reg: 0x3f, fr: 0 });
def(MAP_1, 0x8d, "lea", "Gv,M", "lea", { m: M, os: OS_V, reg: 0, fr: 0, fast: "lea" });
def(MAP_1, 0x8e, "mov", "Sw,Ew", "movSwEw", {
  m: M,
  os: OS_W,
  mem: 0x3d,
  reg: 0x3d,
  fr: 0,
  end: 0xff,
});
def(MAP_1, 0x8f, "pop", "Ev", "popEv", { m: M, os: OS_D64, mem: 1, reg: 1, fr: 0 });
def(MAP_1, 0x90, "nop", "", "nop", { fr: 0, fast: "nop" });
def(MAP_1, [0x91, 0x97], "xchg", "Zv,rAX", "xchgR", { os: OS_V, fr: 0, fast: "xchgR" });
def(MAP_1, 0x98, "cbw", "", "cbw", { os: OS_V, fr: 0 });
def(MAP_1, 0x99, "cwd", "", "cwd", { os: OS_V, fr: 0, fast: "cdq" });
def(MAP_1, 0x9a, "call far", "Ap", "callFarAp", { mode: "legacy", i: I_AP, os: OS_V, ip: M });
def(MAP_1, 0x9b, "fwait", "", "fwait", { fr: 0 });
def(MAP_1, 0x9c, "pushf", "", "pushf", { os: OS_D64 });
def(MAP_1, 0x9d, "popf", "", "popf", { os: OS_D64, fr: 0, fw: 0xff, end: 0xff });
def(MAP_1, 0x9e, "sahf", "", "sahf", { fr: 0, fw: FL_C | FL_P | FL_A | FL_Z | FL_S });
def(MAP_1, 0x9f, "lahf", "", "lahf", { fr: FL_C | FL_P | FL_A | FL_Z | FL_S });
def(MAP_1, 0xa0, "mov", "AL,Ob", "movMoffs", { i: I_MOFFS, os: OS_B, fr: 0 });
def(MAP_1, 0xa1, "mov", "rAX,Ov", "movMoffs", { i: I_MOFFS, os: OS_V, fr: 0 });
def(MAP_1, 0xa2, "mov", "Ob,AL", "movMoffs", { i: I_MOFFS, os: OS_B, fr: 0 });
def(MAP_1, 0xa3, "mov", "Ov,rAX", "movMoffs", { i: I_MOFFS, os: OS_V, fr: 0 });
const STR = { ip: M, end: 0, fr: FL_D };
def(MAP_1, 0xa4, "movsb", "Yb,Xb", "string", { ...STR, os: OS_B });
def(MAP_1, 0xa5, "movs", "Yv,Xv", "string", { ...STR, os: OS_V });
def(MAP_1, 0xa6, "cmpsb", "Xb,Yb", "string", { ...STR, os: OS_B, fw: ALL });
def(MAP_1, 0xa7, "cmps", "Xv,Yv", "string", { ...STR, os: OS_V, fw: ALL });
def(MAP_1, 0xa8, "test", "AL,Ib", "testAI", { i: I_B, os: OS_B, fr: 0, fw: ALL });
def(MAP_1, 0xa9, "test", "rAX,Iz", "testAI", { i: I_Z, os: OS_V, fr: 0, fw: ALL, fast: "testAI" });
def(MAP_1, 0xaa, "stosb", "Yb,AL", "string", { ...STR, os: OS_B });
def(MAP_1, 0xab, "stos", "Yv,rAX", "string", { ...STR, os: OS_V });
def(MAP_1, 0xac, "lodsb", "AL,Xb", "string", { ...STR, os: OS_B });
def(MAP_1, 0xad, "lods", "rAX,Xv", "string", { ...STR, os: OS_V });
def(MAP_1, 0xae, "scasb", "AL,Yb", "string", { ...STR, os: OS_B, fw: ALL });
def(MAP_1, 0xaf, "scas", "rAX,Yv", "string", { ...STR, os: OS_V, fw: ALL });
def(MAP_1, [0xb0, 0xb7], "mov", "Zb,Ib", "movRIb", { i: I_B, os: OS_B, fr: 0 });
def(MAP_1, [0xb8, 0xbf], "mov", "Zv,Iv", "movRIv", { i: I_V, os: OS_V, fr: 0, fast: "movRI" });
const G2 = { m: M, fr: FL_C, fw: ALL };
def(MAP_1, 0xc0, "(group 2)", "Eb,Ib", "group2", { ...G2, i: I_B, os: OS_B });
def(MAP_1, 0xc1, "(group 2)", "Ev,Ib", "group2", { ...G2, i: I_B, os: OS_V, fast: "shift" });
def(MAP_1, 0xc2, "ret", "Iw", "retNear", { i: I_W, os: OS_F64, ip: M, fr: 0 });
def(MAP_1, 0xc3, "ret", "", "retNear", { os: OS_F64, ip: M, fr: 0, fast: "ret" });
def(MAP_1, 0xc4, "les", "Gz,Mp", "loadFarPtr", { mode: "legacy", m: M, reg: 0, os: OS_V, fr: 0 });
def(MAP_1, 0xc5, "lds", "Gz,Mp", "loadFarPtr", { mode: "legacy", m: M, reg: 0, os: OS_V, fr: 0 });
def(MAP_1, 0xc6, "mov", "Eb,Ib", "movEI", {
  m: M,
  i: I_B,
  os: OS_B,
  mem: 1,
  reg: 1,
  fr: 0,
  fast: "mov8EI",
});
def(MAP_1, 0xc7, "mov", "Ev,Iz", "movEI", {
  m: M,
  i: I_Z,
  os: OS_V,
  mem: 1,
  reg: 1,
  fr: 0,
  fast: "movEI",
});
def(MAP_1, 0xc8, "enter", "Iw,Ib", "enter", { i: I_WB, os: OS_D64, fr: 0 });
def(MAP_1, 0xc9, "leave", "", "leave", { os: OS_D64, fr: 0 });
def(MAP_1, 0xca, "retf", "Iw", "retFar", { i: I_W, os: OS_V, ip: M, fr: 0 });
def(MAP_1, 0xcb, "retf", "", "retFar", { os: OS_V, ip: M, fr: 0 });
def(MAP_1, 0xcc, "int3", "", "int3", { ip: M });
def(MAP_1, 0xcd, "int", "Ib", "intIb", { i: I_B, ip: M });
def(MAP_1, 0xce, "into", "", "into", { mode: "legacy", ip: M });
def(MAP_1, 0xcf, "iret", "", "iret", { os: OS_V, ip: M, fw: 0xff });
def(MAP_1, 0xd0, "(group 2)", "Eb,1", "group2", { ...G2, os: OS_B });
def(MAP_1, 0xd1, "(group 2)", "Ev,1", "group2", { ...G2, os: OS_V, fast: "shift" });
def(MAP_1, 0xd2, "(group 2)", "Eb,CL", "group2", { ...G2, os: OS_B });
def(MAP_1, 0xd3, "(group 2)", "Ev,CL", "group2", { ...G2, os: OS_V, fast: "shift" });
def(MAP_1, 0xd4, "aam", "Ib", "aam", { mode: "legacy", i: I_B, fr: 0, fw: ALL });
def(MAP_1, 0xd5, "aad", "Ib", "aad", { mode: "legacy", i: I_B, fr: 0, fw: ALL });
def(MAP_1, 0xd6, "salc", "", "salc", { mode: "legacy", fr: FL_C });
def(MAP_1, 0xd7, "xlat", "", "xlat", { fr: 0 });
def(MAP_1, [0xd8, 0xdf], "(x87)", "", "x87", { m: M, t: T_X87 });
def(MAP_1, [0xe0, 0xe2], "loop", "Jb", "loop", { i: I_B, os: OS_F64, ip: M, fr: FL_Z });
def(MAP_1, 0xe3, "jcxz", "Jb", "loop", { i: I_B, os: OS_F64, ip: M, fr: 0 });
def(MAP_1, 0xe4, "in", "AL,Ib", "inImm", { i: I_B, os: OS_B, fr: FL_X });
def(MAP_1, 0xe5, "in", "eAX,Ib", "inImm", { i: I_B, os: OS_V, fr: FL_X });
def(MAP_1, 0xe6, "out", "Ib,AL", "outImm", { i: I_B, os: OS_B, fr: FL_X });
def(MAP_1, 0xe7, "out", "Ib,eAX", "outImm", { i: I_B, os: OS_V, fr: FL_X });
def(MAP_1, 0xe8, "call", "Jz", "callRel", { i: I_Z, os: OS_F64, ip: M, fr: 0, fast: "call" });
def(MAP_1, 0xe9, "jmp", "Jz", "jmpRel", { i: I_Z, os: OS_F64, ip: M, fr: 0, fast: "jmp" });
def(MAP_1, 0xea, "jmp far", "Ap", "jmpFarAp", { mode: "legacy", i: I_AP, os: OS_V, ip: M });
def(MAP_1, 0xeb, "jmp", "Jb", "jmpRel", { i: I_B, os: OS_F64, ip: M, fr: 0, fast: "jmp" });
def(MAP_1, 0xec, "in", "AL,DX", "inDx", { os: OS_B, fr: FL_X });
def(MAP_1, 0xed, "in", "eAX,DX", "inDx", { os: OS_V, fr: FL_X });
def(MAP_1, 0xee, "out", "DX,AL", "outDx", { os: OS_B, fr: FL_X });
def(MAP_1, 0xef, "out", "DX,eAX", "outDx", { os: OS_V, fr: FL_X });
def(MAP_1, 0xf1, "int1", "", "int1", { ip: M });
def(MAP_1, 0xf4, "hlt", "", "hlt", { ip: M });
def(MAP_1, 0xf5, "cmc", "", "cfOp", { fr: FL_C, fw: FL_C });
def(MAP_1, 0xf6, "(group 3)", "Eb", "group3", { m: M, i: I_GRP3, os: OS_B, lock: 0x0c, fw: ALL });
def(MAP_1, 0xf7, "(group 3)", "Ev", "group3", {
  m: M,
  i: I_GRP3,
  os: OS_V,
  lock: 0x0c,
  fw: ALL,
  fast: "testEI",
});
def(MAP_1, 0xf8, "clc", "", "cfOp", { fr: 0, fw: FL_C });
def(MAP_1, 0xf9, "stc", "", "cfOp", { fr: 0, fw: FL_C });
def(MAP_1, 0xfa, "cli", "", "cliSti", { fr: FL_X, fw: FL_X });
def(MAP_1, 0xfb, "sti", "", "cliSti", { fr: FL_X, fw: FL_X, end: 0xff });
def(MAP_1, 0xfc, "cld", "", "cldStd", { fr: 0, fw: FL_D });
def(MAP_1, 0xfd, "std", "", "cldStd", { fr: 0, fw: FL_D });
def(MAP_1, 0xfe, "(group 4)", "Eb", "group45", {
  m: M,
  os: OS_B,
  mem: 0x03,
  reg: 0x03,
  lock: 0x03,
  fw: INCDEC,
  ip: M,
  end: 0,
});
def(MAP_1, 0xff, "(group 5)", "Ev", "group45", {
  m: M,
  os: OS_V,
  mem: 0x7f,
  reg: 0x57,
  lock: 0x03,
  ip: M,
  end: 0x3c,
  fast: "group5",
});

// ---- 0F map ---------------------------------------------------------------------------
// Everything not listed is an invalid encoding (#UD). "ud" rows decode (their length is
// defined) but raise #UD when executed: ud0/ud1/ud2, syscall/sysret/sysenter/sysexit in
// the modes this CPU does not run them, and the reserved NOP space's non-hint forms.
def(MAP_0F, 0x00, "(group 6)", "", "group6", { m: M, os: OS_W, mem: 0x3f, reg: 0x3f, fr: 0 });
def(MAP_0F, 0x01, "(group 7)", "", "group7", { m: M, mem: 0xdf, reg: 0x50, end: 0xff });
def(MAP_0F, 0x02, "lar", "Gv,Ew", "larLsl", { m: M, os: OS_V, fr: 0, fw: FL_Z });
def(MAP_0F, 0x03, "lsl", "Gv,Ew", "larLsl", { m: M, os: OS_V, fr: 0, fw: FL_Z });
def(MAP_0F, 0x05, "syscall", "", "ud", { end: 0xff });
def(MAP_0F, 0x06, "clts", "", "clts", { fr: 0 });
def(MAP_0F, 0x07, "sysret", "", "ud", { end: 0xff });
def(MAP_0F, 0x08, "invd", "", "privNop", { fr: 0 });
def(MAP_0F, 0x09, "wbinvd", "", "privNop", { fr: 0 });
def(MAP_0F, 0x0b, "ud2", "", "ud", { end: 0xff });
def(MAP_0F, 0x0d, "prefetch", "Mb", "hintNop", { m: M, fr: 0 });
def(MAP_0F, [0x10, 0x17], "(sse)", "", "sse", { m: M, t: T_SSE });
def(MAP_0F, [0x18, 0x1f], "nop", "Ev", "hintNop", { m: M, fr: 0, fast: "nop" });
const CR = { m: M, t: T_MODRM_REG, fr: 0, end: 0xff };
def(MAP_0F, 0x20, "mov", "Rd,Cd", "movCrDr", { ...CR, reg: 0x1d });
def(MAP_0F, 0x21, "mov", "Rd,Dd", "movCrDr", CR);
def(MAP_0F, 0x22, "mov", "Cd,Rd", "movCrDr", { ...CR, reg: 0x1d });
def(MAP_0F, 0x23, "mov", "Dd,Rd", "movCrDr", CR);
def(MAP_0F, [0x28, 0x2f], "(sse)", "", "sse", { m: M, t: T_SSE });
def(MAP_0F, 0x30, "wrmsr", "", "wrmsr", { fr: 0, end: 0xff });
def(MAP_0F, 0x31, "rdtsc", "", "rdtsc", { fr: 0 });
def(MAP_0F, 0x32, "rdmsr", "", "rdmsr", { fr: 0 });
def(MAP_0F, 0x33, "rdpmc", "", "rdpmc", { fr: 0 });
def(MAP_0F, 0x34, "sysenter", "", "ud", { end: 0xff });
def(MAP_0F, 0x35, "sysexit", "", "ud", { end: 0xff });
def(MAP_0F, [0x40, 0x4f], "cmovcc", "Gv,Ev", "cmov", { m: M, os: OS_V, fr: CC, fast: "cmov" });
def(MAP_0F, [0x50, 0x76], "(sse)", "", "sse", { m: M, t: T_SSE });
for (const o of [0x70, 0x71, 0x72, 0x73]) {
  def(MAP_0F, o, "(sse)", "", "sse", { m: M, i: I_B, t: T_SSE });
}
def(MAP_0F, 0x77, "emms", "", "ud", { t: T_NOPFX }); // MMX state is not modelled
def(MAP_0F, [0x7c, 0x7f], "(sse)", "", "sse", { m: M, t: T_SSE });
def(MAP_0F, [0x80, 0x8f], "jcc", "Jz", "jccRel", {
  i: I_Z,
  os: OS_F64,
  ip: M,
  fr: CC,
  fast: "jcc",
});
def(MAP_0F, [0x90, 0x9f], "setcc", "Eb", "setcc", { m: M, os: OS_B, fr: CC, fast: "setcc" });
def(MAP_0F, 0xa0, "push", "FS", "pushFsGs", { os: OS_D64, fr: 0 });
def(MAP_0F, 0xa1, "pop", "FS", "popFsGs", { os: OS_D64, fr: 0 });
def(MAP_0F, 0xa2, "cpuid", "", "cpuid", { fr: 0 });
const BT = { m: M, os: OS_V, fr: 0, fw: ALL };
def(MAP_0F, 0xa3, "bt", "Ev,Gv", "btEG", BT);
def(MAP_0F, 0xa4, "shld", "Ev,Gv,Ib", "shxd", { ...BT, i: I_B });
def(MAP_0F, 0xa5, "shld", "Ev,Gv,CL", "shxd", BT);
def(MAP_0F, 0xa8, "push", "GS", "pushFsGs", { os: OS_D64, fr: 0 });
def(MAP_0F, 0xa9, "pop", "GS", "popFsGs", { os: OS_D64, fr: 0 });
def(MAP_0F, 0xaa, "rsm", "", "ud", { end: 0xff });
def(MAP_0F, 0xab, "bts", "Ev,Gv", "btEG", { ...BT, lock: 0xff });
def(MAP_0F, 0xac, "shrd", "Ev,Gv,Ib", "shxd", { ...BT, i: I_B });
def(MAP_0F, 0xad, "shrd", "Ev,Gv,CL", "shxd", BT);
def(MAP_0F, 0xae, "(group 15)", "", "group15", { m: M, reg: 0xe0, t: T_NOPFX });
def(MAP_0F, 0xaf, "imul", "Gv,Ev", "imulGE", { m: M, os: OS_V, fr: 0, fw: ALL, fast: "imulGE" });
def(MAP_0F, 0xb0, "cmpxchg", "Eb,Gb", "cmpxchg", { m: M, os: OS_B, lock: 0xff, fr: 0, fw: ALL });
def(MAP_0F, 0xb1, "cmpxchg", "Ev,Gv", "cmpxchg", { m: M, os: OS_V, lock: 0xff, fr: 0, fw: ALL });
def(MAP_0F, 0xb2, "lss", "Gv,Mp", "loadSegPtr", { m: M, os: OS_V, reg: 0, fr: 0 });
def(MAP_0F, 0xb3, "btr", "Ev,Gv", "btEG", { ...BT, lock: 0xff });
def(MAP_0F, 0xb4, "lfs", "Gv,Mp", "loadSegPtr", { m: M, os: OS_V, reg: 0, fr: 0 });
def(MAP_0F, 0xb5, "lgs", "Gv,Mp", "loadSegPtr", { m: M, os: OS_V, reg: 0, fr: 0 });
def(MAP_0F, 0xb6, "movzx", "Gv,Eb", "movx", { m: M, os: OS_V, fr: 0, fast: "movx" });
def(MAP_0F, 0xb7, "movzx", "Gv,Ew", "movx", { m: M, os: OS_V, fr: 0, fast: "movx" });
def(MAP_0F, 0xb8, "popcnt", "Gv,Ev", "popcnt", BT); // F3 mandatory, else #UD
def(MAP_0F, 0xb9, "ud1", "Gv,Ev", "ud", { m: M, end: 0xff });
def(MAP_0F, 0xba, "(group 8)", "Ev,Ib", "group8", {
  ...BT,
  i: I_B,
  mem: 0xf0,
  reg: 0xf0,
  lock: 0xe0,
});
def(MAP_0F, 0xbb, "btc", "Ev,Gv", "btEG", { ...BT, lock: 0xff });
def(MAP_0F, 0xbc, "bsf", "Gv,Ev", "bsfBsr", BT);
def(MAP_0F, 0xbd, "bsr", "Gv,Ev", "bsfBsr", BT);
def(MAP_0F, 0xbe, "movsx", "Gv,Eb", "movx", { m: M, os: OS_V, fr: 0, fast: "movx" });
def(MAP_0F, 0xbf, "movsx", "Gv,Ew", "movx", { m: M, os: OS_V, fr: 0, fast: "movx" });
def(MAP_0F, 0xc0, "xadd", "Eb,Gb", "xadd", { m: M, os: OS_B, lock: 0xff, fr: 0, fw: ALL });
def(MAP_0F, 0xc1, "xadd", "Ev,Gv", "xadd", { m: M, os: OS_V, lock: 0xff, fr: 0, fw: ALL });
def(MAP_0F, 0xc2, "(sse)", "", "sse", { m: M, i: I_B, t: T_SSE });
def(MAP_0F, 0xc3, "movnti", "My,Gy", "movnti", { m: M, os: OS_D, reg: 0, fr: 0, t: T_NOPFX });
for (const o of [0xc4, 0xc5, 0xc6]) def(MAP_0F, o, "(sse)", "", "sse", { m: M, i: I_B, t: T_SSE });
def(MAP_0F, 0xc7, "(group 9)", "", "group9", {
  m: M,
  mem: 0x02,
  reg: 0,
  lock: 0x02,
  fr: 0,
  fw: FL_Z,
});
def(MAP_0F, [0xc8, 0xcf], "bswap", "Zv", "bswap", { os: OS_V, fr: 0 });
def(MAP_0F, [0xd0, 0xfe], "(sse)", "", "sse", { m: M, t: T_SSE });
def(MAP_0F, 0xff, "ud0", "Gv,Ev", "ud", { m: M, end: 0xff });
