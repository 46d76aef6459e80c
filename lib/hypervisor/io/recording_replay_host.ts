/**
 * {@link ReplayHost}: a {@link DeviceHost} that re-drives one recorded stream against a
 * fresh backend. It feeds the recorded inputs (page contents, events, watch fires,
 * deferred runs, store values, copied-in bytes) in order and, in "compare" mode, checks
 * every host call and every change of the mapped pages against the recording; in "model"
 * mode (after a divergence, and for fuzzing) it answers from a model of the guest built
 * from the recording, and checks invariants instead.
 * @module
 */
import { setImmediate } from "node:timers";
import type { DeviceHost, DomId, EventPort, GrantMapping, StoreOps } from "../backend_api.ts";
import {
  applyRuns,
  type Block,
  BlockType,
  blockTypeName,
  isInput,
  splitText,
  type StreamConfig,
} from "./recording_format.ts";

const PAGE = 4096;
const GNTST_bad_gntref = -3;
const GNTST_bad_copy_arg = -10;
const GNTST_permission_denied = -8;
const EINVAL = -22;

/** One difference between the recording and the replay. */
export interface Divergence {
  /** The stream's name. */
  ring: string;
  /** Index of the block (in the stream's blocks) where it showed. */
  block: number;
  /** The input being handled (its ordinal among the stream's inputs). */
  input: number;
  /** What differed, e.g. "copyToGrant data", "ring page", "missing call". */
  what: string;
  /** The recorded value. */
  expected: string;
  /** The replayed value. */
  got: string;
  /** The ring slot / request concerned, when known. */
  request?: string;
}

/** An invariant a backend broke (fuzzing). */
export interface Violation {
  /** The stream. */
  ring: string;
  /** The input being handled. */
  input: number;
  /** What happened. */
  what: string;
}

/** A write into a mapped page made in the middle of a callback (a frontend racing). */
export interface LateWrite {
  /** Ordinal of the input during which it happens. */
  input: number;
  /** After this many host calls of that callback. */
  afterCalls: number;
  /** The recorded map id of the page. */
  mapId: number;
  /** Runs as in GUEST_WRITE. */
  runs: Uint8Array;
}

/** Options of {@link ReplayHost}. */
export interface ReplayHostOptions {
  /** "compare" (default) or "model" (no comparison; fuzzing). */
  mode?: "compare" | "model";
  /** Names the request at `offset` of recorded map `mapId` (slot, id) for divergences. */
  describe?: (mapId: number, offset: number, page: Uint8Array) => string;
  /** Host calls allowed before the run is declared hung (default 2,000,000). */
  maxSteps?: number;
  /** Writes racing the backend (fuzzing). */
  lateWrites?: readonly LateWrite[];
  /** Called after each top-level input was handled (exports). */
  afterInput?: (host: ReplayHost) => void;
}

/** Thrown inside a host call when the step bound is exceeded. */
export class ReplayStepLimit extends Error {
  override name = "ReplayStepLimit";
}

interface ReplayMap {
  key: string;
  page: Uint8Array;
  expected: Uint8Array;
  mapping: GrantMapping | null;
  live: boolean;
}

interface ReplayPort {
  key: string;
  onEvent: () => void;
  open: boolean;
}

/** A store path's watch on the replay side. */
interface ReplayWatch {
  path: string;
  cb: (p: string) => void;
  active: boolean;
}

/** One macrotask turn (host I/O completions run), without setTimeout's clamping. */
const yieldMacrotask = () => new Promise<void>((r) => setImmediate(r));

/** Re-drives one recorded stream; construct the backend on it, then {@link run}. */
export class ReplayHost implements DeviceHost {
  /** The store the backend sees (recorded values). */
  readonly store: StoreOps;
  /** The stream. */
  readonly config: StreamConfig;
  /** Divergences found (compare mode). */
  readonly divergences: Divergence[] = [];
  /** Invariants broken (exceptions, out-of-page accesses, hangs). */
  readonly violations: Violation[] = [];
  /** Counters. */
  readonly stats = { inputs: 0, outputs: 0, compared: 0, steps: 0 };
  readonly #blocks: Block[];
  readonly #opts: ReplayHostOptions;
  readonly #compare: boolean;
  #i = 0;
  /** Index of the last input block (-1: none). */
  readonly #lastInput: number;
  /** True while the current segment answers from the model (after a divergence). */
  #free = false;
  #depth = 0;
  #inputNo = 0;
  #callsInInput = 0;
  /** Backend callbacks on the stack. */
  #invoking = 0;
  /** The step bound was exceeded. */
  #hung = false;
  /** Teardown past the recording's end: deferred work runs as it comes. */
  #draining = false;
  // recorded id -> key of the resource
  readonly #recMapKey = new Map<number, string>();
  readonly #recPortKey = new Map<number, string>();
  readonly #recWatchPath = new Map<number, string>();
  // the model of the guest, fed from the recording
  readonly #grantPages = new Map<string, Uint8Array>();
  readonly #grantOk = new Set<string>();
  /** Grants the recording shows writable (a successful copy into them or writable map). */
  readonly #grantWritable = new Set<string>();
  readonly #bindOk = new Set<string>();
  readonly #storeModel = new Map<string, string>();
  // replay-side resources
  readonly #maps: ReplayMap[] = [];
  readonly #ports: ReplayPort[] = [];
  readonly #watches: ReplayWatch[] = [];
  readonly #defers = new Map<number, () => void>();
  #nextDefer = 1;
  #pendingModelDefers: (() => void)[] = [];

  /**
   * @param config the stream
   * @param blocks the stream's blocks (STREAM and DISK blocks are ignored)
   * @param opts mode, hooks
   */
  constructor(config: StreamConfig, blocks: readonly Block[], opts: ReplayHostOptions = {}) {
    this.config = config;
    this.#blocks = blocks.filter((b) => b.type !== BlockType.STREAM && b.type !== BlockType.DISK);
    this.#opts = opts;
    this.#compare = (opts.mode ?? "compare") === "compare";
    this.#free = !this.#compare;
    this.#lastInput = this.#blocks.findLastIndex((b) => isInput(b.type));
    this.store = this.#makeStore();
    // the constructor's calls form the first segment
    this.#preload(0);
  }

  /** Live replay pages with their keys ("g:domid:gref" or "f:domid:mfn"). */
  liveMaps(): { key: string; page: Uint8Array }[] {
    return this.#maps.filter((m) => m.live).map((m) => ({ key: m.key, page: m.page }));
  }

  /** The key of recorded map `mapId` ("g:domid:gref" / "f:domid:mfn"), once seen. */
  recordedMapKey(mapId: number): string | undefined {
    return this.#recMapKey.get(mapId);
  }

  /** Open ports (their keys "domid:remotePort"). */
  openPorts(): string[] {
    return this.#ports.filter((p) => p.open).map((p) => p.key);
  }

  // ---- the driver ----

  /**
   * Feeds every recorded input to the backend (already constructed on this host).
   * Resolves when the recording is exhausted and host I/O has settled.
   */
  async run(): Promise<void> {
    const bs = this.#blocks;
    while (this.#i < bs.length) {
      const b = bs[this.#i];
      if (this.#consumeWrite(b) || b.type === BlockType.DEFER) {
        this.#i++;
        continue;
      }
      if (!isInput(b.type)) {
        // outputs after the last input: the toolstack tore the device down (see teardown)
        if (this.#i > this.#lastInput) break;
        // an output made outside any callback (async work): let the backend make it
        if (!this.#compare) {
          this.#i++;
          continue;
        }
        const at = this.#i;
        for (let r = 0; r < 50 && this.#i === at; r++) await yieldMacrotask();
        if (this.#i === at) {
          this.#diverge("missing call", describeBlock(b), "nothing");
          this.#i++;
        }
        continue;
      }
      await this.#deliverTop(b);
    }
    await this.settle();
  }

  /**
   * Stops the backend as the recording's toolstack did: its calls are compared with the
   * recording's trailing calls (or not compared when the recording ends without them).
   * @param stop stops the backend
   */
  async teardown(stop: () => Promise<void>): Promise<void> {
    const bs = this.#blocks;
    while (this.#i < bs.length && this.#consumeWrite(bs[this.#i])) this.#i++;
    const recorded = this.#i < bs.length;
    this.#free = !this.#compare || !recorded;
    this.#inputNo++;
    if (this.#free) {
      // nothing left to compare: let pending work run so the backend can finish
      this.#draining = true;
      for (const fn of this.#defers.values()) this.#pendingModelDefers.push(fn);
      this.#defers.clear();
    }
    let done = false;
    const stopping = stop().finally(() => (done = true));
    for (let r = 0; r < 400 && !done; r++) {
      if (this.#free) this.#runModelDefers();
      await yieldMacrotask();
    }
    await stopping;
    if (this.#compare && recorded) this.#finishSegmentTail();
    this.#free = true;
  }

  #finishSegmentTail(): void {
    const bs = this.#blocks;
    while (this.#i < bs.length) {
      const b = bs[this.#i];
      if (!this.#consumeWrite(b) && b.type !== BlockType.DEFER && !isInput(b.type) && !this.#free) {
        this.#diverge("missing call", describeBlock(b), "nothing");
      }
      this.#i++;
    }
  }

  /** Runs deferred work (model mode) and lets host I/O complete, bounded. */
  async settle(rounds = 400): Promise<void> {
    let quiet = 0;
    for (let r = 0; r < rounds && quiet < 3; r++) {
      if (!this.#compare || this.#free) {
        quiet = this.#runModelDefers() ? 0 : quiet + 1;
      } else quiet++;
      await yieldMacrotask();
    }
  }

  /**
   * Delivers one event on every open port (a well-behaved frontend's final kick), then
   * settles: used by fuzzing before checking that every request was answered.
   */
  async kickAll(): Promise<void> {
    for (const p of this.#ports) if (p.open) this.#invoke(() => p.onEvent());
    await this.settle();
  }

  #runModelDefers(): boolean {
    if (this.#pendingModelDefers.length === 0) return false;
    let n = 0;
    while (this.#pendingModelDefers.length > 0 && n < 10_000) {
      const batch = this.#pendingModelDefers;
      this.#pendingModelDefers = [];
      for (const fn of batch) {
        n++;
        this.#invoke(fn);
      }
    }
    return true;
  }

  async #deliverTop(b: Block): Promise<void> {
    this.#inputNo++;
    this.stats.inputs++;
    this.#free = !this.#compare;
    this.#preload(this.#i + 1);
    let target: (() => void) | undefined;
    if (b.type === BlockType.DEFER_RUN) {
      if (!this.#compare) {
        // model mode runs deferred work itself, in order
        this.#i++;
        // let in-memory host I/O complete (a few microtask hops) before the next input
        for (let r = 0; r < 8; r++) {
          await Promise.resolve();
          this.#runModelDefers();
        }
        this.#skipSegment();
        this.#afterInput();
        return;
      }
      const id = b.args[0];
      // in-memory host I/O completes within a few microtask hops; real files take turns
      for (let r = 0; r < 8 && !this.#defers.has(id); r++) await Promise.resolve();
      for (let r = 0; r < 50 && !this.#defers.has(id); r++) await yieldMacrotask();
      target = this.#defers.get(id);
      if (target) this.#defers.delete(id);
      else this.#diverge("deferred work", `callback ${id} scheduled`, "never scheduled");
    } else target = this.#targetOf(b);
    this.#i++;
    if (target) {
      this.#callsInInput = 0;
      this.#invoke(target);
    } else if (this.#compare && b.type !== BlockType.DEFER_RUN) {
      this.#diverge("input", `${describeBlock(b)} delivered`, "no such port or watch");
    }
    // the segment's remaining blocks: trailing page writes, or calls the backend skipped
    this.#finishSegment();
    this.#comparePages();
    if (!this.#compare) this.#runModelDefers();
    this.#afterInput();
  }

  #afterInput(): void {
    this.#opts.afterInput?.(this);
  }

  /** The callback an input block addresses on the replay side. */
  #targetOf(b: Block): (() => void) | undefined {
    if (b.type === BlockType.EVENT) {
      const key = this.#recPortKey.get(b.args[0]);
      const p = this.#ports.find((x) => x.open && x.key === key);
      return p ? () => p.onEvent() : undefined;
    }
    if (b.type === BlockType.WATCH_FIRE) {
      const path = this.#recWatchPath.get(b.args[0]);
      const changed = splitText(b.data)[0];
      const w = this.#watches.find((x) => x.active && x.path === path);
      return w ? () => w.cb(changed) : undefined;
    }
    return undefined;
  }

  /** Calls into the backend; an exception escaping it is a violation. */
  #invoke(fn: () => void): void {
    if (this.#hung) return;
    this.#invoking++;
    try {
      fn();
    } catch (e) {
      if (e instanceof ReplayStepLimit) return; // reported once by #step
      const msg = `exception escaped the backend: ${
        e instanceof Error ? `${e.name}: ${e.message}` : e
      }`;
      this.violations.push({ ring: this.config.name, input: this.#inputNo, what: msg });
    } finally {
      this.#invoking--;
    }
  }

  /** Applies a page-write block at the cursor. @returns whether `b` was one */
  #consumeWrite(b: Block): boolean {
    if (b.type !== BlockType.GUEST_WRITE && b.type !== BlockType.BACKEND_WRITE) return false;
    const key = this.#recMapKey.get(b.args[0]);
    const m = this.#maps.find((x) => x.live && x.key === key);
    if (m) {
      applyRuns(m.expected, b.data);
      if (b.type === BlockType.GUEST_WRITE) applyRuns(m.page, b.data);
    }
    return true;
  }

  /** Whether block `b` (after an input) still belongs to that input's segment. */
  #inSegment(b: Block): boolean {
    if (isInput(b.type)) return b.depth > 0;
    if (b.type === BlockType.GUEST_WRITE || b.type === BlockType.BACKEND_WRITE) return true;
    return b.depth > 0 || b.type === BlockType.DEFER;
  }

  #finishSegment(): void {
    const bs = this.#blocks;
    let missing = 0;
    let first: Block | undefined;
    while (this.#i < bs.length && this.#inSegment(bs[this.#i])) {
      const b = bs[this.#i];
      if (!this.#consumeWrite(b) && b.type !== BlockType.DEFER && !isInput(b.type)) {
        missing++;
        first ??= b;
      }
      this.#i++;
    }
    if (missing > 0 && this.#compare && !this.#free) {
      this.#diverge(
        "missing call",
        describeBlock(first!) + (missing > 1 ? ` (+${missing - 1})` : ""),
        "none",
      );
    }
  }

  #skipSegment(): void {
    const bs = this.#blocks;
    while (this.#i < bs.length && this.#inSegment(bs[this.#i])) {
      this.#consumeWrite(bs[this.#i]);
      this.#i++;
    }
  }

  /** Feeds the model with what the segment starting at `from` read from the guest. */
  #preload(from: number): void {
    const bs = this.#blocks;
    for (let j = from; j < bs.length; j++) {
      const b = bs[j];
      if (j > from && isInput(b.type) && b.depth === 0) break;
      const a = b.args;
      switch (b.type) {
        case BlockType.MAP:
          if (a[3] > 0) {
            const key = `g:${a[0]}:${a[1]}`;
            this.#recMapKey.set(a[3], key);
            this.#grantOk.add(key);
            if (!a[2]) this.#grantWritable.add(key);
            if (b.data.length === PAGE) this.#grantPages.set(key, b.data.slice());
          }
          break;
        case BlockType.FOREIGN:
          if (a[2] > 0) {
            const key = `f:${a[0]}:${a[1]}`;
            this.#recMapKey.set(a[2], key);
            this.#grantOk.add(key);
            if (b.data.length === PAGE) this.#grantPages.set(key, b.data.slice());
          }
          break;
        case BlockType.COPY_FROM:
          if (a[4] === 0) {
            const key = `g:${a[0]}:${a[1]}`;
            this.#grantOk.add(key);
            const pg = this.#grantPage(key);
            if (a[2] >= 0 && a[2] + b.data.length <= PAGE) pg.set(b.data, a[2]);
          }
          break;
        case BlockType.COPY_TO:
          if (a[3] === 0) {
            this.#grantOk.add(`g:${a[0]}:${a[1]}`);
            this.#grantWritable.add(`g:${a[0]}:${a[1]}`);
          }
          break;
        case BlockType.BIND:
          if (a[2] > 0) {
            this.#recPortKey.set(a[2], `${a[0]}:${a[1]}`);
            this.#bindOk.add(`${a[0]}:${a[1]}`);
          }
          break;
        case BlockType.WATCH:
          this.#recWatchPath.set(a[0], splitText(b.data)[0]);
          break;
        case BlockType.ST_READ: {
          const [p, v] = splitText(b.data);
          if (a[0]) this.#storeModel.set(p, v ?? "");
          else this.#storeModel.delete(p);
          break;
        }
        default:
          break;
      }
    }
  }

  #grantPage(key: string): Uint8Array {
    let pg = this.#grantPages.get(key);
    if (!pg) {
      pg = new Uint8Array(PAGE);
      this.#grantPages.set(key, pg);
    }
    return pg;
  }

  #comparePages(): void {
    if (!this.#compare) return;
    for (let k = 0; k < this.#maps.length; k++) {
      const m = this.#maps[k];
      if (!m.live) continue;
      const off = firstDiff(m.expected, m.page);
      if (off < 0) continue;
      this.stats.compared++;
      const recId = this.#recIdOf(m.key);
      const request = this.#opts.describe?.(recId, off, m.expected);
      this.#diverge(
        `ring page ${m.key} byte ${off}`,
        hexAround(m.expected, off),
        hexAround(m.page, off),
        request,
      );
      m.page.set(m.expected); // resynchronise: one divergence, not a cascade
    }
  }

  #recIdOf(key: string): number {
    for (const [id, k] of this.#recMapKey) if (k === key) return id;
    return 0;
  }

  #diverge(what: string, expected: string, got: string, request?: string): void {
    this.divergences.push({
      ring: this.config.name,
      block: this.#i,
      input: this.#inputNo,
      what,
      expected,
      got,
      request,
    });
  }

  // ---- matching the backend's calls against the recording ----

  /**
   * Counts a host call, applies racing writes, enforces the step bound: past it the run is
   * a hang (reported once), calls inside a callback throw to unwind the backend, and
   * async work stops being scheduled.
   */
  #step(): void {
    this.stats.steps++;
    this.stats.outputs++;
    if (this.stats.steps > (this.#opts.maxSteps ?? 2_000_000)) {
      if (!this.#hung) {
        this.#hung = true;
        this.violations.push({
          ring: this.config.name,
          input: this.#inputNo,
          what: "no progress: the step bound was exceeded (a hang)",
        });
      }
      if (this.#invoking > 0) throw new ReplayStepLimit("step bound exceeded");
    }
    this.#callsInInput++;
    const lw = this.#opts.lateWrites;
    if (lw) {
      for (const w of lw) {
        if (w.input === this.#inputNo && w.afterCalls === this.#callsInInput) {
          const key = this.#recMapKey.get(w.mapId);
          const m = this.#maps.find((x) => x.live && x.key === key);
          if (m) applyRuns(m.page, w.runs);
        }
      }
    }
  }

  /**
   * The next recorded output when it is a `type` call with arguments `args`, or undefined
   * (a divergence is reported and the segment continues from the model).
   */
  #expect(type: number, args: readonly number[], data?: Uint8Array): Block | undefined {
    this.#step();
    if (this.#free) return undefined;
    const bs = this.#blocks;
    while (this.#i < bs.length) {
      const b = bs[this.#i];
      if (this.#consumeWrite(b) || b.type === BlockType.DEFER) {
        this.#i++;
        continue;
      }
      break;
    }
    const b = bs[this.#i];
    const got = `${blockTypeName(type)}(${args.join(", ")})`;
    if (!b || isInput(b.type) && b.depth === 0) {
      return this.#freeWith("unexpected call", "no call", got);
    }
    if (b.type !== type) return this.#freeWith("call", describeBlock(b), got);
    for (let k = 0; k < args.length; k++) {
      if (b.args[k] !== args[k]) return this.#freeWith("call arguments", describeBlock(b), got);
    }
    if (data) {
      const off = firstDiff(b.data, data);
      if (off >= 0 || b.data.length !== data.length) {
        this.#i++;
        this.#freeWith(
          `${describeBlock(b)} data byte ${Math.max(off, 0)}`,
          hexAround(b.data, Math.max(off, 0)),
          hexAround(data, Math.max(off, 0)),
        );
        return b;
      }
    }
    this.stats.compared++;
    this.#i++;
    return b;
  }

  #freeWith(what: string, expected: string, got: string): undefined {
    this.#diverge(what, expected, got);
    this.#free = true;
    return undefined;
  }

  /** Delivers nested inputs recorded right after the call just matched. */
  #nested(): void {
    if (this.#free) return;
    const bs = this.#blocks;
    const level = this.#depth + 1;
    while (this.#i < bs.length) {
      const b = bs[this.#i];
      if (b.type === BlockType.GUEST_WRITE || b.type === BlockType.BACKEND_WRITE) {
        // page writes flushed before a nested input belong to it
        const nxt = bs[this.#i + 1];
        if (!nxt || !isInput(nxt.type) || nxt.depth !== level) break;
        this.#consumeWrite(b);
        this.#i++;
        continue;
      }
      if (!isInput(b.type) || b.depth !== level) break;
      this.#i++;
      const t = this.#targetOf(b);
      if (t) {
        this.#depth++;
        try {
          t();
        } finally {
          this.#depth--;
        }
      }
    }
  }

  // ---- DeviceHost ----

  mapGrant(domid: DomId, gref: number, readonly: boolean): GrantMapping | number {
    const b = this.#expect(BlockType.MAP, [domid, gref, readonly ? 1 : 0]);
    const key = `g:${domid}:${gref}`;
    const ok = b ? b.args[3] > 0 : this.#grantOk.has(key);
    if (!ok) return b ? b.args[3] : GNTST_bad_gntref;
    const src = b && b.data.length === PAGE ? b.data : this.#grantPage(key);
    const m: ReplayMap = {
      key,
      page: src.slice(),
      expected: src.slice(),
      mapping: null,
      live: true,
    };
    m.mapping = { page: m.page, handle: this.#maps.length + 1, domid, gref };
    this.#maps.push(m);
    return m.mapping;
  }

  unmapGrant(mp: GrantMapping): number {
    const m = this.#maps.find((x) => x.mapping === mp && x.live);
    const b = this.#expect(BlockType.UNMAP, []);
    if (m) m.live = false;
    if (b) return b.args[1];
    return m ? 0 : -4;
  }

  copyFromGrant(domid: DomId, gref: number, offset: number, dst: Uint8Array): number {
    if (!(offset >= 0 && offset + dst.length <= PAGE)) {
      this.#outside("copyFromGrant", gref, offset, dst.length);
    }
    const b = this.#expect(BlockType.COPY_FROM, [domid, gref, offset, dst.length]);
    if (b) {
      if (b.args[4] === 0) dst.set(b.data.subarray(0, dst.length));
      return b.args[4];
    }
    if (!(offset >= 0 && offset + dst.length <= PAGE)) return GNTST_bad_copy_arg;
    const key = `g:${domid}:${gref}`;
    if (!this.#grantOk.has(key)) return GNTST_bad_gntref;
    dst.set(this.#grantPage(key).subarray(offset, offset + dst.length));
    return 0;
  }

  copyToGrant(domid: DomId, gref: number, offset: number, src: Uint8Array): number {
    if (!(offset >= 0 && offset + src.length <= PAGE)) {
      this.#outside("copyToGrant", gref, offset, src.length);
    }
    const b = this.#expect(BlockType.COPY_TO, [domid, gref, offset], src);
    if (b) return b.args[3];
    if (!(offset >= 0 && offset + src.length <= PAGE)) return GNTST_bad_copy_arg;
    const key = `g:${domid}:${gref}`;
    if (!this.#grantOk.has(key)) return GNTST_bad_gntref;
    // a grant only ever read (an indirect page, a TX buffer) stands for a read-only one
    if (!this.#grantWritable.has(key)) return GNTST_permission_denied;
    this.#grantPage(key).set(src, offset);
    return 0;
  }

  #outside(op: string, gref: number, offset: number, len: number): void {
    this.violations.push({
      ring: this.config.name,
      input: this.#inputNo,
      what: `${op} outside the granted page (gref ${gref}, offset ${offset}, length ${len})`,
    });
  }

  bindInterdomain(domid: DomId, remotePort: number, onEvent: () => void): EventPort | number {
    const b = this.#expect(BlockType.BIND, [domid, remotePort]);
    const key = `${domid}:${remotePort}`;
    const ok = b
      ? b.args[2] > 0
      : this.#bindOk.has(key) && !this.#ports.some((p) => p.open && p.key === key);
    if (!ok) return b ? b.args[2] : EINVAL;
    const p: ReplayPort = { key, onEvent, open: true };
    this.#ports.push(p);
    const port = this.#ports.length;
    return {
      port,
      notify: () => {
        this.#expect(BlockType.NOTIFY, [this.#recIdOfPort(key)]);
        this.#callNested();
      },
    };
  }

  #recIdOfPort(key: string): number {
    for (const [id, k] of this.#recPortKey) if (k === key) return id;
    return 0;
  }

  #callNested(): void {
    this.#nested();
  }

  close(p: EventPort): void {
    const rp = this.#ports[p.port - 1];
    this.#expect(BlockType.CLOSE, [rp ? this.#recIdOfPort(rp.key) : 0]);
    if (rp) rp.open = false;
  }

  mapForeignFrame(domid: DomId, mfn: number): Uint8Array | number {
    const b = this.#expect(BlockType.FOREIGN, [domid, mfn]);
    const key = `f:${domid}:${mfn}`;
    const ok = b ? b.args[2] > 0 : this.#grantOk.has(key);
    if (!ok) return b ? b.args[2] : EINVAL;
    const src = b && b.data.length === PAGE ? b.data : this.#grantPage(key);
    const m: ReplayMap = {
      key,
      page: src.slice(),
      expected: src.slice(),
      mapping: null,
      live: true,
    };
    this.#maps.push(m);
    return m.page;
  }

  defer(fn: () => void): void {
    this.#step();
    if (this.#hung) return;
    this.#callsInInput--; // deferring is not a ring access
    const id = this.#nextDefer++;
    if (this.#compare && !this.#draining) this.#defers.set(id, fn);
    else this.#pendingModelDefers.push(fn);
  }

  /** Fires the watches covering `changed` (the model's store, as MemStore does). */
  #fireModel(changed: string): void {
    for (const w of [...this.#watches]) {
      if (w.active && (changed === w.path || changed.startsWith(w.path + "/"))) w.cb(changed);
    }
  }

  #makeStore(): StoreOps {
    const model = this.#storeModel;
    return {
      read: (path) => {
        const b = this.#expect(BlockType.ST_READ, []);
        if (b) {
          const [p, v] = splitText(b.data);
          if (p === path) return b.args[0] ? v ?? "" : undefined;
          this.#freeWith("store read", `read ${p}`, `read ${path}`);
        }
        return model.get(path);
      },
      write: (path, value) => {
        const b = this.#expect(BlockType.ST_WRITE, []);
        if (b) {
          const [p, v] = splitText(b.data);
          if (p !== path || v !== value) {
            this.#freeWith("store write", `${p} = "${v}"`, `${path} = "${value}"`);
          }
        }
        model.set(path, value);
        if (this.#free) this.#fireModel(path);
        else this.#nested();
      },
      rm: (path) => {
        const b = this.#expect(BlockType.ST_RM, []);
        if (b && splitText(b.data)[0] !== path) {
          this.#freeWith("store rm", splitText(b.data)[0], path);
        }
        for (const k of [...model.keys()]) {
          if (k === path || k.startsWith(path + "/")) model.delete(k);
        }
        if (this.#free) this.#fireModel(path);
        else this.#nested();
      },
      directory: (path) => {
        const b = this.#expect(BlockType.ST_DIR, []);
        if (b) {
          const [p, ...kids] = splitText(b.data);
          if (p === path) return b.args[0] ? kids.filter((k) => k !== "") : undefined;
          this.#freeWith("store directory", p, path);
        }
        const prefix = path.endsWith("/") ? path : path + "/";
        const out = new Set<string>();
        for (const k of model.keys()) {
          if (k.startsWith(prefix)) out.add(k.slice(prefix.length).split("/")[0]);
        }
        return out.size > 0 || model.has(path) ? [...out] : undefined;
      },
      watch: (path, onChange) => {
        const b = this.#expect(BlockType.WATCH, []);
        if (b && splitText(b.data)[0] !== path) {
          this.#freeWith("store watch", splitText(b.data)[0], path);
        }
        const w: ReplayWatch = { path, cb: onChange, active: true };
        this.#watches.push(w);
        // xenstored fires a new watch at once; the model does what the store would do
        if (this.#free) onChange(path);
        else this.#nested();
        return () => {
          this.#expect(BlockType.UNWATCH, []);
          w.active = false;
        };
      },
    };
  }
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function hexAround(b: Uint8Array, off: number): string {
  const s = Math.max(0, off - (off % 4));
  const e = Math.min(b.length, s + 16);
  return `@${s}: ${[...b.subarray(s, e)].map((x) => x.toString(16).padStart(2, "0")).join(" ")}`;
}

function describeBlock(b: Block): string {
  const text = b.type >= BlockType.ST_READ && b.type <= BlockType.WATCH
    ? ` ${JSON.stringify(splitText(b.data).slice(0, 2).join(" = "))}`
    : "";
  return `${blockTypeName(b.type)}(${[...b.args].join(", ")})${text}`;
}
