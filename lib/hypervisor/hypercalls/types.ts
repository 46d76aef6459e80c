/**
 * The shape of a hypercall handler: the calling vcpu and up to six u32 arguments in; a
 * result (>= 0) or a negative Xen errno out, as eax.
 * @module
 */
import type { Vcpu } from "../domain/vcpu.ts";

/**
 * A hypercall handler. Arguments are ebx, ecx, edx, esi, edi, ebp (u32 numbers).
 * A handler that restores the registers itself (iret) sets `v.skipReturn`.
 * @returns the value for eax: >= 0, or -errno
 */
export type HypercallFn = (
  v: Vcpu,
  a1: number,
  a2: number,
  a3: number,
  a4: number,
  a5: number,
  a6: number,
) => number;
