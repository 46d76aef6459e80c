/**
 * Hypercall entry of a 64-bit PV guest (`syscall` from guest kernel mode, Xen's
 * pv_hypercall for a native guest): number in rax, arguments in rdi, rsi, rdx, r10, r8,
 * r9; the result back in rax (sign-extended). Traces each call (TRC_PV_HYPERCALL_V2 with
 * the low halves) and applies what the handler asked of the vcpu.
 * @module
 */
import { ENOSYS } from "../../abi/mod.ts";
import { TRC_PV_HYPERCALL_V2 } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { ARGS64 } from "./hypercalls64.ts";
import { addrOf } from "./guest_access64.ts";
import { HYPERCALL_TABLE64 } from "./table64.ts";

/** rdi, rsi, rdx, r10, r8, r9. */
const ARG_REGS = [7, 6, 2, 10, 8, 9];

/** The packed argument words of one trace record. */
const traceWords = new Uint32Array(5);

/**
 * TRC_PV_HYPERCALL_V2 of a 64-bit guest (no TRC_64_FLAG, as trace.h says): the op, then
 * the first arguments in order, each as one word (32-bit: its high half is 0) or as a
 * (lo, hi) pair marked 64-bit, as many as fit in the record's five argument words.
 */
function traceHypercall64(v: Vcpu, nr: number, A: Uint32Array): void {
  let op = nr & 0xfffff, w = 0;
  for (let i = 0; i < 5; i++) {
    const lo = A[2 * i], hi = A[2 * i + 1];
    if (hi === 0) {
      if (w + 1 > 5) break;
      traceWords[w++] = lo;
      op |= 1 << (20 + 2 * i);
    } else {
      if (w + 2 > 5) break;
      traceWords[w++] = lo;
      traceWords[w++] = hi;
      op |= 2 << (20 + 2 * i);
    }
  }
  const W = traceWords;
  v.domain.host.tracer.rec(TRC_PV_HYPERCALL_V2, 1 + w, op >>> 0, W[0], W[1], W[2], W[3], W[4]);
}

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
  if (t.on) traceHypercall64(v, nr, A);
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
