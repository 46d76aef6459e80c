/**
 * The machines of bench/cpu64_bench.ts (also run by tests/cpu/long/tlb64_program_test.ts):
 * the crc_sort kernel built -m32 on the 32-bit loop, -m64 flat in 64-bit mode, and
 * -m64 -mcmodel=kernel at 0xffffffff80010000 through the 4-level walker.
 * @module
 */

import { flatMachine } from "../../lib/cpu/testing.ts";
import type { Cpu } from "../../lib/cpu/mod.ts";
import { ATTR_L, EFER_LMA } from "../../lib/cpu/long/long_state.ts";
import { machine64Paged, PTE_RW } from "../../tests/cpu/long/sandbox64.ts";

const BIN32 = new URL("../../tests/cpu/fixtures/crc_sort.bin", import.meta.url);
const BIN64 = new URL("./crc_sort64.bin", import.meta.url);
const BIN64K = new URL("./crc_sort64k.bin", import.meta.url);
const LOAD = 0x10000;
/** High half of the kernel image's addresses (0xffffffff80000000 + ...). */
const KHI = -1, KLO = 0x80000000 | 0;

/** The -m32 build on the 32-bit loop, flat. */
export function machine32(): Cpu {
  const m = flatMachine(Deno.readFileSync(BIN32), LOAD, 512);
  m.cpu.regs[4] = 0x1f0000;
  return m.cpu;
}

/** The -m64 build in 64-bit mode, flat: no walker, linear = machine. */
export function machine64Flat(): Cpu {
  const m = flatMachine(Deno.readFileSync(BIN64), LOAD, 512);
  m.cpu.efer |= EFER_LMA;
  m.cpu.segAttr[1] |= ATTR_L;
  m.cpu.regs[4] = 0x1f0000;
  return m.cpu;
}

/**
 * The -mcmodel=kernel build at 0xffffffff80010000 through the 4-level walker: the first
 * 1.5 MiB of machine memory mapped there (image, data, stack), page 0 identity-mapped for
 * the results the kernel stores at 0x800.
 */
export function machine64Kernel(): Cpu {
  const m = machine64Paged(512, 0x180, 0x20);
  m.mem.write(LOAD, Deno.readFileSync(BIN64K));
  for (let f = 0; f < 0x180; f++) m.tables.map((KLO + f * 4096) | 0, KHI, f, PTE_RW);
  m.tables.map(0, 0, 0, PTE_RW);
  m.cpu.eip = KLO + LOAD;
  m.cpu.lm.ripHi = KHI;
  m.cpu.regs[4] = KLO + 0x170000;
  m.cpu.lm.hi[4] = KHI;
  return m.cpu;
}

/** Runs `n` instructions (resuming after each round's hlt); returns instructions run. */
export function runFor(cpu: Cpu, n: number): number {
  let done = 0;
  while (done < n) {
    done += cpu.run(Math.min(1_000_000, n - done));
    cpu.halted = false;
  }
  return done;
}
