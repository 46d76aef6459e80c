/**
 * Register access by gdb name over a lib/cpu `Cpu` in IA-32e mode (the x86-64 table of
 * registers.ts): the 16 GPRs as 64-bit values (RAX..RDI low halves in `regs`, R8-R15 in
 * `lm.rlo`, every high half in `lm.hi`), rip (`eip` + `lm.ripHi`), eflags, selectors,
 * fs_base/gs_base (the IA-32e MSRs, or a 32-bit segment load not yet reconciled), and
 * through {@link Cpu32Registers} the x87 and SSE registers (xmm0-15, mxcsr). Selector and
 * base writes are refused unless unchanged (a debugger loads no descriptor); a rip or
 * GPR write takes the full 64-bit value.
 * @module
 */
import type { Cpu } from "../cpu/mod.ts";
import { Cpu32Registers } from "./cpu_registers.ts";
import type { RegisterAccess } from "./registers.ts";

/** gdb's amd64 GPR order -> the CPU's register number (rax rbx rcx rdx rsi rdi rbp rsp). */
const GPR: Record<string, number> = {
  rax: 0,
  rbx: 3,
  rcx: 1,
  rdx: 2,
  rsi: 6,
  rdi: 7,
  rbp: 5,
  rsp: 4,
};
for (let i = 8; i < 16; i++) GPR[`r${i}`] = i;

/** LongState.msr slots of FS_BASE and GS_BASE (lib/cpu/long/long_state.ts M_FS_BASE). */
const M_FS_BASE = 4;
const FS = 4;

function u64(lo: number, hi: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, lo >>> 0, true);
  dv.setUint32(4, hi >>> 0, true);
  return b;
}

function halves(b: Uint8Array): [number, number] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return [dv.getInt32(0, true), dv.getInt32(4, true)];
}

/** {@link RegisterAccess} over a CPU in IA-32e mode. */
export class Cpu64Registers implements RegisterAccess {
  readonly #cpu: Cpu;
  readonly #x87sse: Cpu32Registers;

  /** @param cpu the vcpu's CPU */
  constructor(cpu: Cpu) {
    this.#cpu = cpu;
    this.#x87sse = new Cpu32Registers(cpu);
  }

  /** FS_BASE (i 0) or GS_BASE (i 1) as the CPU would use it now. */
  #base(i: number): [number, number] {
    const c = this.#cpu, lm = c.lm;
    const b = c.segBase[FS + i];
    // a 32-bit segment load since the last reconciliation wins (msr64.ts syncSegBases)
    if (b !== lm.segSeen[i]) return [b, 0];
    return [lm.msr[(M_FS_BASE + i) * 2], lm.msr[(M_FS_BASE + i) * 2 + 1]];
  }

  read(name: string): Uint8Array | null {
    const c = this.#cpu, lm = c.lm;
    const g = GPR[name];
    if (g !== undefined) return u64(g < 8 ? c.regs[g] : lm.rlo[g - 8], lm.hi[g]);
    switch (name) {
      case "rip":
        return u64(c.eip, lm.ripHi);
      case "fs_base":
        return u64(...this.#base(0));
      case "gs_base":
        return u64(...this.#base(1));
    }
    return this.#x87sse.read(name);
  }

  write(name: string, b: Uint8Array): boolean {
    const c = this.#cpu, lm = c.lm;
    const g = GPR[name];
    if (g !== undefined || name === "rip") {
      if (b.length !== 8) return false;
      const [lo, hi] = halves(b);
      if (name === "rip") {
        c.eip = lo;
        lm.ripHi = hi;
      } else {
        if (g < 8) c.regs[g] = lo;
        else lm.rlo[g - 8] = lo;
        lm.hi[g] = hi;
      }
      return true;
    }
    if (name === "fs_base" || name === "gs_base") {
      if (b.length !== 8) return false;
      const [lo, hi] = halves(b);
      const [clo, chi] = this.#base(name === "fs_base" ? 0 : 1);
      return lo === clo && hi === chi; // unchanged only
    }
    return this.#x87sse.write(name, b);
  }
}
