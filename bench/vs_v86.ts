/**
 * pvx against v86 on one compute loop, side by side in one run: the loop of
 * bench/vs_v86/loop.c (CRC-32, insertion sort, a 24x24 matrix multiply; gcc -O2 -m32
 * -march=i686) built as a multiboot kernel that v86 (npm `v86`, x86-to-wasm JIT) boots with
 * its own multiboot loader (no BIOS) and as a 32-bit PV kernel that pvx boots.
 *
 * Each kernel prints "S\n" before the loop and "E <rounds> <checksum>\n" after it; only the
 * time between the two markers counts, and the guest instructions retired between them
 * (pvx: the vCPU's retired counter; v86: its instruction counter). Both checksums must agree.
 *
 * Run: deno run -A bench/vs_v86.ts [--rounds N (default 300)] [--repeat N (default 3)] [--no-jit]
 * (rebuild the kernels with bench/vs_v86/build.sh)
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { V86 } from "v86";
import { boot as run } from "../lib/toolstack/boot.ts";
import type { ConsoleSink } from "../lib/console/sinks.ts";
import type { Machine } from "../lib/hypervisor/mod.ts";

const DIR = new URL("./vs_v86/", import.meta.url);
const PV_KERNEL = new URL("loop_pv.elf", DIR).pathname;
const MB_KERNEL = new URL("loop_mb.elf", DIR);

/** What one emulator measured between the markers. */
export interface LoopResult {
  /** Wall time of the loop, ms. */
  ms: number;
  /** Process CPU time (all threads) over the loop, ms: steadier on a shared machine. */
  cpuMs: number;
  /** Guest instructions retired in the loop. */
  instructions: number;
  /** The "E" line the kernel printed. */
  line: string;
}

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Collects the kernel's output and notes time and a counter at the S and E markers. */
class MarkerSink implements ConsoleSink {
  text = "";
  start: [number, number, number] | undefined;
  end: [number, number, number] | undefined;
  readonly detached: Promise<void> = new Promise(() => {});
  constructor(private readonly counter: () => number) {}
  write(bytes: Uint8Array): boolean {
    for (const b of bytes) this.byte(b);
    return true;
  }
  byte(b: number): void {
    if (b === 0x53 && !this.start) this.start = [performance.now(), this.counter(), cpuNow()];
    if (b === 0x45 && this.start && !this.end) {
      this.end = [performance.now(), this.counter(), cpuNow()];
    }
    this.text += String.fromCharCode(b);
  }
  get backlog(): number {
    return 0;
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
  takeInput(): Uint8Array {
    return new Uint8Array(0);
  }
  read(): Uint8Array {
    return new Uint8Array(0);
  }
  onInput(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
  result(who: string): LoopResult {
    const line = this.text.split("\n").find((l) => l.startsWith("E ")) ?? "";
    if (!this.start || !this.end || !line) throw new Error(`${who}: no markers in ${this.text}`);
    return {
      ms: this.end[0] - this.start[0],
      cpuMs: this.end[2] - this.start[2],
      instructions: this.end[1] - this.start[1],
      line,
    };
  }
}

/** Boots the PV kernel in pvx and times its loop. */
export async function runPvx(
  rounds: number,
  extra: { noJit?: boolean; onMachine?: (m: Machine) => void } = {},
): Promise<LoopResult> {
  let machine: Machine | undefined;
  const sink = new MarkerSink(() => machine ? machine.domain.vcpus[0].cpu.retired : 0);
  const opts = {
    image: PV_KERNEL,
    cmdline: `r=${rounds}`,
    console: sink,
    noReboot: true,
    log: () => {},
    onMachine: (m: Machine) => {
      machine = m;
      extra.onMachine?.(m);
    },
    machine: extra.noJit ? { jit: false } : undefined,
  };
  const code = await run(opts);
  if (code !== 0) throw new Error(`pvx: exit ${code}: ${sink.text}`);
  return sink.result("pvx");
}

/** Boots the multiboot kernel in v86 and times its loop. */
export async function runV86(rounds: number): Promise<LoopResult> {
  const wasm = await Deno.readFile(new URL("v86.wasm", import.meta.resolve("v86")));
  const kernel = await Deno.readFile(MB_KERNEL);
  const emulator = new V86({
    wasm_fn: async (env: WebAssembly.Imports) =>
      (await WebAssembly.instantiate(wasm, env)).instance.exports,
    multiboot: { buffer: kernel.buffer },
    cmdline: `r=${rounds}`,
    memory_size: 64 * 1024 * 1024,
    autostart: true,
    disable_speaker: true,
  });
  const sink = new MarkerSink(() => emulator.get_instruction_counter());
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`v86: timed out: ${sink.text}`)), 600_000);
      emulator.add_listener("serial0-output-byte", (b: number) => {
        sink.byte(b);
        if (b === 0x0a && sink.end) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    await emulator.destroy();
  }
  return sink.result("v86");
}

function rate(r: LoopResult): number {
  return r.instructions / (r.ms / 1000);
}

function cpuRate(r: LoopResult): number {
  return r.instructions / (r.cpuMs / 1000);
}

function fmt(who: string, r: LoopResult): string {
  return `${who.padEnd(4)} ${(rate(r) / 1e6).toFixed(1).padStart(7)} M instructions/s wall, ` +
    `${(cpuRate(r) / 1e6).toFixed(1).padStart(7)} M/s process CPU ` +
    `(${r.instructions} instructions in ${r.ms.toFixed(0)} ms; ${r.line})`;
}

/** The run with the best wall rate. */
function best(rs: LoopResult[]): LoopResult {
  return rs.reduce((a, b) => (rate(b) > rate(a) ? b : a));
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "300" },
      repeat: { type: "string", default: "3" },
      "no-jit": { type: "boolean", default: false },
    },
  });
  const rounds = Number(values.rounds), repeat = Number(values.repeat);
  if (!(rounds >= 1 && rounds <= 100_000)) throw new Error("--rounds: 1..100000");
  if (!(repeat >= 1 && repeat <= 20)) throw new Error("--repeat: 1..20");
  // Alternating runs, best of each: a shared machine's load falls on both alike.
  const vs: LoopResult[] = [], ps: LoopResult[] = [];
  for (let i = 0; i < repeat; i++) {
    vs.push(await runV86(rounds));
    ps.push(await runPvx(rounds, { noJit: values["no-jit"] }));
  }
  const v = best(vs), p = best(ps);
  if (v.line !== p.line) throw new Error(`checksums differ: v86 "${v.line}", pvx "${p.line}"`);
  // The same code and rounds: the same dynamic instruction count. pvx's retired counter
  // is exact; v86's counter (shown for comparison) is read at block granularity.
  const vExact = { ...v, instructions: p.instructions };
  console.log(fmt("v86", vExact) + ` [v86's own counter: ${v.instructions}]`);
  console.log(fmt("pvx", p));
  console.log(
    `ratio pvx/v86: ${(rate(p) / rate(vExact)).toFixed(3)} wall, ` +
      `${(cpuRate(p) / cpuRate(vExact)).toFixed(3)} process CPU (best of ${repeat} each)`,
  );
}
