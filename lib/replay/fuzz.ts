/**
 * `pvx replay --fuzz N --seed S`: mutates a recording's frontend inputs as a malicious
 * frontend would (slot bytes, producer jumps, bad grant refs, overlapping segments, a
 * request changed after the backend read it, event storms, lost writes, bad store values),
 * replays each case in model mode and checks the invariants (no exception, no access
 * outside granted pages, every request answered or a clean disconnect, no hang). A failing
 * case is minimised (mutations, then recording length) and saved as a reproducer.
 * @module
 */
import {
  type Block,
  BlockType,
  encodeBlock,
  encodeDisk,
  encodeHeader,
  encodePayload,
  joinText,
  type Recording,
  splitText,
  utf8,
} from "./recording_format.ts";
import type { LateWrite, Violation } from "./recording_replay_types.ts";
import { GuestModel } from "./recording_guest_model.ts";
import { VERSION } from "../version.ts";
import type { BackendFactory } from "./backends.ts";
import { replayStream, streamBlocks } from "./run.ts";

/** One mutation of a stream's blocks. */
export type Mutation =
  | { k: "bytes"; block: number; off: number; bytes: number[] }
  | { k: "storm"; block: number; times: number }
  | { k: "copy"; block: number; off: number; bytes: number[] }
  | { k: "late"; input: number; afterCalls: number; off: number; bytes: number[] }
  | { k: "drop"; block: number }
  | { k: "store"; block: number; value: string };

/** A failing case. */
export interface FuzzFailure {
  /** The stream. */
  ring: string;
  /** The minimal mutations. */
  mutations: Mutation[];
  /** What broke. */
  violations: Violation[];
  /** The reproducer recording. */
  reproducer: Uint8Array;
}

/** Result of a fuzz campaign. */
export interface FuzzResult {
  /** Mutations applied in total. */
  mutations: number;
  /** Cases replayed. */
  cases: number;
  /** The first failure, minimised (undefined when none). */
  failure?: FuzzFailure;
}

/** A small seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40, 8, 7, 11, 12, 255];

/** Applies `muts` to a stream's blocks. @returns the new blocks and racing writes */
export function applyMutations(
  blocks: readonly Block[],
  muts: readonly Mutation[],
): { blocks: Block[]; late: LateWrite[] } {
  const out: Block[] = blocks.map((b) => b);
  const extra = new Map<number, Block[]>();
  const drop = new Set<number>();
  const late: LateWrite[] = [];
  for (const m of muts) {
    const b = m.k === "late" ? undefined : out[m.block];
    switch (m.k) {
      case "bytes":
        if (b?.type === BlockType.GUEST_WRITE) {
          out[m.block] = { ...b, data: concat(b.data, run(m.off, m.bytes)) };
        }
        break;
      case "copy":
        if (b?.type === BlockType.COPY_FROM && b.data.length > 0) {
          const d = b.data.slice();
          for (let i = 0; i < m.bytes.length; i++) d[(m.off + i) % d.length] = m.bytes[i];
          out[m.block] = { ...b, data: d };
        }
        break;
      case "storm":
        if (b) {
          const list = extra.get(m.block) ?? [];
          for (let i = 0; i < m.times; i++) list.push(b);
          extra.set(m.block, list);
        }
        break;
      case "drop":
        drop.add(m.block);
        break;
      case "store":
        if (b?.type === BlockType.ST_READ) {
          const [p] = splitText(b.data);
          out[m.block] = { ...b, args: Int32Array.of(1), data: joinText([p, m.value]) };
        }
        break;
      case "late":
        late.push({
          input: m.input,
          afterCalls: m.afterCalls,
          mapId: 1,
          runs: run(m.off, m.bytes),
        });
        break;
    }
  }
  const res: Block[] = [];
  for (let i = 0; i < out.length; i++) {
    if (!drop.has(i)) res.push(out[i]);
    for (const e of extra.get(i) ?? []) res.push(e);
  }
  return { blocks: res, late };
}

function run(off: number, bytes: number[]): Uint8Array {
  const r = new Uint8Array(4 + bytes.length);
  const dv = new DataView(r.buffer);
  dv.setUint16(0, off, true);
  dv.setUint16(2, bytes.length, true);
  r.set(bytes, 4);
  return r;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
}

/** Draws one mutation for a stream's blocks. */
export function randomMutation(
  blocks: readonly Block[],
  rnd: () => number,
  slotBytes: (mapId: number) => number = () => 0,
): Mutation | undefined {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const ix = indexOf(blocks);
  const idx = (t: number) => ix.byType.get(t) ?? [];
  const byte = () => rnd() < 0.5 ? pick(INTERESTING) : Math.floor(rnd() * 256);
  const writes = idx(BlockType.GUEST_WRITE);
  const grefs = ix.grefs;
  const r = rnd();
  if (r < 0.4 && writes.length > 0) {
    // slot bytes: inside a run the guest wrote (a request), or anywhere
    const i = pick(writes);
    const runs = runsOf(blocks[i].data);
    const [s, l] = runs.length > 0 && rnd() < 0.9 ? pick(runs) : [0, 4096];
    let off = s + Math.floor(rnd() * Math.max(1, l));
    const eb = slotBytes(blocks[i].args[0]);
    if (eb > 0 && off >= 64 && rnd() < 0.6) {
      // any field of the slot the guest wrote (the unchanged ones are not in the run)
      off = 64 + Math.floor((off - 64) / eb) * eb + Math.floor(rnd() * eb);
    }
    const n = 1 + Math.floor(rnd() * 4);
    return {
      k: "bytes",
      block: i,
      off: Math.min(off, 4096 - n),
      bytes: Array.from({ length: n }, byte),
    };
  }
  if (r < 0.45 && writes.length > 0 && grefs.length > 0) {
    // a grant of another purpose (the ring itself, an indirect page, another request's
    // buffer: overlapping segments) in a 4-byte field of a request the guest wrote
    const i = pick(writes);
    const runs = runsOf(blocks[i].data);
    if (runs.length > 0) {
      const [s] = pick(runs);
      const eb = slotBytes(blocks[i].args[0]);
      const base = eb > 0 && s >= 64 ? 64 + Math.floor((s - 64) / eb) * eb : s;
      const off = Math.min(4092, base + 4 * Math.floor(rnd() * Math.max(1, (eb || 16) / 4)));
      const g = pick(grefs);
      return {
        k: "bytes",
        block: i,
        off,
        bytes: [g & 255, (g >>> 8) & 255, (g >>> 16) & 255, g >>> 24],
      };
    }
  }
  if (r < 0.5 && writes.length > 0) {
    // producer jump: req_prod far ahead, behind, or just past a ring's worth
    const jump = pick([33, 64, 257, 0xffffffff, 0x80000000, Math.floor(rnd() * 2 ** 32)]);
    const v = jump >>> 0;
    return {
      k: "bytes",
      block: pick(writes),
      off: 0,
      bytes: [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24],
    };
  }
  if (r < 0.6) {
    const copies = idx(BlockType.COPY_FROM);
    if (copies.length > 0) {
      const i = pick(copies);
      const n = 1 + Math.floor(rnd() * 8);
      return {
        k: "copy",
        block: i,
        off: Math.floor(rnd() * 4096),
        bytes: Array.from({ length: n }, byte),
      };
    }
  }
  if (r < 0.72) {
    const inputs = blocks.filter((b) =>
      b.type === BlockType.EVENT || b.type === BlockType.DEFER_RUN
    ).length;
    if (inputs > 0) {
      // a request changed after the backend's first look (between its host calls)
      const n = 1 + Math.floor(rnd() * 4);
      return {
        k: "late",
        input: 1 + Math.floor(rnd() * inputs),
        afterCalls: 1 + Math.floor(rnd() * 3),
        off: 64 + Math.floor(rnd() * 1024),
        bytes: Array.from({ length: n }, byte),
      };
    }
  }
  if (r < 0.82) {
    const evs = idx(BlockType.EVENT);
    if (evs.length > 0) return { k: "storm", block: pick(evs), times: 1 + Math.floor(rnd() * 50) };
  }
  if (r < 0.9 && writes.length > 0) return { k: "drop", block: pick(writes) };
  const reads = idx(BlockType.ST_READ);
  if (reads.length > 0) {
    const v = pick(["", "-1", "abc", "4294967296", "99999", "0", "7", "x86_64-abi", "1e3"]);
    return { k: "store", block: pick(reads), value: v };
  }
  return undefined;
}

/** Per recording: block indices by type and the usable grant refs (computed once). */
const INDEX = new WeakMap<readonly Block[], { byType: Map<number, number[]>; grefs: number[] }>();

function indexOf(blocks: readonly Block[]): { byType: Map<number, number[]>; grefs: number[] } {
  let ix = INDEX.get(blocks);
  if (!ix) {
    const byType = new Map<number, number[]>();
    blocks.forEach((b, i) => {
      const list = byType.get(b.type) ?? [];
      list.push(i);
      byType.set(b.type, list);
    });
    ix = { byType, grefs: GuestModel.grantRefs(blocks) };
    INDEX.set(blocks, ix);
  }
  return ix;
}

function runsOf(data: Uint8Array): [number, number][] {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: [number, number][] = [];
  for (let o = 0; o + 4 <= data.length;) {
    const s = dv.getUint16(o, true);
    const l = dv.getUint16(o + 2, true);
    out.push([s, l]);
    o += 4 + l;
  }
  return out;
}

/** Options of {@link fuzzRecording}. */
export interface FuzzOptions {
  /** Mutations to apply in total. */
  mutations: number;
  /** The seed. */
  seed: number;
  /** Stream ids to fuzz. */
  streams: number[];
  /** Slot size of a stream's recorded map (0: not a request ring). */
  slotBytes?: (sid: number, mapId: number) => number;
  /** Backend factory (tests inject a buggy backend). */
  factory?: BackendFactory;
  /** Progress lines. */
  log?: (line: string) => void;
}

/**
 * Runs a fuzz campaign; stops at the first failure, minimises it and builds its
 * reproducer.
 */
export async function fuzzRecording(rec: Recording, opts: FuzzOptions): Promise<FuzzResult> {
  const rnd = prng(opts.seed);
  let done = 0;
  let cases = 0;
  const bases = new Map(opts.streams.map((sid) => [sid, streamBlocks(rec, sid)]));
  const fails = async (sid: number, muts: Mutation[], cut?: number) => {
    const base = bases.get(sid) ?? streamBlocks(rec, sid);
    const { blocks, late } = applyMutations(base, muts);
    const r = await replayStream(rec, sid, {
      mode: "model",
      factory: opts.factory,
      lateWrites: late,
      maxSteps: 200_000,
    }, cut === undefined ? blocks : blocks.slice(0, cut));
    return r.violations;
  };
  // the unmutated recording must pass first, or every case would "fail"
  for (const sid of opts.streams) {
    const v = await fails(sid, []);
    if (v.length > 0) {
      return { mutations: 0, cases: 0, failure: await finish(rec, sid, [], v, fails) };
    }
  }
  let turn = 0;
  while (done < opts.mutations && opts.streams.length > 0) {
    const sid = opts.streams[turn++ % opts.streams.length];
    const base = bases.get(sid)!;
    const n = Math.min(opts.mutations - done, 1 + Math.floor(rnd() * 4));
    const muts: Mutation[] = [];
    for (let i = 0; i < n; i++) {
      const m = randomMutation(base, rnd, (mapId) => opts.slotBytes?.(sid, mapId) ?? 0);
      if (m) muts.push(m);
    }
    done += n;
    cases++;
    const v = await fails(sid, muts);
    if (v.length > 0) {
      opts.log?.(`case ${cases}: ${v[0].what}; minimising ${muts.length} mutation(s)`);
      return { mutations: done, cases, failure: await finish(rec, sid, muts, v, fails) };
    }
    if (cases % 500 === 0) opts.log?.(`${cases} cases, ${done} mutations, no failure`);
  }
  return { mutations: done, cases };
}

async function finish(
  rec: Recording,
  sid: number,
  muts: Mutation[],
  first: Violation[],
  fails: (sid: number, m: Mutation[], cut?: number) => Promise<Violation[]>,
): Promise<FuzzFailure> {
  // 1. drop mutations one at a time while the failure stays (the lists are short)
  let cur = muts.slice();
  let viol = first;
  for (let i = 0; i < cur.length;) {
    const trial = cur.filter((_, j) => j !== i);
    const v = await fails(sid, trial);
    if (v.length > 0) {
      cur = trial;
      viol = v;
    } else i++;
  }
  // 2. the shortest prefix of the mutated blocks that still fails (binary search)
  const full = applyMutations(streamBlocks(rec, sid), cur).blocks;
  let lo = 0;
  let hi = full.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const v = await fails(sid, cur, mid);
    if (v.length > 0) {
      hi = mid;
      viol = v;
    } else lo = mid + 1;
  }
  const cut = hi;
  const { blocks, late } = applyMutations(streamBlocks(rec, sid), cur);
  return {
    ring: rec.streams.get(sid)!.name,
    mutations: cur,
    violations: viol,
    reproducer: buildReproducer(rec, sid, blocks.slice(0, cut), late),
  };
}

/**
 * A recording of one stream whose header asks `pvx replay` to check invariants (and
 * carries the racing writes).
 */
export function buildReproducer(
  rec: Recording,
  sid: number,
  blocks: readonly Block[],
  late: readonly LateWrite[],
): Uint8Array {
  const parts: Uint8Array[] = [encodeHeader({
    pvxVersion: VERSION,
    check: "invariants",
    info: {
      lateWrites: late.map((w) => ({
        input: w.input,
        afterCalls: w.afterCalls,
        mapId: w.mapId,
        runs: [...w.runs],
      })),
    },
  })];
  const cfg = rec.streams.get(sid)!;
  parts.push(encodeBlock(BlockType.STREAM, 0, 1, encodePayload([], utf8(JSON.stringify(cfg)))));
  const disk = rec.disks.get(sid);
  if (disk) parts.push(encodeBlock(BlockType.DISK, 0, 1, encodeDisk(disk)));
  for (const b of blocks) {
    if (b.type === BlockType.STREAM || b.type === BlockType.DISK) continue;
    parts.push(encodeBlock(b.type, b.depth, 1, encodePayload(b.args, b.data)));
  }
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The racing writes a reproducer's header carries. */
export function reproducerLateWrites(info: Record<string, unknown> | undefined): LateWrite[] {
  const raw = info?.lateWrites;
  if (!Array.isArray(raw)) return [];
  const out: LateWrite[] = [];
  for (const w of raw) {
    if (
      w && typeof w === "object" && Number.isInteger(w.input) && Number.isInteger(w.afterCalls) &&
      Number.isInteger(w.mapId) && Array.isArray(w.runs)
    ) {
      out.push({
        input: w.input,
        afterCalls: w.afterCalls,
        mapId: w.mapId,
        runs: Uint8Array.from(w.runs.map((x: unknown) => Number(x) & 255)),
      });
    }
  }
  return out;
}
