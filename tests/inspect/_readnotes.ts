/**
 * Test helper: runs Debian's readnotes and decodes its output, and compares it with pvx's
 * report note by note.
 * @module
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import type { InspectReport } from "../../lib/toolstack/image_summary.ts";

/** One readnotes output line, decoded. */
export type RnLine =
  | { kind: "note"; name: string; value: string }
  | { kind: "numeric"; name: string; value: bigint; size: number }
  | { kind: "l1"; name: string; mask: bigint; value: bigint }
  | { kind: "unknown"; type: number }
  | { kind: "xen_guest"; value: string };

/** Decodes readnotes' output lines. */
export function parseReadnotes(text: string): RnLine[] {
  const out: RnLine[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line === "using notes from SHT_NOTE section") continue;
    let m = /^unknown note type (0x[0-9a-f]+)$/.exec(line);
    if (m) {
      out.push({ kind: "unknown", type: Number(m[1]) });
      continue;
    }
    m = /^__xen_guest: (.*)$/.exec(line);
    if (m) {
      out.push({ kind: "xen_guest", value: m[1] });
      continue;
    }
    m = /^([A-Z0-9_]+): mask=(0x[0-9a-f]+|0) value=(0x[0-9a-f]+|0)$/.exec(line);
    if (m) {
      out.push({ kind: "l1", name: m[1], mask: BigInt(m[2]), value: BigInt(m[3]) });
      continue;
    }
    m = /^([A-Z0-9_]+): +(0x[0-9a-f]+|0) \((\d+) bytes\)$/.exec(line);
    if (m) {
      out.push({ kind: "numeric", name: m[1], value: BigInt(m[2]), size: Number(m[3]) });
      continue;
    }
    m = /^([A-Z0-9_]+): (.*)$/.exec(line);
    if (m) {
      out.push({ kind: "note", name: m[1], value: m[2] });
      continue;
    }
    throw new Error(`unexpected readnotes line: ${line}`);
  }
  return out;
}

/** Runs readnotes on a file. */
export async function readnotes(
  tool: string,
  path: string,
): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command(tool, { args: [path], stdout: "piped", stderr: "piped" })
    .output();
  return { code: out.code, text: new TextDecoder().decode(out.stdout) };
}

/** Compares pvx's report with readnotes' lines, note by note, in file order. */
export function compare(report: InspectReport, lines: RnLine[]): void {
  const notes = lines.filter((l) => l.kind !== "xen_guest");
  strictEqual(report.xen.notes.length, notes.length, "number of Xen notes");
  report.xen.notes.forEach((n, i) => {
    const rn = notes[i];
    const where = `note ${i} (${n.name})`;
    switch (rn.kind) {
      case "unknown":
        // readnotes 4.17 does not name INIT_P2M, MOD_START_PFN, SUPPORTED_FEATURES; pvx does
        strictEqual(n.type, rn.type, where);
        break;
      case "numeric":
        strictEqual(n.name, rn.name, where);
        strictEqual(BigInt(n.value!), rn.value, where);
        strictEqual(n.descsz, rn.size, where);
        break;
      case "l1":
        strictEqual(n.name, rn.name, where);
        deepStrictEqual(n.pairs?.[0], {
          mask: `0x${rn.mask.toString(16)}`,
          value: `0x${rn.value.toString(16)}`,
        }, where);
        break;
      case "note":
        strictEqual(n.name, rn.name, where);
        strictEqual(n.value, rn.value, where);
        break;
    }
  });
  const guest = lines.find((l) => l.kind === "xen_guest");
  strictEqual(
    report.xen.legacyGuest?.raw ?? null,
    guest?.kind === "xen_guest" ? guest.value : null,
    "__xen_guest",
  );
}
