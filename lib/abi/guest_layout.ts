/**
 * The guest-visible structure layouts per guest width: the types of the two tables
 * (guest_layout_32.ts for a 32-bit PAE PV guest, i386 ABI; guest_layout_64.ts for a
 * 64-bit PV guest, x86_64 ABI), from Xen's public headers (xen.h, arch-x86/xen.h,
 * xen-x86_32.h, xen-x86_64.h, memory.h, grant_table.h, sched.h, vcpu.h, callback.h,
 * version.h), and {@link guestLayout}, which a domain calls once to pick its table.
 * tests/abi/guest_layout_test.ts checks every number against gcc -m32/-m64
 * compiling the headers.
 * @module
 */
import { LAYOUT_X86_32 } from "./guest_layout_32.ts";
import { LAYOUT_X86_64 } from "./guest_layout_64.ts";

export { LAYOUT_X86_32, LAYOUT_X86_64 };

/** A structure's field offsets (-1 where the field does not exist at that width) and size. */
export type Layout<K extends string> = { readonly [P in K | "size"]: number };

/** Offsets in struct start_info (-1: no such field at this width), and its size. */
export type StartInfoLayout = Layout<
  | "magic"
  | "nrPages"
  | "sharedInfo"
  | "flags"
  | "storeMfn"
  | "storeEvtchn"
  | "consoleDomUMfn"
  | "consoleDomUEvtchn"
  | "ptBase"
  | "nrPtFrames"
  | "mfnList"
  | "modStart"
  | "modLen"
  | "cmdLine"
  | "firstP2mPfn"
  | "nrP2mFrames"
>;
/** Offsets in struct shared_info (-1: no such field at this width), and its size. */
export type SharedInfoLayout = Layout<
  | "vcpuInfo"
  | "evtchnPending"
  | "evtchnMask"
  | "wcVersion"
  | "wcSec"
  | "wcNsec"
  | "archMaxPfn"
  | "archPfnToMfnFrameListList"
  | "archNmiReason"
  | "archP2mCr3"
  | "archP2mVaddr"
  | "archP2mGeneration"
  | "wcSecHi"
>;
/** Offsets in struct vcpu_info (-1: no such field at this width), and its size. */
export type VcpuInfoLayout = Layout<
  | "evtchnUpcallPending"
  | "evtchnUpcallMask"
  | "evtchnPendingSel"
  | "arch"
  | "archCr2"
  | "archPad"
  | "time"
>;
/** Offsets in struct vcpu_time_info (-1: no such field at this width), and its size. */
export type VcpuTimeInfoLayout = Layout<
  "version" | "tscTimestamp" | "systemTime" | "tscToSystemMul" | "tscShift" | "flags"
>;
/** Offsets in struct cpu_user_regs (-1: no such field at this width), and its size. */
export type CpuUserRegsLayout = Layout<
  | "r15"
  | "r14"
  | "r13"
  | "r12"
  | "rbp"
  | "rbx"
  | "r11"
  | "r10"
  | "r9"
  | "r8"
  | "rax"
  | "rcx"
  | "rdx"
  | "rsi"
  | "rdi"
  | "ebx"
  | "ecx"
  | "edx"
  | "esi"
  | "edi"
  | "ebp"
  | "eax"
  | "errorCode"
  | "entryVector"
  | "rip"
  | "eip"
  | "cs"
  | "savedUpcallMask"
  | "rflags"
  | "eflags"
  | "rsp"
  | "esp"
  | "ss"
  | "es"
  | "ds"
  | "fs"
  | "gs"
>;
/** Offsets in struct trap_info (-1: no such field at this width), and its size. */
export type TrapInfoLayout = Layout<"vector" | "flags" | "cs" | "address">;
/** Offsets in struct vcpu_guest_context (-1: no such field at this width), and its size. */
export type VcpuGuestContextLayout = Layout<
  | "fpuCtxt"
  | "flags"
  | "userRegs"
  | "trapCtxt"
  | "ldtBase"
  | "ldtEnts"
  | "gdtFrames"
  | "gdtEnts"
  | "kernelSs"
  | "kernelSp"
  | "ctrlreg"
  | "debugreg"
  | "eventCallbackCs"
  | "eventCallbackEip"
  | "failsafeCallbackCs"
  | "failsafeCallbackEip"
  | "syscallCallbackEip"
  | "vmAssist"
  | "fsBase"
  | "gsBaseKernel"
  | "gsBaseUser"
>;
/** Offsets in struct iret_context (-1: no such field at this width), and its size. */
export type IretContextLayout = Layout<
  "rax" | "r11" | "rcx" | "flags" | "rip" | "cs" | "rflags" | "rsp" | "ss"
>;
/** Offsets in struct multicall_entry (-1: no such field at this width), and its size. */
export type MulticallEntryLayout = Layout<"op" | "result" | "args">;
/** Offsets in struct mmu_update (-1: no such field at this width), and its size. */
export type MmuUpdateLayout = Layout<"ptr" | "val">;
/** Offsets in struct mmuext_op (-1: no such field at this width), and its size. */
export type MmuextOpLayout = Layout<"cmd" | "arg1" | "arg2">;
/** Offsets in struct vcpu_runstate_info (-1: no such field at this width), and its size. */
export type VcpuRunstateInfoLayout = Layout<"state" | "stateEntryTime" | "time">;
/** Offsets in struct callback_register (-1: no such field at this width), and its size. */
export type CallbackRegisterLayout = Layout<"type" | "flags" | "address">;
/** Offsets in struct xen_memory_reservation (-1: no such field at this width), and its size. */
export type MemoryReservationLayout = Layout<
  "extentStart" | "nrExtents" | "extentOrder" | "memFlags" | "domid"
>;
/** Offsets in struct xen_memory_exchange (-1: no such field at this width), and its size. */
export type MemoryExchangeLayout = Layout<"in" | "out" | "nrExchanged">;
/** Offsets in struct xen_machphys_mapping (-1: no such field at this width), and its size. */
export type MachphysMappingLayout = Layout<"vStart" | "vEnd" | "maxMfn">;
/** Offsets in struct xen_add_to_physmap (-1: no such field at this width), and its size. */
export type AddToPhysmapLayout = Layout<"domid" | "sizeField" | "space" | "idx" | "gpfn">;
/** Offsets in struct xen_remove_from_physmap (-1: no such field at this width), and its size. */
export type RemoveFromPhysmapLayout = Layout<"domid" | "gpfn">;
/** Offsets in struct xen_memory_map (-1: no such field at this width), and its size. */
export type MemoryMapLayout = Layout<"nrEntries" | "buffer">;
/** Offsets in struct gnttab_setup_table (-1: no such field at this width), and its size. */
export type GnttabSetupTableLayout = Layout<"dom" | "nrFrames" | "status" | "frameList">;
/** Offsets in struct gnttab_copy (-1: no such field at this width), and its size. */
export type GnttabCopyLayout = Layout<
  | "sourceURef"
  | "sourceDomid"
  | "sourceOffset"
  | "destURef"
  | "destDomid"
  | "destOffset"
  | "len"
  | "flags"
  | "status"
>;
/** Offsets in struct gnttab_get_status_frames (-1: no such field at this width), and its size. */
export type GnttabGetStatusFramesLayout = Layout<"nrFrames" | "dom" | "status" | "frameList">;
/** Offsets in struct sched_poll (-1: no such field at this width), and its size. */
export type SchedPollLayout = Layout<"ports" | "nrPorts" | "timeout">;
/** Offsets in struct vcpu_set_singleshot_timer (-1: no such field at this width), and its size. */
export type VcpuSetSingleshotTimerLayout = Layout<"timeoutAbsNs" | "flags">;
/** Offsets in struct xen_platform_parameters (-1: no such field at this width), and its size. */
export type PlatformParametersLayout = Layout<"virtStart">;
/** Offsets in struct vcpu_register_runstate_memory_area (-1: no such field at this width), and its size. */
export type RegisterRunstateAreaLayout = Layout<"addr">;
/** Every layout a PV guest of one width sees. */
export interface GuestLayout {
  /** 32 or 64. */
  readonly width: 32 | 64;
  /** sizeof(unsigned long) / xen_ulong_t / xen_pfn_t / guest handles. */
  readonly wordSize: 4 | 8;
  /** start_info.magic. */
  readonly startInfoMagic: string;
  /** Event channels of the 2-level ABI (sizeof(xen_ulong_t) * 8 squared). */
  readonly nrEvtchn2l: number;
  /** struct layout. */
  readonly startInfo: StartInfoLayout;
  /** struct layout. */
  readonly sharedInfo: SharedInfoLayout;
  /** struct layout. */
  readonly vcpuInfo: VcpuInfoLayout;
  /** struct layout. */
  readonly vcpuTimeInfo: VcpuTimeInfoLayout;
  /** struct layout. */
  readonly cpuUserRegs: CpuUserRegsLayout;
  /** struct layout. */
  readonly trapInfo: TrapInfoLayout;
  /** struct layout. */
  readonly vcpuGuestContext: VcpuGuestContextLayout;
  /** struct layout. */
  readonly iretContext: IretContextLayout;
  /** struct layout. */
  readonly multicallEntry: MulticallEntryLayout;
  /** struct layout. */
  readonly mmuUpdate: MmuUpdateLayout;
  /** struct layout. */
  readonly mmuextOp: MmuextOpLayout;
  /** struct layout. */
  readonly vcpuRunstateInfo: VcpuRunstateInfoLayout;
  /** struct layout. */
  readonly callbackRegister: CallbackRegisterLayout;
  /** struct layout. */
  readonly memoryReservation: MemoryReservationLayout;
  /** struct layout. */
  readonly memoryExchange: MemoryExchangeLayout;
  /** struct layout. */
  readonly machphysMapping: MachphysMappingLayout;
  /** struct layout. */
  readonly addToPhysmap: AddToPhysmapLayout;
  /** struct layout. */
  readonly removeFromPhysmap: RemoveFromPhysmapLayout;
  /** struct layout. */
  readonly memoryMap: MemoryMapLayout;
  /** struct layout. */
  readonly gnttabSetupTable: GnttabSetupTableLayout;
  /** struct layout. */
  readonly gnttabCopy: GnttabCopyLayout;
  /** struct layout. */
  readonly gnttabGetStatusFrames: GnttabGetStatusFramesLayout;
  /** struct layout. */
  readonly schedPoll: SchedPollLayout;
  /** struct layout. */
  readonly vcpuSetSingleshotTimer: VcpuSetSingleshotTimerLayout;
  /** struct layout. */
  readonly platformParameters: PlatformParametersLayout;
  /** struct layout. */
  readonly registerRunstateArea: RegisterRunstateAreaLayout;
}

/**
 * The layout table of a guest width.
 * @param width 32 or 64
 */
export function guestLayout(width: 32 | 64): GuestLayout {
  return width === 64 ? LAYOUT_X86_64 : LAYOUT_X86_32;
}
