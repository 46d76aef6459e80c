/**
 * physdev_op and physdev_op_compat as Xen answers a PV domU with no devices: IOPL and
 * I/O-bitmap setting, IRQ status queries; everything touching physical devices or IRQ
 * routing is refused (mirrors xen/arch/x86/physdev.c under the dummy XSM policy).
 * @module
 */
import { EFAULT, EINVAL, ENOSYS, EPERM } from "../../abi/mod.ts";
import {
  PHYSDEVOP_alloc_irq_vector,
  PHYSDEVOP_apic_read,
  PHYSDEVOP_apic_write,
  PHYSDEVOP_eoi,
  PHYSDEVOP_free_irq_vector,
  PHYSDEVOP_get_free_pirq,
  PHYSDEVOP_irq_status_query,
  PHYSDEVOP_IRQ_UNMASK_NOTIFY,
  PHYSDEVOP_map_pirq,
  PHYSDEVOP_pirq_eoi_gmfn_v1,
  PHYSDEVOP_pirq_eoi_gmfn_v2,
  PHYSDEVOP_set_iobitmap,
  PHYSDEVOP_set_iopl,
  PHYSDEVOP_unmap_pirq,
} from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import { readStruct } from "./_guest.ts";
import { addrOf } from "../pv64/guest_access64.ts";

/** Physical IRQs a PV domU has (nr_pirqs with no devices: the 32 extra_domU_irqs). */
export const DOMU_NR_PIRQS = 32;

/** do_physdev_op(cmd, arg). */
export function doPhysdevOp(v: Vcpu, cmd: number, arg: number): number {
  switch (cmd) {
    case PHYSDEVOP_set_iopl: {
      const s = readStruct(v, arg, 4);
      if (!s) return -EFAULT;
      const iopl = s.getUint32(0, true);
      if (iopl > 3) return -EINVAL;
      v.iopl = iopl;
      return 0;
    }
    case PHYSDEVOP_set_iobitmap: {
      // bitmap handle, nr_ports: 8 bytes, or 16 with a 64-bit guest's 8-byte handle
      const w64 = v.pv64 !== null;
      const s = readStruct(v, arg, w64 ? 16 : 8);
      if (!s) return -EFAULT;
      const nr = s.getUint32(w64 ? 8 : 4, true);
      if (nr > 65536) return -EINVAL;
      v.iobitmapVa = w64
        ? addrOf(s.getUint32(0, true), s.getUint32(4, true))
        : s.getUint32(0, true);
      v.iobitmapPorts = nr;
      return 0;
    }
    case PHYSDEVOP_irq_status_query: {
      const s = readStruct(v, arg, 8); // irq, flags
      if (!s) return -EFAULT;
      const irq = s.getUint32(0, true);
      if (irq >= DOMU_NR_PIRQS) return -EINVAL;
      s.setUint32(4, 0, true);
      return v.access.copyToGuest(arg, new Uint8Array(s.buffer)) ? 0 : -EFAULT;
    }
    case PHYSDEVOP_eoi:
    case PHYSDEVOP_IRQ_UNMASK_NOTIFY: {
      if (cmd === PHYSDEVOP_IRQ_UNMASK_NOTIFY) return 0;
      const s = readStruct(v, arg, 4);
      if (!s) return -EFAULT;
      return s.getUint32(0, true) >= DOMU_NR_PIRQS ? -EINVAL : 0;
    }
    case PHYSDEVOP_pirq_eoi_gmfn_v1:
    case PHYSDEVOP_pirq_eoi_gmfn_v2: {
      const s = readStruct(v, arg, 4);
      if (!s) return -EFAULT;
      return v.domain.owns(s.getUint32(0, true)) ? 0 : -EINVAL;
    }
    case PHYSDEVOP_apic_read:
    case PHYSDEVOP_apic_write:
    case PHYSDEVOP_alloc_irq_vector:
    case PHYSDEVOP_free_irq_vector:
    case PHYSDEVOP_map_pirq:
    case PHYSDEVOP_unmap_pirq:
    case PHYSDEVOP_get_free_pirq:
    case 15: // manage_pci_add
    case 16: // manage_pci_remove
    case 19: // restore_msi
    case 20: // manage_pci_add_ext
    case 21: // setup_gsi
    case 24: // pci_mmcfg_reserved
    case 25: // pci_device_add
    case 26: // pci_device_remove
    case 27: // restore_msi_ext
    case 29: // dbgp_op
    case 30: // prepare_msix
    case 31: // release_msix
      return -EPERM;
    default:
      return -ENOSYS;
  }
}

/** do_physdev_op_compat(uop): struct physdev_op { u32 cmd; union u; }. */
export function doPhysdevOpCompat(v: Vcpu, uop: number): number {
  const s = readStruct(v, uop, 4);
  if (!s) return -EFAULT;
  return doPhysdevOp(v, s.getUint32(0, true), (uop + 4) >>> 0);
}
