/**
 * Port I/O: in/out with an immediate port or DX, ins/outs. pvx models no I/O devices:
 * after the privilege check, in reads all ones and out is dropped (a PV guest's port
 * accesses are emulated by the hypervisor through the #GP it takes at CPL > IOPL).
 * @module
 */

import type { CpuCore as Cpu } from "../core.ts";
import { F_IOPL } from "../flags.ts";
import { setR } from "../operands.ts";
import { stringOp } from "./string.ts";
import { advance } from "./near.ts";

/** Raises #GP(0) when CPL > IOPL (in/out/ins/outs; no TSS I/O bitmap is modelled). */
export function ioCheck(c: Cpu): void {
  if (c.cpl > (c.flags & F_IOPL) >> 12) c.gp(0);
}

/** in AL/eAX, imm8 (E4, E5). */
export function inImm(c: Cpu, op: number): void {
  c.fb();
  ioCheck(c);
  setR(c, 0, op & 1 ? (c.o16 ? 2 : 4) : 1, -1);
}

/** in AL/eAX, DX (EC, ED). */
export function inDx(c: Cpu, op: number): void {
  ioCheck(c);
  setR(c, 0, op & 1 ? (c.o16 ? 2 : 4) : 1, -1);
}

/** out imm8, AL/eAX (E6, E7). */
export function outImm(c: Cpu): void {
  c.fb();
  ioCheck(c);
}

/** out DX, AL/eAX (EE, EF). */
export function outDx(c: Cpu): void {
  ioCheck(c);
}

/** ins/outs (6C-6F); sets EIP (a rep may stay on the instruction). */
export function insOuts(c: Cpu, op: number): void {
  ioCheck(c);
  if (stringOp(c, op < 0x6e ? 5 : 6, (op & 1) === 0 ? 1 : c.o16 ? 2 : 4)) advance(c);
}
