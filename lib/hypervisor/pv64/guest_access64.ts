/**
 * Guest virtual memory of a 64-bit PV vcpu as the hypervisor reaches it: the same
 * interface as the 32-bit {@link GuestAccess} (so width-neutral hypercall handlers run
 * unchanged), with addresses as JS numbers holding the signed canonical value
 * (-2^47 .. 2^47: the upper half is negative), translated through the vcpu's 4-level
 * walker (its current kernel or user L4) with Xen's x86_64 __addr_ok rule: the lower
 * canonical half, or at or above HYPERVISOR_VIRT_END. A fault is a false return.
 * @module
 */
import { ACC_READ, ACC_WRITE, type PageWalker } from "../../cpu/mod.ts";
import type { PhysMemory } from "../../cpu/mod.ts";
import type { LongModeWalker } from "../../paging/mod.ts";
import { GuestAccess } from "../pv/guest_access.ts";

/** 2^32. */
const TWO32 = 4294967296;
/** 2^47: the end of the lower canonical half. */
const LOWER_END = 2 ** 47;
/** HYPERVISOR_VIRT_END (0xffff880000000000) as a signed value. */
const XEN_END = -(2 ** 47) + 0x80000000000;

/** A 64-bit register (lo, hi halves) as the signed number hypercall handlers take. */
export function addrOf(lo: number, hi: number): number {
  return (hi | 0) * TWO32 + (lo >>> 0);
}

/** Low half of an address number. */
export function loOf(va: number): number {
  return (va - Math.floor(va / TWO32) * TWO32) >>> 0;
}

/** High half of an address number (as int32). */
export function hiOf(va: number): number {
  return Math.floor(va / TWO32) | 0;
}

/**
 * A 64-bit value (lo, hi halves) as 16 unsigned hex digits, as Xen prints addresses
 * (`%016lx`).
 */
export function hex64(lo: number, hi: number): string {
  return (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");
}

/** A walker that never translates (the 32-bit slot of a 64-bit vcpu's access). */
const NO_WALKER: PageWalker = {
  translate: () => -1,
  pfErrorCode: 0,
};

/** Checked access to one 64-bit vcpu's address space. */
export class GuestAccess64 extends GuestAccess {
  /** The vcpu's 4-level walker (it follows kernel/user mode). */
  readonly lm: LongModeWalker;

  /**
   * @param mem machine memory
   * @param lm the vcpu's 4-level walker
   */
  constructor(mem: PhysMemory, lm: LongModeWalker) {
    super(mem, NO_WALKER);
    this.lm = lm;
  }

  /** Whether [va, va+len) is a range a 64-bit PV guest may hand to the hypervisor. */
  override accessOk(va: number, len: number): boolean {
    if (!Number.isFinite(va) || !(len >= 0)) return false;
    if (va >= 0) return va + len <= LOWER_END;
    return va >= XEN_END && va + len <= 0;
  }

  /** Translates one address (supervisor access), or -1. */
  private xlate(va: number, access: number): number {
    return this.lm.translate64(loOf(va), hiOf(va), access);
  }

  /** @inheritdoc */
  override copyFromGuest(va: number, dst: Uint8Array): boolean {
    const len = dst.length;
    if (!this.accessOk(va, len)) return false;
    let done = 0;
    while (done < len) {
      const linear = va + done;
      const maddr = this.xlate(linear, ACC_READ);
      if (maddr < 0) return false;
      const chunk = Math.min(len - done, 4096 - (loOf(linear) & 4095));
      dst.set(this.mem.u8.subarray(maddr, maddr + chunk), done);
      done += chunk;
    }
    return true;
  }

  /** @inheritdoc */
  override writable(va: number, len: number): boolean {
    if (!this.accessOk(va, len)) return false;
    for (let off = 0; off < len;) {
      const linear = va + off;
      if (this.xlate(linear, ACC_WRITE) < 0) return false;
      off += 4096 - (loOf(linear) & 4095);
    }
    return true;
  }

  /** @inheritdoc */
  override copyToGuest(va: number, src: Uint8Array): boolean {
    const len = src.length;
    if (!this.writable(va, len)) return false;
    let done = 0;
    while (done < len) {
      const linear = va + done;
      const maddr = this.xlate(linear, ACC_WRITE);
      if (maddr < 0) return false;
      const chunk = Math.min(len - done, 4096 - (loOf(linear) & 4095));
      this.mem.u8.set(src.subarray(done, done + chunk), maddr);
      this.mem.noteWrite(maddr, chunk);
      done += chunk;
    }
    return true;
  }
}
