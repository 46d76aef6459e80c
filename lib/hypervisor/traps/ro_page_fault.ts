/**
 * Writable page tables (pv_ro_page_fault / ptwr_do_page_fault of xen/arch/x86/pv/
 * ro-page-fault.c): a ring-1 store through a read-only mapping of one of the guest's own
 * validated L1 tables is decoded and handed to lib/paging's ptwr model, which validates
 * the new entry. Decoded stores: mov (88/89/c6/c7), xchg (86/87), and/or/xor/add/sub
 * (08/09/20/21/30/31/00/01/28/29 and 80/81/83 with an immediate), bts/btr (0f ab/b3 and
 * 0f ba /5 /6), cmpxchg (0f b1) and cmpxchg8b (0f c7 /1), with lock/rep/segment prefixes.
 * Anything else leaves the #PF to the guest.
 * @module
 */
import { ptwrCmpxchg, ptwrEmulate, ptwrTarget } from "../../paging/mod.ts";
import { R_EAX, R_EBX, R_ECX, R_EDX } from "../machine/cpu_port.ts";
import { applyFlushes } from "../machine/flush.ts";
import { TRC_PV_PTWR_EMULATION_PAE } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";

const insn = new Uint8Array(16);
const current = new Uint32Array(2);

/** Length of a ModRM operand (modrm byte, SIB, displacement) for 32-bit addressing. */
export function modrmLength(b: Uint8Array, i: number): number {
  const modrm = b[i];
  const mod = modrm >>> 6, rm = modrm & 7;
  let n = 1;
  if (mod === 3) return n;
  if (rm === 4) {
    const sib = b[i + 1];
    n++;
    if (mod === 0 && (sib & 7) === 5) n += 4;
  } else if (mod === 0 && rm === 5) n += 4;
  if (mod === 1) n += 1;
  else if (mod === 2) n += 4;
  return n;
}

/** Reads a register of the given width. */
function reg(v: Vcpu, r: number, bytes: number): number {
  const g = v.cpu.gpr;
  if (bytes === 1) return r < 4 ? g[r] & 0xff : (g[r - 4] >>> 8) & 0xff;
  if (bytes === 2) return g[r] & 0xffff;
  return g[r] >>> 0;
}

function setReg(v: Vcpu, r: number, bytes: number, val: number): void {
  const g = v.cpu.gpr;
  if (bytes === 1) {
    if (r < 4) g[r] = (g[r] & ~0xff) | (val & 0xff);
    else g[r - 4] = (g[r - 4] & ~0xff00) | ((val & 0xff) << 8);
  } else if (bytes === 2) g[r] = (g[r] & ~0xffff) | (val & 0xffff);
  else g[r] = val | 0;
}

/** The operand's current value (little-endian, up to 4 bytes) in the target table. */
function oldValue(v: Vcpu, mfn: number, linear: number, bytes: number): number {
  const u8 = v.domain.host.mem.u8;
  const base = mfn * 4096 + (linear & 4095);
  let x = 0;
  for (let k = bytes - 1; k >= 0; k--) x = x * 256 + u8[base + k];
  return x >>> 0;
}

/**
 * Tries to emulate the faulting store.
 * @param v the vcpu (its eip at the store)
 * @param cr2 the faulting address
 * @param errorCode the #PF error code
 * @returns true when emulated (eip advanced)
 */
export function ptwrPageFault(v: Vcpu, cr2: number, errorCode: number): boolean {
  // A kernel-mode write to a present, read-only page.
  if ((errorCode & 7) !== 3 || v.cpu.cpl === 3) return false;
  const d = v.domain;
  const table = ptwrTarget(d.mm, v.id, cr2);
  if (table < 0) return false;
  const eip = v.cpu.eip >>> 0;
  let len = 16;
  while (len > 0 && !v.access.copyFromGuest(eip, insn.subarray(0, len))) len--;
  let i = 0;
  let o16 = false;
  for (; i < len; i++) {
    const p = insn[i];
    if (p === 0x66) o16 = true;
    else if (
      p !== 0xf0 && p !== 0xf2 && p !== 0xf3 && p !== 0x26 && p !== 0x2e &&
      p !== 0x36 && p !== 0x3e && p !== 0x64 && p !== 0x65
    ) break;
  }
  if (i + 2 > len) return false;
  const op = insn[i++];
  const wsize = o16 ? 2 : 4;
  let bytes = 0, newVal = 0, rc = -1, regField = (insn[i] >>> 3) & 7;
  const mlen = () => modrmLength(insn, i);
  const old = (n: number) => oldValue(v, table, cr2, n);
  const store = (n: number, val: number) => ptwrEmulate(d.mm, v.id, cr2, val >>> 0, 0, n);
  const alu = (kind: number, a: number, b: number, n: number): number => {
    const mask = n === 4 ? 0xffffffff : (1 << (n * 8)) - 1;
    switch (kind) {
      case 0:
        return (a + b) & mask;
      case 1:
        return (a | b) & mask;
      case 4:
        return a & b & mask;
      case 5:
        return (a - b) & mask;
      case 6:
        return (a ^ b) & mask;
      default:
        return -1;
    }
  };
  switch (op) {
    case 0x88:
    case 0x89:
      bytes = op === 0x88 ? 1 : wsize;
      rc = store(bytes, reg(v, regField, bytes));
      i += mlen();
      break;
    case 0xc6:
    case 0xc7: {
      bytes = op === 0xc6 ? 1 : wsize;
      if (regField !== 0) return false;
      const at = i + mlen();
      newVal = oldImm(insn, at, bytes);
      rc = store(bytes, newVal);
      i = at + bytes;
      break;
    }
    case 0x86:
    case 0x87: {
      bytes = op === 0x86 ? 1 : wsize;
      const prev = old(bytes);
      rc = store(bytes, reg(v, regField, bytes));
      if (rc === 0) setReg(v, regField, bytes, prev);
      i += mlen();
      break;
    }
    case 0x00:
    case 0x01:
    case 0x08:
    case 0x09:
    case 0x20:
    case 0x21:
    case 0x28:
    case 0x29:
    case 0x30:
    case 0x31: {
      bytes = op & 1 ? wsize : 1;
      newVal = alu(op >>> 3, old(bytes), reg(v, regField, bytes), bytes);
      if (newVal < 0) return false;
      rc = store(bytes, newVal);
      i += mlen();
      break;
    }
    case 0x80:
    case 0x81:
    case 0x83: {
      bytes = op === 0x80 ? 1 : wsize;
      const at = i + mlen();
      const ib = op === 0x81 ? wsize : 1;
      let imm = oldImm(insn, at, ib);
      if (op === 0x83 && imm & 0x80) imm = (imm | ~0xff) >>> 0; // sign-extend
      newVal = alu(regField, old(bytes), imm, bytes);
      if (newVal < 0) return false;
      rc = store(bytes, newVal);
      i = at + ib;
      break;
    }
    case 0x0f: {
      const op2 = insn[i++];
      regField = (insn[i] >>> 3) & 7;
      if (op2 === 0xab || op2 === 0xb3 || op2 === 0xba) {
        bytes = wsize;
        const imm = op2 === 0xba;
        if (imm && regField !== 5 && regField !== 6) return false;
        const bit = imm ? insn[i + mlen()] & (bytes * 8 - 1) : reg(v, regField, 4) & 31;
        const set = op2 === 0xab || (imm && regField === 5);
        const prev = old(bytes);
        newVal = set ? prev | (1 << bit) : prev & ~(1 << bit);
        rc = store(bytes, newVal);
        if (rc === 0) setCarry(v, ((prev >>> bit) & 1) === 1);
        i += mlen() + (imm ? 1 : 0);
      } else if (op2 === 0xb1) {
        bytes = wsize;
        rc = ptwrCmpxchg(
          d.mm,
          v.id,
          cr2,
          reg(v, R_EAX, bytes),
          0,
          reg(v, regField, bytes),
          0,
          bytes,
          current,
        );
        if (rc === 1) setReg(v, R_EAX, bytes, current[0]);
        if (rc >= 0) setZero(v, rc === 0);
        if (rc === 1) rc = 0;
        i += mlen();
      } else if (op2 === 0xc7 && regField === 1) {
        bytes = 8;
        const g = v.cpu.gpr;
        rc = ptwrCmpxchg(
          d.mm,
          v.id,
          cr2,
          g[R_EAX] >>> 0,
          g[R_EDX] >>> 0,
          g[R_EBX] >>> 0,
          g[R_ECX] >>> 0,
          8,
          current,
        );
        if (rc === 1) {
          g[R_EAX] = current[0] | 0;
          g[R_EDX] = current[1] | 0;
        }
        if (rc >= 0) setZero(v, rc === 0);
        if (rc === 1) rc = 0;
        i += mlen();
      } else return false;
      break;
    }
    default:
      return false;
  }
  if (rc !== 0 || i > len) return false;
  const t = d.host.tracer;
  if (t.on) {
    // Xen's record: the new entry (two words), the address written, eip.
    const e = table * 1024 + ((cr2 & 4095) >>> 3) * 2;
    const u32 = d.host.frames.u32;
    t.rec(TRC_PV_PTWR_EMULATION_PAE, 4, u32[e], u32[e + 1], cr2, eip, 0, 0);
  }
  v.cpu.eip = (eip + i) >>> 0;
  applyFlushes(d);
  return true;
}

function oldImm(b: Uint8Array, at: number, n: number): number {
  let x = 0;
  for (let k = n - 1; k >= 0; k--) x = x * 256 + b[at + k];
  return x >>> 0;
}

function setZero(v: Vcpu, z: boolean): void {
  const f = v.cpu.eflags;
  v.cpu.eflags = z ? f | 0x40 : f & ~0x40;
}

function setCarry(v: Vcpu, c: boolean): void {
  const f = v.cpu.eflags;
  v.cpu.eflags = c ? f | 1 : f & ~1;
}
