/**
 * The instruction step: prefixes, then the opcode table (decode/opcodes.ts) decides
 * validity (the mode's row, ModRM.reg rules, x87 holes, LOCK) and the handler
 * (dispatch.ts) runs. EIP still holds the instruction start while a handler runs; the
 * step advances it afterwards unless the row says the handler sets EIP (T_SETS_IP).
 * @module
 */

import type { CpuCore as Cpu } from "./core.ts";
import {
  HANDLER,
  INFO,
  lockOk,
  MAP_0F,
  MAP_1,
  MEM_REGS,
  modrmOk,
  REG_REGS,
  T_MODRM,
  T_NOPFX,
  T_PREFIX,
  T_SETS_IP,
  T_VALID,
  T_X87,
  x87Valid,
} from "./decode/opcodes.ts";
import { HANDLER_FNS } from "./dispatch.ts";
import { VEC_UD } from "./platform.ts";
import { A_DB } from "./seg_check.ts";

const CS = 1;

/** Executes one instruction at cs:eip (faults throw the core's FAULT sentinel). */
export function step(c: Cpu): void {
  c.beginFetch();
  const d32 = (c.segAttr[CS] & A_DB) !== 0;
  c.o16 = !d32;
  c.a16 = !d32;
  c.segOv = -1;
  c.rep = 0;
  c.ssePrefix = 0;
  c.lock = false;
  let op = c.fb();
  // Prefixes (any order, any number up to the 15-byte limit the fetcher enforces).
  for (;;) {
    switch (op) {
      case 0x26:
      case 0x2e:
      case 0x36:
      case 0x3e:
        c.segOv = (op >> 3) & 3;
        break;
      case 0x64:
      case 0x65:
        c.segOv = op - 0x60;
        break;
      case 0x66:
        c.o16 = d32;
        if (c.ssePrefix === 0) c.ssePrefix = 0x66;
        break;
      case 0x67:
        c.a16 = d32;
        break;
      case 0xf0:
        c.lock = true;
        break;
      case 0xf2:
      case 0xf3:
        c.rep = op;
        c.ssePrefix = op;
        break;
      default:
        exec(c, (MAP_1 << 8) | op, op);
        return;
    }
    op = c.fb();
  }
}

/** Runs table row `idx` (legacy mode) for opcode byte `op`. */
function exec(c: Cpu, idx: number, op: number): void {
  if (idx === 0x0f) {
    const op2 = c.fb();
    exec(c, (MAP_0F << 8) | op2, op2);
    return;
  }
  const info = INFO[idx];
  if ((info & (T_VALID | T_PREFIX)) !== T_VALID) c.raise(VEC_UD, -1);
  if ((info & T_MODRM) !== 0) {
    if (c.lock || (info & T_X87) !== 0 || (MEM_REGS[idx] & REG_REGS[idx]) !== 0xff) {
      // Peek at ModRM (the handler fetches it again).
      const modrm = c.fb();
      c.fpos--;
      if (!modrmOk(idx, modrm)) c.raise(VEC_UD, -1);
      if ((info & T_X87) !== 0 && !x87Valid(op, modrm)) c.raise(VEC_UD, -1);
      if (c.lock && !lockOk(idx, modrm)) c.raise(VEC_UD, -1);
    }
  } else if (c.lock) c.raise(VEC_UD, -1);
  if ((info & T_NOPFX) !== 0 && c.ssePrefix !== 0) c.raise(VEC_UD, -1);
  HANDLER_FNS[HANDLER[idx]](c, op);
  if ((info & T_SETS_IP) === 0) c.eip = (c.eip + c.ilen) >>> 0;
}
