/**
 * A test PV kernel that runs a script of hypercalls: a table of entries (nr, five
 * arguments, result slot); the guest loop loads each into registers, calls the
 * hypercall page, stores eax in the slot, then reports the whole table through
 * console_io(CONSOLEIO_write) and powers off. Arguments may name data blocks placed in
 * the image, so tests pass real guest pointers.
 * @module
 */
import { type Asm, EBX, ECX, EDX, kernelImage } from "./_image.ts";

/** An argument: a number, or the address of a named data block (plus an offset). */
export type Arg = number | { at: string; plus?: number };

/** A pseudo hypercall number: the guest copies a3 bytes from a2 to a1 itself (rep movsb). */
export const COPY = 0xfffffffe;

/** One scripted hypercall. */
export interface Call {
  nr: number;
  args?: Arg[];
  /** A name for failure messages. */
  name?: string;
}

/** Bytes per table entry: nr, a1..a5, result. */
const ENTRY = 28;

/**
 * Builds the kernel.
 * @param calls the script
 * @param data named blocks: bytes, or dwords that may name other blocks (each
 *   page-aligned if `pageAlign` lists it)
 */
export function scriptKernel(
  calls: Call[],
  data: Record<string, Uint8Array | Arg[]> = {},
  pageAlign: string[] = [],
): Uint8Array {
  return kernelImage((a: Asm, hp: number) => {
    a.movLabel(6, "table"); // esi
    a.label("loop");
    a.db(0x8b, 0x06); // mov eax,[esi]
    a.db(0x83, 0xf8, 0xff); // cmp eax,-1
    a.db(0x0f, 0x84).ddRel("done"); // je done
    a.db(0x83, 0xf8, 0xfe); // cmp eax,-2: COPY(dst, src, len) done by the guest itself
    a.db(0x0f, 0x85).ddRel("call"); // jne call
    a.db(0x56, 0x8b, 0x7e, 0x04, 0x8b, 0x4e, 0x0c, 0x8b, 0x76, 0x08); // edi, ecx, esi
    a.db(0xf3, 0xa4, 0x5e, 0x31, 0xc0); // rep movsb; pop esi; xor eax,eax
    a.jmpLabel("store");
    a.label("call");
    a.db(0x56); // push esi
    a.db(0x8b, 0x5e, 0x04, 0x8b, 0x4e, 0x08, 0x8b, 0x56, 0x0c, 0x8b, 0x7e, 0x14); // ebx ecx edx edi
    a.db(0x8b, 0x76, 0x10); // mov esi,[esi+16]
    a.db(0xc1, 0xe0, 0x05); // shl eax,5
    a.db(0x05).dd(hp); // add eax,hypercall_page
    a.db(0xff, 0xd0); // call eax
    a.db(0x5e); // pop esi
    a.label("store");
    a.db(0x89, 0x46, 0x18); // mov [esi+24],eax
    a.db(0x83, 0xc6, ENTRY); // add esi,28
    a.jmpLabel("loop");
    a.label("done");
    a.movImm(EBX, 0).movImm(ECX, calls.length * ENTRY).movLabel(EDX, "table").hypercall(hp, 18);
    a.movImm(EBX, 2).movLabel(ECX, "poweroff").hypercall(hp, 29);
    a.label("hang").jmpLabel("hang");
    a.align(4).label("poweroff").dd(0);
    a.align(16).label("table");
    for (const c of calls) {
      a.dd(c.nr);
      const args = c.args ?? [];
      for (let i = 0; i < 5; i++) {
        const x = args[i] ?? 0;
        if (typeof x === "number") a.dd(x);
        else a.ddLabel(x.at, x.plus ?? 0);
      }
      a.dd(0xdeadbeef);
    }
    a.dd(0xffffffff);
    for (const [name, bytes] of Object.entries(data)) {
      a.align(pageAlign.includes(name) ? 4096 : 16).label(name);
      if (bytes instanceof Uint8Array) a.bytesOf(bytes);
      else for (const x of bytes) typeof x === "number" ? a.dd(x) : a.ddLabel(x.at, x.plus ?? 0);
    }
    a.align(4096);
  });
}

/** Decodes the reported table: each call's result as a signed number. */
export function scriptResults(report: Uint8Array, n: number): number[] {
  const dv = new DataView(report.buffer, report.byteOffset, report.byteLength);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(dv.getInt32(i * ENTRY + 24, true));
  return out;
}

/** Little-endian struct bytes from u32 words (and u16 pairs written as one word). */
export function words(...w: number[]): Uint8Array {
  const b = new Uint8Array(w.length * 4);
  const dv = new DataView(b.buffer);
  w.forEach((x, i) => dv.setUint32(i * 4, x >>> 0, true));
  return b;
}
