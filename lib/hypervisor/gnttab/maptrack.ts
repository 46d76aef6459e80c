/**
 * The maptrack: the table of grant mappings a domain holds on other domains' grants,
 * indexed by the handles GNTTABOP_map_grant_ref returns (Xen's struct grant_mapping).
 * @module
 */

/** Handle value meaning "none available" (Xen's INVALID_MAPTRACK_HANDLE). */
export const INVALID_MAPTRACK_HANDLE = 0xffffffff;

/** Mapping records in typed arrays; a record with flags 0 is free. */
export class Maptrack {
  /** Maximum number of handles. */
  readonly limit: number;
  #ref: Uint32Array;
  #flags: Uint16Array;
  #domid: Uint16Array;
  #next = 0;
  #free: number[] = [];
  #inUse = 0;

  /** @param limit maximum number of simultaneous mappings */
  constructor(limit: number) {
    this.limit = limit;
    const cap = Math.min(limit, 64);
    this.#ref = new Uint32Array(cap);
    this.#flags = new Uint16Array(cap);
    this.#domid = new Uint16Array(cap);
  }

  /** Handles currently in use. */
  get inUse(): number {
    return this.#inUse;
  }

  /** One past the highest handle ever issued (iterate 0 .. highWater-1). */
  get highWater(): number {
    return this.#next;
  }

  /** Reserves a handle (flags stay 0 until {@link set}). @returns it, or INVALID */
  get(): number {
    if (this.#free.length > 0) return this.#free.pop()!;
    if (this.#next >= this.limit) return INVALID_MAPTRACK_HANDLE;
    if (this.#next === this.#ref.length) this.#grow();
    return this.#next++;
  }

  /** Returns a handle to the free list (its flags must be 0). */
  put(handle: number): void {
    this.#flags[handle] = 0;
    this.#free.push(handle);
  }

  /** Fills a reserved handle's record (flags last, as Xen publishes them). */
  set(handle: number, domid: number, ref: number, flags: number): void {
    this.#domid[handle] = domid;
    this.#ref[handle] = ref;
    if (this.#flags[handle] === 0 && flags !== 0) this.#inUse++;
    this.#flags[handle] = flags;
  }

  /** Updates the flags of a live record; 0 frees the record's content (not the handle). */
  setFlags(handle: number, flags: number): void {
    if (this.#flags[handle] !== 0 && flags === 0) this.#inUse--;
    this.#flags[handle] = flags;
  }

  /** Whether `handle` names a live record. */
  live(handle: number): boolean {
    return Number.isInteger(handle) && handle >= 0 && handle < this.#next &&
      this.#flags[handle] !== 0;
  }

  /** GNTMAP_* flags of a record (0 = free). */
  flags(handle: number): number {
    return handle >= 0 && handle < this.#next ? this.#flags[handle] : 0;
  }
  /** Granting domain of a record. */
  domid(handle: number): number {
    return this.#domid[handle];
  }
  /** Grant reference of a record. */
  ref(handle: number): number {
    return this.#ref[handle];
  }

  #grow(): void {
    const cap = Math.min(this.limit, this.#ref.length * 2);
    const r = new Uint32Array(cap);
    r.set(this.#ref);
    const f = new Uint16Array(cap);
    f.set(this.#flags);
    const d = new Uint16Array(cap);
    d.set(this.#domid);
    this.#ref = r;
    this.#flags = f;
    this.#domid = d;
  }
}
