/**
 * The register and stack dump printed when a domain crashes (as Xen's
 * show_execution_state / xl's crash report): general registers, segment selectors,
 * eflags, cr2/cr3, the vcpu's upcall state and the top of the kernel stack.
 * @module
 */
import { VI_ARCH_CR2, VI_UPCALL_MASK, VI_UPCALL_PENDING } from "../../abi/mod.ts";
import { R_EAX, R_EBP, R_EBX, R_ECX, R_EDI, R_EDX, R_ESI, R_ESP } from "../machine/cpu_port.ts";
import type { Vcpu } from "./vcpu.ts";
import { formatCrashDump64 } from "../pv64/crash_dump64.ts";

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
const hex4 = (n: number) => (n & 0xffff).toString(16).padStart(4, "0");

/**
 * Formats the dump of one vcpu.
 * @param v the vcpu
 * @param stackWords how many stack words to show
 * @returns the lines, without trailing newline
 */
export function formatCrashDump(v: Vcpu, stackWords = 16): string {
  if (v.cpu64 !== null) return formatCrashDump64(v, stackWords / 2);
  const c = v.cpu;
  const r = c.gpr;
  const d = v.domain;
  const mem = d.host.mem;
  const lines: string[] = [];
  lines.push(`(XEN) domain ${d.domid} crashed: ${d.crashReason || "SHUTDOWN_crash requested"}`);
  lines.push(
    `(XEN) d${d.domid}v${v.id} EIP: ${hex4(c.getSeg(1))}:[<${hex8(c.eip)}>] ` +
      `EFLAGS: ${hex8(c.eflags)} CPL: ${c.cpl}`,
  );
  lines.push(
    `(XEN) eax: ${hex8(r[R_EAX])}   ebx: ${hex8(r[R_EBX])}   ecx: ${hex8(r[R_ECX])}   ` +
      `edx: ${hex8(r[R_EDX])}`,
  );
  lines.push(
    `(XEN) esi: ${hex8(r[R_ESI])}   edi: ${hex8(r[R_EDI])}   ebp: ${hex8(r[R_EBP])}   ` +
      `esp: ${hex8(r[R_ESP])}`,
  );
  const cr2 = mem.dv.getUint32(v.vcpuInfoMaddr + VI_ARCH_CR2, true);
  // A translated domain's cr3 is its walker's guest-physical base (no base mfn is held).
  const cr3 = d.mm.translated ? Math.max(d.mm.walkers[v.id].cr3, 0) : d.mm.baseMfn[v.id] * 4096;
  lines.push(`(XEN) cr2: ${hex8(cr2)}   cr3: ${hex8(cr3)}`);
  lines.push(
    `(XEN) ds: ${hex4(c.getSeg(3))}   es: ${hex4(c.getSeg(0))}   fs: ${hex4(c.getSeg(4))}   ` +
      `gs: ${hex4(c.getSeg(5))}   ss: ${hex4(c.getSeg(2))}   cs: ${hex4(c.getSeg(1))}`,
  );
  lines.push(
    `(XEN) upcall_pending: ${mem.u8[v.vcpuInfoMaddr + VI_UPCALL_PENDING]}   ` +
      `upcall_mask: ${mem.u8[v.vcpuInfoMaddr + VI_UPCALL_MASK]}`,
  );
  const sp = r[R_ESP] >>> 0;
  lines.push(`(XEN) Guest stack trace from esp=${hex8(sp)}:`);
  let row = "(XEN)   ";
  for (let i = 0; i < stackWords; i++) {
    const w = v.access.readU32(sp + i * 4);
    row += v.access.fault ? " ????????" : " " + hex8(w);
    if (i % 8 === 7) {
      lines.push(row);
      row = "(XEN)   ";
    }
  }
  if (row.trim() !== "(XEN)") lines.push(row);
  return lines.join("\n");
}
