/**
 * Hypercall entry of a 64-bit PV guest (`syscall` from guest kernel mode, Xen's
 * pv_hypercall for a native guest): number in rax, arguments in rdi, rsi, rdx, r10, r8,
 * r9; the result back in rax (sign-extended). Traces each call (TRC_PV_HYPERCALL_V2 with
 * the low halves) and applies what the handler asked of the vcpu.
 * @module
 */
import { ENOSYS } from "../../abi/mod.ts";
import { hypercallArg32, TRC_PV_HYPERCALL_V2 } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { ARGS64 } from "./hypercalls64.ts";
import { addrOf } from "./guest_access64.ts";
import { HYPERCALL_TABLE64 } from "./table64.ts";

/** rdi, rsi, rdx, r10, r8, r9. */
const ARG_REGS = [7, 6, 2, 10, 8, 9];

const TRACE_ARGS5 = hypercallArg32(0) | hypercallArg32(1) | hypercallArg32(2) |
  hypercallArg32(3) | hypercallArg32(4);

/**
 * Runs the hypercall the vcpu's registers describe and stores the result in rax.
 * @param v the calling vcpu (a 64-bit one, its CPU past the `syscall`)
 */
export function pvHypercall64(v: Vcpu): void {
  const c = v.cpu64!;
  const nrHi = c.hi(0), nr = c.lo(0);
  for (let i = 0; i < 6; i++) {
    ARGS64[2 * i] = c.lo(ARG_REGS[i]);
    ARGS64[2 * i + 1] = c.hi(ARG_REGS[i]);
  }
  const A = ARGS64;
  const t = v.domain.host.tracer;
  if (t.on) {
    t.rec(TRC_PV_HYPERCALL_V2, 6, (nr & 0xfffff) | TRACE_ARGS5, A[0], A[2], A[4], A[6], A[8]);
  }
  const fn = nrHi === 0 && nr < HYPERCALL_TABLE64.length ? HYPERCALL_TABLE64[nr] : undefined;
  v.skipReturn = false;
  const rc = fn
    ? fn(
      v,
      addrOf(A[0], A[1]),
      addrOf(A[2], A[3]),
      addrOf(A[4], A[5]),
      addrOf(A[6], A[7]),
      addrOf(A[8], A[9]),
      addrOf(A[10], A[11]),
    )
    : -ENOSYS;
  if (v.skipReturn) v.skipReturn = false;
  else if (rc < 0) c.setReg(0, rc | 0, -1);
  else c.setReg(0, rc >>> 0, Math.floor(rc / 4294967296));
  // Xen leaves the loaded selectors of the running vcpu alone after set_gdt/SET_LDT (they
  // are reloaded, with the failsafe callback, at its next context switch)
  v.segmentsDirty = false;
}
