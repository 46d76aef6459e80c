/**
 * The store a backend sees during replay: each call is matched against the recording
 * (values read come from it, writes are compared); once the backend strays, the guest
 * model's nodes answer and watches fire as xenstored would fire them.
 * @module
 */
import type { StoreOps } from "../hypervisor/mod.ts";
import { type Block, BlockType, splitText } from "./recording_format.ts";
import type { GuestModel } from "./recording_guest_model.ts";

/** A watch the backend placed. */
export interface ReplayWatch {
  /** The watched path. */
  path: string;
  /** The backend's callback. */
  cb: (p: string) => void;
  /** False once removed. */
  active: boolean;
}

/** What the store needs of its ReplayHost. */
export interface StoreReplayContext {
  /** The next recorded call when it is of `type` (undefined: diverged or answering from the model). */
  expect(type: number): Block | undefined;
  /** Reports a mismatch; the rest of the segment answers from the model. */
  mismatch(what: string, expected: string, got: string): void;
  /** After a write or rm: nested recorded inputs, or the model's watch fires. */
  changed(path: string): void;
  /** After a new watch: its recorded first fire, or the model's. */
  watched(w: ReplayWatch): void;
  /** The guest model. */
  readonly model: GuestModel;
  /** The backend's watches. */
  readonly watches: ReplayWatch[];
}

/** Fires the watches covering `changed` (as MemStore does). */
export function fireWatches(watches: readonly ReplayWatch[], changed: string): void {
  for (const w of [...watches]) {
    if (w.active && (changed === w.path || changed.startsWith(w.path + "/"))) w.cb(changed);
  }
}

/** The replay's StoreOps over `ctx`. */
export function replayStore(ctx: StoreReplayContext): StoreOps {
  const model = ctx.model.store;
  return {
    read: (path) => {
      const b = ctx.expect(BlockType.ST_READ);
      if (b) {
        const [p, v] = splitText(b.data);
        if (p === path) return b.args[0] ? v ?? "" : undefined;
        ctx.mismatch("store read", `read ${p}`, `read ${path}`);
      }
      return model.get(path);
    },
    write: (path, value) => {
      const b = ctx.expect(BlockType.ST_WRITE);
      if (b) {
        const [p, v] = splitText(b.data);
        if (p !== path || v !== value) {
          ctx.mismatch("store write", `${p} = "${v}"`, `${path} = "${value}"`);
        }
      }
      model.set(path, value);
      ctx.changed(path);
    },
    rm: (path) => {
      const b = ctx.expect(BlockType.ST_RM);
      if (b && splitText(b.data)[0] !== path) {
        ctx.mismatch("store rm", splitText(b.data)[0], path);
      }
      ctx.model.rm(path);
      ctx.changed(path);
    },
    directory: (path) => {
      const b = ctx.expect(BlockType.ST_DIR);
      if (b) {
        const [p, ...kids] = splitText(b.data);
        if (p === path) return b.args[0] ? kids.filter((k) => k !== "") : undefined;
        ctx.mismatch("store directory", p, path);
      }
      return ctx.model.directory(path);
    },
    watch: (path, onChange) => {
      const b = ctx.expect(BlockType.WATCH);
      if (b && splitText(b.data)[0] !== path) {
        ctx.mismatch("store watch", splitText(b.data)[0], path);
      }
      const w: ReplayWatch = { path, cb: onChange, active: true };
      ctx.watches.push(w);
      // xenstored fires a new watch at once
      ctx.watched(w);
      return () => {
        ctx.expect(BlockType.UNWATCH);
        w.active = false;
      };
    },
  };
}
