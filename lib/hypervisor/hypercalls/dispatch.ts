/**
 * Hypercall entry for a 32-bit PV guest (`int $0x82` from ring 1): number in eax,
 * arguments in ebx, ecx, edx, esi, edi, ebp; result back in eax. Traces each call
 * (TRC_PV_HYPERCALL_V2) and applies what the handler asked of the vcpu (mirrors
 * pv_hypercall of xen/arch/x86/pv/hypercall.c).
 * @module
 */
import { ENOSYS } from "../../abi/mod.ts";
import { R_EAX, R_EBP, R_EBX, R_ECX, R_EDI, R_EDX, R_ESI } from "../machine/cpu_port.ts";
import { hypercallArg32, TRC_PV_HYPERCALL_V2 } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { HYPERCALL_TABLE } from "./table.ts";
import { reloadDataSegments } from "../traps/failsafe.ts";

/** Argument-presence bits for 5 32-bit arguments in TRC_PV_HYPERCALL_V2's first word. */
const TRACE_ARGS5 = hypercallArg32(0) | hypercallArg32(1) | hypercallArg32(2) |
  hypercallArg32(3) | hypercallArg32(4);

/**
 * Runs the hypercall the vcpu's registers describe and stores the result in eax.
 * @param v the calling vcpu (its CPU is at the instruction after `int $0x82`)
 */
export function pvHypercall(v: Vcpu): void {
  const r = v.cpu.gpr;
  const nr = r[R_EAX] >>> 0;
  const a1 = r[R_EBX] >>> 0, a2 = r[R_ECX] >>> 0, a3 = r[R_EDX] >>> 0;
  const a4 = r[R_ESI] >>> 0, a5 = r[R_EDI] >>> 0, a6 = r[R_EBP] >>> 0;
  const t = v.domain.host.tracer;
  if (t.on) t.rec(TRC_PV_HYPERCALL_V2, 6, (nr & 0xfffff) | TRACE_ARGS5, a1, a2, a3, a4, a5);
  const fn = nr < HYPERCALL_TABLE.length ? HYPERCALL_TABLE[nr] : undefined;
  v.skipReturn = false;
  const rc = fn ? fn(v, a1, a2, a3, a4, a5, a6) : -ENOSYS;
  if (v.skipReturn) v.skipReturn = false;
  else r[R_EAX] = rc | 0;
  if (v.segmentsDirty) {
    v.segmentsDirty = false;
    reloadDataSegments(v);
  }
}
