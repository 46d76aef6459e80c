/**
 * {@link ReplayHost}: a {@link DeviceHost} that re-drives one recorded stream against a
 * fresh backend. It feeds the recorded inputs (page contents, events, watch fires,
 * deferred runs, store values, copied-in bytes) in order and, in "compare" mode, checks
 * every host call and every change of the mapped pages against the recording; in "model"
 * mode (after a divergence, and for fuzzing) it answers from a model of the guest built
 * from the recording, and checks invariants instead.
 * @module
 */
import type { DeviceHost, DomId, EventPort, GrantMapping, StoreOps } from "../hypervisor/mod.ts";
import {
  applyRuns,
  type Block,
  BlockType,
  blockTypeName,
  isInput,
  splitText,
  type StreamConfig,
} from "./recording_format.ts";
import { describeBlock, firstDiff, GuestModel, hexAround } from "./recording_guest_model.ts";
import { fireWatches, replayStore, type ReplayWatch } from "./recording_replay_store.ts";
import { ReplayPages, waitForHostIo, yieldMacrotask } from "./recording_replay_pages.ts";
import { PAGE_SIZE as PAGE } from "../abi/mod.ts";
import { GNTST_bad_gntref } from "../abi/mod.ts";
import { EINVAL } from "../abi/mod.ts";
import {
  type Divergence,
  type ReplayHostOptions,
  ReplayStepLimit,
  type ReplayView,
  type Violation,
} from "./recording_replay_types.ts";

/** Re-drives one recorded stream; construct the backend on it, then {@link run}. */
export class ReplayHost implements DeviceHost, ReplayView {
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
  /** The guest as the recording shows it. */
  readonly #model = new GuestModel();
  // replay-side resources
  readonly #pages = new ReplayPages();
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
    this.store = replayStore({
      expect: (type) => this.#expect(type, []),
      mismatch: (what, expected, got) => this.#freeWith(what, expected, got),
      changed: (path) => this.#free ? fireWatches(this.#watches, path) : this.#nested(),
      watched: (w) => this.#free ? w.cb(w.path) : this.#nested(),
      model: this.#model,
      watches: this.#watches,
    });
    // the constructor's calls form the first segment
    this.#model.preload(this.#blocks, 0);
  }

  /** Live replay pages with their keys ("g:domid:gref" or "f:domid:mfn"). */
  liveMaps(): { key: string; page: Uint8Array }[] {
    return this.#pages.liveMaps();
  }

  /** The key of recorded map `mapId` ("g:domid:gref" / "f:domid:mfn"), once seen. */
  recordedMapKey(mapId: number): string | undefined {
    return this.#model.mapKey.get(mapId);
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
        await waitForHostIo(() => this.#i !== at, this.#opts.hostIoPatienceMs ?? 0);
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
    for (const p of this.#pages.ports) if (p.open) this.#invoke(() => p.onEvent());
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
    this.#model.preload(this.#blocks, this.#i + 1);
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
      await waitForHostIo(() => this.#defers.has(id), this.#opts.hostIoPatienceMs ?? 0);
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
      const key = this.#model.portKey.get(b.args[0]);
      const p = this.#pages.ports.find((x) => x.open && x.key === key);
      return p ? () => p.onEvent() : undefined;
    }
    if (b.type === BlockType.WATCH_FIRE) {
      const path = this.#model.watchPath.get(b.args[0]);
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
    const key = this.#model.mapKey.get(b.args[0]);
    const m = this.#pages.live(key);
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

  #comparePages(): void {
    if (!this.#compare) return;
    for (const m of this.#pages.maps) {
      if (!m.live) continue;
      const off = firstDiff(m.expected, m.page);
      if (off < 0) continue;
      this.stats.compared++;
      const recId = this.#model.recordedMapId(m.key);
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
          const key = this.#model.mapKey.get(w.mapId);
          const m = this.#pages.live(key);
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
          this.#describeGrant(b.args[1]),
        );
        return b;
      }
    }
    this.stats.compared++;
    this.#i++;
    return b;
  }

  #freeWith(what: string, expected: string, got: string, request?: string): undefined {
    this.#diverge(what, expected, got, request);
    this.#free = true;
    return undefined;
  }

  /** The request naming grant `gref` in the recorded ring pages (expected contents). */
  #describeGrant(gref: number): string | undefined {
    const f = this.#opts.describeGrant;
    if (!f) return undefined;
    const rings = [1, 2].map((id) => {
      const key = this.#model.mapKey.get(id);
      return this.#pages.live(key)?.expected;
    });
    return f(gref, rings);
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
    const ok = b ? b.args[3] > 0 : this.#model.known(key);
    if (!ok) return b ? b.args[3] : GNTST_bad_gntref;
    const src = b && b.data.length === PAGE ? b.data : this.#model.page(key);
    const m = this.#pages.add(key, src);
    m.mapping = { page: m.page, handle: this.#pages.maps.length, domid, gref };
    return m.mapping;
  }

  unmapGrant(mp: GrantMapping): number {
    const m = this.#pages.byMapping(mp);
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
    return this.#model.copyFrom(domid, gref, offset, dst, this.#pages.livePage(domid, gref));
  }

  copyToGrant(domid: DomId, gref: number, offset: number, src: Uint8Array): number {
    if (!(offset >= 0 && offset + src.length <= PAGE)) {
      this.#outside("copyToGrant", gref, offset, src.length);
    }
    const b = this.#expect(BlockType.COPY_TO, [domid, gref, offset], src);
    if (b) return b.args[3];
    return this.#model.copyTo(domid, gref, offset, src, this.#pages.livePage(domid, gref));
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
      : this.#model.bindable(key) && !this.#pages.ports.some((p) => p.open && p.key === key);
    if (!ok) return b ? b.args[2] : -EINVAL;
    return {
      port: this.#pages.bind(key, onEvent),
      notify: () => {
        this.#expect(BlockType.NOTIFY, [this.#model.recordedPortId(key)]);
        this.#nested();
      },
    };
  }

  close(p: EventPort): void {
    const rp = this.#pages.ports[p.port - 1];
    this.#expect(BlockType.CLOSE, [rp ? this.#model.recordedPortId(rp.key) : 0]);
    if (rp) rp.open = false;
  }

  mapForeignFrame(domid: DomId, mfn: number): Uint8Array | number {
    const b = this.#expect(BlockType.FOREIGN, [domid, mfn]);
    const key = `f:${domid}:${mfn}`;
    const ok = b ? b.args[2] > 0 : this.#model.known(key);
    if (!ok) return b ? b.args[2] : -EINVAL;
    const src = b && b.data.length === PAGE ? b.data : this.#model.page(key);
    return this.#pages.add(key, src).page;
  }

  defer(fn: () => void): void {
    this.#step();
    if (this.#hung) return;
    this.#callsInInput--; // deferring is not a ring access
    const id = this.#nextDefer++;
    if (this.#compare && !this.#draining) this.#defers.set(id, fn);
    else this.#pendingModelDefers.push(fn);
  }
}
