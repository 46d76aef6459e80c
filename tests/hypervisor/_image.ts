/**
 * Test helpers: a minimal ELF32 writer with Xen notes, and a tiny x86 assembler for the
 * few instructions the test kernels use, so hypervisor tests build PV kernels in memory.
 * @module
 */

/** Xen ELF note types used by the test images. */
export const NOTE_GUEST_OS = 6, NOTE_XEN_VERSION = 5, NOTE_LOADER = 8, NOTE_VIRT_BASE = 3;
export const NOTE_PADDR_OFFSET = 4, NOTE_ENTRY = 1, NOTE_HYPERCALL_PAGE = 2, NOTE_PAE_MODE = 9;

/** What a test image contains. */
export interface TestImageSpec {
  /** virt_base (default 0xc0000000). */
  virtBase?: number;
  /** The loaded bytes, placed at virtBase (page 0 is the hypercall page). */
  body: Uint8Array;
  /** Entry point (virtual). */
  entry: number;
  /** Extra memsz beyond body (zeroed: bss). */
  bss?: number;
  /** Omit the hypercall-page note. */
  noHypercallPage?: boolean;
  /** PAE mode string (default "yes"). */
  pae?: string;
}

function note(type: number, desc: Uint8Array): Uint8Array {
  const name = new TextEncoder().encode("Xen\0");
  const pad = (n: number) => (n + 3) & ~3;
  const out = new Uint8Array(12 + pad(name.length) + pad(desc.length));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, name.length, true);
  dv.setUint32(4, desc.length, true);
  dv.setUint32(8, type, true);
  out.set(name, 12);
  out.set(desc, 12 + pad(name.length));
  return out;
}
const str = (s: string) => new TextEncoder().encode(s + "\0");
const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
};

/**
 * Builds an ELF32 i386 executable: one PT_LOAD (paddr 0 -> virt_base) and one PT_NOTE.
 * @returns the file bytes
 */
export function makeTestImage(spec: TestImageSpec): Uint8Array {
  const base = spec.virtBase ?? 0xc0000000;
  const notes = [
    note(NOTE_GUEST_OS, str("pvx-test")),
    note(NOTE_XEN_VERSION, str("xen-3.0")),
    note(NOTE_LOADER, str("generic")),
    note(NOTE_VIRT_BASE, u32(base)),
    note(NOTE_PADDR_OFFSET, u32(0)),
    note(NOTE_ENTRY, u32(spec.entry)),
    note(NOTE_PAE_MODE, str(spec.pae ?? "yes")),
  ];
  if (!spec.noHypercallPage) notes.push(note(NOTE_HYPERCALL_PAGE, u32(base)));
  const noteBytes = concat(notes);
  const ehsize = 52, phentsize = 32, phnum = 2;
  const noteOff = ehsize + phentsize * phnum;
  const loadOff = (noteOff + noteBytes.length + 4095) & ~4095;
  const file = new Uint8Array(loadOff + spec.body.length);
  const dv = new DataView(file.buffer);
  file.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0], 0);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 3, true); // EM_386
  dv.setUint32(20, 1, true);
  dv.setUint32(24, spec.entry >>> 0, true);
  dv.setUint32(28, ehsize, true); // phoff
  dv.setUint32(32, 0, true); // shoff
  dv.setUint16(40, ehsize, true);
  dv.setUint16(42, phentsize, true);
  dv.setUint16(44, phnum, true);
  dv.setUint16(46, 40, true);
  // PT_LOAD
  let p = ehsize;
  dv.setUint32(p, 1, true);
  dv.setUint32(p + 4, loadOff, true);
  dv.setUint32(p + 8, base >>> 0, true);
  dv.setUint32(p + 12, 0, true);
  dv.setUint32(p + 16, spec.body.length, true);
  dv.setUint32(p + 20, spec.body.length + (spec.bss ?? 0), true);
  dv.setUint32(p + 24, 7, true);
  dv.setUint32(p + 28, 4096, true);
  // PT_NOTE
  p += phentsize;
  dv.setUint32(p, 4, true);
  dv.setUint32(p + 4, noteOff, true);
  dv.setUint32(p + 16, noteBytes.length, true);
  dv.setUint32(p + 20, noteBytes.length, true);
  dv.setUint32(p + 24, 4, true);
  dv.setUint32(p + 28, 4, true);
  file.set(noteBytes, noteOff);
  file.set(spec.body, loadOff);
  return file;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Register numbers for {@link Asm}. */
export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

/** A tiny assembler: emits at a virtual origin, with labels resolved at the end. */
export class Asm {
  private bytes: number[] = [];
  private fixups: { at: number; label: string; rel: boolean; plus: number }[] = [];
  private labels = new Map<string, number>();

  /** @param origin virtual address of the first byte */
  constructor(readonly origin: number) {}

  /** Current virtual address. */
  get here(): number {
    return this.origin + this.bytes.length;
  }
  label(name: string): this {
    this.labels.set(name, this.here);
    return this;
  }
  db(...b: number[]): this {
    for (const x of b) this.bytes.push(x & 0xff);
    return this;
  }
  /** Appends raw bytes. */
  bytesOf(b: Uint8Array): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }
  dd(n: number): this {
    return this.db(n, n >>> 8, n >>> 16, n >>> 24);
  }
  ascii(s: string): this {
    return this.db(...new TextEncoder().encode(s));
  }
  /** A 32-bit absolute address of a label (plus an offset). */
  ddLabel(name: string, plus = 0): this {
    this.fixups.push({ at: this.bytes.length, label: name, rel: false, plus });
    return this.dd(0);
  }
  /** A 32-bit displacement to a label, relative to the end of the field. */
  ddRel(name: string): this {
    this.fixups.push({ at: this.bytes.length, label: name, rel: true, plus: 0 });
    return this.dd(0);
  }
  /** mov reg, imm32 */
  movImm(reg: number, imm: number): this {
    return this.db(0xb8 + reg).dd(imm);
  }
  /** mov reg, label address */
  movLabel(reg: number, name: string): this {
    this.db(0xb8 + reg);
    return this.ddLabel(name);
  }
  /** call rel32 to an absolute address */
  call(target: number): this {
    this.db(0xe8);
    return this.dd(target - (this.here + 4));
  }
  /** call rel32 to a label */
  callLabel(name: string): this {
    this.db(0xe8);
    this.fixups.push({ at: this.bytes.length, label: name, rel: true, plus: 0 });
    return this.dd(0);
  }
  /** jmp rel32 to a label */
  jmpLabel(name: string): this {
    this.db(0xe9);
    this.fixups.push({ at: this.bytes.length, label: name, rel: true, plus: 0 });
    return this.dd(0);
  }
  /** Calls hypercall `nr` through the hypercall page at `page`. */
  hypercall(page: number, nr: number): this {
    return this.call(page + nr * 32);
  }
  /** Pads with zeros to an alignment. */
  align(n: number): this {
    while (this.here % n) this.bytes.push(0);
    return this;
  }
  /** The assembled bytes. */
  build(): Uint8Array {
    const out = Uint8Array.from(this.bytes);
    const dv = new DataView(out.buffer);
    for (const f of this.fixups) {
      const t = this.labels.get(f.label);
      if (t === undefined) throw new Error(`undefined label ${f.label}`);
      const v = f.rel ? t - (this.origin + f.at + 4) : t + f.plus;
      dv.setUint32(f.at, v >>> 0, true);
    }
    return out;
  }
}

/**
 * A kernel whose page 0 is the hypercall page and whose code starts at page 1.
 * @param emit writes the code (the Asm's origin is virtBase + 4096)
 */
export function kernelImage(
  emit: (a: Asm, hypercallPage: number) => void,
  opts: { virtBase?: number; bss?: number } = {},
): Uint8Array {
  const base = opts.virtBase ?? 0xc0000000;
  const a = new Asm(base + 4096);
  emit(a, base);
  const code = a.build();
  const body = new Uint8Array(4096 + code.length);
  body.set(code, 4096);
  return makeTestImage({ virtBase: base, body, entry: base + 4096, bss: opts.bss });
}

/** The hello kernel: console_io(write, "hello from pvx\n"), then SCHEDOP_shutdown(reason). */
export function helloKernel(text = "hello from pvx\n", reason = 0): Uint8Array {
  return kernelImage((a, hp) => {
    a.movImm(EBX, 0).movImm(ECX, text.length).movLabel(EDX, "msg").hypercall(hp, 18);
    a.movImm(EBX, 2).movLabel(ECX, "reason").hypercall(hp, 29);
    a.label("hang").jmpLabel("hang");
    a.label("msg").ascii(text);
    a.align(4).label("reason").dd(reason);
  });
}
