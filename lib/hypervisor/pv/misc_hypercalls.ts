/**
 * The small per-vcpu hypercalls: stack_switch, fpu_taskswitch, set_debugreg /
 * get_debugreg (with Xen's DR6/DR7 checks), vm_assist (mirrors xen/arch/x86/pv/
 * misc-hypercalls.c and do_vm_assist of xen/common/domain.c).
 * @module
 */
import { EINVAL, ENODEV, ENOSYS, EPERM } from "../../abi/mod.ts";
import { VM_ASSIST_VALID_MASK, VMASST_CMD_disable, VMASST_CMD_enable } from "../../abi/mod.ts";
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
/** DR6 bit that must be zero (12) and the bits that must be one (4-11, 16-31). */
const DR_STATUS_RESERVED_ZERO = 0x1000, DR_STATUS_RESERVED_ONE = 0xffff0ff0;
/** The high half of HYPERVISOR_VIRT_END of a 64-bit guest (0xffff880000000000). */
const HYPERVISOR_VIRT_END_64_HI = 0xffff8800;
/** DR7.GD. */
const DR_GENERAL_DETECT = 0x2000;
/** DR7 local/global enables. */
const DR7_ACTIVE_MASK = 0xff;
/** CR4.DE: debugging extensions (I/O breakpoints; DR4/DR5 stop aliasing DR6/DR7). */
export const X86_CR4_DE = 0x8;

/**
 * set_debugreg(reg, value) (set_debugreg of xen/arch/x86/pv/misc-hypercalls.c): DR0-3
 * must pass breakpoint_addr_ok (__addr_ok), which every 32-bit address does; DR6/DR7 get their reserved bits fixed; DR7.GD is
 * refused; I/O breakpoints need the guest's CR4.DE and are emulated (their enables go to
 * dr7Emul, not to the CPU); DR4/DR5 alias DR6/DR7 unless CR4.DE (then -ENODEV).
 * A 64-bit domain's values are 64-bit (`hi`, the high half): DR0-3 take any address
 * __addr_ok accepts (below 2^47, or from HYPERVISOR_VIRT_END 0xffff880000000000 up; the
 * non-canonical hole and Xen's range give -EPERM), DR6/DR7 with a high half set give
 * -EINVAL ("the upper 32 bits are strictly reserved").
 * A failed write changes nothing.
 */
export function doSetDebugreg(v: Vcpu, reg: number, value: number, hi = 0): number {
  value = value >>> 0;
  hi = hi >>> 0;
  const de = (v.guestCr4 & X86_CR4_DE) !== 0;
  const wide = v.pv64 !== null;
  switch (reg) {
    case 0:
    case 1:
    case 2:
    case 3:
      // breakpoint_addr_ok: a breakpoint may not watch the hypervisor.
      // A 32-bit domain's value is zero-extended (the compat table calls the same
      // do_set_debugreg): always below 2^47, so any 32-bit address passes.
      if (wide && hi >= 0x8000 && hi < HYPERVISOR_VIRT_END_64_HI) return -EPERM;
      v.debugreg[reg] = value;
      v.debugregHi[reg] = wide ? hi : 0;
      break;
    case 4:
    case 6:
      if (reg === 4 && de) return -ENODEV;
      if (wide && hi !== 0) return -EINVAL;
      v.debugreg[6] = ((value & ~DR_STATUS_RESERVED_ZERO) | DR_STATUS_RESERVED_ONE) >>> 0;
      break;
    case 5:
    case 7: {
      if (reg === 5 && de) return -ENODEV;
      if (wide && hi !== 0) return -EINVAL;
      value = ((value & ~DR_CONTROL_RESERVED_ZERO) | DR_CONTROL_RESERVED_ONE) >>> 0;
      if (value & DR_GENERAL_DETECT) return -EPERM;
      let ioEnable = 0;
      if (value & DR7_ACTIVE_MASK) {
        for (let i = 16; i < 32; i += 4) {
          if (((value >>> i) & 3) !== 2) continue;
          if (!de) return -EPERM;
          ioEnable |= value & (3 << ((i - 16) >>> 1));
        }
      }
      v.dr7Emul = ioEnable;
      v.debugreg[7] = (value & ~ioEnable) >>> 0;
      break;
    }
    default:
      return -ENODEV;
  }
  v.loadDebugRegs();
  return 0;
}

/**
 * x86emul_read_dr: DR7 reads back with the emulated I/O enables; DR4/DR5 alias DR6/DR7
 * unless CR4.DE.
 * @returns the value, or -1 when the register does not exist (#UD for mov, -ENODEV)
 */
export function readDebugreg(v: Vcpu, reg: number): number {
  const de = (v.guestCr4 & X86_CR4_DE) !== 0;
  switch (reg) {
    case 0:
    case 1:
    case 2:
    case 3:
      return v.debugreg[reg];
    case 4:
    case 6:
      return reg === 4 && de ? -1 : v.debugreg[6];
    case 5:
    case 7:
      return reg === 5 && de ? -1 : (v.debugreg[7] | v.dr7Emul) >>> 0;
    default:
      return -1;
  }
}

/** The high half of a debug register (DR0-3 of a 64-bit domain; 0 otherwise). */
export function readDebugregHi(v: Vcpu, reg: number): number {
  return reg >= 0 && reg < 4 ? v.debugregHi[reg] : 0;
}

/** get_debugreg(reg): the value itself is the result, or -ENODEV. */
export function doGetDebugreg(v: Vcpu, reg: number): number {
  const val = readDebugreg(v, reg);
  return val < 0 ? -ENODEV : val | 0;
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
