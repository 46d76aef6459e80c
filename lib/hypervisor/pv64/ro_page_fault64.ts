/**
 * Writable page tables of a 64-bit PV guest (ptwr_do_page_fault for a native guest): a
 * kernel-mode store through a read-only mapping of one of its own validated L1 tables is
 * decoded and handed to lib/paging's ptwrUpdate64, which validates, adjusts and writes
 * the entry. Decoded stores (with REX, lock and segment prefixes): mov (88/89, c6/c7 with
 * an immediate sign-extended under REX.W), xchg (86/87), and/or/xor/add/sub with a
 * register (00/01/08/09/20/21/28/29/30/31) or an immediate (80/81/83), and cmpxchg
 * (0f b1). Anything else leaves the #PF to the guest.
 * @module
 */
import { ptwrTarget64, ptwrUpdate64 } from "../../paging/mod.ts";
import { TRC_64_FLAG, TRC_PV_PTWR_EMULATION } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { applyFlushes } from "../machine/flush.ts";
import { modrmLength } from "../traps/ro_page_fault.ts";
import { addrOf } from "./guest_access64.ts";

const insn = new Uint8Array(16);
const expect = new Uint32Array(2);
const current = new Uint32Array(2);
const V = new Uint32Array(2);

/** Register r's low `bytes` (1, 2, 4, 8) into V (no REX: 4..7 as 1 byte are AH..BH). */
function readReg(v: Vcpu, r: number, bytes: number, rex: number): void {
  const c = v.cpu64!;
  V[1] = 0;
  if (bytes === 1) {
    V[0] = rex === 0 && r >= 4 && r < 8 ? (c.lo(r - 4) >>> 8) & 0xff : c.lo(r) & 0xff;
  } else if (bytes === 2) V[0] = c.lo(r) & 0xffff;
  else {
    V[0] = c.lo(r);
    if (bytes === 8) V[1] = c.hi(r);
  }
}

/** Writes (lo, hi) into register r at `bytes`, as the CPU would (4 bytes zero-extend). */
function writeReg(v: Vcpu, r: number, bytes: number, lo: number, hi: number, rex: number) {
  const c = v.cpu64!;
  if (bytes === 8) c.setReg(r, lo, hi);
  else if (bytes === 4) c.setReg(r, lo, 0);
  else if (bytes === 2) c.setReg(r, ((c.lo(r) & ~0xffff) | (lo & 0xffff)) >>> 0, c.hi(r));
  else if (rex === 0 && r >= 4 && r < 8) {
    const b = r - 4;
    c.setReg(b, ((c.lo(b) & ~0xff00) | ((lo & 0xff) << 8)) >>> 0, c.hi(b));
  } else c.setReg(r, ((c.lo(r) & ~0xff) | (lo & 0xff)) >>> 0, c.hi(r));
}

/** The operand's current value (`bytes` at the faulting address of the target L1). */
function oldValue(v: Vcpu, mfn: number, lo: number, bytes: number): void {
  const dv = v.domain.host.mem.dv, at = mfn * 4096 + (lo & 4095);
  V[1] = 0;
  if (bytes === 1) V[0] = dv.getUint8(at);
  else if (bytes === 2) V[0] = dv.getUint16(at, true);
  else {
    V[0] = dv.getUint32(at, true);
    if (bytes === 8) V[1] = dv.getUint32(at + 4, true);
  }
}

/** a (op) b on `bytes` bytes of (lo, hi) pairs: 0 add, 1 or, 4 and, 5 sub, 6 xor; or false. */
function alu(kind: number, alo: number, ahi: number, blo: number, bhi: number, bytes: number) {
  let lo: number, hi: number;
  switch (kind) {
    case 0: {
      const s = (alo >>> 0) + (blo >>> 0);
      lo = s >>> 0;
      hi = (ahi + bhi + (s > 0xffffffff ? 1 : 0)) >>> 0;
      break;
    }
    case 5: {
      lo = (alo - blo) >>> 0;
      hi = (ahi - bhi - ((alo >>> 0) < (blo >>> 0) ? 1 : 0)) >>> 0;
      break;
    }
    case 1:
      lo = (alo | blo) >>> 0, hi = (ahi | bhi) >>> 0;
      break;
    case 4:
      lo = (alo & blo) >>> 0, hi = (ahi & bhi) >>> 0;
      break;
    case 6:
      lo = (alo ^ blo) >>> 0, hi = (ahi ^ bhi) >>> 0;
      break;
    default:
      return false;
  }
  V[0] = bytes >= 4 ? lo : lo & (bytes === 2 ? 0xffff : 0xff);
  V[1] = bytes === 8 ? hi : 0;
  return true;
}

/** A little-endian immediate of n bytes at `at`, sign-extended to (lo, hi) into V. */
function imm(at: number, n: number): void {
  let x = 0;
  for (let k = n - 1; k >= 0; k--) x = x * 256 + insn[at + k];
  const lo = x >>> 0;
  const neg = n === 1 ? (lo & 0x80) !== 0 : n === 2 ? (lo & 0x8000) !== 0 : (lo & 0x80000000) !== 0;
  V[0] = neg ? (n === 1 ? lo | 0xffffff00 : n === 2 ? lo | 0xffff0000 : lo) >>> 0 : lo;
  V[1] = neg ? 0xffffffff : 0;
}

/**
 * Tries to emulate the faulting store.
 * @param lo low half of the faulting address
 * @param hi its high half
 * @param errorCode the hardware #PF error code
 * @returns true when emulated (rip advanced)
 */
export function ptwrPageFault64(v: Vcpu, lo: number, hi: number, errorCode: number): boolean {
  // a kernel-mode write to a present, read-only page (U/S is always set at CPL 3)
  if ((errorCode & 3) !== 3 || (errorCode & ~7) !== 0 || !v.pv64!.kernelMode) return false;
  const d = v.domain, c = v.cpu64!;
  const table = ptwrTarget64(d.mm, v.id, lo, hi);
  if (table < 0) return false;
  const ripLo = v.cpu.eip >>> 0, ripHi = c.ripHi;
  let len = 16;
  while (len > 0 && !v.access.copyFromGuest(addrOf(ripLo, ripHi), insn.subarray(0, len))) len--;
  let i = 0, o16 = false, rex = 0;
  for (; i < len; i++) {
    const p = insn[i];
    if (p === 0x66) o16 = true;
    else if ((p & 0xf0) === 0x40) rex = p;
    else if (
      p !== 0xf0 && p !== 0xf2 && p !== 0xf3 && p !== 0x26 && p !== 0x2e && p !== 0x36 &&
      p !== 0x3e && p !== 0x64 && p !== 0x65
    ) break;
    if ((p & 0xf0) !== 0x40) rex = 0; // a REX counts only right before the opcode
  }
  if (i + 2 > len) return false;
  const op = insn[i++];
  const wsize = rex & 8 ? 8 : o16 ? 2 : 4;
  const regOf = (m: number) => ((m >>> 3) & 7) | (rex & 4 ? 8 : 0);
  let r = regOf(insn[i]), bytes = 0, rc = -1;
  const store = (n: number) => ptwrUpdate64(d.mm, v.id, lo, hi, V[0], V[1], n);
  switch (op) {
    case 0x88:
    case 0x89:
      bytes = op === 0x88 ? 1 : wsize;
      readReg(v, r, bytes, rex);
      rc = store(bytes);
      i += modrmLength(insn, i);
      break;
    case 0xc6:
    case 0xc7: {
      if ((r & 7) !== 0) return false;
      bytes = op === 0xc6 ? 1 : wsize;
      const at = i + modrmLength(insn, i), n = bytes === 8 ? 4 : bytes;
      imm(at, n);
      rc = store(bytes);
      i = at + n;
      break;
    }
    case 0x86:
    case 0x87: {
      bytes = op === 0x86 ? 1 : wsize;
      oldValue(v, table, lo, bytes);
      const plo = V[0], phi = V[1];
      readReg(v, r, bytes, rex);
      rc = store(bytes);
      if (rc === 0) writeReg(v, r, bytes, plo, phi, rex);
      i += modrmLength(insn, i);
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
      readReg(v, r, bytes, rex);
      const blo = V[0], bhi = V[1];
      oldValue(v, table, lo, bytes);
      if (!alu(op >>> 3, V[0], V[1], blo, bhi, bytes)) return false;
      rc = store(bytes);
      i += modrmLength(insn, i);
      break;
    }
    case 0x80:
    case 0x81:
    case 0x83: {
      bytes = op === 0x80 ? 1 : wsize;
      const at = i + modrmLength(insn, i), n = op === 0x81 ? (wsize === 8 ? 4 : wsize) : 1;
      imm(at, n);
      const blo = V[0], bhi = V[1];
      oldValue(v, table, lo, bytes);
      if (!alu(r & 7, V[0], V[1], blo, bhi, bytes)) return false;
      rc = store(bytes);
      i = at + n;
      break;
    }
    case 0x0f: {
      if (insn[i++] !== 0xb1) return false;
      r = regOf(insn[i]);
      bytes = wsize;
      if (bytes < 4) return false;
      readReg(v, 0, bytes, rex);
      expect[0] = V[0];
      expect[1] = V[1];
      readReg(v, r, bytes, rex);
      rc = ptwrUpdate64(d.mm, v.id, lo, hi, V[0], V[1], bytes, expect, current);
      if (rc === 1) writeReg(v, 0, bytes, current[0], current[1], rex);
      if (rc >= 0) {
        const f = v.cpu.eflags;
        v.cpu.eflags = rc === 0 ? f | 0x40 : f & ~0x40;
      }
      if (rc === 1) rc = 0;
      i += modrmLength(insn, i);
      break;
    }
    default:
      return false;
  }
  if (rc !== 0 || i > len) return false;
  const t = d.host.tracer;
  if (t.on) {
    const e = table * 1024 + ((lo & 4095) >>> 3) * 2;
    const u32 = d.host.frames.u32;
    // Xen's x86_64 record: {pte, addr, rip} as 64-bit words
    t.rec(TRC_PV_PTWR_EMULATION | TRC_64_FLAG, 6, u32[e], u32[e + 1], lo, hi, ripLo, ripHi);
  }
  const n = ripLo + i;
  if (n > 0xffffffff) c.ripHi = ripHi + 1;
  v.cpu.eip = n >>> 0;
  applyFlushes(d);
  return true;
}
