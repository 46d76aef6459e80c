/**
 * Test helper: a tiny 64-bit PV kernel (hand-assembled x86-64 bytes at 0x100000, as XTF
 * links its tests) handed to the Machine as a parsed KernelImage64, and a console sink.
 * @module
 */
import type { KernelImage64 } from "../../../lib/hypervisor/builder/kernel_image64.ts";

/** Where the code is loaded and entered. */
export const BASE = 0x100000;

/** A KernelImage64 whose only segment is `code` at {@link BASE}. */
export function kernel64(code: Uint8Array): KernelImage64 {
  const end = BigInt(BASE + Math.ceil(code.length / 4096) * 4096);
  return {
    virtBase: 0n,
    entry: BigInt(BASE),
    kernelStart: BigInt(BASE),
    kernelEnd: end,
    modStartPfn: false,
    supportedFeatures: 0,
    segments: [{ vaddr: BigInt(BASE), data: code, memsz: code.length }],
    guestOs: "test64",
  };
}

/** Little-endian bytes of a 32-bit value. */
export function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** A console sink collecting text. */
export function sink(): { write(b: Uint8Array): void; text(): string } {
  const chunks: number[] = [];
  return {
    write(b: Uint8Array) {
      chunks.push(...b);
    },
    text() {
      return new TextDecoder().decode(Uint8Array.from(chunks));
    },
  };
}

/** `mov $imm32, %eax` .. `%edi` (register r 0..7). */
export function movImm(r: number, v: number): number[] {
  return [0xb8 + r, ...le32(v)];
}

/** syscall. */
export const SYSCALL = [0x0f, 0x05];
