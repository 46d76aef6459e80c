/**
 * The text form of `pvx inspect`'s report (the JSON form is the InspectReport itself).
 * @module
 */
import type { InspectReport } from "./image_summary.ts";

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

/**
 * Renders a report as human-readable text.
 * @param r the report
 * @returns the text (no trailing newline)
 */
export function renderText(r: InspectReport): string {
  const out: string[] = [];
  const line = (s = "") => out.push(s);
  line(`${r.file.path}: ${r.file.size} bytes`);
  for (const l of r.layers) {
    const bz = l.bzImage;
    line(
      bz
        ? `  bzImage (boot protocol ${bz.protocol}${
          bz.kernelVersion ? `, ${bz.kernelVersion.split(" ")[0]}` : ""
        }): ${l.format} payload of ${l.compressedSize} bytes at ${l.offset} -> ${l.outputSize} bytes`
        : `  ${l.kind}: ${l.format} data of ${l.compressedSize} bytes -> ${l.outputSize} bytes`,
    );
  }
  const e = r.elf;
  line();
  line(`ELF${e.class} ${e.type} ${e.machineName}, entry ${e.entry}, ${e.size} bytes`);
  line("Program headers:");
  line(
    "  Type          Offset      VirtAddr            PhysAddr            FileSiz     MemSiz      Flg",
  );
  for (const ph of e.programHeaders) {
    line(
      `  ${pad(ph.type, 13)} ${pad("0x" + ph.offset.toString(16), 11)} ${pad(ph.vaddr, 19)} ${
        pad(ph.paddr, 19)
      } ${pad("0x" + ph.filesz.toString(16), 11)} ${pad(ph.memsz, 11)} ${ph.flags}`,
    );
  }
  if (e.sections.length > 0) {
    line("Sections:");
    for (const s of e.sections) {
      if (s.type === "NULL" && s.index === 0) continue;
      line(
        `  [${String(s.index).padStart(2)}] ${pad(s.name || "(unnamed)", 20)} ${pad(s.type, 10)} ${
          pad(s.addr, 19)
        } size 0x${s.size.toString(16)}`,
      );
    }
  }
  const x = r.xen;
  line();
  line(`Xen notes (${x.notes.length}, parameters from ${x.source}):`);
  for (const n of x.notes) {
    let v: string;
    if (n.kind === "l1_mfn_valid") {
      v = (n.pairs ?? []).map((p) => `mask=${p.mask} value=${p.value}`).join(", ");
    } else if (n.kind === "raw") v = `type 0x${n.type.toString(16)}, ${n.descsz} bytes: ${n.raw}`;
    else v = n.value ?? "";
    if (n.kind === "numeric") v += ` (${n.descsz} bytes)`;
    if (n.name === "SUPPORTED_FEATURES" && x.supportedFeatures.length > 0) {
      v += ` [${x.supportedFeatures.join(" ")}]`;
    }
    line(`  ${pad(n.name + ":", 20)} ${v}`);
  }
  if (x.legacyGuest) {
    line(`__xen_guest: ${x.legacyGuest.raw}`);
    for (const p of x.legacyGuest.pairs) line(`  ${pad(p.key + ":", 20)} ${p.value ?? "(set)"}`);
  }
  const b = r.boot;
  line();
  line(`Boot summary: ${b.kind}${b.pvh ? " (+ PVH entry)" : ""}`);
  if (b.kind !== "not-xen") {
    line(`  guest OS      ${x.guestOs ?? "-"} ${x.guestVersion ?? ""}`.trimEnd());
    line(`  virt_base     ${b.virtBase}`);
    line(`  paddr offset  ${b.elfPaddrOffset}`);
    line(`  entry         ${b.entry}`);
    line(`  hypercall pg  ${b.hypercallPage ?? "-"}`);
    line(`  extent        [${b.virtStart}, ${b.virtEnd})`);
    line(`  PAE           ${r.elf.class === 64 ? "n/a (64-bit)" : b.pae}`);
    if (x.features.length > 0) {
      line(`  features      ${x.features.map((f) => (f.required ? "!" : "") + f.name).join(" ")}`);
    }
  }
  if (b.loaderMustProvide.length > 0) {
    line("Loader must provide:");
    for (const s of b.loaderMustProvide) line(`  - ${s}`);
  }
  line(b.problems.length > 0 ? "Problems:" : "Problems: none");
  for (const s of b.problems) line(`  ! ${s}`);
  line(b.pvxBootRefusal === null ? "pvx boot: yes" : `pvx boot: refused: ${b.pvxBootRefusal}`);
  return out.join("\n");
}
