/**
 * Unwraps a kernel image down to its ELF: gzip-compressed files, Linux bzImage (x86 boot
 * protocol setup header, payload located and decompressed) and bare compressed streams.
 * @module
 */
import { ElfFormatError } from "./elf.ts";
import {
  type CompressionFormat,
  decompress,
  DecompressError,
  DEFAULT_MAX_OUTPUT,
  detectCompression,
} from "./decompress.ts";

/** The x86 boot protocol setup header fields of a bzImage (Documentation/arch/x86/boot.rst). */
export interface BzImageHeader {
  /** boot protocol version, e.g. "2.15" */
  protocol: string;
  /** setup_sects (0 read as 4) */
  setupSects: number;
  /** file offset of the protected-mode code: (setup_sects + 1) * 512 */
  protectedModeOffset: number;
  loadflags: number;
  /** relocatable_kernel (2.05+) */
  relocatable: boolean;
  /** kernel_alignment (2.05+) */
  kernelAlignment: number;
  /** xloadflags (2.12+) */
  xloadflags: number;
  /** payload_offset, relative to the protected-mode code (2.08+) */
  payloadOffset: number;
  /** payload_length (2.08+) */
  payloadLength: number;
  /** pref_address (2.10+) */
  prefAddress: bigint;
  /** init_size (2.10+): memory the kernel needs before it relocates itself */
  initSize: number;
  /** the kernel version string pointed to by kernel_version, when present */
  kernelVersion: string | null;
}

/** One wrapping removed on the way to the ELF. */
export interface ImageLayer {
  /** "gzip" for a gzip file, "bzImage" for a Linux bzImage, "compressed" for another bare stream */
  kind: "gzip" | "bzImage" | "compressed";
  /** compression of the data this layer held */
  format: CompressionFormat;
  /** file offset of the compressed data within this layer's input */
  offset: number;
  /** compressed size */
  compressedSize: number;
  /** decompressed size */
  outputSize: number;
  /** for bzImage: the setup header */
  bzImage?: BzImageHeader;
  /** the uncompressed size the wrapper declares (gzip ISIZE, Linux's size trailer), when any */
  declaredSize: number | null;
}

/** The result of {@link unwrapImage}. */
export interface UnwrappedImage {
  /** the inner ELF bytes (the input itself when it was not wrapped) */
  elf: Uint8Array;
  /** layers removed, outermost first */
  layers: ImageLayer[];
}

/** Options of {@link unwrapImage}. */
export interface UnwrapOptions {
  /** name used in error messages (default "image") */
  name?: string;
  /** output limit per decompression (default 256 MiB) */
  maxOutput?: number;
}

const MAX_LAYERS = 4;

/**
 * Checks for an x86 boot protocol setup header and reads it.
 * @param b the file
 * @returns the header, or null when `b` is not a bzImage
 */
export function readBzImageHeader(b: Uint8Array): BzImageHeader | null {
  if (b.length < 0x250) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint16(0x1fe, true) !== 0xaa55 || dv.getUint32(0x202, true) !== 0x53726448) return null;
  const version = dv.getUint16(0x206, true);
  const setupSects = b[0x1f1] === 0 ? 4 : b[0x1f1];
  const v = (min: number, off: number, size: 1 | 2 | 4): number =>
    version < min
      ? 0
      : size === 1
      ? b[off]
      : size === 2
      ? dv.getUint16(off, true)
      : dv.getUint32(off, true);
  let kernelVersion: string | null = null;
  const kvOff = dv.getUint16(0x20e, true);
  if (kvOff !== 0 && kvOff + 0x200 < b.length) {
    let s = "";
    for (let i = kvOff + 0x200; i < b.length && b[i] !== 0 && s.length < 256; i++) {
      s += String.fromCharCode(b[i]);
    }
    kernelVersion = s;
  }
  return {
    protocol: `${version >> 8}.${(version & 0xff).toString().padStart(2, "0")}`,
    setupSects,
    protectedModeOffset: (setupSects + 1) * 512,
    loadflags: b[0x211],
    relocatable: v(0x205, 0x234, 1) !== 0,
    kernelAlignment: v(0x205, 0x230, 4),
    xloadflags: v(0x20c, 0x236, 2),
    payloadOffset: v(0x208, 0x248, 4),
    payloadLength: v(0x208, 0x24c, 4),
    prefAddress: version >= 0x20a && b.length >= 0x260 ? dv.getBigUint64(0x258, true) : 0n,
    initSize: version >= 0x20a && b.length >= 0x264 ? dv.getUint32(0x260, true) : 0,
    kernelVersion,
  };
}

function isElf(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

function le32(b: Uint8Array, off: number): number {
  return (b[off] | b[off + 1] << 8 | b[off + 2] << 16 | b[off + 3] << 24) >>> 0;
}

/**
 * Removes gzip, bzImage and bare-compression wrappers until an ELF remains.
 * @param bytes the file
 * @param opts name for messages and output limit
 * @returns the inner ELF and the layers removed
 * @throws {ElfFormatError} when no ELF is found, or a wrapper is corrupt, truncated or too large
 * @example
 * ```ts
 * const { elf, layers } = unwrapImage(await Deno.readFile("vmlinuz"), { name: "vmlinuz" });
 * console.log(layers.map((l) => l.kind + "/" + l.format).join(" > "));
 * ```
 */
export function unwrapImage(bytes: Uint8Array, opts: UnwrapOptions = {}): UnwrappedImage {
  const name = opts.name ?? "image";
  const maxOutput = opts.maxOutput ?? DEFAULT_MAX_OUTPUT;
  const fail = (msg: string): never => {
    throw new ElfFormatError(`Cannot load image "${name}": ${msg}`);
  };
  const layers: ImageLayer[] = [];
  let cur = bytes;
  for (let depth = 0; !isElf(cur); depth++) {
    if (depth >= MAX_LAYERS) fail(`more than ${MAX_LAYERS} nested wrappers`);
    const bz = readBzImageHeader(cur);
    let layer: ImageLayer;
    let payload: Uint8Array;
    if (bz) {
      if (bz.payloadLength === 0) {
        fail(`bzImage boot protocol ${bz.protocol} has no payload fields (2.08 or later needed)`);
      }
      const start = bz.protectedModeOffset + bz.payloadOffset;
      if (start + bz.payloadLength > cur.length) {
        fail(
          `bzImage payload (offset ${start}, ${bz.payloadLength} bytes) lies outside the file (${cur.length} bytes)`,
        );
      }
      payload = cur.subarray(start, start + bz.payloadLength);
      const format = detectCompression(payload) ??
        fail(`bzImage payload has an unknown compression (magic ${hex(payload.subarray(0, 4))})`);
      layer = {
        kind: "bzImage",
        format,
        offset: start,
        compressedSize: payload.length,
        outputSize: 0,
        bzImage: bz,
        declaredSize: null,
      };
      // Linux appends the uncompressed size (le32) to every payload but gzip's, which
      // carries its own ISIZE; the decoders must not see it as stream data.
      if (format !== "gzip" && payload.length >= 8) {
        layer.declaredSize = le32(payload, payload.length - 4);
        payload = payload.subarray(0, payload.length - 4);
      }
    } else {
      const format = detectCompression(cur) ??
        fail(`not an ELF file, gzip file or bzImage (magic ${hex(cur.subarray(0, 4))})`);
      payload = cur;
      layer = {
        kind: format === "gzip" ? "gzip" : "compressed",
        format,
        offset: 0,
        compressedSize: cur.length,
        outputSize: 0,
        declaredSize: format === "gzip" && cur.length >= 18 ? le32(cur, cur.length - 4) : null,
      };
    }
    try {
      const limit = layer.declaredSize !== null && layer.format !== "gzip"
        ? Math.min(maxOutput, layer.declaredSize)
        : maxOutput;
      cur = decompress(payload, layer.format, {
        maxOutput: limit,
        expectedSize: layer.declaredSize ?? undefined,
      });
    } catch (err) {
      if (err instanceof DecompressError) fail(err.message);
      throw err;
    }
    if (
      layer.declaredSize !== null && layer.format !== "gzip" && cur.length !== layer.declaredSize
    ) {
      fail(
        `${layer.format} payload decompressed to ${cur.length} bytes, ${layer.declaredSize} declared`,
      );
    }
    layer.outputSize = cur.length;
    layers.push(layer);
  }
  return { elf: cur, layers };
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ") || "none";
}
