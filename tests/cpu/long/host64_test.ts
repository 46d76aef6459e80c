/**
 * The 64-bit integer ISA against the host CPU: every form of forms64.h (harness64.c, run
 * natively by generate.sh into host64.bin.gz) is replayed through the 64-bit interpreter at
 * CPL 3 with its code at the address it had on the host (so RIP-relative and call/return
 * forms compare too), and the 15 GPRs, RSP (balanced), CF PF AF ZF SF OF DF (the undefined
 * ones too: pvx follows the host, an AMD EPYC, as in 32-bit mode; the whole RFLAGS for
 * pushf/popf) and the 256-byte buffer at MEM_BASE must equal the host's. Only 16-bit
 * shld/shrd by more than 16 (an undefined result) compare no register or flag but DF.
 * @module
 */

import assert from "node:assert/strict";
import { machine64 } from "./machine64.ts";
import { ATTR_L } from "../../../lib/cpu/long/long_state.ts";
import type { Cpu } from "../../../lib/cpu/mod.ts";

interface Form {
  name: string;
  gen: string;
  mem: boolean;
  cases: number;
  addr: number;
  bytes: string;
  asm: string;
}

const MEM_BASE = 0x200000, MEM_SIZE = 256, STACK_TOP = 0x480000, FRAMES = 0x500;
const STATE = 17 * 8;

async function load(): Promise<{ forms: Form[]; data: Uint8Array }> {
  const forms = JSON.parse(
    await Deno.readTextFile(new URL("./forms64.json", import.meta.url)),
  ) as Form[];
  const gz = await Deno.readFile(new URL("./host64.bin.gz", import.meta.url));
  const buf = await new Response(
    new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
  ).arrayBuffer();
  return { forms, data: new Uint8Array(buf) };
}

function bytesOf(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** CF PF AF ZF SF OF DF: all compared, the ones the SDM leaves undefined too (pvx follows
 * the host's values, as the 32-bit path does; host64_cpu.txt names the CPU). */
const F_ALL = 0xcd5;

/** The shift count a shld/shrd form uses. */
function shiftCount(f: Form, rcx: number): number {
  if (f.name.includes("_cl")) return rcx & 0xff;
  const m = /(\d+)$/.exec(f.asm);
  return m ? Number(m[1]) : 1;
}

/** Whether the form's result is undefined for this input (16-bit shld/shrd beyond 16). */
function undefinedResult(f: Form, rcx: number): boolean {
  if (!/^sh[lr]d16/.test(f.name)) return false;
  return (shiftCount(f, rcx) & 31) > 16;
}

function setState(cpu: Cpu, dv: DataView, at: number): void {
  for (let r = 0; r < 16; r++) {
    const lo = dv.getInt32(at + r * 8, true), hi = dv.getInt32(at + r * 8 + 4, true);
    if (r === 4) continue;
    if (r < 8) cpu.regs[r] = lo;
    else cpu.lm.rlo[r - 8] = lo;
    cpu.lm.hi[r] = hi;
  }
  cpu.regs[4] = STACK_TOP;
  cpu.lm.hi[4] = 0;
  cpu.setEflags(dv.getInt32(at + 128, true));
}

function hex64(lo: number, hi: number): string {
  return (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");
}

const NAMES = [
  "rax",
  "rcx",
  "rdx",
  "rbx",
  "rsp",
  "rbp",
  "rsi",
  "rdi",
  "r8",
  "r9",
  "r10",
  "r11",
  "r12",
  "r13",
  "r14",
  "r15",
];

/** Compares the state after a case; returns the differences ("" when equal). */
function compare(cpu: Cpu, f: Form, dv: DataView, inAt: number, outAt: number): string {
  const diffs: string[] = [];
  const rcx = dv.getUint32(inAt + 8, true);
  const skipResult = undefinedResult(f, rcx);
  for (let r = 0; r < 16; r++) {
    if (r === 4) continue;
    const lo = r < 8 ? cpu.regs[r] : cpu.lm.rlo[r - 8], hi = cpu.lm.hi[r];
    const elo = dv.getInt32(outAt + r * 8, true), ehi = dv.getInt32(outAt + r * 8 + 4, true);
    if (skipResult && (r === 0 || r === 2)) continue;
    if (lo !== elo || hi !== ehi) {
      diffs.push(`${NAMES[r]} ${hex64(lo, hi)} want ${hex64(elo, ehi)}`);
    }
  }
  if (cpu.regs[4] !== STACK_TOP || cpu.lm.hi[4] !== 0) {
    diffs.push(`rsp ${hex64(cpu.regs[4], cpu.lm.hi[4])}`);
  }
  const popf = /pushf|popf/.test(f.name);
  const mask = popf ? 0x3f7fd5 : skipResult ? 0x400 : F_ALL;
  const fl = cpu.getEflags(), efl = dv.getInt32(outAt + 128, true);
  if (((fl ^ efl) & mask) !== 0) {
    diffs.push(
      `flags ${(fl >>> 0).toString(16)} want ${(efl >>> 0).toString(16)} mask ${mask.toString(16)}`,
    );
  }
  return diffs.join(", ");
}

Deno.test("long mode: every 64-bit integer form of forms64.h equals the host CPU", async () => {
  const { forms, data } = await load();
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const { cpu, mem, platform } = machine64(new Uint8Array(0), FRAMES);
  cpu.setSegmentRaw(1, 0x33, 0, -1, cpu.segAttr[1] | ATTR_L | 0x60);
  const failures: string[] = [];
  const failedForms = new Map<string, number>();
  let at = 0, cases = 0;
  while (at < data.length) {
    const id = dv.getUint16(at, true);
    const f = forms[id];
    const inAt = at + 2;
    const memIn = inAt + STATE;
    const outAt = memIn + (f.mem ? MEM_SIZE : 0);
    const memOut = outAt + STATE;
    at = memOut + (f.mem ? MEM_SIZE : 0);
    cases++;
    const code = bytesOf(f.bytes);
    mem.write(f.addr, code);
    if (f.mem) mem.write(MEM_BASE, data.subarray(memIn, memIn + MEM_SIZE));
    setState(cpu, dv, inAt);
    cpu.eip = f.addr;
    cpu.lm.ripHi = 0;
    platform.exceptions.length = 0;
    const end = f.addr + code.length;
    let why = "";
    for (let n = 0; n < 200 && cpu.eip !== end; n++) {
      cpu.run(1);
      if (platform.exceptions.length > 0) {
        const e = platform.exceptions[0];
        why = `exception ${e.vector} (${e.errorCode}) at +${e.eip - f.addr}`;
        break;
      }
    }
    if (why === "" && cpu.eip !== end) why = `rip +${cpu.eip - f.addr} after 200 steps`;
    if (why === "") why = compare(cpu, f, dv, inAt, outAt);
    if (why === "" && f.mem) {
      const got = mem.u8.subarray(MEM_BASE, MEM_BASE + MEM_SIZE),
        want = data.subarray(memOut, memOut + MEM_SIZE);
      for (let i = 0; i < MEM_SIZE; i++) {
        if (got[i] !== want[i]) {
          why = `mem[${i}] ${got[i].toString(16)} want ${want[i].toString(16)}`;
          break;
        }
      }
    }
    if (why !== "") {
      const k = failedForms.get(f.name) ?? 0;
      failedForms.set(f.name, k + 1);
      if (k < 2) {
        const regs: string[] = [];
        for (let r = 0; r < 16; r++) {
          regs.push(
            `${NAMES[r]}=${
              hex64(dv.getInt32(inAt + r * 8, true), dv.getInt32(inAt + r * 8 + 4, true))
            }`,
          );
        }
        const fl = (dv.getUint32(inAt + 128, true)).toString(16);
        failures.push(`${f.name} (${f.asm}): ${why}\n    in: ${regs.join(" ")} fl=${fl}`);
      }
    }
  }
  assert.ok(cases > 10_000, `cases ${cases}`);
  assert.equal(
    failedForms.size,
    0,
    `${failedForms.size} forms fail: ${[...failedForms].map(([n, k]) => `${n}:${k}`).join(" ")}\n` +
      failures.join("\n"),
  );
});
