/**
 * Starting a 64-bit PV domain's vcpus (arch_set_info_guest for vcpu 0 after the 64-bit
 * builder): each vcpu gets a CPU in long mode (EFER.LMA) on its 4-level walker
 * (`d.mm.lmWalkers[v]`, already on the kernel L4 the builder installed), the 64-bit
 * platform and GuestAccess64; vcpu 0 enters the kernel on FLAT_KERNEL_CS64 (0xe033,
 * L=1) with rsp on the boot stack and rsi = start_info.
 * @module
 */
import { CompatWalker, Cpu, type JitOptions } from "../../cpu/mod.ts";
import { InputError } from "../../errors.ts";
import type { BuiltDomain64 } from "../builder/build_domain64.ts";
import { PvDescriptorTables } from "../traps/descriptor_tables.ts";
import { GuestAccess64 } from "../pv64/guest_access64.ts";
import { Pv64Vcpu, U_RSI } from "../pv64/vcpu64.ts";
import { CpuAdapter64 } from "./cpu_adapter64.ts";
import { Pv64Platform } from "./pv64_platform.ts";
import type { Host } from "./host.ts";

/** Splits a bigint register value into (lo, hi). */
function halves(v: bigint): [number, number] {
  const u = BigInt.asUintN(64, v);
  return [Number(u & 0xffffffffn), Number(u >> 32n)];
}

/**
 * Creates the CPUs of a built 64-bit domain and loads vcpu 0's boot registers.
 * @returns the CPUs, per vcpu
 * @throws InputError when Xen's flat selectors do not load
 */
export function startVcpus64(host: Host, b: BuiltDomain64, jit: JitOptions | false): Cpu[] {
  const d = b.domain;
  const cpus: Cpu[] = [];
  for (const v of d.vcpus) {
    const walker = d.mm.lmWalkers[v.id];
    // compatibility-mode code translates through the 4-level walker (compat.ts)
    const cpu = new Cpu(host.mem, new Pv64Platform(v), new CompatWalker(), jit);
    cpu.lm.walker = walker;
    cpu.descriptorTables = new PvDescriptorTables(v);
    cpus.push(cpu);
    const port = new CpuAdapter64(cpu);
    v.cpu = port;
    v.cpu64 = port;
    v.pv64 = new Pv64Vcpu();
    v.access = new GuestAccess64(host.mem, walker);
  }
  const r = b.regs;
  const [ripLo, ripHi] = halves(r.rip);
  const [rspLo, rspHi] = halves(r.rsp);
  const [rsiLo, rsiHi] = halves(r.rsi);
  const v0 = d.vcpus[0];
  if (v0.cpu64!.enter64(r.cs, ripLo, ripHi, r.ss, rspLo, rspHi) !== 0) {
    throw new InputError("Cannot start the guest: Xen's flat 64-bit selectors did not load");
  }
  v0.cpu64!.setReg(U_RSI, rsiLo, rsiHi);
  v0.cpu.eflags = r.rflags;
  for (let i = 1; i < d.vcpus.length; i++) {
    d.vcpus[i].online = false;
    d.vcpus[i].initialised = false;
  }
  return cpus;
}
