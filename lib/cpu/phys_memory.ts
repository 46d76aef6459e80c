/**
 * Machine memory: one ArrayBuffer for the whole host, 4 KiB frames, with typed views
 * and a per-frame "holds decoded code" bit so cached instruction blocks are dropped when
 * their page is written (by the guest through the CPU, or by the hypervisor/backends).
 *
 * Everything that writes machine memory outside the CPU's own store path (hypervisor
 * copy-to-guest, grant copies, backends, the domain builder) must call
 * {@link PhysMemory.noteWrite} (or use {@link PhysMemory.write}), so self-modifying code and
 * module loading stay coherent.
 * @module
 */

import { PAGE_SHIFT, PAGE_SIZE } from "../abi/mod.ts";

/** Bytes per frame, log2 (lib/abi/page.ts). */
export { PAGE_SHIFT, PAGE_SIZE };

/** Machine memory shared by the CPU, paging, the hypervisor and the backends. */
export class PhysMemory {
  /** The backing store. */
  readonly buffer: ArrayBuffer;
  /** Byte view. */
  readonly u8: Uint8Array;
  /** DataView for unaligned little-endian access. */
  readonly dv: DataView;
  /** Number of 4 KiB frames. */
  readonly frames: number;
  /** Per frame: non-zero while the CPU holds decoded instructions from it. */
  readonly codeFrame: Uint8Array;
  /** Called when a frame with {@link codeFrame} set is written; the CPU installs it. */
  onCodeWrite: (mfn: number) => void = () => {};

  /**
   * Allocates zeroed machine memory.
   * @param frames how many 4 KiB frames of machine memory
   */
  constructor(frames: number) {
    this.frames = frames;
    this.buffer = new ArrayBuffer(frames * PAGE_SIZE);
    this.u8 = new Uint8Array(this.buffer);
    this.dv = new DataView(this.buffer);
    this.codeFrame = new Uint8Array(frames);
  }

  /** Size in bytes. */
  get size(): number {
    return this.u8.length;
  }

  /**
   * Records that machine bytes [maddr, maddr+len) were written from outside the CPU.
   * @param maddr machine byte address
   * @param len byte count
   */
  noteWrite(maddr: number, len: number): void {
    if (len <= 0) return;
    const first = maddr >>> PAGE_SHIFT;
    const last = (maddr + len - 1) >>> PAGE_SHIFT;
    for (let f = first; f <= last; f++) {
      if (this.codeFrame[f] !== 0) {
        this.codeFrame[f] = 0;
        this.onCodeWrite(f);
      }
    }
  }

  /**
   * Copies bytes into machine memory and notes the write.
   * @param maddr machine byte address
   * @param src the bytes
   */
  write(maddr: number, src: Uint8Array): void {
    this.u8.set(src, maddr);
    this.noteWrite(maddr, src.length);
  }
}
