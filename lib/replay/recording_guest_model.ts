/**
 * The replay's model of the recorded guest: which grants, ports and store nodes existed,
 * the granted pages' contents as the backend last saw them, and the recorded ids of maps,
 * ports and watches. Fed from the recording one segment (input and its calls) ahead, it
 * answers a backend that strays from the recording (after a divergence, and fuzzing).
 * @module
 */
import { type Block, BlockType, blockTypeName, isInput, splitText } from "./recording_format.ts";

const PAGE = 4096;
const GNTST_bad_gntref = -3;
const GNTST_permission_denied = -8;
const GNTST_bad_copy_arg = -10;

/** What the replay knows of the guest. Keys: "g:domid:gref", "f:domid:mfn", "domid:port". */
export class GuestModel {
  /** Recorded map id -> key. */
  readonly mapKey = new Map<number, string>();
  /** Recorded port id -> "domid:remotePort". */
  readonly portKey = new Map<number, string>();
  /** Recorded watch id -> path. */
  readonly watchPath = new Map<number, string>();
  /** Store nodes as the backend read them. */
  readonly store = new Map<string, string>();
  readonly #pages = new Map<string, Uint8Array>();
  readonly #ok = new Set<string>();
  /** Grants the recording shows writable (a successful copy into them or a writable map). */
  readonly #writable = new Set<string>();
  readonly #bindOk = new Set<string>();

  /** Feeds the model with what the segment starting at `from` read from the guest. */
  preload(bs: readonly Block[], from: number): void {
    for (let j = from; j < bs.length; j++) {
      const b = bs[j];
      if (j > from && isInput(b.type) && b.depth === 0) break;
      const a = b.args;
      switch (b.type) {
        case BlockType.MAP:
          if (a[3] > 0) {
            const key = `g:${a[0]}:${a[1]}`;
            this.mapKey.set(a[3], key);
            this.#ok.add(key);
            if (!a[2]) this.#writable.add(key);
            if (b.data.length === PAGE) this.#pages.set(key, b.data.slice());
          }
          break;
        case BlockType.FOREIGN:
          if (a[2] > 0) {
            const key = `f:${a[0]}:${a[1]}`;
            this.mapKey.set(a[2], key);
            this.#ok.add(key);
            if (b.data.length === PAGE) this.#pages.set(key, b.data.slice());
          }
          break;
        case BlockType.COPY_FROM:
          if (a[4] === 0) {
            const key = `g:${a[0]}:${a[1]}`;
            this.#ok.add(key);
            if (a[2] >= 0 && a[2] + b.data.length <= PAGE) this.page(key).set(b.data, a[2]);
          }
          break;
        case BlockType.COPY_TO:
          if (a[3] === 0) {
            this.#ok.add(`g:${a[0]}:${a[1]}`);
            this.#writable.add(`g:${a[0]}:${a[1]}`);
          }
          break;
        case BlockType.BIND:
          if (a[2] > 0) {
            this.portKey.set(a[2], `${a[0]}:${a[1]}`);
            this.#bindOk.add(`${a[0]}:${a[1]}`);
          }
          break;
        case BlockType.WATCH:
          this.watchPath.set(a[0], splitText(b.data)[0]);
          break;
        case BlockType.ST_READ: {
          const [p, v] = splitText(b.data);
          if (a[0]) this.store.set(p, v ?? "");
          else this.store.delete(p);
          break;
        }
        default:
          break;
      }
    }
  }

  /** The model's page for a grant or frame key (zeroes until the recording shows it). */
  page(key: string): Uint8Array {
    let pg = this.#pages.get(key);
    if (!pg) {
      pg = new Uint8Array(PAGE);
      this.#pages.set(key, pg);
    }
    return pg;
  }

  /** Whether the recording showed `key` usable (mapped or copied). */
  known(key: string): boolean {
    return this.#ok.has(key);
  }

  /** Grant references the recording showed usable (fuzzing swaps them into requests). */
  static grantRefs(bs: readonly Block[]): number[] {
    const out = new Set<number>();
    for (const b of bs) {
      if (b.type === BlockType.MAP && b.args[3] > 0) out.add(b.args[1] >>> 0);
      if (b.type === BlockType.COPY_FROM && b.args[4] === 0) out.add(b.args[1] >>> 0);
      if (b.type === BlockType.COPY_TO && b.args[3] === 0) out.add(b.args[1] >>> 0);
    }
    return [...out];
  }

  /** Whether the recording bound the guest port "domid:port". */
  bindable(key: string): boolean {
    return this.#bindOk.has(key);
  }

  /**
   * GNTTABOP_copy from the model's guest.
   * @param live the backend's mapping of the same grant, when it has one (same frame)
   * @returns a GNTST_* status
   */
  copyFrom(
    domid: number,
    gref: number,
    offset: number,
    dst: Uint8Array,
    live?: Uint8Array,
  ): number {
    if (!(offset >= 0 && offset + dst.length <= PAGE)) return GNTST_bad_copy_arg;
    const key = `g:${domid}:${gref}`;
    if (!this.#ok.has(key)) return GNTST_bad_gntref;
    dst.set((live ?? this.page(key)).subarray(offset, offset + dst.length));
    return 0;
  }

  /**
   * GNTTABOP_copy into the model's guest.
   * @param live the backend's mapping of the same grant, when it has one (same frame)
   * @returns a GNTST_* status
   */
  copyTo(domid: number, gref: number, offset: number, src: Uint8Array, live?: Uint8Array): number {
    if (!(offset >= 0 && offset + src.length <= PAGE)) return GNTST_bad_copy_arg;
    const key = `g:${domid}:${gref}`;
    if (!this.#ok.has(key)) return GNTST_bad_gntref;
    // a grant only ever read (an indirect page, a TX buffer) stands for a read-only one
    if (!this.#writable.has(key)) return GNTST_permission_denied;
    (live ?? this.page(key)).set(src, offset);
    return 0;
  }

  /** The recorded id of a map key (0 when unknown). */
  recordedMapId(key: string): number {
    for (const [id, k] of this.mapKey) if (k === key) return id;
    return 0;
  }

  /** The recorded id of a port key (0 when unknown). */
  recordedPortId(key: string): number {
    for (const [id, k] of this.portKey) if (k === key) return id;
    return 0;
  }

  /** store.directory over the model's nodes. */
  directory(path: string): string[] | undefined {
    const prefix = path.endsWith("/") ? path : path + "/";
    const out = new Set<string>();
    for (const k of this.store.keys()) {
      if (k.startsWith(prefix)) out.add(k.slice(prefix.length).split("/")[0]);
    }
    return out.size > 0 || this.store.has(path) ? [...out] : undefined;
  }

  /** store.rm over the model's nodes. */
  rm(path: string): void {
    for (const k of [...this.store.keys()]) {
      if (k === path || k.startsWith(path + "/")) this.store.delete(k);
    }
  }
}

/** The first index where `a` and `b` differ, or -1. */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** 16 bytes in hex from the 4-byte boundary at or before `off` ("@8: 01 02 ..."). */
export function hexAround(b: Uint8Array, off: number): string {
  const s = Math.max(0, off - (off % 4));
  const e = Math.min(b.length, s + 16);
  return `@${s}: ${[...b.subarray(s, e)].map((x) => x.toString(16).padStart(2, "0")).join(" ")}`;
}

/** A block as a call: `COPY_TO(1, 12, 0, 0)`, with a store path and value. */
export function describeBlock(b: Block): string {
  const text = b.type >= BlockType.ST_READ && b.type <= BlockType.WATCH
    ? ` ${JSON.stringify(splitText(b.data).slice(0, 2).join(" = "))}`
    : "";
  return `${blockTypeName(b.type)}(${[...b.args].join(", ")})${text}`;
}
