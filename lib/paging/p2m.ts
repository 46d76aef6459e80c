/**
 * A domain's physical-to-machine map (P2M): pfn -> mfn, INVALID_MFN where unpopulated.
 * @module
 */

import { INVALID_MFN } from "./constants.ts";
import type { Gfn, Mfn } from "../abi/mod.ts";

/** One domain's P2M; grows on demand up to `maxPfns`. */
export class P2m {
  #map: Uint32Array;
  /** Highest pfn count the domain may populate. */
  readonly maxPfns: number;

  /**
   * An empty P2M (every pfn INVALID_MFN).
   * @param maxPfns the domain's pseudo-physical size limit, in frames
   */
  constructor(maxPfns: number) {
    this.maxPfns = maxPfns;
    this.#map = new Uint32Array(Math.min(maxPfns, 1024)).fill(INVALID_MFN);
  }

  /** Number of pfn slots currently allocated (populated or not). */
  get size(): number {
    return this.#map.length;
  }

  /**
   * The mfn of a pfn.
   * @param pfn pseudo-physical frame
   * @returns the mfn, or INVALID_MFN when unpopulated or out of range
   */
  get(pfn: Gfn): Mfn {
    return (pfn >= 0 && pfn < this.#map.length ? this.#map[pfn] : INVALID_MFN) as Mfn;
  }

  /**
   * Sets (or clears, with INVALID_MFN) the mfn of a pfn.
   * @param pfn pseudo-physical frame, below {@link maxPfns}
   * @param mfn machine frame or INVALID_MFN
   * @returns false when pfn is out of range
   */
  set(pfn: Gfn, mfn: Mfn): boolean {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.maxPfns) return false;
    if (pfn >= this.#map.length) {
      let n = this.#map.length * 2;
      while (n <= pfn) n *= 2;
      const grown = new Uint32Array(Math.min(n, this.maxPfns)).fill(INVALID_MFN);
      grown.set(this.#map);
      this.#map = grown;
    }
    this.#map[pfn] = mfn >>> 0;
    return true;
  }

  /** A live view for hot-path lookups (replaced when the map grows; re-read after set). */
  get view(): Uint32Array {
    return this.#map;
  }
}
