/**
 * grant_table_op: placeholder shell until the gnttab/ model is wired (see
 * grant_table_ops.ts).
 * @module
 */
import { ENOSYS } from "../abi/errno.ts";
import type { Vcpu } from "../vcpu.ts";

/** do_grant_table_op(cmd, uop, count). */
export function doGrantTableOp(_v: Vcpu, _cmd: number, _uop: number, _count: number): number {
  return -ENOSYS;
}
