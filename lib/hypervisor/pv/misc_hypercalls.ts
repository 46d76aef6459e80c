/**
 * The small per-vcpu hypercalls: stack_switch, fpu_taskswitch, set_debugreg /
 * get_debugreg (with Xen's DR6/DR7 checks), vm_assist (mirrors xen/arch/x86/pv/
 * misc-hypercalls.c and do_vm_assist of xen/common/domain.c).
 * @module
 */
import { EINVAL, ENODEV, ENOSYS, EPERM } from "../../abi/mod.ts";
import {
  HYPERVISOR_VIRT_START,
  VM_ASSIST_VALID_MASK,
  VMASST_CMD_disable,
  VMASST_CMD_enable,
} from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";

/** The RPL a 32-bit PV kernel's selectors get at least (guest_kernel_rpl). */
export const GUEST_KERNEL_RPL = 1;

/** fixup_guest_{code,stack}_selector: raises the RPL to at least the kernel's ring. */
export function fixupGuestSelector(sel: number): number {
  sel &= 0xffff;
  return (sel & 3) >= GUEST_KERNEL_RPL ? sel : (sel & ~3) | GUEST_KERNEL_RPL;
}

/** do_stack_switch(ss, esp). */
export function doStackSwitch(v: Vcpu, ss: number, esp: number): number {
  v.kernelSs = fixupGuestSelector(ss);
  v.kernelSp = esp >>> 0;
  return 0;
}

/** do_fpu_taskswitch(set): the guest's CR0.TS. */
export function doFpuTaskswitch(v: Vcpu, set: number): number {
  v.guestTs = set !== 0;
  v.cpu.ts = v.guestTs;
  return 0;
}

/** DR7 bits that must be zero (11, 12, 14, 15) and the one that must be one (10). */
const DR_CONTROL_RESERVED_ZERO = 0x0000d800, DR_CONTROL_RESERVED_ONE = 0x400;
/** DR7.GD. */
const DR_GENERAL_DETECT = 0x2000;
/** DR7 local/global enables. */
const DR7_ACTIVE_MASK = 0xff;

/** set_debugreg(reg, value). */
export function doSetDebugreg(v: Vcpu, reg: number, value: number): number {
  value = value >>> 0;
  switch (reg) {
    case 0:
    case 1:
    case 2:
    case 3:
      // access_ok(value, sizeof(long)): a breakpoint may not watch the hypervisor.
      if (value + 4 > HYPERVISOR_VIRT_START) return -EPERM;
      v.debugreg[reg] = value;
      return 0;
    case 4: // CR4.DE is clear for pvx guests: DR4/DR5 alias DR6/DR7
    case 6:
      v.debugreg[6] = ((value & 0xe00f) | 0xffff0ff0) >>> 0;
      return 0;
    case 5:
    case 7: {
      value = ((value & ~DR_CONTROL_RESERVED_ZERO) | DR_CONTROL_RESERVED_ONE) >>> 0;
      if (value & DR_GENERAL_DETECT) return -EPERM;
      if (value & DR7_ACTIVE_MASK) {
        for (let i = 16; i < 32; i += 4) {
          // An I/O breakpoint needs CR4.DE, which a pvx guest never has.
          if (((value >>> i) & 3) === 2) return -EPERM;
        }
      }
      v.debugreg[7] = value;
      return 0;
    }
    default:
      return -ENODEV;
  }
}

/** get_debugreg(reg): the value itself is the result. */
export function doGetDebugreg(v: Vcpu, reg: number): number {
  switch (reg) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 6:
    case 7:
      return v.debugreg[reg] | 0;
    case 4:
      return v.debugreg[6] | 0;
    case 5:
      return v.debugreg[7] | 0;
    default:
      return -ENODEV;
  }
}

/** do_vm_assist(cmd, type). */
export function doVmAssist(v: Vcpu, cmd: number, type: number): number {
  type = type >>> 0;
  if (type >= 32 || ((VM_ASSIST_VALID_MASK >>> type) & 1) === 0) return -EINVAL;
  const d = v.domain;
  switch (cmd) {
    case VMASST_CMD_enable:
      d.vmAssist |= 1 << type;
      return 0;
    case VMASST_CMD_disable:
      d.vmAssist &= ~(1 << type);
      return 0;
    default:
      return -ENOSYS;
  }
}
