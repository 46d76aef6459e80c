/**
 * The debugger's view of guest-virtual memory: a read-only walk of the vcpu's page
 * tables (PAE, or the 4-level tables of a 64-bit domain with 64-bit addresses; no
 * accessed/dirty bit changes, so the guest sees nothing), reads of whatever
 * is mapped, and writes only to frames the domain owns that are plain writable RAM (never
 * its page tables or descriptor tables, which Xen validates). An unmapped address ends a
 * read early and refuses a write; nothing throws.
 * @module
 */
import type { PagingDomain } from "../paging/mod.ts";
import { INVALID_MFN, PGT_writable_page } from "../paging/mod.ts";
import { asGfn } from "../abi/mod.ts";

const P = 1, PS = 0x80;
const MAX64 = 0xffffffffffffffffn;

/**
 * Translates a 32-bit linear address through a vcpu's PAE tables without side effects.
 * @returns the machine address, or -1 when not mapped
 */
export function debugTranslate(mm: PagingDomain, vcpu: number, linear: number): number {
  const w = mm.walkers[vcpu];
  if (w === undefined || w.cr3 < 0) return -1;
  const f = mm.frames;
  const u32 = f.u32;
  const frame = (lo: number, hi: number): number => {
    if ((hi & 0xfffff) !== 0) return -1;
    const n = lo >>> 12;
    const m: number = mm.translated ? mm.p2m.get(asGfn(n)) : n;
    return m === INVALID_MFN || m >= f.count ? -1 : m;
  };
  linear >>>= 0;
  const l3 = frame(w.cr3, 0);
  if (l3 < 0) return -1;
  const i3 = l3 * 1024 + (linear >>> 30) * 2;
  if (!(u32[i3] & P)) return -1;
  const l2 = frame(u32[i3], u32[i3 + 1]);
  if (l2 < 0) return -1;
  const i2 = l2 * 1024 + ((linear >>> 21) & 511) * 2;
  const lo2 = u32[i2], hi2 = u32[i2 + 1];
  if (!(lo2 & P)) return -1;
  if (lo2 & PS) {
    if (!mm.translated) return -1;
    const m = frame((lo2 & 0xffe00000) | (((linear >>> 12) & 511) << 12), hi2);
    return m < 0 ? -1 : m * 4096 + (linear & 4095);
  }
  const l1 = frame(lo2, hi2);
  if (l1 < 0) return -1;
  const i1 = l1 * 1024 + ((linear >>> 12) & 511) * 2;
  if (!(u32[i1] & P)) return -1;
  const m = frame(u32[i1], u32[i1 + 1]);
  return m < 0 ? -1 : m * 4096 + (linear & 4095);
}

/**
 * Translates a 64-bit linear address through a 64-bit vcpu's 4-level tables (the base
 * its walker uses now: kernel or user) without side effects.
 * @param addr the address (any 64-bit value; a non-canonical one is not mapped)
 * @returns the machine address, or -1 when not mapped
 */
export function debugTranslate64(mm: PagingDomain, vcpu: number, addr: bigint): number {
  const w = mm.lmWalkers[vcpu];
  const top = addr >> 47n;
  if (w === undefined || w.cr3 < 0 || (top !== 0n && top !== 0x1ffffn)) return -1;
  const f = mm.frames;
  const u32 = f.u32;
  const frame = (lo: number, hi: number): number => {
    if ((hi & 0xfffff) !== 0) return -1;
    const n = lo >>> 12;
    return n >= f.count ? -1 : n;
  };
  let t = frame(w.cr3, 0);
  for (let level = 0; level < 4 && t >= 0; level++) {
    const index = Number((addr >> BigInt(39 - 9 * level)) & 511n);
    const i = t * 1024 + index * 2;
    if (!(u32[i] & P)) return -1;
    if (level < 3 && (u32[i] & PS)) return -1; // Xen refuses superpages to PV guests
    t = frame(u32[i], u32[i + 1]);
  }
  return t < 0 ? -1 : t * 4096 + Number(addr & 4095n);
}

/** The debugger's memory access for one domain. */
export class DebugMemory {
  readonly #mm: PagingDomain;
  readonly #domid: number;

  /**
   * @param mm the domain's paging context
   * @param domid its id (writes go only to its own frames)
   */
  constructor(mm: PagingDomain, domid: number) {
    this.#mm = mm;
    this.#domid = domid;
  }

  /** The machine address of `addr` for vcpu `vcpu` (its mode's tables), or -1. */
  #translate(vcpu: number, addr: bigint): number {
    if (this.#mm.pv64) return addr > MAX64 ? -1 : debugTranslate64(this.#mm, vcpu, addr);
    return addr > 0xffffffffn ? -1 : debugTranslate(this.#mm, vcpu, Number(addr));
  }

  /**
   * Reads up to `len` bytes at `addr` through vcpu `vcpu`'s tables.
   * @returns the bytes up to the first unmapped page
   */
  read(vcpu: number, addr: bigint, len: number): Uint8Array {
    const out = new Uint8Array(len);
    const u8 = this.#mm.frames.mem.u8;
    let done = 0;
    while (done < len) {
      const a = addr + BigInt(done);
      const m = this.#translate(vcpu, a);
      if (m < 0) break;
      const chunk = Math.min(len - done, 4096 - (m & 4095));
      out.set(u8.subarray(m, m + chunk), done);
      done += chunk;
    }
    return done === len ? out : out.slice(0, done);
  }

  /**
   * Writes `data` at `addr` (all or nothing).
   * @returns false when a page is unmapped, not the domain's, or not plain RAM
   */
  write(vcpu: number, addr: bigint, data: Uint8Array): boolean {
    const f = this.#mm.frames;
    const spans: Array<[number, number, number]> = [];
    for (let done = 0; done < data.length;) {
      const m = this.#translate(vcpu, addr + BigInt(done));
      if (m < 0) return false;
      const mfn = Math.floor(m / 4096);
      if (!f.isOwnedBy(mfn, this.#domid)) return false;
      if (f.typeCount[mfn] !== 0 && f.type[mfn] !== PGT_writable_page) return false;
      const chunk = Math.min(data.length - done, 4096 - (m & 4095));
      spans.push([m, done, chunk]);
      done += chunk;
    }
    for (const [m, off, n] of spans) {
      f.mem.u8.set(data.subarray(off, off + n), m);
      f.mem.noteWrite(m, n); // decoded code on that page is dropped
    }
    return true;
  }
}
