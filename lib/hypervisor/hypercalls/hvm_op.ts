/**
 * hvm_op as Xen 4.17 answers a PV domain (do_hvm_op of xen/arch/x86/hvm/hvm.c): the
 * parameter and HVM-state operations find no HVM domain (-EINVAL, after the argument
 * and domain checks), get_time and xentrace work for anyone, the rest is absent
 * (-ENOSYS) or unsupported (altp2m: -EOPNOTSUPP).
 * @module
 */
import { EFAULT, EINVAL, ENOSYS, EOPNOTSUPP, ESRCH } from "../../abi/mod.ts";
import { DOMID_SELF } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { readStruct, setU64 } from "./_guest.ts";

export const HVMOP_set_param = 0;
export const HVMOP_get_param = 1;
export const HVMOP_flush_tlbs = 5;
export const HVMOP_pagetable_dying = 9;
export const HVMOP_get_time = 10;
export const HVMOP_xentrace = 11;
export const HVMOP_get_mem_type = 15;
export const HVMOP_set_evtchn_upcall_vector = 23;
export const HVMOP_guest_request_vm_event = 24;
export const HVMOP_altp2m = 25;
/** HVM_NR_PARAMS (hvm/params.h). */
export const HVM_NR_PARAMS = 39;
/** TRC_GUEST: the class of records a guest writes with HVMOP_xentrace. */
export const TRC_GUEST = 0x0800f000;

/** The domain an hvm_op names exists (DOMID_SELF or an id): 0, or -ESRCH. */
function domainExists(v: Vcpu, domid: number): number {
  return domid === DOMID_SELF || v.domain.host.domains.has(domid) ? 0 : -ESRCH;
}

/** do_hvm_op(op, arg). */
export function doHvmOp(v: Vcpu, op: number, arg: number): number {
  switch (op) {
    case HVMOP_set_param:
    case HVMOP_get_param: {
      // xen_hvm_param: domid u16, pad u16, index u32, value u64
      const s = readStruct(v, arg, 16);
      if (!s) return -EFAULT;
      if (s.getUint32(4, true) >= HVM_NR_PARAMS) return -EINVAL;
      const rc = domainExists(v, s.getUint16(0, true));
      return rc < 0 ? rc : -EINVAL; // !is_hvm_domain(d)
    }
    case HVMOP_pagetable_dying:
    case HVMOP_get_mem_type: {
      const s = readStruct(v, arg, 2);
      if (!s) return -EFAULT;
      const rc = domainExists(v, s.getUint16(0, true));
      return rc < 0 ? rc : -EINVAL;
    }
    case HVMOP_flush_tlbs:
    case HVMOP_set_evtchn_upcall_vector:
      return -EINVAL;
    case HVMOP_get_time: {
      const b = new DataView(new ArrayBuffer(8));
      setU64(b, 0, v.domain.host.clock.nowNs());
      return v.access.copyToGuest(arg, new Uint8Array(b.buffer)) ? 0 : -EFAULT;
    }
    case HVMOP_xentrace: {
      // xen_hvm_xentrace: event u16, extra_bytes u16, extra[28]
      const s = readStruct(v, arg, 32);
      if (!s) return -EFAULT;
      const event = s.getUint16(0, true), extra = s.getUint16(2, true);
      if (extra > 28 || event >= 1 << 12) return -EINVAL;
      const t = v.domain.host.tracer;
      if (t.on) {
        const w = (i: number) => (i * 4 < extra ? s.getUint32(4 + i * 4, true) : 0);
        t.rec(
          TRC_GUEST | event,
          Math.min(6, Math.ceil(extra / 4)),
          w(0),
          w(1),
          w(2),
          w(3),
          w(4),
          w(5),
        );
      }
      return 0;
    }
    case HVMOP_guest_request_vm_event:
      return arg === 0 ? 0 : -EINVAL; // no monitor is listening
    case HVMOP_altp2m:
      return -EOPNOTSUPP;
    default:
      return -ENOSYS;
  }
}
