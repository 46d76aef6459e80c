/**
 * The SSE/SSE2 forms whose meaning REX.W changes (64-bit mode only): cvtsi2ss/cvtsi2sd
 * from r/m64, cvt(t)ss2si/cvt(t)sd2si to r64, and movq between xmm and r/m64 (66 REX.W
 * 0F 6E/7E). Every other form ignores REX.W and goes through {@link sseExecute}.
 * @module
 */

import type { CpuBus } from "../fpu/bus.ts";
import { ieee } from "../fpu/ieee.ts";
import { commitFlags } from "./sse_execute.ts";
import { cvtFromGpr64, cvtToGpr64, Q64 } from "./sse_float.ts";
import type { SseState } from "./sse_state.ts";
import { XMM_MEM, XMM_TMP } from "./sse_state.ts";

/**
 * Executes a REX.W form `0F op2` when REX.W changes it.
 * @param bus the CPU; `bus.regs[i]` holds the low half of GPR i (0..15)
 * @param x the SSE state
 * @param prefix the mandatory prefix: 0, 0x66, 0xF2 or 0xF3
 * @param op2 the opcode byte after 0F
 * @param modrm the ModRM byte with REX.R in bit 8 and REX.B in bit 9 (as sseExecute)
 * @param linear the memory operand's address (low half, see the 64-bit bus adapter)
 * @param hi the high halves of the GPRs (index as `bus.regs`)
 * @returns false when REX.W does not change the form (run it through sseExecute)
 */
export function sseExecuteWide(
  bus: CpuBus,
  x: SseState,
  prefix: number,
  op2: number,
  modrm: number,
  linear: number,
  hi: Int32Array,
): boolean {
  const reg = ((modrm >> 3) & 7) | ((modrm >> 5) & 8), rm = (modrm & 7) | ((modrm >> 6) & 8);
  const isReg = (modrm & 0xc0) === 0xc0;
  const i32 = x.i32;
  ieee.flags = 0;
  switch (op2) {
    case 0x2a: { // cvtsi2ss / cvtsi2sd xmm, r/m64
      if (prefix !== 0xf3 && prefix !== 0xf2) return false;
      const lo = isReg ? bus.regs[rm] : bus.read32(linear);
      const h = isReg ? hi[rm] : bus.read32(linear + 4);
      cvtFromGpr64(x, reg, lo, h, prefix === 0xf2);
      commitFlags(bus, x);
      x.copy(reg, XMM_TMP);
      return true;
    }
    case 0x2c:
    case 0x2d: { // cvt(t)ss2si / cvt(t)sd2si r64, xmm/m32/m64
      if (prefix !== 0xf3 && prefix !== 0xf2) return false;
      const double = prefix === 0xf2;
      let s = rm;
      if (!isReg) {
        s = XMM_MEM; // the memory operand (lane 0 only is read)
        i32[s * 4] = bus.read32(linear);
        i32[s * 4 + 1] = double ? bus.read32(linear + 4) : 0;
      }
      cvtToGpr64(x, s, double, op2 === 0x2c);
      commitFlags(bus, x);
      bus.regs[reg] = Q64[0];
      hi[reg] = Q64[1];
      return true;
    }
    case 0x6e: { // movq xmm, r/m64
      if (prefix !== 0x66) return false;
      const lo = isReg ? bus.regs[rm] : bus.read32(linear);
      const h = isReg ? hi[rm] : bus.read32(linear + 4);
      i32[reg * 4] = lo;
      i32[reg * 4 + 1] = h;
      i32[reg * 4 + 2] = i32[reg * 4 + 3] = 0;
      return true;
    }
    case 0x7e: { // movq r/m64, xmm
      if (prefix !== 0x66) return false;
      const lo = i32[reg * 4], h = i32[reg * 4 + 1];
      if (isReg) {
        bus.regs[rm] = lo;
        hi[rm] = h;
      } else {
        bus.write32(linear, lo);
        bus.write32(linear + 4, h);
      }
      return true;
    }
  }
  return false;
}
