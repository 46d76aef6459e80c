/**
 * The MMU hypercall shells: mmu_update, mmuext_op, update_va_mapping and
 * update_va_mapping_otherdomain. Each copies its requests in one at a time, calls
 * lib/paging's model, stops at the first failure, reports how many were done (pdone),
 * then applies the TLB flushes the model queued (mirrors do_mmu_update / do_mmuext_op /
 * __do_update_va_mapping of xen/arch/x86/mm.c for a domU).
 * @module
 */
import { EFAULT, EPERM, ESRCH } from "../../abi/mod.ts";
import { MMU_UPDATE_SIZE, MMUEXT_OP_SIZE } from "../../abi/mod.ts";
import {
  DOMID_SELF,
  MMUEXT_INVLPG_MULTI,
  MMUEXT_NEW_BASEPTR,
  MMUEXT_SET_LDT,
  MMUEXT_TLB_FLUSH_MULTI,
  UVMF_ALL,
  UVMF_FLUSHTYPE_MASK,
  UVMF_LOCAL,
} from "../../abi/mod.ts";
import { mmuUpdate } from "../../paging/mod.ts";
import { mmuextOp, mmuextOp64, mmuUpdate64 } from "../../paging/mod.ts";
import { updateVaMapping } from "../../paging/mod.ts";
import { translatedMmuUpdate, translatedNewBaseptr } from "../pv/mmu_translated.ts";
import { TRC_PVX_MMU_UPDATE } from "../../abi/mod.ts";
import { applyFlushes } from "../machine/flush.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { createContinuation, shouldPreempt } from "./continuation.ts";
import { addrOf } from "../pv64/guest_access64.ts";

/** sizeof(struct mmuext_op) for a 64-bit guest. */
const MMUEXT_OP_SIZE_64 = 24;
import { __HYPERVISOR_mmu_update, __HYPERVISOR_mmuext_op } from "../../abi/mod.ts";

/** MMU_UPDATE_PREEMPTED: set in count by a continuation (pdone then accumulates). */
const MMU_UPDATE_PREEMPTED = 0x80000000;

/**
 * get_pg_owner for a domU: itself (DOMID_SELF or its own id); another existing domain
 * is refused by XSM (-EPERM), a missing one is -ESRCH.
 * @returns the owner's domid, or -errno
 */
function pgOwner(v: Vcpu, domid: number): number {
  const self = v.domain.domid;
  if (domid === DOMID_SELF || domid === self) return self;
  if (!v.domain.host.domains.has(domid)) return -ESRCH;
  return -EPERM;
}

/** Checks foreigndom's page-table-owner half (bits 16+: pt_dom + 1). */
function ptOwnerOk(v: Vcpu, foreigndom: number): number {
  const ptDom = foreigndom >>> 16;
  if (ptDom === 0 || ptDom - 1 === v.domain.domid) return 0;
  return v.domain.host.domains.has(ptDom - 1) ? -EPERM : -ESRCH;
}

/** do_mmu_update(ureqs, count, pdone, foreigndom). */
export function doMmuUpdate(
  v: Vcpu,
  ureqs: number,
  count: number,
  pdone: number,
  foreigndom: number,
): number {
  let rc = ptOwnerOk(v, foreigndom);
  if (rc < 0) return rc;
  const owner = pgOwner(v, foreigndom & 0xffff);
  if (owner < 0) return owner;
  const preempted = (count & MMU_UPDATE_PREEMPTED) !== 0;
  count = count & 0x7fffffff;
  const doneBefore = preempted && pdone !== 0 ? v.access.readU32(pdone) : 0;
  const req = new Uint8Array(MMU_UPDATE_SIZE);
  const dv = new DataView(req.buffer);
  const d = v.domain;
  const t = d.host.tracer;
  let i = 0;
  for (; i < count; i++) {
    if (shouldPreempt(v, i)) {
      if (pdone !== 0) v.access.writeU32(pdone, doneBefore + i);
      applyFlushes(d);
      const rest = ((count - i) | MMU_UPDATE_PREEMPTED) >>> 0;
      createContinuation(
        v,
        __HYPERVISOR_mmu_update,
        ureqs + i * MMU_UPDATE_SIZE,
        rest,
        pdone,
        foreigndom,
      );
      return 0;
    }
    if (!v.access.copyFromGuest(ureqs + i * MMU_UPDATE_SIZE, req)) {
      rc = -EFAULT;
      break;
    }
    const ptrLo = dv.getUint32(0, true), ptrHi = dv.getUint32(4, true);
    const valLo = dv.getUint32(8, true), valHi = dv.getUint32(12, true);
    const ptr = ptrHi * 2 ** 32 + ptrLo;
    rc = d.mm.translated
      ? translatedMmuUpdate(d, ptr, valLo, valHi)
      : d.mm.pv64
      ? mmuUpdate64(d.mm, ptr, valLo, valHi, owner)
      : mmuUpdate(d.mm, ptr, valLo, valHi, owner);
    if (t.on) t.rec(TRC_PVX_MMU_UPDATE, 5, ptrLo, ptrHi, valLo, valHi, rc, 0);
    if (rc !== 0) break;
  }
  if (pdone !== 0) v.access.writeU32(pdone, doneBefore + i);
  applyFlushes(d);
  return rc;
}

/** do_mmuext_op(uops, count, pdone, foreigndom). */
export function doMmuextOp(
  v: Vcpu,
  uops: number,
  count: number,
  pdone: number,
  foreigndom: number,
): number {
  const owner = pgOwner(v, foreigndom & 0xffff);
  if (owner < 0) return owner;
  const preempted = (count & MMU_UPDATE_PREEMPTED) !== 0;
  count = count & 0x7fffffff;
  const doneBefore = preempted && pdone !== 0 ? v.access.readU32(pdone) : 0;
  const d = v.domain;
  // struct mmuext_op: 12 bytes for a 32-bit guest, 24 (arg1 and arg2 8-byte aligned
  // unions of unsigned long / handles) for a 64-bit one
  const pv64 = d.mm.pv64;
  const size = pv64 ? MMUEXT_OP_SIZE_64 : MMUEXT_OP_SIZE;
  const op = new Uint8Array(size);
  const dv = new DataView(op.buffer);
  let rc = 0;
  let i = 0;
  for (; i < count; i++) {
    if (shouldPreempt(v, i)) {
      if (pdone !== 0) v.access.writeU32(pdone, doneBefore + i);
      applyFlushes(d);
      v.syncCr3();
      const rest = ((count - i) | MMU_UPDATE_PREEMPTED) >>> 0;
      createContinuation(
        v,
        __HYPERVISOR_mmuext_op,
        uops + i * size,
        rest,
        pdone,
        foreigndom,
      );
      return 0;
    }
    if (!v.access.copyFromGuest(uops + i * size, op)) {
      rc = -EFAULT;
      break;
    }
    const cmd = dv.getUint32(0, true);
    const arg1 = dv.getUint32(pv64 ? 8 : 4, true);
    const arg1Hi = pv64 ? dv.getUint32(12, true) : 0;
    let arg2 = dv.getUint32(pv64 ? 16 : 8, true);
    if (cmd === MMUEXT_TLB_FLUSH_MULTI || cmd === MMUEXT_INVLPG_MULTI) {
      // arg2 is a guest pointer to the vcpu bitmap.
      arg2 = v.access.readU32(pv64 ? addrOf(arg2, dv.getUint32(20, true)) : arg2);
      if (v.access.fault) {
        rc = -EFAULT;
        break;
      }
    }
    rc = d.mm.translated && cmd === MMUEXT_NEW_BASEPTR
      ? translatedNewBaseptr(d, v.id, arg1)
      : pv64
      ? mmuextOp64(d.mm, v.id, cmd, arg1Hi === 0 ? arg1 : addrOf(arg1, arg1Hi), arg2, arg1Hi)
      : mmuextOp(d.mm, v.id, cmd, arg1, arg2);
    if (cmd === MMUEXT_SET_LDT) v.segmentsDirty = true;
    if (rc !== 0) break;
  }
  if (pdone !== 0) v.access.writeU32(pdone, doneBefore + i);
  applyFlushes(d);
  v.syncCr3();
  return rc;
}

/** Reads the vcpu bitmap of a pointer-form UVMF target. */
function flushMask(v: Vcpu, flags: number): number {
  const target = flags & ~UVMF_FLUSHTYPE_MASK;
  if (target === UVMF_LOCAL || target === UVMF_ALL) return 0;
  const m = v.access.readU32(target);
  return v.access.fault ? -1 : m;
}

/** do_update_va_mapping(va, val_lo, val_hi, flags). */
export function doUpdateVaMapping(
  v: Vcpu,
  va: number,
  lo: number,
  hi: number,
  flags: number,
): number {
  const mask = flushMask(v, flags);
  if (mask === -1 && v.access.fault) return -EFAULT;
  const rc = updateVaMapping(v.domain.mm, v.id, va >>> 0, lo, hi, flags, mask);
  applyFlushes(v.domain);
  return rc;
}

/** do_update_va_mapping_otherdomain(va, val_lo, val_hi, flags, domid). */
export function doUpdateVaMappingOtherdomain(
  v: Vcpu,
  va: number,
  lo: number,
  hi: number,
  flags: number,
  domid: number,
): number {
  const owner = pgOwner(v, domid & 0xffff);
  if (owner < 0) return owner;
  const mask = flushMask(v, flags);
  if (mask === -1 && v.access.fault) return -EFAULT;
  const rc = updateVaMapping(v.domain.mm, v.id, va >>> 0, lo, hi, flags, mask, owner);
  applyFlushes(v.domain);
  return rc;
}
