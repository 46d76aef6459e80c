/**
 * Guest time: the TSC, Xen system time (ns since boot) and the wallclock, virtual and
 * deterministic by default, or tied to the host clock with `realtime`.
 *
 * Virtual time is paced like QEMU's `-icount`: every retired instruction is worth
 * 1e9 / {@link ClockOptions.instructionsPerSecond} ns (default
 * {@link DEFAULT_INSTRUCTIONS_PER_SECOND}, about what pvx executes per host second, so a
 * busy guest's clock keeps close to the wall), plus the idle time the run loop
 * fast-forwarded while every vcpu was blocked. The machine decides when it may
 * fast-forward (at once for runs fed from files; not past the host clock while input
 * can come from outside): the guest-visible sequence is the same either way. The vcpu_time_info
 * written into shared_info uses the version odd/even protocol of xen.h.
 * @module
 */
import {
  LAYOUT_X86_64,
  SI_ARCH_WC_SEC_HI,
  SI_WC_NSEC,
  SI_WC_SEC,
  SI_WC_VERSION,
  VCPU_INFO_SIZE,
  VI_TIME,
  VT_FLAGS,
  VT_SYSTEM_TIME,
  VT_TSC_SHIFT,
  VT_TSC_TIMESTAMP,
  VT_TSC_TO_SYSTEM_MUL,
  VT_VERSION,
  XEN_PVCLOCK_TSC_STABLE_BIT,
} from "../../abi/mod.ts";

/** The guest TSC runs at 1 GHz: one tick per nanosecond of system time. */
export const TSC_KHZ = 1_000_000;
/** tsc_to_system_mul for a 1 GHz TSC with tsc_shift 1: ((d << 1) * 2^31) >> 32 = d. */
export const TSC_TO_SYSTEM_MUL = 0x80000000;
/** tsc_shift paired with {@link TSC_TO_SYSTEM_MUL}. */
export const TSC_SHIFT = 1;
/** The virtual wallclock at boot (seconds since the epoch): fixed for determinism. */
export const VIRTUAL_EPOCH_SEC = 1_767_225_600; // 2026-01-01T00:00:00Z

/** Default pace of virtual time: instructions per virtual second (40 ns each). */
export const DEFAULT_INSTRUCTIONS_PER_SECOND = 25_000_000;

/** Time options. */
export interface ClockOptions {
  /** Tie time to the host clock instead of retired instructions. */
  realtime?: boolean;
  /** Virtual mode: instructions per virtual second (default 25 M). */
  instructionsPerSecond?: number;
}

/** The machine's clock: one per pvx machine, shared by all vcpus. */
export class GuestClock {
  /** Whether time follows the host clock. */
  readonly realtime: boolean;
  /** Source of retired instructions (the running CPU's counter). */
  retired: () => number = () => 0;
  /** Virtual mode: nanoseconds per retired instruction. */
  readonly nsPerInstruction: number;
  /** Nanoseconds added by idle fast-forward (virtual mode). */
  private skipped = 0;
  /** performance.now() at boot: the host-clock anchor of pacing and realtime mode. */
  readonly hostStart: number;
  private readonly wallStartSec: number;
  private readonly wallStartNsec: number;

  /** @param opts realtime or virtual */
  constructor(opts: ClockOptions = {}) {
    this.realtime = opts.realtime ?? false;
    const ips = opts.instructionsPerSecond ?? DEFAULT_INSTRUCTIONS_PER_SECOND;
    this.nsPerInstruction = 1e9 / ips;
    this.hostStart = performance.now();
    if (this.realtime) {
      const ms = Date.now();
      this.wallStartSec = Math.floor(ms / 1000);
      this.wallStartNsec = (ms % 1000) * 1_000_000;
    } else {
      this.wallStartSec = VIRTUAL_EPOCH_SEC;
      this.wallStartNsec = 0;
    }
  }

  /** The TSC now (integer, 1 GHz). */
  tsc(): number {
    if (this.realtime) {
      return Math.floor((performance.now() - this.hostStart) * 1_000_000) + this.skipped;
    }
    return Math.floor(this.retired() * this.nsPerInstruction) + this.skipped;
  }

  /** Host nanoseconds since boot (the pacing reference). */
  hostNs(): number {
    return Math.floor((performance.now() - this.hostStart) * 1_000_000);
  }

  /**
   * Instructions to run for virtual time to advance by at least `ns` (virtual mode).
   * @param ns nanoseconds (> 0)
   */
  instructionsFor(ns: number): number {
    return Math.ceil(ns / this.nsPerInstruction);
  }

  /** Xen system time now, in ns since boot (equal to the TSC at 1 GHz). */
  nowNs(): number {
    return this.tsc();
  }

  /**
   * Moves time forward while every vcpu is idle (virtual mode; in realtime mode the
   * caller waits on the host instead).
   * @param ns nanoseconds to skip (ignored when <= 0)
   */
  fastForward(ns: number): void {
    if (ns > 0) this.skipped += Math.ceil(ns);
  }

  /**
   * Writes vcpu `vcpuId`'s vcpu_time_info in a shared_info page (version odd during
   * the update, even after).
   * @param dv a DataView on the shared_info page
   */
  writeVcpuTime(dv: DataView, vcpuId: number): void {
    this.writeVcpuTimeAt(dv, vcpuId * VCPU_INFO_SIZE);
  }

  /**
   * Writes a vcpu_time_info into the vcpu_info at byte `vcpuInfo` of `dv` (for a
   * vcpu_info moved out of shared_info by VCPUOP_register_vcpu_info).
   */
  writeVcpuTimeAt(dv: DataView, vcpuInfo: number): void {
    const base = vcpuInfo + VI_TIME;
    const ver = dv.getUint32(base + VT_VERSION, true);
    const odd = (ver + 1) | 1;
    dv.setUint32(base + VT_VERSION, odd >>> 0, true);
    const tsc = this.tsc();
    setU64(dv, base + VT_TSC_TIMESTAMP, tsc);
    setU64(dv, base + VT_SYSTEM_TIME, tsc);
    dv.setUint32(base + VT_TSC_TO_SYSTEM_MUL, TSC_TO_SYSTEM_MUL, true);
    dv.setInt8(base + VT_TSC_SHIFT, TSC_SHIFT);
    dv.setUint8(base + VT_FLAGS, XEN_PVCLOCK_TSC_STABLE_BIT);
    dv.setUint32(base + VT_VERSION, (odd + 1) >>> 0, true);
  }

  /**
   * Writes the wallclock (time of boot) into a shared_info page, version-protected.
   * @param dv a DataView on the shared_info page
   * @param width the guest's width (the fields' offsets differ)
   */
  writeWallclock(dv: DataView, width: 32 | 64 = 32): void {
    // x86_32: wc_* at 2304, wc_sec_hi in arch_shared_info; x86_64: wc_* at 3072 with
    // wc_sec_hi beside them (LAYOUT_X86_64)
    const L = LAYOUT_X86_64.sharedInfo;
    const at = width === 64
      ? [L.wcVersion, L.wcSec, L.wcNsec, L.wcSecHi]
      : [SI_WC_VERSION, SI_WC_SEC, SI_WC_NSEC, SI_ARCH_WC_SEC_HI];
    const ver = dv.getUint32(at[0], true);
    const odd = (ver + 1) | 1;
    dv.setUint32(at[0], odd >>> 0, true);
    dv.setUint32(at[1], this.wallStartSec >>> 0, true);
    dv.setUint32(at[2], this.wallStartNsec, true);
    dv.setUint32(at[3], Math.floor(this.wallStartSec / 2 ** 32), true);
    dv.setUint32(at[0], (odd + 1) >>> 0, true);
  }
}

/** Writes a non-negative integer below 2^53 as a little-endian u64. */
export function setU64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v % 2 ** 32, true);
  dv.setUint32(off + 4, Math.floor(v / 2 ** 32), true);
}

/** Reads a little-endian u64 as a number (exact below 2^53). */
export function getU64(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 2 ** 32;
}

/**
 * Xen system time from a guest's view of vcpu_time_info: what a PV kernel computes.
 * @param dv the shared_info page
 * @param tsc the guest's rdtsc
 */
export function guestSystemTime(dv: DataView, vcpuId: number, tsc: number): number {
  const base = vcpuId * VCPU_INFO_SIZE + VI_TIME;
  const ts = getU64(dv, base + VT_TSC_TIMESTAMP);
  const sys = getU64(dv, base + VT_SYSTEM_TIME);
  const mul = dv.getUint32(base + VT_TSC_TO_SYSTEM_MUL, true);
  const shift = dv.getInt8(base + VT_TSC_SHIFT);
  let delta = BigInt(tsc - ts);
  delta = shift >= 0 ? delta << BigInt(shift) : delta >> BigInt(-shift);
  return sys + Number((delta * BigInt(mul)) >> 32n);
}
