/**
 * The crash dump of a 64-bit vcpu (Xen's show_execution_state for a 64-bit guest): the
 * sixteen GPRs, rip, rflags, cs:rip in kernel or user mode, cr2/cr3, segment selectors,
 * the upcall state and the top of the stack as 8-byte words.
 * @module
 */
import { LAYOUT_X86_64 } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { addrOf, hex64 } from "./guest_access64.ts";

const VI = LAYOUT_X86_64.vcpuInfo;
const NAMES = [
  "rax",
  "rcx",
  "rdx",
  "rbx",
  "rsp",
  "rbp",
  "rsi",
  "rdi",
  "r8",
  "r9",
  "r10",
  "r11",
  "r12",
  "r13",
  "r14",
  "r15",
];
/** Display order, as Xen prints them. */
const ORDER = [0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15];

const hex16 = (hi: number, lo: number) => hex64(lo, hi);
const hex4 = (n: number) => (n & 0xffff).toString(16).padStart(4, "0");

/**
 * Formats the dump of one 64-bit vcpu.
 * @param stackWords how many 8-byte stack words to show
 */
export function formatCrashDump64(v: Vcpu, stackWords = 8): string {
  const c = v.cpu64!, d = v.domain, mem = d.host.mem;
  const lines: string[] = [];
  lines.push(`(XEN) domain ${d.domid} crashed: ${d.crashReason || "SHUTDOWN_crash requested"}`);
  const mode = v.pv64!.kernelMode ? "kernel" : "user";
  lines.push(
    `(XEN) d${d.domid}v${v.id} RIP: ${hex4(v.cpu.getSeg(1))}:[<${hex16(c.ripHi, v.cpu.eip)}>] ` +
      `RFLAGS: ${hex16(0, v.cpu.eflags)} (${mode} mode)`,
  );
  for (let i = 0; i < 16; i += 3) {
    const row = ORDER.slice(i, i + 3).map((r) =>
      `${NAMES[r].padStart(3)}: ${hex16(c.hi(r), c.lo(r))}`
    );
    lines.push(`(XEN) ${row.join("   ")}`);
  }
  const a = v.vcpuInfoMaddr + VI.archCr2;
  const cr3 = d.mm.baseMfn[v.id] * 4096;
  lines.push(
    `(XEN) cr2: ${hex16(mem.dv.getUint32(a + 4, true), mem.dv.getUint32(a, true))}   ` +
      `cr3: ${hex16(Math.floor(cr3 / 2 ** 32), cr3 >>> 0)}`,
  );
  const seg = (s: number) => hex4(v.cpu.getSeg(s));
  lines.push(
    `(XEN) ds: ${seg(3)}   es: ${seg(0)}   fs: ${seg(4)}   gs: ${seg(5)}   ss: ${seg(2)}   ` +
      `cs: ${seg(1)}`,
  );
  lines.push(
    `(XEN) upcall_pending: ${mem.u8[v.vcpuInfoMaddr + VI.evtchnUpcallPending]}   ` +
      `upcall_mask: ${mem.u8[v.vcpuInfoMaddr + VI.evtchnUpcallMask]}`,
  );
  const sp = addrOf(c.lo(4), c.hi(4));
  lines.push(`(XEN) Guest stack trace from rsp=${hex16(c.hi(4), c.lo(4))}:`);
  const b = new Uint8Array(8), dv = new DataView(b.buffer);
  let row = "(XEN)   ";
  for (let i = 0; i < stackWords; i++) {
    const ok = v.access.copyFromGuest(sp + i * 8, b);
    row += ok ? " " + hex16(dv.getUint32(4, true), dv.getUint32(0, true)) : " ????????????????";
    if (i % 4 === 3) {
      lines.push(row);
      row = "(XEN)   ";
    }
  }
  if (row.trim() !== "(XEN)") lines.push(row);
  return lines.join("\n");
}
