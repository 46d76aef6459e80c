/**
 * The one checked accessor of guest virtual memory for the hypervisor: copyFromGuest /
 * copyToGuest through the guest's own page tables (the paging walker), with Xen's
 * compat_access_ok rule (nothing at or above the hypervisor hole). A fault is reported as
 * a false return (callers answer -EFAULT), never as an exception.
 * @module
 */
import { ACC_READ, ACC_WRITE, type PageWalker } from "../../cpu/mod.ts";
import type { PhysMemory } from "../../cpu/mod.ts";
import { HYPERVISOR_VIRT_START } from "../../abi/mod.ts";

/** Checked guest-virtual memory access for one vcpu's address space. */
export class GuestAccess {
  /** Machine memory. */
  readonly mem: PhysMemory;
  /** The walker of the vcpu's current page tables (set when cr3 changes). */
  walker: PageWalker;
  /** Scratch for 32-bit reads (no allocation per call). */
  private readonly scratch = new Uint8Array(8);
  private readonly scratchDv = new DataView(this.scratch.buffer);
  /** Set by {@link readU32}/{@link readU64lo} when the read faulted. */
  fault = false;

  /**
   * @param mem machine memory
   * @param walker the guest page-table walker
   */
  constructor(mem: PhysMemory, walker: PageWalker) {
    this.mem = mem;
    this.walker = walker;
  }

  /**
   * Whether [va, va+len) is a range a 32-bit PV guest may hand to the hypervisor.
   * @param va guest virtual address
   * @param len byte count
   */
  accessOk(va: number, len: number): boolean {
    va = va >>> 0;
    return len >= 0 && va + len <= HYPERVISOR_VIRT_START;
  }

  /**
   * Copies guest bytes at `va` into `dst`.
   * @returns true on success; false when any page faults (dst partly filled then)
   */
  copyFromGuest(va: number, dst: Uint8Array): boolean {
    const len = dst.length;
    if (!this.accessOk(va, len)) return false;
    va = va >>> 0;
    let done = 0;
    while (done < len) {
      const linear = va + done;
      const maddr = this.walker.translate(linear, ACC_READ);
      if (maddr < 0) return false;
      const chunk = Math.min(len - done, 4096 - (linear & 4095));
      dst.set(this.mem.u8.subarray(maddr, maddr + chunk), done);
      done += chunk;
    }
    return true;
  }

  /**
   * Copies `src` into guest memory at `va` (checking write permission page by page
   * before writing anything, so a fault leaves the guest unchanged).
   * @returns true on success; false when any page faults
   */
  copyToGuest(va: number, src: Uint8Array): boolean {
    const len = src.length;
    if (!this.accessOk(va, len)) return false;
    va = va >>> 0;
    // Probe every page first: a fault part-way must not leave a partial write.
    for (let off = 0; off < len;) {
      const linear = va + off;
      if (this.walker.translate(linear, ACC_WRITE) < 0) return false;
      off += 4096 - (linear & 4095);
    }
    let done = 0;
    while (done < len) {
      const linear = va + done;
      const maddr = this.walker.translate(linear, ACC_WRITE);
      if (maddr < 0) return false;
      const chunk = Math.min(len - done, 4096 - (linear & 4095));
      this.mem.u8.set(src.subarray(done, done + chunk), maddr);
      this.mem.noteWrite(maddr, chunk);
      done += chunk;
    }
    return true;
  }

  /**
   * Whether [va, va+len) could be written now (every page present and writable), without
   * writing anything.
   */
  writable(va: number, len: number): boolean {
    if (!this.accessOk(va, len)) return false;
    va = va >>> 0;
    for (let off = 0; off < len;) {
      const linear = va + off;
      if (this.walker.translate(linear, ACC_WRITE) < 0) return false;
      off += 4096 - (linear & 4095);
    }
    return true;
  }

  /**
   * Reads a little-endian u32; on a fault returns 0 and sets {@link fault}.
   * @param va guest virtual address
   */
  readU32(va: number): number {
    this.fault = !this.copyFromGuest(va, this.scratch.subarray(0, 4));
    return this.fault ? 0 : this.scratchDv.getUint32(0, true);
  }

  /**
   * Writes a little-endian u32.
   * @returns false on a fault
   */
  writeU32(va: number, value: number): boolean {
    this.scratchDv.setUint32(0, value >>> 0, true);
    return this.copyToGuest(va, this.scratch.subarray(0, 4));
  }

  /**
   * Reads a NUL-free byte string of `len` bytes.
   * @returns the bytes, or null on a fault
   */
  readBytes(va: number, len: number): Uint8Array | null {
    const out = new Uint8Array(len);
    return this.copyFromGuest(va, out) ? out : null;
  }
}
