/**
 * The hostile-input battery: every subcommand and every file-taking flag of pvx against
 * an empty file, random bytes, a directory, a missing path, a FIFO, a 10 GiB sparse file
 * and /dev/zero; and the trace and recording decoders against truncations at many offsets
 * and byte flips of real files.
 *
 * Bounds asserted for each CLI case: exit 2 with exactly one line on stderr (a refused
 * output path too), within 20 s of wall time and 400 MiB of peak memory (measured: under
 * 1 s and ~110 MiB each; a 10 GiB sparse file used to take 45 s and 21 GB). Inputs that
 * are valid streams by design (a FIFO or /dev/zero for --console-input, a sparse or
 * random --disk, opaque --ramdisk bytes, /dev/null-like devices as outputs) are not in
 * the matrix.
 */
import { ok, strictEqual } from "node:assert/strict";
import { decodeTrace, TraceFormatError } from "../../lib/trace/decode.ts";
import { parseRecording } from "../../lib/replay/recording_format.ts";
import { InputError } from "../../lib/errors.ts";
import { exists } from "../_tools.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const GUEST = new URL("../../guest/pvx-guest.elf", import.meta.url).pathname;
const dec = new TextDecoder();
const HAVE_TIME = exists("/usr/bin/time");
const MAX_RSS_KB = 400 * 1024;
const MAX_SECONDS = 20;

/** A deterministic byte generator. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

interface Case {
  name: string;
  path: string;
  /** A writer to start before pvx runs (FIFOs). */
  feed?: () => Promise<void>;
}

async function hostileFiles(dir: string): Promise<Case[]> {
  const r = rng(7);
  await Deno.writeFile(`${dir}/empty`, new Uint8Array(0));
  await Deno.writeFile(`${dir}/random`, Uint8Array.from({ length: 65536 }, () => r() & 0xff));
  await Deno.mkdir(`${dir}/dir`);
  const sparse = await Deno.open(`${dir}/sparse`, { write: true, create: true });
  await sparse.truncate(10 * 2 ** 30);
  sparse.close();
  const fifo = `${dir}/fifo`;
  const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  strictEqual(mk.code, 0);
  return [
    { name: "an empty file", path: `${dir}/empty` },
    { name: "random bytes", path: `${dir}/random` },
    { name: "a directory", path: `${dir}/dir` },
    { name: "a missing path", path: `${dir}/missing` },
    {
      name: "a FIFO",
      path: fifo,
      // a writer of random bytes, for the commands that read a FIFO as a stream
      feed: async () => {
        const f = await Deno.open(fifo, { write: true });
        try {
          await f.write(Uint8Array.from({ length: 4096 }, () => r() & 0xff));
        } catch {
          // the reader went away
        } finally {
          f.close();
        }
      },
    },
    { name: "a 10 GiB sparse file", path: `${dir}/sparse` },
    { name: "/dev/zero", path: "/dev/zero" },
  ];
}

/** Runs pvx, measuring peak memory with GNU time when present. */
async function pvxBounded(args: string[]): Promise<{ code: number; err: string; kb: number }> {
  const cmd = HAVE_TIME
    ? ["/usr/bin/time", "-f", "PVX_MAXRSS=%M", Deno.execPath(), "run", "-A", CLI, ...args]
    : [Deno.execPath(), "run", "-A", CLI, ...args];
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), MAX_SECONDS * 1000);
  const o = await child.output();
  clearTimeout(timer);
  let err = dec.decode(o.stderr);
  let kb = 0;
  const m = /PVX_MAXRSS=(\d+)\n?$/.exec(err);
  if (m) {
    kb = Number(m[1]);
    err = err.slice(0, m.index).replace(/Command exited with non-zero status \d+\n$/, "");
  }
  // GNU time passes the child's exit code through
  return { code: o.code, err, kb };
}

/** The commands to try, each with the hostile path in one file-taking position. */
function commands(p: string, tmp: string): { label: string; args: string[]; stream?: boolean }[] {
  return [
    { label: "inspect IMAGE", args: ["inspect", p] },
    { label: "inspect --json IMAGE", args: ["inspect", "--json", p] },
    { label: "trace FILE", args: ["trace", p], stream: true },
    { label: "trace --summary FILE", args: ["trace", "--summary", p], stream: true },
    { label: "replay FILE", args: ["replay", p] },
    { label: "boot IMAGE", args: ["boot", p] },
    { label: "boot --ramdisk F", args: ["boot", GUEST, "--ramdisk", p] },
    { label: "boot --domain F.cfg", args: ["boot", "--domain", p] },
    { label: "boot F.cfg", args: ["boot", `${p}`] },
    { label: "boot --disk F", args: ["boot", GUEST, "--disk", p], stream: false },
    { label: "boot --trace OUT", args: ["boot", GUEST, "--trace", p] },
    { label: "boot --console-log OUT", args: ["boot", GUEST, "--console-log", p] },
    { label: "boot --net-pcap OUT", args: ["boot", GUEST, "--net-pcap", p] },
    { label: "boot --record-rings OUT", args: ["boot", GUEST, "--record-rings", p] },
    { label: "trace --perfetto OUT", args: ["trace", `${tmp}/valid.trace`, "--perfetto", p] },
  ];
}

/**
 * Whether a (command, file) pair is hostile. Output flags only refuse a directory, a
 * FIFO or a missing parent; a disk may be any regular file of whole sectors; an
 * existing regular file is a valid output.
 */
function hostile(label: string, c: Case): boolean {
  const output = / OUT$/.test(label);
  if (output) return c.name === "a directory" || c.name === "a FIFO";
  if (label === "boot --disk F") {
    return ["an empty file", "a directory", "a missing path", "a FIFO", "/dev/zero"].includes(
      c.name,
    );
  }
  if (label === "boot F.cfg") return false; // the same files as "boot IMAGE"
  // a ramdisk is opaque bytes for the guest (Xen loads any): only unreadable ones are bad
  if (label === "boot --ramdisk F") return !["an empty file", "random bytes"].includes(c.name);
  return true;
}

Deno.test("hostile input: every subcommand and file flag exits 2 with one line, bounded", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const cases = await hostileFiles(dir);
    // a valid trace for the --perfetto cases
    const boot = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "boot", GUEST, "--trace", `${dir}/valid.trace`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    strictEqual(boot.code, 0);
    const failures: string[] = [];
    for (const c of cases) {
      await t.step(c.name, async () => {
        for (const cmd of commands(c.path, dir)) {
          if (!hostile(cmd.label, c)) continue;
          const feeding = c.feed && cmd.stream ? c.feed() : undefined;
          const t0 = performance.now();
          const r = await pvxBounded(cmd.args);
          const secs = (performance.now() - t0) / 1000;
          if (feeding) await feeding;
          const lines = r.err.trimEnd().split("\n").filter((l) => l !== "");
          const what = `pvx ${cmd.label} with ${c.name}: exit ${r.code}, ${
            secs.toFixed(1)
          } s, ${r.kb} KiB, stderr ${JSON.stringify(r.err.slice(0, 300))}`;
          if (r.code !== 2 || lines.length !== 1 || r.kb > MAX_RSS_KB) failures.push(what);
        }
      });
    }
    strictEqual(failures.length, 0, failures.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pvx trace: every cut of a real trace is refused with its offset unless it ends at a window boundary; byte flips never crash", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const boot = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "boot", GUEST, "--trace", `${dir}/t.trace`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    strictEqual(boot.code, 0);
    const bytes = await Deno.readFile(`${dir}/t.trace`);
    const records = decodeTrace(bytes);
    // window boundaries: where a cpu_change record starts, and the end
    const boundaries = new Set(records.filter((r) => r.event === 0x1f003).map((r) => r.offset));
    boundaries.add(bytes.length);
    let refused = 0;
    for (let cut = 0; cut < bytes.length; cut += cut < 256 ? 1 : 37) {
      try {
        decodeTrace(bytes.subarray(0, cut));
        ok(boundaries.has(cut) && cut > 0, `a cut at ${cut} decoded`);
      } catch (e) {
        ok(e instanceof TraceFormatError, `cut at ${cut}: ${e}`);
        ok(/at byte offset \d+/.test(e.message), e.message);
        refused++;
      }
    }
    ok(refused > 100, `${refused} cuts refused`);
    const r = rng(3);
    for (let i = 0; i < 2000; i++) {
      const m = bytes.slice();
      m[r() % m.length] ^= 1 << (r() % 8);
      try {
        decodeTrace(m);
      } catch (e) {
        ok(e instanceof TraceFormatError, `flip ${i}: ${e}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pvx replay: cuts and byte flips of a real recording are InputErrors, never crashes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const boot = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "boot", GUEST, "--record-rings", `${dir}/r.rec`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    strictEqual(boot.code, 0);
    const bytes = await Deno.readFile(`${dir}/r.rec`);
    parseRecording(bytes);
    let refused = 0;
    for (let cut = 0; cut < bytes.length; cut += cut < 256 ? 1 : 53) {
      try {
        parseRecording(bytes.subarray(0, cut));
      } catch (e) {
        ok(e instanceof InputError, `cut at ${cut}: ${e}`);
        refused++;
      }
    }
    ok(refused > 100, `${refused} cuts refused`);
    const r = rng(5);
    for (let i = 0; i < 1000; i++) {
      const m = bytes.slice();
      m[r() % m.length] ^= 1 << (r() % 8);
      try {
        parseRecording(m);
      } catch (e) {
        ok(e instanceof InputError, `flip ${i}: ${e}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
