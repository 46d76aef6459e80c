/**
 * Test helper: builds small ELF32/ELF64 images (load segments, a PT_NOTE segment, named
 * sections, an optional `__xen_guest` section) and Linux-like bzImage wrappers.
 * @module
 */

/** A note to place in the PT_NOTE segment. */
export interface NoteSpec {
  name: string;
  type: number;
  desc: Uint8Array;
}

/** A load segment. */
export interface SegmentSpec {
  vaddr: bigint;
  paddr: bigint;
  data: Uint8Array;
  memsz?: bigint;
  flags?: number;
}

/** What {@link buildElf} builds. */
export interface ElfSpec {
  bits: 32 | 64;
  entry: bigint;
  machine?: number;
  segments: SegmentSpec[];
  notes?: NoteSpec[];
  /** put the notes only in an SHT_NOTE section (no PT_NOTE) */
  notesInSectionOnly?: boolean;
  xenGuest?: string;
}

const enc = new TextEncoder();

/** A NUL-terminated string as bytes. */
export function asciz(s: string): Uint8Array {
  const b = new Uint8Array(s.length + 1);
  b.set(enc.encode(s));
  return b;
}

/** A little-endian number of `size` bytes. */
export function leBytes(v: bigint, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return b;
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Encodes notes with 4-byte alignment (as Xen and Linux emit them). */
export function encodeNotes(notes: NoteSpec[]): Uint8Array {
  const parts: number[] = [];
  for (const n of notes) {
    const name = asciz(n.name);
    const hdr = new DataView(new ArrayBuffer(12));
    hdr.setUint32(0, name.length, true);
    hdr.setUint32(4, n.desc.length, true);
    hdr.setUint32(8, n.type, true);
    parts.push(...new Uint8Array(hdr.buffer));
    parts.push(...name, ...new Array(align(name.length, 4) - name.length).fill(0));
    parts.push(...n.desc, ...new Array(align(n.desc.length, 4) - n.desc.length).fill(0));
  }
  return new Uint8Array(parts);
}

/**
 * Builds an ELF image.
 * @param spec what to put in it
 * @returns the file bytes
 */
export function buildElf(spec: ElfSpec): Uint8Array {
  const is64 = spec.bits === 64;
  const ehsize = is64 ? 64 : 52, phent = is64 ? 56 : 32, shent = is64 ? 64 : 40;
  const notes = spec.notes && spec.notes.length > 0 ? encodeNotes(spec.notes) : null;
  const phdrs: {
    type: number;
    off: number;
    va: bigint;
    pa: bigint;
    fsz: number;
    msz: bigint;
    fl: number;
  }[] = [];
  const nph = spec.segments.length + (notes && !spec.notesInSectionOnly ? 1 : 0);
  let off = align(ehsize + nph * phent, 16);
  const blobs: { off: number; data: Uint8Array }[] = [];
  for (const s of spec.segments) {
    blobs.push({ off, data: s.data });
    phdrs.push({
      type: 1,
      off,
      va: s.vaddr,
      pa: s.paddr,
      fsz: s.data.length,
      msz: s.memsz ?? BigInt(s.data.length),
      fl: s.flags ?? 5,
    });
    off = align(off + s.data.length, 16);
  }
  // sections: null, .text (first segment), .note.Xen, __xen_guest, .shstrtab
  const secs: { name: string; type: number; off: number; size: number; addr: bigint }[] = [
    { name: "", type: 0, off: 0, size: 0, addr: 0n },
  ];
  if (spec.segments.length > 0) {
    secs.push({
      name: ".text",
      type: 1,
      off: phdrs[0].off,
      size: spec.segments[0].data.length,
      addr: spec.segments[0].vaddr,
    });
  }
  if (notes) {
    blobs.push({ off, data: notes });
    if (!spec.notesInSectionOnly) {
      phdrs.push({ type: 4, off, va: 0n, pa: 0n, fsz: notes.length, msz: 0n, fl: 4 });
    }
    secs.push({ name: ".note.Xen", type: 7, off, size: notes.length, addr: 0n });
    off = align(off + notes.length, 16);
  }
  if (spec.xenGuest !== undefined) {
    const g = asciz(spec.xenGuest);
    blobs.push({ off, data: g });
    secs.push({ name: "__xen_guest", type: 1, off, size: g.length, addr: 0n });
    off = align(off + g.length, 16);
  }
  const names: number[] = [0];
  const nameOff: number[] = [];
  for (const s of [...secs, { name: ".shstrtab" }]) {
    if (s.name === "") {
      nameOff.push(0);
      continue;
    }
    nameOff.push(names.length);
    names.push(...asciz(s.name));
  }
  const strtab = new Uint8Array(names);
  blobs.push({ off, data: strtab });
  secs.push({ name: ".shstrtab", type: 3, off, size: strtab.length, addr: 0n });
  off = align(off + strtab.length, 16);
  const shoff = off;
  const total = shoff + secs.length * shent;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1]);
  dv.setUint16(16, 2, true);
  dv.setUint16(18, spec.machine ?? (is64 ? 62 : 3), true);
  dv.setUint32(20, 1, true);
  const w = (o: number, v: bigint | number) =>
    is64 ? dv.setBigUint64(o, BigInt(v), true) : dv.setUint32(o, Number(v), true);
  w(24, spec.entry);
  w(is64 ? 32 : 28, ehsize);
  w(is64 ? 40 : 32, shoff);
  const b = is64 ? 48 : 36;
  dv.setUint16(b + 4, ehsize, true);
  dv.setUint16(b + 6, phent, true);
  dv.setUint16(b + 8, phdrs.length, true);
  dv.setUint16(b + 10, shent, true);
  dv.setUint16(b + 12, secs.length, true);
  dv.setUint16(b + 14, secs.length - 1, true);
  phdrs.forEach((p, i) => {
    const o = ehsize + i * phent;
    dv.setUint32(o, p.type, true);
    if (is64) {
      dv.setUint32(o + 4, p.fl, true);
      w(o + 8, p.off);
      w(o + 16, p.va);
      w(o + 24, p.pa);
      w(o + 32, p.fsz);
      w(o + 40, p.msz);
      w(o + 48, 0x1000);
    } else {
      w(o + 4, p.off);
      w(o + 8, p.va);
      w(o + 12, p.pa);
      w(o + 16, p.fsz);
      w(o + 20, p.msz);
      dv.setUint32(o + 24, p.fl, true);
      w(o + 28, 0x1000);
    }
  });
  secs.forEach((s, i) => {
    const o = shoff + i * shent;
    dv.setUint32(o, nameOff[i], true);
    dv.setUint32(o + 4, s.type, true);
    if (is64) {
      w(o + 16, s.addr);
      w(o + 24, s.off);
      w(o + 32, s.size);
    } else {
      w(o + 12, s.addr);
      w(o + 16, s.off);
      w(o + 20, s.size);
    }
  });
  for (const bl of blobs) out.set(bl.data, bl.off);
  return out;
}

/**
 * Wraps a compressed payload into a minimal bzImage (boot protocol 2.15), appending Linux's
 * le32 size trailer unless the payload is gzip.
 * @param payload the compressed kernel
 * @param uncompressedSize the size to put in the trailer
 * @param gzip true when the payload is gzip (no trailer)
 * @returns the bzImage bytes
 */
export function buildBzImage(
  payload: Uint8Array,
  uncompressedSize: number,
  gzip = false,
): Uint8Array {
  const setupSects = 4;
  const pm = (setupSects + 1) * 512;
  const head = 0x100; // some decompressor code before the payload
  const body = gzip
    ? payload
    : new Uint8Array([...payload, ...leBytes(BigInt(uncompressedSize), 4)]);
  const out = new Uint8Array(pm + head + body.length);
  const dv = new DataView(out.buffer);
  out[0x1f1] = setupSects;
  dv.setUint16(0x1fe, 0xaa55, true);
  dv.setUint32(0x202, 0x53726448, true);
  dv.setUint16(0x206, 0x020f, true);
  dv.setUint16(0x20e, 0x200, true); // kernel_version at 0x400
  out.set(asciz("6.1.0-test (pvx) #1"), 0x400);
  out[0x211] = 1;
  dv.setUint32(0x230, 0x200000, true);
  out[0x234] = 1;
  dv.setUint32(0x248, head, true);
  dv.setUint32(0x24c, body.length, true);
  dv.setBigUint64(0x258, 0x1000000n, true);
  dv.setUint32(0x260, 0x2000000, true);
  out.set(body, pm + head);
  return out;
}
