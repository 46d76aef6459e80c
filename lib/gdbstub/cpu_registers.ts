/**
 * Register access by gdb name over a lib/cpu `Cpu` in 32-bit mode (the i386 table of
 * registers.ts): GPRs, eip, eflags, selectors, x87 (st0-7 as 80-bit values, the full tag
 * word, last instruction/operand pointers), xmm0-7 (xmm8-15 for the x86-64 table's
 * cpu_registers64.ts), mxcsr, fs_base/gs_base. Selector
 * writes are refused (a debugger cannot load a descriptor the guest did not).
 * @module
 */
import type { Cpu } from "../cpu/mod.ts";
import { doubleToF80, f80Out, f80ToDouble } from "../cpu/mod.ts";
import type { RegisterAccess } from "./registers.ts";

const GPR = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
const SEG: Record<string, number> = { es: 0, cs: 1, ss: 2, ds: 3, fs: 4, gs: 5 };

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

function get32(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);
}

/** The x87 tag of a physical register: 0 valid, 1 zero, 2 special, 3 empty. */
function tagOf(cpu: Cpu, phys: number): number {
  const x = cpu.x87;
  if (x.empty[phys]) return 3;
  const v = x.regs[phys];
  if (v === 0) return 1;
  if (!Number.isFinite(v) || Math.abs(v) < 2 ** -16382) return 2;
  return 0;
}

/** {@link RegisterAccess} over a 32-bit CPU. */
export class Cpu32Registers implements RegisterAccess {
  readonly #cpu: Cpu;

  /** @param cpu the vcpu's CPU */
  constructor(cpu: Cpu) {
    this.#cpu = cpu;
  }

  read(name: string): Uint8Array | null {
    const c = this.#cpu;
    const g = GPR.indexOf(name);
    if (g >= 0) return u32(c.regs[g]);
    if (name in SEG) return u32(c.segSel[SEG[name]]);
    const x = c.x87;
    switch (name) {
      case "eip":
        return u32(c.eip);
      case "eflags":
        return u32(c.getEflags());
      case "fctrl":
        return u32(x.cw);
      case "fstat":
        return u32(x.statusWord);
      case "ftag": {
        let t = 0;
        for (let p = 0; p < 8; p++) t |= tagOf(c, p) << (2 * p);
        return u32(t);
      }
      case "fiseg":
        return u32(x.fcs);
      case "fioff":
        return u32(x.fip);
      case "foseg":
        return u32(x.fds);
      case "fooff":
        return u32(x.fdp);
      case "fop":
        return u32(x.fop);
      case "mxcsr":
        return u32(c.sse.mxcsr);
      case "fs_base":
        return u32(c.segBase[4]);
      case "gs_base":
        return u32(c.segBase[5]);
    }
    if (/^st[0-7]$/.test(name)) {
      const phys = (x.top + Number(name[2])) & 7;
      doubleToF80(x.regs[phys]);
      const b = new Uint8Array(10);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, f80Out[0], true);
      dv.setUint32(4, f80Out[1], true);
      dv.setUint16(8, f80Out[2], true);
      return b;
    }
    if (/^xmm([0-9]|1[0-5])$/.test(name)) {
      const i = Number(name.slice(3));
      return c.sse.u8.slice(i * 16, i * 16 + 16);
    }
    return null;
  }

  write(name: string, b: Uint8Array): boolean {
    const c = this.#cpu;
    const g = GPR.indexOf(name);
    const x = c.x87;
    if (b.length >= 4 && g >= 0) {
      c.regs[g] = get32(b) | 0;
      return true;
    }
    if (name in SEG) return get32(b) === c.segSel[SEG[name]]; // unchanged only
    if (name === "fs_base" || name === "gs_base") {
      return get32(b) === c.segBase[name === "fs_base" ? 4 : 5] >>> 0;
    }
    switch (name) {
      case "eip":
        c.eip = get32(b);
        return true;
      case "eflags": {
        // the guest's own privilege rules: IOPL and VM stay as they are
        const keep = 0x23000;
        c.setEflags((get32(b) & ~keep) | (c.getEflags() & keep));
        return true;
      }
      case "fctrl":
        x.cw = get32(b) & 0xffff;
        return true;
      case "fstat":
        x.statusWord = get32(b) & 0xffff;
        return true;
      case "ftag": {
        const t = get32(b);
        for (let p = 0; p < 8; p++) x.empty[p] = ((t >> (2 * p)) & 3) === 3 ? 1 : 0;
        return true;
      }
      case "fiseg":
        x.fcs = get32(b) & 0xffff;
        return true;
      case "fioff":
        x.fip = get32(b);
        return true;
      case "foseg":
        x.fds = get32(b) & 0xffff;
        return true;
      case "fooff":
        x.fdp = get32(b);
        return true;
      case "fop":
        x.fop = get32(b) & 0x7ff;
        return true;
      case "mxcsr":
        if ((get32(b) & ~0xffff) !== 0) return false;
        c.sse.mxcsr = get32(b);
        return true;
    }
    if (/^st[0-7]$/.test(name) && b.length === 10) {
      const dv = new DataView(b.buffer, b.byteOffset, 10);
      const phys = (x.top + Number(name[2])) & 7;
      x.regs[phys] = f80ToDouble(
        dv.getUint32(0, true),
        dv.getUint32(4, true),
        dv.getUint16(8, true),
      );
      return true;
    }
    if (/^xmm([0-9]|1[0-5])$/.test(name) && b.length === 16) {
      c.sse.u8.set(b, Number(name.slice(3)) * 16);
      return true;
    }
    return false;
  }
}
