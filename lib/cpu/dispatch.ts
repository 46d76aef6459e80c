/**
 * The interpreter's dispatch: one handler per opcode-table row (decode/opcodes.ts names
 * the handler; this file maps each name to its function, checked complete by the type).
 * @module
 */

import type { CpuCore as Cpu } from "./core.ts";
import { HANDLER, type HandlerName, HANDLERS } from "./decode/opcodes.ts";
import * as one from "./exec/one_byte.ts";
import * as two from "./exec/two_byte.ts";
import * as grp from "./exec/groups.ts";
import * as near from "./ops/near.ts";
import * as stack from "./ops/stack.ts";
import * as io from "./ops/io.ts";

/** An instruction handler: decodes its operands (after the opcode) and executes. */
export type Handler = (c: Cpu, op: number) => void;

const BY_NAME: Record<HandlerName, Handler> = {
  ud: one.ud,
  esc0F: one.ud, // the interpreter resolves the escape to the 0F map itself
  aluEG: one.aluEG,
  aluGE: one.aluGE,
  aluAI: one.aluAI,
  pushSeg: stack.pushSeg,
  popSeg: stack.popSeg,
  bcd: one.bcd,
  incR: one.incR,
  decR: one.decR,
  pushR: stack.pushR,
  popR: stack.popR,
  pusha: stack.pusha,
  popa: stack.popa,
  bound: one.bound,
  arpl: one.arpl,
  pushI: stack.pushI,
  imulI: one.imulI,
  insOuts: io.insOuts,
  jccRel: near.jccRel,
  group1: grp.group1,
  testEG: one.testEG,
  xchgEG: one.xchgEG,
  movEG: one.movEG,
  movGE: one.movGE,
  movEvSw: one.movEvSw,
  lea: one.lea,
  movSwEw: one.movSwEw,
  popEv: stack.popEv,
  nop: one.nop,
  xchgR: one.xchgR,
  cbw: one.cbw,
  cwd: one.cwd,
  callFarAp: one.callFarAp,
  fwait: one.fwait,
  pushf: stack.pushf,
  popf: stack.popf,
  sahf: one.sahf,
  lahf: one.lahf,
  movMoffs: one.movMoffs,
  string: one.string,
  testAI: one.testAI,
  movRIb: one.movRIb,
  movRIv: one.movRIv,
  group2: grp.group2,
  retNear: near.retNear,
  loadFarPtr: one.loadFarPtr,
  movEI: one.movEI,
  enter: stack.enter,
  leave: stack.leave,
  retFar: one.retFar,
  int3: one.int3,
  intIb: one.intIb,
  into: one.into,
  iret: one.iret,
  aam: one.aamH,
  aad: one.aadH,
  salc: one.salc,
  xlat: one.xlat,
  x87: grp.x87,
  loop: near.loop,
  inImm: io.inImm,
  outImm: io.outImm,
  inDx: io.inDx,
  outDx: io.outDx,
  callRel: near.callRel,
  jmpRel: near.jmpRel,
  jmpFarAp: one.jmpFarAp,
  int1: one.int1,
  hlt: one.hlt,
  cfOp: one.cfOp,
  group3: grp.group3,
  cliSti: one.cliSti,
  cldStd: one.cldStd,
  group45: grp.group45,
  movsxd: one.movsxd,
  group6: two.group6,
  group7: two.group7,
  larLsl: two.larLsl,
  clts: two.clts,
  privNop: two.privNop,
  hintNop: two.hintNop,
  movCrDr: two.movCrDr,
  wrmsr: two.wrmsr,
  rdtsc: two.rdtsc,
  rdmsr: two.rdmsr,
  rdpmc: two.rdpmc,
  cmov: two.cmov,
  setcc: two.setcc,
  pushFsGs: stack.pushFsGs,
  popFsGs: stack.popFsGs,
  cpuid: two.cpuid,
  btEG: two.btEG,
  shxd: two.shxd,
  group15: two.group15,
  imulGE: two.imulGE,
  cmpxchg: two.cmpxchg,
  loadSegPtr: two.loadSegPtr,
  movx: two.movx,
  group8: two.group8,
  bsfBsr: two.bsfBsr,
  popcnt: two.popcnt,
  xadd: two.xadd,
  movnti: two.movnti,
  group9: two.group9,
  bswap: two.bswap,
  sse: two.sse,
};

/** Handler functions by handler index (HANDLERS order). */
export const HANDLER_FNS: Handler[] = HANDLERS.map((n) => BY_NAME[n]);

/** The handler of table row `idx`. */
export function handlerOf(idx: number): Handler {
  return HANDLER_FNS[HANDLER[idx]];
}
