/**
 * ins/outs (6C-6F) in 64-bit mode, after the IOPL check: pvx models no I/O devices, so
 * ins stores all ones at [RDI] and outs reads (and drops) [RSI] (FS/GS override applies
 * to the source), with rep on RCX (ECX under 67), 64-bit or 32-bit (67) pointers stepping
 * by the element size in the direction of DF. A long rep yields every 65,536 elements by
 * leaving RIP on the instruction (x86 string instructions are resumable).
 * @module
 */

import type { CpuCore } from "../core.ts";
import { F_DF } from "../flags.ts";
import { D, getLo } from "./decode64.ts";
import { read64, V, write64 } from "./mem64.ts";

const RCX = 1, RSI = 6, RDI = 7;
const CHUNK = 65536;

function setLo(c: CpuCore, r: number, v: number): void {
  if (r < 8) c.regs[r] = v;
  else c.lm.rlo[r - 8] = v;
}

/** Adds d (small, signed) to register r at the address size. */
function step(c: CpuCore, r: number, d: number): void {
  const s = (getLo(c, r) >>> 0) + d;
  setLo(c, r, s | 0);
  if (D.a32) c.lm.hi[r] = 0;
  else c.lm.hi[r] = (c.lm.hi[r] + (s < 0 ? -1 : s > 0xffffffff ? 1 : 0)) | 0;
}

/** ins/outs `b` (6C-6F) with rep. */
export function ioString(c: CpuCore, b: number): void {
  const n = (b & 1) === 0 ? 1 : D.o16 ? 2 : 4;
  const d = (c.flags & F_DF) !== 0 ? -n : n;
  const rep = D.rep !== 0;
  const out = b >= 0x6e;
  for (let i = 0; i < CHUNK; i++) {
    if (rep && getLo(c, RCX) === 0 && (D.a32 || c.lm.hi[RCX] === 0)) return;
    if (out) {
      let lo = getLo(c, RSI), hi = D.a32 ? 0 : c.lm.hi[RSI];
      const s = D.segSlot;
      if (s >= 0) {
        const t = (lo >>> 0) + (c.lm.msr[s * 2] >>> 0);
        lo = t | 0;
        hi = (hi + c.lm.msr[s * 2 + 1] + (t > 0xffffffff ? 1 : 0)) | 0;
      }
      read64(c, lo, hi, n);
      step(c, RSI, d);
    } else {
      V[0] = -1;
      V[1] = 0;
      write64(c, getLo(c, RDI), D.a32 ? 0 : c.lm.hi[RDI], n);
      step(c, RDI, d);
    }
    if (!rep) return;
    step(c, RCX, -1);
  }
  if (getLo(c, RCX) !== 0 || (!D.a32 && c.lm.hi[RCX] !== 0)) {
    // Not done: run the instruction again (RIP back to its first byte).
    const s = (c.eip >>> 0) - D.len;
    c.eip = s | 0;
    if (s < 0) c.lm.ripHi = (c.lm.ripHi - 1) | 0;
  }
}
