/**
 * `pvx replay FILE`: re-drives a ring recording's frontend side against fresh backends
 * and reports divergences (exit 1), or fuzzes the backends from it (`--fuzz N --seed S`);
 * exports vif traffic as pcap and vbd traffic as text.
 * @module
 */
import { createHash } from "node:crypto";
import { cannotRead, InputError, UsageError } from "../errors.ts";
import { createOutputFile, readBounded } from "./host_files.ts";
import { parseRecording, type Recording, type StreamConfig } from "../replay/mod.ts";
import type { DiskImage } from "../blkfront/mod.ts";
import { openDiskImage } from "./disk_file.ts";
import { type BackendFactory, replayable, slotBytes, streamAbi } from "../replay/mod.ts";
import { PcapExport, VbdTextExport } from "../replay/mod.ts";
import { fuzzRecording, reproducerLateWrites } from "../replay/mod.ts";
import { replayStream, streamBlocks, type StreamReport } from "../replay/mod.ts";

/** Options of {@link replayRecording}. */
export interface ReplayOptions {
  /** The recording. */
  file: string;
  /** `--ring NAME` (repeatable): only these streams ("vbd-51712", "vif-0", "console"). */
  rings?: string[];
  /** `--json`: one JSON document on stdout. */
  json?: boolean;
  /** `--fuzz N`: mutations to try. */
  fuzz?: number;
  /** `--seed S` (default 1). */
  seed?: number;
  /** `--out FILE`: where a fuzz reproducer goes (default FILE.repro.rec). */
  out?: string;
  /** `--pcap OUT`: vif traffic. */
  pcap?: string;
  /** `--vbd-text OUT`: vbd requests and responses. */
  vbdText?: string;
  /** `--disk NAME=PATH` (repeatable): the initial image of a vbd the recording does not embed. */
  disks?: string[];
  /** Where the report goes (default stdout). */
  print?: (line: string) => void;
  /** Test hook: builds the backends (a backend with an injected bug). */
  factory?: BackendFactory;
}

/** The whole outcome, as `--json` prints it. */
export interface ReplayReport {
  /** The file. */
  file: string;
  /** "compare", "invariants" (a reproducer) or "fuzz". */
  mode: string;
  /** Per stream. */
  rings: (StreamReport & { skipped?: string })[];
  /** Fuzzing: mutations, cases and the failure. */
  fuzz?: {
    mutations: number;
    cases: number;
    failure?: { ring: string; what: string; reproducer: string; mutations: unknown[] };
  };
}

/** The largest recording read (disk images over 64 MiB are not embedded). */
const RECORDING_LIMIT = 1024 << 20;

async function readRecording(file: string): Promise<Recording> {
  let bytes: Uint8Array;
  try {
    bytes = await readBounded(file, RECORDING_LIMIT);
  } catch (e) {
    throw cannotRead("recording", file, e);
  }
  return parseRecording(bytes);
}

/**
 * Runs `pvx replay`.
 * @returns 0 no divergence / no failure, 1 divergence or invariant broken
 * @throws InputError (RecordingFormatError) for a corrupt or truncated recording
 * @example
 * ```ts
 * const code = await run({ file: "boot.rec", rings: ["vbd-51712"], json: true });
 * ```
 */
export async function replayRecording(opts: ReplayOptions): Promise<number> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const rec = await readRecording(opts.file);
  const all = [...rec.streams.entries()];
  const names = new Set(all.map(([, c]) => c.name));
  for (const r of opts.rings ?? []) {
    if (!names.has(r)) {
      throw new UsageError(`No ring "${r}" in "${opts.file}" (rings: ${[...names].join(", ")})`);
    }
  }
  const chosen = all.filter(([, c]) => !opts.rings?.length || opts.rings.includes(c.name));
  const diskPaths = new Map<string, string>();
  for (const d of opts.disks ?? []) {
    const eq = d.indexOf("=");
    if (eq <= 0 || !names.has(d.slice(0, eq))) {
      throw new UsageError(`--disk takes RING=PATH with a ring of "${opts.file}", got "${d}"`);
    }
    diskPaths.set(d.slice(0, eq), d.slice(eq + 1));
  }
  if (opts.fuzz !== undefined) {
    if (!Number.isSafeInteger(opts.fuzz) || opts.fuzz < 1) {
      throw new UsageError(`--fuzz needs a positive count, got ${opts.fuzz}`);
    }
    return await runFuzz(
      rec,
      chosen.filter(([, c]) => replayable(c.kind, true)).map(([s]) => s),
      opts,
      print,
    );
  }
  const invariants = rec.header.check === "invariants";
  const late = reproducerLateWrites(rec.header.info);
  const pcap = opts.pcap ? new PcapExport() : undefined;
  const texts: VbdTextExport[] = [];
  const report: ReplayReport = {
    file: opts.file,
    mode: invariants ? "invariants" : "compare",
    rings: [],
  };
  for (const [sid, c] of chosen) {
    if (!replayable(c.kind, invariants)) {
      report.rings.push({
        ring: c.name,
        kind: c.kind,
        inputs: 0,
        calls: 0,
        compared: 0,
        divergences: [],
        violations: [],
        skipped: "xenstore answers depend on the whole store: recorded and fuzzed, not compared",
      });
      continue;
    }
    const text = c.kind === "vbd" && opts.vbdText
      ? new VbdTextExport(c.name, streamAbi(streamBlocks(rec, sid)))
      : undefined;
    if (text) texts.push(text);
    const image = c.kind === "vbd" && !rec.disks.has(sid)
      ? await openRecordedDisk(c, diskPaths.get(c.name))
      : undefined;
    const r = await replayStream(rec, sid, {
      image,
      mode: invariants ? "model" : "compare",
      factory: opts.factory,
      lateWrites: late,
      afterInput: text?.afterInput,
      onBackend: (b) => {
        if (pcap && b.switch) pcap.attach(b.switch);
      },
    });
    await image?.close();
    report.rings.push(r);
  }
  if (pcap && opts.pcap) writeOutput(opts.pcap, "capture", pcap.bytes());
  if (opts.vbdText) {
    const text = texts.flatMap((t) => t.lines).join("\n") + "\n";
    writeOutput(opts.vbdText, "vbd text", new TextEncoder().encode(text));
  }
  const bad = report.rings.some((r) => r.divergences.length > 0 || r.violations.length > 0);
  if (opts.json) print(JSON.stringify(report, null, 2));
  else printTable(report, print);
  return bad ? 1 : 0;
}

function printTable(report: ReplayReport, print: (l: string) => void): void {
  const rows = [[
    "ring",
    "kind",
    "inputs",
    "calls",
    "compared",
    "divergences",
    "violations",
    "result",
  ]];
  for (const r of report.rings) {
    const result = r.skipped
      ? "skipped"
      : r.divergences.length + r.violations.length > 0
      ? "FAIL"
      : "ok";
    rows.push([
      r.ring,
      r.kind,
      String(r.inputs),
      String(r.calls),
      String(r.compared),
      String(r.divergences.length),
      String(r.violations.length),
      result,
    ]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) print(r.map((c, i) => c.padEnd(w[i])).join("  ").trimEnd());
  for (const r of report.rings) {
    if (r.skipped) print(`${r.ring}: ${r.skipped}`);
    for (const d of r.divergences.slice(0, 20)) {
      print(
        `${d.ring}: input #${d.input}, block ${d.block}: ${d.what}` +
          `${d.request ? ` (${d.request})` : ""}: expected ${d.expected}, got ${d.got}`,
      );
    }
    if (r.divergences.length > 20) print(`${r.ring}: ... ${r.divergences.length - 20} more`);
    for (const v of r.violations.slice(0, 20)) print(`${v.ring}: input #${v.input}: ${v.what}`);
  }
}

/**
 * Opens `--disk NAME=PATH` for a vbd whose image the recording holds only by size and
 * hash: checks both, and serves it through a copy-on-write snapshot (the file is never
 * written).
 */
async function openRecordedDisk(c: StreamConfig, path: string | undefined): Promise<DiskImage> {
  if (!path) {
    throw new UsageError(
      `Stream "${c.name}" has no embedded disk image (${c.diskBytes} bytes); pass --disk ${c.name}=PATH`,
    );
  }
  const image = await openDiskImage(path, { snapshot: true });
  try {
    if (c.diskBytes !== undefined && image.sectors * 512 !== c.diskBytes) {
      throw new InputError(
        `Disk "${path}" has ${image.sectors * 512} bytes; "${c.name}" recorded ${c.diskBytes}`,
      );
    }
    if (c.diskSha256) {
      const h = createHash("sha256");
      const chunk = new Uint8Array(4 << 20);
      for (let s = 0; s < image.sectors; s += chunk.length / 512) {
        const view = chunk.subarray(0, Math.min(chunk.length / 512, image.sectors - s) * 512);
        await image.read(s, view);
        h.update(view);
      }
      if (h.digest("hex") !== c.diskSha256) {
        throw new InputError(`Disk "${path}" is not the image "${c.name}" was recorded with`);
      }
    }
  } catch (e) {
    await image.close();
    throw e;
  }
  return image;
}

async function runFuzz(
  rec: Recording,
  streams: number[],
  opts: ReplayOptions,
  print: (l: string) => void,
): Promise<number> {
  // a vbd without its image embedded is not fuzzed (every case would need the file)
  streams = streams.filter((sid) => rec.streams.get(sid)?.kind !== "vbd" || rec.disks.has(sid));
  if (streams.length === 0) throw new UsageError(`No replayable ring in "${opts.file}" to fuzz`);
  const seed = opts.seed ?? 1;
  const res = await fuzzRecording(rec, {
    mutations: opts.fuzz!,
    seed,
    streams,
    slotBytes: (sid, mapId) =>
      slotBytes(rec.streams.get(sid)!, streamAbi(streamBlocks(rec, sid)), mapId),
    factory: opts.factory,
    log: opts.json ? undefined : print,
  });
  const out = opts.out ?? `${opts.file}.repro.rec`;
  if (res.failure) writeOutput(out, "reproducer", res.failure.reproducer);
  const report: ReplayReport = {
    file: opts.file,
    mode: "fuzz",
    rings: [],
    fuzz: {
      mutations: res.mutations,
      cases: res.cases,
      failure: res.failure && {
        ring: res.failure.ring,
        what: res.failure.violations[0]?.what ?? "",
        reproducer: out,
        mutations: res.failure.mutations,
      },
    },
  };
  if (opts.json) print(JSON.stringify(report, null, 2));
  else if (res.failure) {
    print(`fuzz seed ${seed}: ${res.cases} cases, ${res.mutations} mutations`);
    print(`FAIL ${res.failure.ring}: ${res.failure.violations[0]?.what}`);
    print(`minimal mutations: ${JSON.stringify(res.failure.mutations)}`);
    print(`reproducer: ${out} (pvx replay ${out})`);
  } else {
    print(`fuzz seed ${seed}: ${res.cases} cases, ${res.mutations} mutations, no invariant broken`);
  }
  return res.failure ? 1 : 0;
}

/** Writes a whole output file (checked: not a directory, FIFO or socket). */
function writeOutput(path: string, what: string, bytes: Uint8Array): void {
  const f = createOutputFile(path, what);
  try {
    for (let o = 0; o < bytes.length;) o += f.writeSync(bytes.subarray(o));
  } catch (e) {
    throw new InputError(`Cannot write ${what} "${path}": ${e instanceof Error ? e.message : e}`);
  } finally {
    f.close();
  }
}
