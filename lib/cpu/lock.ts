/**
 * The LOCK prefix rule: only the read-modify-write instructions with a memory
 * destination accept it (SDM vol. 2, LOCK); anything else raises #UD.
 * @module
 */

import type { CpuCore as Cpu } from "./core.ts";
import { VEC_UD } from "./platform.ts";

function lockable1(op: number, modrm: number): boolean {
  if (modrm >= 0xc0) return false;
  const reg = (modrm >> 3) & 7;
  if (op < 0x40) return (op & 7) < 2 && (op & 0x38) !== 0x38;
  switch (op) {
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
  }
  return false;
}

function lockable0F(op2: number, modrm: number): boolean {
  if (modrm >= 0xc0) return false;
  const reg = (modrm >> 3) & 7;
  switch (op2) {
    case 0xab:
    case 0xb3:
    case 0xbb:
    case 0xb0:
    case 0xb1:
    case 0xc0:
    case 0xc1:
      return true;
    case 0xba:
      return reg >= 5;
    case 0xc7:
      return reg === 1;
  }
  return false;
}

/**
 * Checks that the instruction starting with `op` (prefixes consumed) accepts LOCK;
 * peeks at the following bytes without consuming them. Raises #UD otherwise.
 */
export function checkLock(c: Cpu, op: number): void {
  const pos = c.fpos, start = c.fstart, end = c.fend;
  let ok: boolean;
  if (op === 0x0f) {
    const op2 = c.fb();
    ok = lockable0F(op2, c.fb());
  } else ok = lockable1(op, c.fb());
  c.fpos = pos;
  c.fstart = start;
  c.fend = end;
  if (!ok) c.raise(VEC_UD, -1);
}
