/**
 * In-memory outputs of a run in the page (the trace, the capture, the ring recording):
 * chunks collected up to a byte cap, so a long session never grows without bound, and
 * turned into a Blob for download.
 * @module
 */
import { concatBytes } from "../../lib/bytes.ts";

/** Collects bytes up to `cap`; later bytes are counted as dropped, never kept. */
export class BoundedChunks {
  readonly #chunks: Uint8Array[] = [];
  #size = 0;
  /** Bytes refused once the cap was reached. */
  dropped = 0;
  readonly cap: number;

  /** @param cap the most bytes kept */
  constructor(cap: number) {
    this.cap = cap;
  }

  /** The sink function (copies: writers may reuse their buffers). */
  readonly sink = (b: Uint8Array): void => {
    if (this.#size + b.length > this.cap) {
      this.dropped += b.length;
      return;
    }
    this.#chunks.push(b.slice());
    this.#size += b.length;
  };

  /** Bytes kept. */
  get size(): number {
    return this.#size;
  }

  /** Everything kept, as one array. */
  bytes(): Uint8Array {
    return concatBytes(this.#chunks, this.#size);
  }
}

/** 64 MiB: the most a trace, capture or recording keeps in the page. */
export const OUTPUT_CAP = 64 << 20;
