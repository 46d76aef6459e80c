/**
 * One domain's paging context: owner id, mode (direct or translated), P2M, per-vcpu base
 * pointers, LDT settings and walkers, pending TLB flushes, and physmap population.
 * The hypervisor creates one per domain and passes it to the model functions.
 * @module
 */

import { InputError } from "../errors.ts";
import { INVALID_M2P_ENTRY, INVALID_MFN, PGC_allocated } from "./constants.ts";
import { EINVAL, ENOMEM } from "../abi/mod.ts";
import { FlushQueue } from "./flush_queue.ts";
import type { MachineFrames } from "./machine_frames.ts";
import { P2m } from "./p2m.ts";
import { dropPin, putPageAndType } from "./page_type.ts";
import { PaeWalker } from "./pae_walk.ts";
import { asGfn, asMfn } from "../abi/mod.ts";
import { LongModeWalker } from "./lm_walk.ts";

/** Options of a {@link PagingDomain}. */
export interface PagingDomainOptions {
  /** Guest page tables hold pfns and the walker translates (XENFEAT_auto_translated_physmap). */
  translated?: boolean;
  /** Number of vcpus (default 1, at most 32). */
  vcpus?: number;
  /** Pseudo-physical size limit in frames (default: machine memory size). */
  maxPfns?: number;
  /** A 64-bit PV guest: 4-level tables under Xen's 64-bit rules (paging64.ts). */
  pv64?: boolean;
}

/** The paging state of one domain. */
export class PagingDomain {
  /** The domain id. */
  readonly domid: number;
  /** The host's frames. */
  readonly frames: MachineFrames;
  /** Translated mode (tables hold pfns) rather than direct (tables hold mfns). */
  readonly translated: boolean;
  /** pfn -> mfn. */
  readonly p2m: P2m;
  /**
   * Per vcpu: mfn of the root table installed by NEW_BASEPTR (an L3, or a 64-bit guest's
   * kernel L4), holding a type reference; 0 if none.
   */
  readonly baseMfn: Uint32Array;
  /** A 64-bit PV guest (4-level tables, Xen's 64-bit rules). */
  readonly pv64: boolean;
  /** Per vcpu of a 64-bit guest: the user-mode L4 of MMUEXT_NEW_USER_BASEPTR, 0 if none. */
  readonly userBaseMfn: Uint32Array;
  /**
   * Per vcpu of a 64-bit guest: 1 while the guest kernel runs (TF_kernel_mode), 0 in user
   * mode; the vcpu's 4-level walker follows the matching base (paging64.ts).
   */
  readonly kernelMode: Uint8Array;
  /** Per vcpu of a 64-bit guest: the 4-level walker its CPU uses (empty for 32-bit). */
  readonly lmWalkers: LongModeWalker[] = [];
  /** Per vcpu: MMUEXT_SET_LDT linear base (its low half for a 64-bit guest). */
  readonly ldtBase: Uint32Array;
  /** Per vcpu of a 64-bit guest: the high half of the LDT base (setLdt64). */
  readonly ldtBaseHi: Uint32Array;
  /** Per vcpu: MMUEXT_SET_LDT entry count. */
  readonly ldtEnts: Uint32Array;
  /** Per vcpu: the walker the CPU of that vcpu uses. */
  readonly walkers: PaeWalker[];
  /** TLB flushes the last operations asked for. */
  readonly flush: FlushQueue;

  /**
   * A domain with no memory yet (populate it with {@link populatePhysmap}).
   * @param frames the host's frames
   * @param domid the domain id
   * @param opts mode, vcpus, size limit
   */
  constructor(frames: MachineFrames, domid: number, opts: PagingDomainOptions = {}) {
    const vcpus = opts.vcpus ?? 1;
    if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 32) {
      throw new InputError(`Cannot create domain ${domid}: "${vcpus}" vcpus (1..32)`);
    }
    this.frames = frames;
    this.domid = domid;
    this.translated = opts.translated ?? false;
    this.pv64 = opts.pv64 ?? false;
    if (this.pv64 && this.translated) {
      throw new InputError(`Cannot create domain ${domid}: a translated 64-bit PV domain`);
    }
    if (this.pv64) {
      void frames.m2p64; // created (or refused) before the domain exists
      frames.pv64Domains.set(domid, { m2pStrict: false });
    } else frames.pv64Domains.delete(domid);
    this.userBaseMfn = new Uint32Array(vcpus);
    this.kernelMode = new Uint8Array(vcpus).fill(1);
    if (this.pv64) {
      for (let v = 0; v < vcpus; v++) this.lmWalkers.push(new LongModeWalker(frames.mem));
    }
    this.p2m = new P2m(opts.maxPfns ?? frames.count);
    this.baseMfn = new Uint32Array(vcpus);
    this.ldtBase = new Uint32Array(vcpus);
    this.ldtBaseHi = new Uint32Array(vcpus);
    this.ldtEnts = new Uint32Array(vcpus);
    this.walkers = [];
    for (let v = 0; v < vcpus; v++) {
      this.walkers.push(new PaeWalker(frames.mem, this.translated ? this.p2m : null));
    }
    this.flush = new FlushQueue(vcpus);
  }

  /**
   * VMASST_TYPE_m2p_strict of a 64-bit guest: L4s are created with the read-only M2P in
   * slot 256 and lose it when installed as a user base (else: created without it, gaining
   * it when installed as a kernel base).
   */
  get m2pStrict(): boolean {
    return this.frames.pv64Domains.get(this.domid)?.m2pStrict ?? false;
  }

  set m2pStrict(on: boolean) {
    const e = this.frames.pv64Domains.get(this.domid);
    if (e !== undefined) e.m2pStrict = on;
  }

  /** Number of vcpus. */
  get vcpus(): number {
    return this.walkers.length;
  }

  /**
   * Allocates frames for pfns [firstPfn, firstPfn + count) and records them in the P2M
   * and M2P (XENMEM_populate_physmap, or the builder's initial allocation).
   * @returns 0, -EINVAL for a pfn out of range or already populated, -ENOMEM
   */
  populatePhysmap(firstPfn: number, count: number): number {
    for (let i = 0; i < count; i++) {
      const pfn = firstPfn + i;
      if (pfn < 0 || pfn >= this.p2m.maxPfns || this.p2m.get(asGfn(pfn)) !== INVALID_MFN) {
        return -EINVAL;
      }
    }
    if (count > this.frames.freeFrames) return -ENOMEM;
    for (let i = 0; i < count; i++) {
      const mfn = this.frames.allocDomainFrame(this.domid);
      this.p2m.set(asGfn(firstPfn + i), asMfn(mfn));
      this.frames.m2p.set(asMfn(mfn), asGfn(firstPfn + i));
    }
    return 0;
  }

  /**
   * Gives back the frame behind a pfn (XENMEM_decrease_reservation's guest_remove_page):
   * the P2M and M2P entries go at once; the frame itself returns to the pool when its last
   * reference (a mapping, a type, a pin) goes.
   * @returns 0, or -EINVAL when the pfn is not populated
   */
  removePhysmap(pfn: number): number {
    const mfn = this.p2m.get(asGfn(pfn));
    if (mfn === INVALID_MFN) return -EINVAL;
    const f = this.frames;
    if (f.freeFrame(mfn, this.domid) !== 0) return -EINVAL;
    this.p2m.set(asGfn(pfn), asMfn(INVALID_MFN));
    if (f.refs[mfn] !== 0) f.m2p.set(mfn, asGfn(INVALID_M2P_ENTRY));
    return 0;
  }

  /**
   * Domain teardown (domain_relinquish_resources): drops every vcpu's base pointer, every
   * pin and every allocation reference, so page tables unwind level by level and frames
   * return to the pool. Frames still referenced from elsewhere (another domain's grant
   * mappings) stay owned until those references go.
   * @returns how many frames the domain still owns afterwards
   */
  relinquish(): number {
    const f = this.frames;
    for (let v = 0; v < this.vcpus; v++) {
      const base = this.baseMfn[v];
      if (base === 0) continue;
      this.baseMfn[v] = 0;
      this.walkers[v].cr3 = -1;
      putPageAndType(f, base);
      this.flush.flushAll(1 << v);
    }
    for (let v = 0; v < this.vcpus; v++) {
      const user = this.userBaseMfn[v];
      if (user === 0) continue;
      this.userBaseMfn[v] = 0;
      putPageAndType(f, user);
    }
    for (const w of this.lmWalkers) w.cr3 = -1;
    for (let m = 0; m < f.count; m++) {
      if (f.owner[m] === this.domid && f.refs[m] !== 0) dropPin(f, m);
    }
    for (let m = 0; m < f.count; m++) {
      if (f.owner[m] !== this.domid || !(f.cflags[m] & PGC_allocated)) continue;
      f.cflags[m] &= ~PGC_allocated;
      f.putPage(m);
    }
    for (let p = 0; p < this.p2m.size; p++) this.p2m.set(asGfn(p), asMfn(INVALID_MFN));
    return f.domainPages(this.domid);
  }

  /**
   * The guest-visible frame number to machine frame for MMU operations: in direct mode
   * the guest names mfns (checked against ownership by the caller); in translated mode pfns.
   * @returns the mfn, or INVALID_MFN
   */
  gfnToMfn(gfn: number): number {
    return this.translated ? this.p2m.get(asGfn(gfn)) : gfn;
  }
}
