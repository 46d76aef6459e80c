/**
 * The event-channel words of a shared_info page and of each vcpu_info, read and written
 * in place in machine memory (public/xen.h, arch-x86/xen.h, xen-x86_32.h, xen-x86_64.h):
 * the bitmaps are the same bits in either width (little-endian), their offsets and the
 * selector's width (a bit per 32- or 64-bit word of the bitmap) follow the guest's.
 * @module
 */
import type { PhysMemory } from "../../cpu/mod.ts";
import { PAGE_SIZE } from "../../abi/mod.ts";
import { assert } from "../../errors.ts";
import { XEN_LEGACY_MAX_VCPUS } from "../../abi/mod.ts";
import { VCPU_INFO_SIZE } from "../../abi/mod.ts";

export { VCPU_INFO_SIZE, XEN_LEGACY_MAX_VCPUS };

/** offsetof(struct vcpu_info, evtchn_upcall_pending). */
export const VCPU_INFO_UPCALL_PENDING = 0;
/** offsetof(struct vcpu_info, evtchn_upcall_mask). */
export const VCPU_INFO_UPCALL_MASK = 1;
/** offsetof(struct vcpu_info, evtchn_pending_sel) for x86_32 (xen_ulong_t = 4 bytes). */
export const VCPU_INFO_PENDING_SEL = 4;
/** offsetof(struct shared_info, evtchn_pending) for x86_32. */
export const SHARED_INFO_EVTCHN_PENDING = 2048;
/** offsetof(struct shared_info, evtchn_mask) for x86_32. */
export const SHARED_INFO_EVTCHN_MASK = 2176;
/** sizeof(struct shared_info) for x86_32. */
export const SHARED_INFO_SIZE_32 = 2344;
/** Words in evtchn_pending / evtchn_mask for x86_32 (sizeof(xen_ulong_t) * 8). */
export const EVTCHN_WORDS_32 = 32;
/** offsetof(struct vcpu_info, evtchn_pending_sel) for x86_64 (xen_ulong_t = 8 bytes). */
export const VCPU_INFO_PENDING_SEL_64 = 8;
/** offsetof(struct shared_info, evtchn_pending) for x86_64. */
export const SHARED_INFO_EVTCHN_PENDING_64 = 2048;
/** offsetof(struct shared_info, evtchn_mask) for x86_64. */
export const SHARED_INFO_EVTCHN_MASK_64 = 2560;

/**
 * A domain's shared_info event words (pending and mask bitmaps) and its vcpus'
 * vcpu_info event fields, in machine memory. vcpu_info lives in shared_info for vcpus
 * below {@link XEN_LEGACY_MAX_VCPUS} until VCPUOP_register_vcpu_info moves it
 * ({@link setVcpuInfo}); a vcpu with no vcpu_info reads zeros and ignores writes, as
 * Xen's dummy_vcpu_info does.
 */
export class SharedInfoView {
  /** Machine memory. */
  readonly mem: PhysMemory;
  /** Machine frame of shared_info. */
  readonly mfn: number;
  /** Int32 index of evtchn_pending[0]. */
  readonly pendingIdx: number;
  /** Int32 index of evtchn_mask[0]. */
  readonly maskIdx: number;
  /** The guest's word width (32 or 64). */
  readonly width: 32 | 64;
  /** log2 of the bits per bitmap word: a port's selector bit is port >>> selShift. */
  readonly selShift: number;
  readonly #selOff: number;
  readonly #i32: Int32Array;
  readonly #u8: Uint8Array;
  /** Per vcpu: machine address of its vcpu_info, or -1 when it has none. */
  readonly #vcpuInfo: Float64Array;

  /**
   * @param mem machine memory
   * @param mfn the shared_info frame
   * @param maxVcpus how many vcpus the domain has
   * @param width the guest's width (x86_32 layout by default)
   */
  constructor(mem: PhysMemory, mfn: number, maxVcpus: number, width: 32 | 64 = 32) {
    assert(Number.isInteger(mfn) && mfn >= 0 && mfn < mem.frames, `bad shared_info mfn ${mfn}`);
    assert(Number.isInteger(maxVcpus) && maxVcpus >= 1, `bad vcpu count ${maxVcpus}`);
    this.mem = mem;
    this.mfn = mfn;
    this.#i32 = new Int32Array(mem.buffer);
    this.#u8 = mem.u8;
    const base = mfn * PAGE_SIZE;
    this.width = width;
    this.selShift = width === 64 ? 6 : 5;
    this.#selOff = width === 64 ? VCPU_INFO_PENDING_SEL_64 : VCPU_INFO_PENDING_SEL;
    const w64 = width === 64;
    this.pendingIdx = (base + (w64 ? SHARED_INFO_EVTCHN_PENDING_64 : SHARED_INFO_EVTCHN_PENDING)) /
      4;
    this.maskIdx = (base + (w64 ? SHARED_INFO_EVTCHN_MASK_64 : SHARED_INFO_EVTCHN_MASK)) / 4;
    this.#vcpuInfo = new Float64Array(maxVcpus).fill(-1);
    for (let v = 0; v < maxVcpus && v < XEN_LEGACY_MAX_VCPUS; v++) {
      this.#vcpuInfo[v] = base + v * VCPU_INFO_SIZE;
    }
  }

  /** Number of vcpus this view serves. */
  get maxVcpus(): number {
    return this.#vcpuInfo.length;
  }

  /**
   * Moves a vcpu's vcpu_info (VCPUOP_register_vcpu_info; the caller checked the frame).
   * @param vcpu the vcpu id
   * @param maddr machine address of the new vcpu_info (8-byte aligned, within one page),
   *   or -1 to drop it
   */
  setVcpuInfo(vcpu: number, maddr: number): void {
    assert(vcpu >= 0 && vcpu < this.#vcpuInfo.length, `bad vcpu ${vcpu}`);
    assert(
      maddr === -1 ||
        ((maddr & 7) === 0 && (maddr & (PAGE_SIZE - 1)) + VCPU_INFO_SIZE <= PAGE_SIZE &&
          maddr + VCPU_INFO_SIZE <= this.mem.size),
      `bad vcpu_info address ${maddr}`,
    );
    this.#vcpuInfo[vcpu] = maddr;
  }

  /** Machine address of a vcpu's vcpu_info, or -1. */
  vcpuInfoMaddr(vcpu: number): number {
    return vcpu >= 0 && vcpu < this.#vcpuInfo.length ? this.#vcpuInfo[vcpu] : -1;
  }

  /** evtchn_pending[word] as an unsigned 32-bit value. */
  pendingWord(word: number): number {
    return this.#i32[this.pendingIdx + word] >>> 0;
  }

  /** evtchn_mask[word] as an unsigned 32-bit value. */
  maskWord(word: number): number {
    return this.#i32[this.maskIdx + word] >>> 0;
  }

  /** Whether `port`'s pending bit is set. */
  isPending(port: number): boolean {
    return (this.#i32[this.pendingIdx + (port >>> 5)] & (1 << (port & 31))) !== 0;
  }

  /** Whether `port`'s mask bit is set. */
  isMasked(port: number): boolean {
    return (this.#i32[this.maskIdx + (port >>> 5)] & (1 << (port & 31))) !== 0;
  }

  /** Sets `port`'s pending bit. @returns whether it was already set */
  testAndSetPending(port: number): boolean {
    return this.#testAndSet(this.pendingIdx + (port >>> 5), 1 << (port & 31));
  }

  /** Clears `port`'s pending bit. @returns whether it was set */
  testAndClearPending(port: number): boolean {
    return this.#testAndClear(this.pendingIdx + (port >>> 5), 1 << (port & 31));
  }

  /** Sets `port`'s mask bit. @returns whether it was already set */
  testAndSetMask(port: number): boolean {
    return this.#testAndSet(this.maskIdx + (port >>> 5), 1 << (port & 31));
  }

  /** Clears `port`'s mask bit. @returns whether it was set */
  testAndClearMask(port: number): boolean {
    return this.#testAndClear(this.maskIdx + (port >>> 5), 1 << (port & 31));
  }

  /** A vcpu's evtchn_upcall_pending byte (0 when it has no vcpu_info). */
  upcallPending(vcpu: number): number {
    const a = this.vcpuInfoMaddr(vcpu);
    return a < 0 ? 0 : this.#u8[a + VCPU_INFO_UPCALL_PENDING];
  }

  /** Writes a vcpu's evtchn_upcall_pending byte. */
  setUpcallPending(vcpu: number, value: number): void {
    const a = this.vcpuInfoMaddr(vcpu);
    if (a < 0) return;
    this.#u8[a + VCPU_INFO_UPCALL_PENDING] = value;
    this.mem.noteWrite(a, 1);
  }

  /** A vcpu's evtchn_upcall_mask byte (1 when it has no vcpu_info). */
  upcallMask(vcpu: number): number {
    const a = this.vcpuInfoMaddr(vcpu);
    return a < 0 ? 1 : this.#u8[a + VCPU_INFO_UPCALL_MASK];
  }

  /** Writes a vcpu's evtchn_upcall_mask byte. */
  setUpcallMask(vcpu: number, value: number): void {
    const a = this.vcpuInfoMaddr(vcpu);
    if (a < 0) return;
    this.#u8[a + VCPU_INFO_UPCALL_MASK] = value;
    this.mem.noteWrite(a + 1, 1);
  }

  /** A vcpu's evtchn_pending_sel (unsigned; its low half for a 64-bit guest). */
  pendingSel(vcpu: number): number {
    const a = this.vcpuInfoMaddr(vcpu);
    return a < 0 ? 0 : this.#i32[(a + this.#selOff) / 4] >>> 0;
  }

  /** Atomically reads and zeroes a vcpu's evtchn_pending_sel (the guest's xchg). */
  takePendingSel(vcpu: number): number {
    const a = this.vcpuInfoMaddr(vcpu);
    if (a < 0) return 0;
    const i = (a + this.#selOff) / 4;
    const old = this.#i32[i] >>> 0;
    this.#i32[i] = 0;
    this.mem.noteWrite(a + this.#selOff, 4);
    return old;
  }

  /**
   * Sets bit `bit` (0..31, or 0..63 for a 64-bit guest) of a vcpu's evtchn_pending_sel.
   * @returns whether it was already set
   */
  testAndSetPendingSel(vcpu: number, bit: number): boolean {
    const a = this.vcpuInfoMaddr(vcpu);
    if (a < 0) return true;
    return this.#testAndSet((a + this.#selOff) / 4 + (bit >>> 5), 1 << (bit & 31));
  }

  #testAndSet(idx: number, bit: number): boolean {
    const old = this.#i32[idx];
    if ((old & bit) !== 0) return true;
    this.#i32[idx] = old | bit;
    this.mem.noteWrite(idx * 4, 4);
    return false;
  }

  #testAndClear(idx: number, bit: number): boolean {
    const old = this.#i32[idx];
    if ((old & bit) === 0) return false;
    this.#i32[idx] = old & ~bit;
    this.mem.noteWrite(idx * 4, 4);
    return true;
  }
}
