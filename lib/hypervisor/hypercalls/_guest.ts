/**
 * Copy-in/copy-out helpers for hypercall shells: a guest struct read into a fresh
 * DataView, written back whole. A fault gives null / false, which shells turn into -EFAULT.
 * @module
 */
import type { Vcpu } from "../domain/vcpu.ts";

/**
 * Reads `size` bytes of a guest struct.
 * @returns a DataView over a copy, or null when the read faulted
 */
export function readStruct(v: Vcpu, va: number, size: number): DataView | null {
  const buf = new Uint8Array(size);
  if (!v.access.copyFromGuest(va, buf)) return null;
  return new DataView(buf.buffer);
}

/**
 * Writes a struct (from {@link readStruct} or a fresh buffer) back to the guest.
 * @returns false when the write faulted
 */
export function writeStruct(v: Vcpu, va: number, dv: DataView): boolean {
  return v.access.copyToGuest(va, new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength));
}

/** A u64 field as a number (exact below 2^53; larger values saturate to 2^53). */
export function u64(dv: DataView, off: number): number {
  const hi = dv.getUint32(off + 4, true);
  if (hi >= 0x200000) return 2 ** 53;
  return hi * 2 ** 32 + dv.getUint32(off, true);
}

/** Writes a non-negative number below 2^53 as a u64 field. */
export function setU64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v % 2 ** 32, true);
  dv.setUint32(off + 4, Math.floor(v / 2 ** 32), true);
}

/** Reads a NUL-padded fixed-size C string field. */
export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** Bytes of a C string padded with NULs to `size` (truncated to size-1 plus NUL). */
export function cStringBytes(s: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(new TextEncoder().encode(s).subarray(0, size - 1));
  return out;
}
