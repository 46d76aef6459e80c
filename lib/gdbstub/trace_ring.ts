/**
 * A bounded ring of the last trace records, for `monitor trace N`: a {@link Tracer} that
 * keeps records in typed arrays (no allocation per record) and passes each on to another
 * tracer (the `--trace` file writer) when there is one.
 * @module
 */
import { NULL_TRACER, type Tracer } from "../hypervisor/mod.ts";

/** One record of the ring. */
export interface RingRecord {
  /** TSC when it was recorded. */
  tsc: number;
  /** The 28-bit event id. */
  event: number;
  /** Its data words. */
  data: number[];
  /** The domain and vcpu running then (-1: not known). */
  dom: number;
  /** See {@link dom}. */
  vcpu: number;
}

const WORDS = 6;

/** See the module doc. */
export class TraceRing implements Tracer {
  readonly on = true;
  readonly #size: number;
  readonly #event: Int32Array;
  readonly #n: Uint8Array;
  readonly #data: Int32Array;
  readonly #tsc: Float64Array;
  readonly #dom: Int32Array;
  readonly #vcpu: Int32Array;
  #next = 0;
  #count = 0;
  #curDom = -1;
  #curVcpu = -1;
  /** The TSC source (the current machine's clock). */
  clock: () => number = () => 0;
  /** Where records go next. */
  inner: Tracer;

  /**
   * @param size records kept
   * @param inner the tracer records are passed on to
   */
  constructor(size = 4096, inner: Tracer = NULL_TRACER) {
    this.#size = size;
    this.#event = new Int32Array(size);
    this.#n = new Uint8Array(size);
    this.#data = new Int32Array(size * WORDS);
    this.#tsc = new Float64Array(size);
    this.#dom = new Int32Array(size);
    this.#vcpu = new Int32Array(size);
    this.inner = inner;
  }

  rec(
    event: number,
    n: number,
    d0: number,
    d1: number,
    d2: number,
    d3: number,
    d4: number,
    d5: number,
  ): void {
    const i = this.#next;
    this.#event[i] = event;
    this.#n[i] = n < 0 ? 0 : n > WORDS ? WORDS : n;
    const b = i * WORDS;
    const d = this.#data;
    d[b] = d0;
    d[b + 1] = d1;
    d[b + 2] = d2;
    d[b + 3] = d3;
    d[b + 4] = d4;
    d[b + 5] = d5;
    this.#tsc[i] = this.clock();
    this.#dom[i] = this.#curDom;
    this.#vcpu[i] = this.#curVcpu;
    this.#next = (i + 1) % this.#size;
    if (this.#count < this.#size) this.#count++;
    if (this.inner.on) this.inner.rec(event, n, d0, d1, d2, d3, d4, d5);
  }

  switchTo(domid: number, vcpu: number): void {
    this.#curDom = domid;
    this.#curVcpu = vcpu;
    this.inner.switchTo(domid, vcpu);
  }

  /** Sets the domain and vcpu later records carry, without telling the inner tracer. */
  setContext(domid: number, vcpu: number): void {
    this.#curDom = domid;
    this.#curVcpu = vcpu;
  }

  /** The last `n` records, oldest first. */
  last(n: number): RingRecord[] {
    const k = Math.max(0, Math.min(n, this.#count));
    const out: RingRecord[] = [];
    for (let j = k; j > 0; j--) {
      const i = (this.#next - j + this.#size) % this.#size;
      const data: number[] = [];
      for (let w = 0; w < this.#n[i]; w++) data.push(this.#data[i * WORDS + w] >>> 0);
      out.push({
        tsc: this.#tsc[i],
        event: this.#event[i] >>> 0,
        data,
        dom: this.#dom[i],
        vcpu: this.#vcpu[i],
      });
    }
    return out;
  }
}
