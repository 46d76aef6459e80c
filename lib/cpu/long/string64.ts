/**
 * String instructions in 64-bit mode: movs cmps stos lods scas at 8/16/32/64 bits with
 * rep/repe/repne, RSI/RDI/RCX (ESI/EDI/ECX with 0x67, whose updates zero-extend as any
 * 32-bit register write), DF, a FS:/GS: override on the source (the destination is always
 * ES, base 0). Forward rep movs/stos move a page at a time (xlate64 once per page); every
 * other case runs element by element. A fault leaves RSI/RDI/RCX at the completed elements
 * and RIP at the instruction (run64 restores it), so the instruction restarts where it
 * stopped. A rep runs a bounded number of elements per step: an unfinished one leaves RIP
 * on itself, as an interrupted rep on hardware.
 * @module
 */

import type { CpuCore } from "../core.ts";
import { F_DF, F_ZF } from "../flags.ts";
import { ALU_CMP } from "../ops/alu.ts";
import { alu } from "./alu64.ts";
import { D, opSize, readReg, writeReg } from "./decode64.ts";
import { A_READ, A_WRITE, read64, V, write64, xlate64 } from "./mem64.ts";

/** String kinds, from the low opcode bits: A4 movs, A6 cmps, AA stos, AC lods, AE scas. */
const MOVS = 0xa4, CMPS = 0xa6, STOS = 0xaa, LODS = 0xac; // SCAS = 0xae

/** Elements run one at a time per step at most. */
const ELEM_BUDGET = 1 << 16;
/** Bytes the page-at-a-time path moves per step at most. */
const BULK_BUDGET = 1 << 24;

/** Registers (lo, hi) of the current instruction, written back after each element. */
let siLo = 0, siHi = 0, diLo = 0, diHi = 0, cxLo = 0, cxHi = 0;
let a32 = false;

function loadRegs(c: CpuCore): void {
  a32 = D.a32;
  siLo = c.regs[6];
  diLo = c.regs[7];
  cxLo = c.regs[1];
  siHi = a32 ? 0 : c.lm.hi[6];
  diHi = a32 ? 0 : c.lm.hi[7];
  cxHi = a32 ? 0 : c.lm.hi[1];
}

/** (lo, hi) + d (d a small signed number) with the address size's wrap. */
function addLo(lo: number, d: number): number {
  return ((lo >>> 0) + d) | 0;
}
function addHi(lo: number, hi: number, d: number): number {
  if (a32) return 0;
  const s = (lo >>> 0) + d;
  return (hi + (s < 0 ? -1 : s > 0xffffffff ? 1 : 0)) | 0;
}

function advanceSi(c: CpuCore, d: number): void {
  siHi = addHi(siLo, siHi, d);
  siLo = addLo(siLo, d);
  c.regs[6] = siLo;
  c.lm.hi[6] = siHi;
}

function advanceDi(c: CpuCore, d: number): void {
  diHi = addHi(diLo, diHi, d);
  diLo = addLo(diLo, d);
  c.regs[7] = diLo;
  c.lm.hi[7] = diHi;
}

/** RCX (ECX with 0x67) -= n (n <= 2^32 - 1, never past 0). */
function countDown(c: CpuCore, n: number): void {
  const s = (cxLo >>> 0) - n;
  if (s < 0) cxHi = (cxHi - 1) | 0;
  cxLo = s | 0;
  c.regs[1] = cxLo;
  c.lm.hi[1] = cxHi;
}

/** The source's linear address (FS/GS base added): into srcLo/srcHi. */
let srcLo = 0, srcHi = 0;
function source(c: CpuCore): void {
  srcLo = siLo;
  srcHi = siHi;
  const s = D.segSlot;
  if (s >= 0) {
    const b = (srcLo >>> 0) + (c.lm.msr[s * 2] >>> 0);
    srcLo = b | 0;
    srcHi = (srcHi + c.lm.msr[s * 2 + 1] + (b > 0xffffffff ? 1 : 0)) | 0;
  }
}

/**
 * The pages the current instruction reads its source from and reads or writes its
 * destination in (machine base, or -1): a rep translates each page once, as a TLB would.
 */
let sPage = -1, sHi = 0, sBase = -1, dPage = -1, dHi = 0, dBase = -1;

/** Reads `bytes` at the source (srcLo, srcHi) into V through the source page cache. */
function readSrc(c: CpuCore, bytes: number): void {
  const off = srcLo & 0xfff;
  if (off + bytes > 4096) return read64(c, srcLo, srcHi, bytes);
  if ((srcLo & ~0xfff) !== sPage || srcHi !== sHi || sBase < 0) {
    sBase = xlate64(c, srcLo, srcHi, A_READ) - off;
    sPage = srcLo & ~0xfff;
    sHi = srcHi;
  }
  load(c, sBase + off, bytes);
}

/** Reads (`write` false) or writes V at the destination RDI through the destination cache. */
function accessDst(c: CpuCore, bytes: number, write: boolean): void {
  const off = diLo & 0xfff;
  if (off + bytes > 4096) {
    return write ? write64(c, diLo, diHi, bytes) : read64(c, diLo, diHi, bytes);
  }
  if ((diLo & ~0xfff) !== dPage || diHi !== dHi || dBase < 0) {
    dBase = xlate64(c, diLo, diHi, write ? A_WRITE : A_READ) - off;
    dPage = diLo & ~0xfff;
    dHi = diHi;
  }
  const m = dBase + off;
  if (!write) return load(c, m, bytes);
  const dv = c.dv;
  if (bytes === 1) c.u8[m] = V[0];
  else if (bytes === 2) dv.setUint16(m, V[0], true);
  else if (bytes === 4) dv.setInt32(m, V[0], true);
  else {
    dv.setInt32(m, V[0], true);
    dv.setInt32(m + 4, V[1], true);
  }
  noteWrite(c, m);
}

function load(c: CpuCore, m: number, bytes: number): void {
  const dv = c.dv;
  V[1] = 0;
  if (bytes === 1) V[0] = c.u8[m];
  else if (bytes === 2) V[0] = dv.getUint16(m, true);
  else if (bytes === 4) V[0] = dv.getInt32(m, true);
  else {
    V[0] = dv.getInt32(m, true);
    V[1] = dv.getInt32(m + 4, true);
  }
}

/** One element of `kind` at `bytes` bytes; returns true when a repe/repne must stop. */
function element(c: CpuCore, kind: number, size: number, bytes: number, delta: number): boolean {
  switch (kind) {
    case MOVS:
      source(c);
      readSrc(c, bytes);
      accessDst(c, bytes, true);
      advanceSi(c, delta);
      advanceDi(c, delta);
      return false;
    case STOS:
      readReg(c, 0, size);
      accessDst(c, bytes, true);
      advanceDi(c, delta);
      return false;
    case LODS:
      source(c);
      readSrc(c, bytes);
      writeReg(c, 0, size, V[0], V[1]);
      advanceSi(c, delta);
      return false;
    case CMPS: {
      source(c);
      readSrc(c, bytes);
      const aLo = V[0], aHi = V[1];
      accessDst(c, bytes, false);
      alu(c, ALU_CMP, size, aLo, aHi, V[0], V[1]);
      advanceSi(c, delta);
      advanceDi(c, delta);
      return true;
    }
    default: { // SCAS
      accessDst(c, bytes, false);
      const bLo = V[0], bHi = V[1];
      readReg(c, 0, size);
      alu(c, ALU_CMP, size, V[0], V[1], bLo, bHi);
      advanceDi(c, delta);
      return true;
    }
  }
}

/** Puts RIP back on the instruction (prefixes and opcode were D.len bytes). */
function rewind(c: CpuCore): void {
  const s = (c.eip >>> 0) - D.len;
  c.eip = s | 0;
  if (s < 0) c.lm.ripHi = (c.lm.ripHi - 1) | 0;
}

/** A write at machine address m: drops decoded code in its frame (xlate64 did at the miss). */
function noteWrite(c: CpuCore, m: number): void {
  if (c.mem.codeFrame[m >>> 12] !== 0) c.mem.noteWrite(m, 1);
}

/**
 * Forward rep movs/stos for the elements that fit in the current source and destination
 * pages: translates each page once, then copies or fills.
 * @returns the elements done (0: an element crosses a page, or overlap: do one the slow way)
 */
function bulk(c: CpuCore, kind: number, size: number, bytes: number): number {
  let room = (4096 - (diLo & 0xfff)) / bytes | 0;
  if (kind === MOVS) {
    source(c);
    const sroom = (4096 - (srcLo & 0xfff)) / bytes | 0;
    if (sroom < room) room = sroom;
  }
  if (cxHi === 0 && (cxLo >>> 0) < room) room = cxLo >>> 0;
  if (room < 2) return 0;
  const u8 = c.u8, dv = c.dv;
  if (kind === MOVS) {
    const sm = xlate64(c, srcLo, srcHi, A_READ);
    const dm = xlate64(c, diLo, diHi, A_WRITE);
    const n = room * bytes;
    if (dm > sm && dm - sm < n) {
      // The destination runs ahead within the source: element order matters.
      for (let i = 0; i < n; i += bytes) u8.copyWithin(dm + i, sm + i, sm + i + bytes);
    } else u8.copyWithin(dm, sm, sm + n);
    noteWrite(c, dm);
    advanceSi(c, n);
    advanceDi(c, n);
  } else {
    const dm = xlate64(c, diLo, diHi, A_WRITE);
    readReg(c, 0, size);
    const lo = V[0], hi = V[1];
    const n = room * bytes;
    if (bytes === 1) u8.fill(lo & 0xff, dm, dm + n);
    else {
      // One element, then doubling copies of what is written.
      if (bytes === 2) dv.setUint16(dm, lo, true);
      else dv.setInt32(dm, lo, true);
      if (bytes === 8) dv.setInt32(dm + 4, hi, true);
      for (let done = bytes; done < n;) {
        const k = done < n - done ? done : n - done;
        u8.copyWithin(dm + done, dm, dm + k);
        done += k;
      }
    }
    noteWrite(c, dm);
    advanceDi(c, room * bytes);
  }
  countDown(c, room);
  return room;
}

/**
 * Executes string opcode `b` (A4-A7, AA-AF) with the prefixes in D. RIP is past the opcode.
 */
export function string64(c: CpuCore, b: number): void {
  const kind = b & 0xfe;
  const size = (b & 1) === 0 ? 8 : opSize();
  const bytes = size >> 3;
  const delta = (c.flags & F_DF) !== 0 ? -bytes : bytes;
  loadRegs(c);
  sBase = -1;
  dBase = -1;
  const rep = D.rep;
  if (rep === 0) {
    element(c, kind, size, bytes, delta);
    return;
  }
  if (cxLo === 0 && cxHi === 0) return;
  const fast = delta > 0 && (kind === MOVS || kind === STOS);
  let budget = ELEM_BUDGET, bulkLeft = BULK_BUDGET;
  for (;;) {
    if (fast && bulkLeft > 0) {
      const n = bulk(c, kind, size, bytes);
      if (n > 0) {
        bulkLeft -= n * bytes;
        if (cxLo === 0 && cxHi === 0) return;
        continue;
      }
    }
    const cmp = element(c, kind, size, bytes, delta);
    countDown(c, 1);
    if (cxLo === 0 && cxHi === 0) return;
    if (cmp && ((c.flags & F_ZF) !== 0) !== (rep === 0xf3)) return;
    if (--budget === 0 || bulkLeft <= 0) return rewind(c);
  }
}
