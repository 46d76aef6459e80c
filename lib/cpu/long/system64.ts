/**
 * System instructions in 64-bit mode (the hook step64.ts calls for opcodes it does not
 * decode itself): int n/int3/int1 (into is #UD), cli/sti and in/out/ins/outs under the
 * IOPL rule, iretq and the far transfers (far64.ts), syscall/sysret/swapgs/rdtscp
 * (syscall64.ts), mov to/from control and debug registers with 64-bit operands (CR8 with
 * REX.R), clts, rdmsr/wrmsr (msr64.ts), rdtsc, cpuid, and the descriptor-table group
 * (tables64.ts). Privileged ones raise #GP(0) at CPL > 0 with RIP at the instruction, for
 * a PV platform to emulate.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { F_IF, F_IOPL } from "../flags.ts";
import { EXC_INT3, EXC_SOFTINT, EXC_TRAP, VEC_BP, VEC_DB, VEC_GP, VEC_UD } from "../platform.ts";
import { cpuid as cpuidOp, rdtsc as rdtscOp, writeCr } from "../ops/system.ts";
import { DR7_GD, generalDetect } from "../debug_unit.ts";
import { D, fetch8, fetchImm, getLo, modrm, writeReg } from "./decode64.ts";
import { readLongMsr, syncSegBases, writeLongMsr } from "./msr64.ts";
import { iret64, loadFarPointer64, movSreg, pushPopFsGs, retFar64 } from "./far64.ts";
import { syscall, sysret } from "./syscall64.ts";
import { group6, group7, larLsl } from "./tables64.ts";
import { cpl0 } from "./operands64.ts";
import { SYS } from "./sys_flags.ts";
import { ioString } from "./io64.ts";

export { SYS };

const msrOut = new Int32Array(2);

/** int n / int3 / int1: reported with RIP at the next instruction. */
function softInt(c: CpuCore, vector: number, kind: number): void {
  SYS.softInt = true;
  c.report(vector, -1, kind);
  syncSegBases(c);
}

/** #GP(0) when CPL > IOPL. */
function iopl(c: CpuCore): void {
  if (c.cpl > (c.flags & F_IOPL) >> 12) c.raise(VEC_GP, 0);
}

/** Zeroes the high halves of RAX and RDX (EDX:EAX results), and of RCX, RBX when `all`. */
function clearHigh(c: CpuCore, all: boolean): void {
  const h = c.lm.hi;
  h[0] = h[2] = 0;
  if (all) h[1] = h[3] = 0;
}

/** in/out with an imm8 port or DX: no devices, in reads all ones (as lib/cpu/ops/io.ts). */
function inOut(c: CpuCore, b: number): void {
  if (b < 0xe8) fetch8(c); // E4-E7: imm8 port
  iopl(c);
  if ((b & 2) !== 0) return; // out
  const size = (b & 1) === 0 ? 8 : D.o16 ? 16 : 32;
  writeReg(c, 0, size, -1, 0);
}

/**
 * A one-byte opcode `b` (prefixes consumed, D holds them, RIP after the opcode byte).
 * @returns true when handled; false leaves RIP untouched past the opcode (step64 raises #UD)
 */
export function system1(c: CpuCore, b: number): boolean {
  switch (b) {
    case 0x6c:
    case 0x6d:
    case 0x6e:
    case 0x6f:
      iopl(c);
      ioString(c, b);
      return true;
    case 0x8c:
    case 0x8e:
      movSreg(c, b);
      return true;
    case 0xca:
    case 0xcb:
      retFar64(c, b === 0xca ? fetchImm(c, 2) & 0xffff : 0);
      return true;
    case 0xcc:
      softInt(c, VEC_BP, EXC_INT3);
      return true;
    case 0xcd: {
      softInt(c, fetch8(c), EXC_SOFTINT);
      return true;
    }
    case 0xf1:
      softInt(c, VEC_DB, EXC_TRAP);
      return true;
    case 0xcf:
      iret64(c);
      return true;
    case 0xe4:
    case 0xe5:
    case 0xe6:
    case 0xe7:
    case 0xec:
    case 0xed:
    case 0xee:
    case 0xef:
      inOut(c, b);
      return true;
    case 0xfa:
      iopl(c);
      c.flags &= ~F_IF;
      return true;
    case 0xfb:
      iopl(c);
      c.flags |= F_IF;
      return true;
  }
  return false;
}

/** mov to/from CRn (0F 20, 0F 22): 64-bit operands, CR8 through REX.R. */
function movCr(c: CpuCore, b: number): void {
  modrm(c, 0); // the mod field is ignored: always a register
  const n = D.reg, g = (D.rex & 1) << 3 | (D.rm & 7);
  cpl0(c);
  if (n !== 0 && n !== 2 && n !== 3 && n !== 4 && n !== 8) c.raise(VEC_UD, -1);
  if (b === 0x20) {
    let lo = 0, hi = 0;
    if (n === 0) lo = c.cr0;
    else if (n === 2) {
      lo = c.cr2;
      hi = c.lm.cr2Hi;
    } else if (n === 3) {
      lo = c.cr3;
      hi = c.lm.cr3Hi;
    } else if (n === 4) lo = c.cr4;
    else lo = c.lm.cr8;
    writeReg(c, g, 64, lo, hi);
    return;
  }
  const lo = getLo(c, g), hi = c.lm.hi[g];
  if (n === 2) {
    c.cr2 = lo;
    c.lm.cr2Hi = hi;
    return;
  }
  if (n === 3) {
    const w = c.lm.walker;
    if (w !== null && w.cr3 !== undefined) w.cr3 = hi === 0 ? lo & ~0xfff : -1;
    c.lm.cr3Hi = hi;
    writeCr(c, 3, lo); // flushes the TLBs
    return;
  }
  // CR0, CR4, CR8: bits 63..32 (and CR8 bits 31..4) are reserved; in IA-32e mode
  // CR0.PG, CR0.PE and CR4.PAE stay set.
  if (hi !== 0 || (n === 8 && (lo & ~15) !== 0)) c.raise(VEC_GP, 0);
  if (n === 0 && (lo & 0x80000001) !== 0x80000001) c.raise(VEC_GP, 0);
  if (n === 4 && (lo & 0x20) === 0) c.raise(VEC_GP, 0);
  if (n === 8) c.lm.cr8 = lo;
  else writeCr(c, n, lo);
}

/** mov to/from DRn (0F 21, 0F 23): 64-bit operands; DR8-15 #UD; DR6/DR7 bits 63..32 #GP. */
function movDr(c: CpuCore, b: number): void {
  modrm(c, 0);
  let n = D.reg;
  const g = (D.rex & 1) << 3 | (D.rm & 7);
  if (n > 7) c.raise(VEC_UD, -1);
  cpl0(c);
  if (n === 4 || n === 5) {
    if ((c.cr4 & 8) !== 0) c.raise(VEC_UD, -1);
    n += 2;
  }
  if ((c.dr[7] & DR7_GD) !== 0) generalDetect(c);
  if (b === 0x21) {
    writeReg(c, g, 64, c.dr[n], n < 4 ? c.lm.drHi[n] : 0);
    return;
  }
  const lo = getLo(c, g), hi = c.lm.hi[g];
  if (n >= 6 && hi !== 0) c.raise(VEC_GP, 0);
  c.dr[n] = lo;
  if (n < 4) c.lm.drHi[n] = hi;
  c.debug.refresh();
}

/** A `0F b` opcode, as {@link system1}. */
export function system2(c: CpuCore, b: number): boolean {
  switch (b) {
    case 0x00:
      group6(c);
      return true;
    case 0x01:
      group7(c);
      return true;
    case 0x02:
    case 0x03:
      larLsl(c, b);
      return true;
    case 0x05:
      syscall(c, false);
      return true;
    case 0x06:
      cpl0(c);
      c.cr0 &= ~8;
      return true;
    case 0x07:
      sysret(c);
      return true;
    case 0x08:
    case 0x09:
      cpl0(c);
      return true;
    case 0x20:
    case 0x22:
      movCr(c, b);
      return true;
    case 0x21:
    case 0x23:
      movDr(c, b);
      return true;
    case 0x30:
      cpl0(c);
      if (!writeLongMsr(c, c.regs[1] >>> 0, c.regs[0], c.regs[2])) {
        c.msrs.set(c.regs[1] >>> 0, [c.regs[0], c.regs[2]]);
      }
      return true;
    case 0x31:
      rdtscOp(c);
      clearHigh(c, false);
      return true;
    case 0x32: {
      cpl0(c);
      const idx = c.regs[1] >>> 0;
      if (idx === 0x10) rdtscOp(c);
      else if (readLongMsr(c, idx, msrOut)) {
        c.regs[0] = msrOut[0];
        c.regs[2] = msrOut[1];
      } else {
        const v = c.msrs.get(idx);
        c.regs[0] = v ? v[0] : 0;
        c.regs[2] = v ? v[1] : 0;
      }
      clearHigh(c, false);
      return true;
    }
    case 0x33: // rdpmc: no counters
      c.raise(VEC_GP, 0);
      return true;
    case 0xa0:
    case 0xa1:
    case 0xa8:
    case 0xa9:
      pushPopFsGs(c, b);
      return true;
    case 0xa2:
      if (c.cpuidFaulting && c.cpl !== 0) c.raise(VEC_GP, 0);
      cpuidOp(c);
      clearHigh(c, true);
      return true;
    case 0xb2:
    case 0xb4:
    case 0xb5:
      loadFarPointer64(c, b);
      return true;
  }
  return false;
}
