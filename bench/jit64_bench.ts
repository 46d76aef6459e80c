/**
 * The 64-bit block compiler on a loop shaped like Linux's p2m scan (xen_build_mfn_list_
 * list's walk: `cmp rdi, r9; jae; mov rdx, [rbx + rdi*8]; cmp rdx, -1; je; add; inc rdi;
 * jmp`) over 4 MiB of qwords at 0xffff8000_00400000 through the 4-level walker, with and
 * without the compiler; reports MIPS per CPU-second (the machine is shared: wall time is
 * noisy). Run: deno run -A bench/jit64_bench.ts (JIT64_BENCH_N instructions, default 100M).
 * @module
 */

import process from "node:process";
import { hex } from "../lib/cpu/testing.ts";
import type { Cpu } from "../lib/cpu/mod.ts";
import { Jit64 } from "../lib/cpu/jit64/jit64.ts";
import { machine64Paged, PTE_RW } from "../tests/cpu/long/sandbox64.ts";

const HI = 0xffff8000 | 0, CODE = 0x00400000, DATA = 0x00800000;
/** Qwords scanned per pass (4 MiB). */
const QWORDS = 1 << 19;

/**
 * 00 loop0: xor eax, eax; 02 xor edi, edi
 * 04 loop2: cmp rdi, r9; 07 jae done
 * 09 mov rdx, [rbx + rdi*8]; 0d cmp rdx, -1; 11 je skip; 13 add rax, rdx
 * 16 skip: inc rdi; 19 jmp loop2
 * 1b done: jmp loop0
 */
const SCAN = hex("31c031ff4c39cf7312488b14fb4883faff74034801d048ffc7ebe9ebe3");

function machine(jit: boolean): Cpu {
  const m = machine64Paged(0x600, 0x580, 0x40);
  m.tables.map(CODE, HI, 0x10, PTE_RW);
  m.mem.write(0x10000, SCAN);
  for (let p = 0; p < (QWORDS * 8) / 4096; p++) {
    m.tables.map(DATA + p * 4096, HI, 0x100 + p, PTE_RW);
  }
  for (let i = 0; i < QWORDS; i++) {
    m.mem.dv.setInt32(0x100000 + i * 8, i % 5 === 0 ? -1 : i, true);
    m.mem.dv.setInt32(0x100000 + i * 8 + 4, i % 5 === 0 ? -1 : 0, true);
  }
  const c = m.cpu;
  c.eip = CODE;
  c.lm.ripHi = HI;
  c.regs[3] = DATA;
  c.lm.hi[3] = HI;
  c.lm.rlo[1] = QWORDS; // r9
  c.jit = null;
  c.jit64 = jit ? new Jit64() : null;
  return c;
}

function mips(jit: boolean, n: number): number {
  const c = machine(jit);
  c.run(2_000_000); // warm up
  const c0 = process.cpuUsage();
  for (let done = 0; done < n;) done += c.run(Math.min(1_000_000, n - done));
  const used = process.cpuUsage(c0);
  return n / (used.user + used.system);
}

const n = Number(Deno.env.get("JIT64_BENCH_N") ?? 100_000_000);
const on = mips(true, n), off = mips(false, Math.min(n, 20_000_000));
console.log(
  `jit64_bench: p2m-like scan ${on.toFixed(1)} MIPS cpu-time compiled, ` +
    `${off.toFixed(1)} interpreted (x${(on / off).toFixed(1)})`,
);
