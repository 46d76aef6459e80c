/**
 * Reader for the committed host-CPU vectors (forms.json + vectors.bin.gz, produced by
 * generate.sh from harness.c); the record layout is documented in README.md here.
 * @module
 */

/** One instruction form of the harness. */
export interface Form {
  id: number;
  name: string;
  kind: "int" | "x87" | "sse" | "fxs";
  mem: boolean;
  cases: number;
  asm: string;
  /** The instruction bytes as hex. */
  bytes: string;
}

/** Where the host placed the 64-byte memory buffer (the same linear address in pvx). */
export const MEM_BASE = 0x00200000;
/** Size of the memory buffer. */
export const MEM_SIZE = 64;

/** One case: views into the vector data (no copies). */
export interface Case {
  form: Form;
  /** eax ecx edx ebx esp(0) ebp esi edi eflags, before and after. */
  inRegs: Uint32Array;
  outRegs: Uint32Array;
  /** Memory buffer before/after: 64 bytes (512 for fxs forms; empty without memory). */
  inMem: Uint8Array;
  outMem: Uint8Array;
  /** x87 and fxs: fnsave image (108 bytes); SSE: xmm0-7 then MXCSR (132 bytes). */
  inFpu: Uint8Array;
  outFpu: Uint8Array;
  /** fxs forms: xmm0-7 then MXCSR (132 bytes); else empty. */
  inXmm: Uint8Array;
  outXmm: Uint8Array;
}

/** The loaded vector set. */
export interface Vectors {
  forms: Form[];
  cases: Case[];
}

/**
 * Where the vectors are: this directory, or the one named by PVX_HOST_VECTORS (a set made
 * with generate.sh's harness elsewhere, e.g. on another CPU or with HARNESS_SEED).
 */
const here = (() => {
  const dir = Deno.env.get("PVX_HOST_VECTORS");
  return dir ? new URL(`file://${dir.replace(/\/?$/, "/")}`) : new URL(".", import.meta.url);
})();

/**
 * Loads and indexes every case.
 * @param kinds which form kinds to keep (all when omitted)
 */
export async function loadVectors(kinds?: Form["kind"][]): Promise<Vectors> {
  const forms = JSON.parse(await Deno.readTextFile(new URL("forms.json", here))) as Form[];
  const gz = await Deno.readFile(new URL("vectors.bin.gz", here));
  const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
  const data = new Uint8Array(await new Response(stream).arrayBuffer());
  const cases: Case[] = [];
  let p = 0;
  const dv = new DataView(data.buffer);
  while (p < data.length) {
    const form = forms[dv.getUint16(p, true)];
    if (!form) throw new Error(`vectors.bin.gz: unknown form at byte ${p}`);
    const m = form.mem ? (form.kind === "fxs" ? 512 : 64) : 0;
    const x = form.kind === "x87" || form.kind === "fxs" ? 108 : form.kind === "sse" ? 132 : 0;
    const y = form.kind === "fxs" ? 132 : 0;
    const half = 36 + m + x + y;
    const a = p + 2, b = p + 2 + half;
    if (!kinds || kinds.includes(form.kind)) {
      // regs need 4-byte alignment for Uint32Array views: copy them
      cases.push({
        form,
        inRegs: new Uint32Array(data.slice(a, a + 36).buffer),
        outRegs: new Uint32Array(data.slice(b, b + 36).buffer),
        inMem: data.subarray(a + 36, a + 36 + m),
        outMem: data.subarray(b + 36, b + 36 + m),
        inFpu: data.subarray(a + 36 + m, a + 36 + m + x),
        outFpu: data.subarray(b + 36 + m, b + 36 + m + x),
        inXmm: data.subarray(a + 36 + m + x, a + half),
        outXmm: data.subarray(b + 36 + m + x, b + half),
      });
    }
    p += 2 + 2 * half;
  }
  return { forms, cases };
}

/** The instruction bytes of a form. */
export function formBytes(form: Form): Uint8Array {
  const out = new Uint8Array(form.bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(form.bytes.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * A deterministic sample: every case when `PVX_FUZZ=full`, else every `stride`-th case of
 * each form (at least `min` per form).
 */
export function sample(cases: Case[], stride: number, min = 8): Case[] {
  if (Deno.env.get("PVX_FUZZ") === "full") return cases;
  const seen = new Map<number, number>();
  return cases.filter((c) => {
    const n = seen.get(c.form.id) ?? 0;
    seen.set(c.form.id, n + 1);
    return n < min || n % stride === 0;
  });
}
