/**
 * Symbols of a Linux x86-64 kernel from its own kallsyms table, for naming the RIP where a
 * boot stops (Debian ships a stub System.map; the real one is in the -dbg package).
 *
 * The table (scripts/kallsyms output, CONFIG_KALLSYMS_BASE_RELATIVE) sits in .rodata as:
 * kallsyms_offsets (s32 per symbol), kallsyms_relative_base (u64), kallsyms_num_syms
 * (u32), kallsyms_names (per symbol: a length, 1 byte or 2 when bit 7 is set, then token
 * numbers), kallsyms_markers (u32 per 256 symbols), optionally kallsyms_seqs_of_names
 * (3 bytes per symbol), kallsyms_token_table (256 NUL-terminated strings),
 * kallsyms_token_index (256 u16 offsets). Nothing names these in a stripped image, so
 * each part is found by its shape and the parts must agree with each other.
 * @module
 */
import { unwrapImage } from "../../lib/hypervisor/mod.ts";

/**
 *   deno run -A scripts/linux/kallsyms.ts vmlinuz > System.map
 * (scripts/linux/build.sh writes tests/fixtures/cache/linux/System.map this way).
 */

/** A kernel's text symbols, sorted by address. */
export interface Kallsyms {
  /** The relative base (high and low halves): _text for x86-64. */
  baseHi: number;
  baseLo: number;
  /** Symbol offsets from the base, ascending. */
  offsets: Float64Array;
  /** Names (type letter stripped), in the same order. */
  names: string[];
  /** Type letters ("T", "t", "D" ...). */
  types: string;
}

/** The vmlinux ELF inside a bzImage (its compressed payload), or the bytes when already ELF. */
export function vmlinuxOf(image: Uint8Array): Uint8Array | null {
  try {
    return unwrapImage(image).elf;
  } catch {
    return null;
  }
}

const DIGITS = new Uint8Array([..."0123456789"].flatMap((c) => [c.charCodeAt(0), 0]));

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  outer: for (let i = hay.indexOf(first, from); i >= 0; i = hay.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The token table: 256 strings followed (8-aligned) by their u16 offsets. */
function findTokens(d: Uint8Array, dv: DataView): { start: number; tokens: string[] } | null {
  for (let p = indexOf(d, DIGITS, 0); p >= 0; p = indexOf(d, DIGITS, p + 1)) {
    for (let start = Math.max(0, p - 4096) & ~7; start <= p; start += 8) {
      const offs: number[] = [];
      let q = start, ok = true;
      for (let k = 0; k < 256 && ok; k++) {
        offs.push(q - start);
        const e = d.indexOf(0, q);
        if (e - q < 1 || e - q > 64) ok = false;
        q = e + 1;
      }
      if (!ok) continue;
      const idx = (q + 7) & ~7;
      if (idx + 512 > d.length) continue;
      let k = 0;
      while (k < 256 && dv.getUint16(idx + 2 * k, true) === offs[k]) k++;
      if (k < 256) continue;
      const dec = new TextDecoder("latin1");
      const tokens = offs.map((o) => dec.decode(d.subarray(start + o, d.indexOf(0, start + o))));
      return { start, tokens };
    }
  }
  return null;
}

/**
 * Reads the kallsyms table of a kernel image (bzImage or vmlinux).
 * @returns the symbols, or null when no consistent table is found
 */
export function readKallsyms(image: Uint8Array): Kallsyms | null {
  const d = vmlinuxOf(image);
  if (!d) return null;
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const tok = findTokens(d, dv);
  if (!tok) return null;
  const t = tok.start;
  // markers[0] = 0, then increasing; with or without 3-byte seqs_of_names before the tokens
  for (let n = 1024; n < 1 << 20; n++) {
    const m = (n + 255) >> 8;
    for (const seqs of [3 * n, 0]) {
      for (let pad = 0; pad < 16; pad++) {
        const ms = t - pad - seqs - 4 * m;
        if (ms < 16 || ms % 4 !== 0 || dv.getUint32(ms, true) !== 0) continue;
        if (m > 2) {
          const a = dv.getUint32(ms + 4, true), b = dv.getUint32(ms + 8, true);
          if (!(a > 256 && a < 65536 && b > a && b - a < 65536)) continue;
        }
        const syms = namesBefore(d, dv, ms, m, n, tok.tokens);
        if (syms) return syms;
      }
    }
  }
  return null;
}

/** kallsyms_names ending at the markers (at ms), with num_syms (= n) before it. */
function namesBefore(
  d: Uint8Array,
  dv: DataView,
  ms: number,
  m: number,
  n: number,
  tokens: string[],
): Kallsyms | null {
  const last = dv.getUint32(ms + 4 * (m - 1), true);
  for (let ns = Math.max(8, ms - last - 65536) & ~3; ns < ms - last; ns += 4) {
    if (dv.getUint32(ns, true) !== n) continue;
    for (const start of [ns + 4, (ns + 11) & ~7]) {
      const at: number[] = [], len: number[] = [];
      let q = start, ok = true;
      for (let c = 0; c < n && ok; c++) {
        if ((c & 255) === 0 && q - start !== dv.getUint32(ms + 4 * (c >> 8), true)) ok = false;
        let l = d[q];
        if (l & 0x80) {
          l = (l & 0x7f) | (d[q + 1] << 7);
          q += 2;
        } else q += 1;
        at.push(q);
        len.push(l);
        q += l;
      }
      if (!ok || q > ms || ms - q >= 8) continue;
      const baseLo = dv.getUint32(ns - 8, true), baseHi = dv.getUint32(ns - 4, true);
      const offAt = ns - 8 - 4 * n;
      const rows: { off: number; name: string; type: string }[] = [];
      for (let c = 0; c < n; c++) {
        // KALLSYMS_ABSOLUTE_PERCPU: values >= 0 are absolute (per-cpu symbols, left out);
        // negative ones are relative_base - 1 - value
        const o = dv.getInt32(offAt + 4 * c, true);
        if (o >= 0) continue;
        let s = "";
        for (let i = 0; i < len[c]; i++) s += tokens[d[at[c] + i]];
        rows.push({ off: -1 - o, type: s[0], name: s.slice(1) });
      }
      rows.sort((a, b) => a.off - b.off);
      return {
        baseHi,
        baseLo,
        offsets: Float64Array.from(rows, (r) => r.off),
        names: rows.map((r) => r.name),
        types: rows.map((r) => r.type).join(""),
      };
    }
  }
  return null;
}

/**
 * Names an address as `symbol+0xoff`.
 * @param types only symbols of these type letters (e.g. "Tt" for text); default any
 * @returns the name, or null when the address is outside the kernel image's symbols
 */
export function symbolize(k: Kallsyms, hi: number, lo: number, types?: string): string | null {
  if (hi >>> 0 !== k.baseHi >>> 0) return null;
  const off = (lo >>> 0) - (k.baseLo >>> 0);
  if (off < 0 || k.offsets.length === 0 || off > k.offsets[k.offsets.length - 1] + 0x100000) {
    return null;
  }
  let a = 0, b = k.offsets.length - 1;
  while (a < b) {
    const mid = (a + b + 1) >> 1;
    if (k.offsets[mid] <= off) a = mid;
    else b = mid - 1;
  }
  if (k.offsets[a] > off) return null;
  if (types !== undefined && !types.includes(k.types[a])) return null;
  return `${k.names[a]}+0x${(off - k.offsets[a]).toString(16)}`;
}

/** The table in System.map form (`ffffffff81000000 T _text`), ascending. */
export function formatSystemMap(k: Kallsyms): string {
  const hi = (k.baseHi >>> 0).toString(16).padStart(8, "0");
  const out: string[] = [];
  for (let i = 0; i < k.names.length; i++) {
    const lo = ((k.baseLo >>> 0) + k.offsets[i]) % 2 ** 32;
    out.push(`${hi}${lo.toString(16).padStart(8, "0")} ${k.types[i]} ${k.names[i]}`);
  }
  return out.join("\n") + "\n";
}

/**
 * Reads a System.map written by {@link formatSystemMap} (or by the kernel build).
 * @returns the symbols, or null when it has no text symbols in one 4 GiB window
 */
export function parseSystemMap(text: string): Kallsyms | null {
  const rows: { hi: number; lo: number; type: string; name: string }[] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]{8})([0-9a-f]{8}) (\S) (\S+)/.exec(line);
    if (m) rows.push({ hi: parseInt(m[1], 16), lo: parseInt(m[2], 16), type: m[3], name: m[4] });
  }
  const text0 = rows.find((r) => r.name === "_text");
  if (!text0) return null;
  const same = rows.filter((r) => r.hi === text0.hi && r.lo >= text0.lo);
  same.sort((a, b) => a.lo - b.lo);
  return {
    baseHi: text0.hi,
    baseLo: text0.lo,
    offsets: Float64Array.from(same, (r) => r.lo - text0.lo),
    names: same.map((r) => r.name),
    types: same.map((r) => r.type).join(""),
  };
}

if (import.meta.main) {
  const [path] = Deno.args;
  if (!path) {
    console.error("usage: deno run -A scripts/linux/kallsyms.ts VMLINUZ > System.map");
    Deno.exit(2);
  }
  const k = readKallsyms(await Deno.readFile(path));
  if (!k) {
    console.error(`kallsyms.ts: no kallsyms table found in ${path}`);
    Deno.exit(1);
  }
  await Deno.stdout.write(new TextEncoder().encode(formatSystemMap(k)));
}
