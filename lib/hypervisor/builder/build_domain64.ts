/**
 * The 64-bit PV domain builder: creates a 64-bit domain, populates its memory, loads the
 * kernel and ramdisk, writes the P2M list (8-byte entries), start_info, the 4-level
 * initial page tables, the 64-bit hypercall page and shared_info, validates and pins the
 * L4 and installs it as vcpu 0's kernel base (xc_dom_build_image with the x86_64 hooks,
 * arch_setup_bootlate's pin, and arch_set_info_guest), and returns the registers vcpu 0
 * starts with (rsi = start_info).
 *
 * machine/start64.ts starts its vcpus in long mode.
 * @module
 */
import { InputError } from "../../errors.ts";
import { Domain } from "../domain/domain.ts";
import type { Host } from "../machine/host.ts";
import { SIF_MOD_START_PFN, X86_EFLAGS_IF } from "../../abi/mod.ts";
import { FLAT_KERNEL_CS64, FLAT_KERNEL_DS64, FLAT_KERNEL_SS64 } from "../../abi/mod.ts";
import { MMUEXT_PIN_L4_TABLE } from "../../paging/mod.ts";
import { mmuextOp64, newBaseptr64 } from "../../paging/mod.ts";
import { canonical, computeLayout64, type DomainLayout64, VADDR_MASK } from "./layout64.ts";
import { writeInitialPageTables64 } from "./page_tables64.ts";
import { fillHypercallPage64 } from "./hypercall_page64.ts";
import { writeStartInfo64 } from "./start_info64.ts";
import type { KernelImage64 } from "./kernel_image64.ts";

/** Builder inputs. */
export interface BuildOptions64 {
  /** The new domain's id. */
  domid: number;
  /** Memory in pages. */
  pages: number;
  /** The parsed kernel. */
  kernel: KernelImage64;
  /** Ramdisk/module bytes. */
  ramdisk?: Uint8Array;
  /** Kernel command line. */
  cmdline?: string;
  /** vcpus (1 by default). */
  vcpus?: number;
  /** Allocates an unbound event channel for a backend domain; returns the guest's port. */
  allocUnbound?: (d: Domain, remoteDomid: number) => number;
}

/** The registers of vcpu 0 at entry (64-bit values as bigint). */
export interface BootRegs64 {
  rip: bigint;
  rsp: bigint;
  /** start_info's virtual address. */
  rsi: bigint;
  rflags: number;
  cs: number;
  ss: number;
  ds: number;
  /** Machine address of the L4. */
  cr3: number;
}

/** A built 64-bit domain. */
export interface BuiltDomain64 {
  domain: Domain;
  layout: DomainLayout64;
  regs: BootRegs64;
  storeMfn: number;
  storeEvtchn: number;
  consoleMfn: number;
  consoleEvtchn: number;
}

/**
 * Builds a 64-bit PV domain on `host`.
 * @throws InputError when the image does not fit, memory is short, or the initial page
 *   tables would not pass Xen's 64-bit validation
 */
export function buildDomain64(host: Host, opts: BuildOptions64): BuiltDomain64 {
  const k = opts.kernel;
  const layout = computeLayout64({
    virtBase: k.virtBase,
    kernelStart: k.kernelStart,
    kernelEnd: k.kernelEnd,
    ramdiskBytes: opts.ramdisk?.length ?? 0,
    modStartPfn: k.modStartPfn,
    p2mBase: k.p2mBase,
    totalPages: opts.pages,
  });
  if (host.frames.freeFrames < opts.pages + 1) {
    throw new InputError(
      `Cannot build domain: ${opts.pages} pages requested, ${host.frames.freeFrames} available`,
    );
  }
  const d = new Domain(host, opts.domid, opts.pages, opts.vcpus ?? 1, false, true);
  for (let pfn = 0; pfn < opts.pages; pfn++) {
    if (d.populate(pfn) < 0) throw new InputError("Cannot build domain: out of machine memory");
  }
  if (!d.allocSharedInfo()) throw new InputError("Cannot build domain: out of machine memory");
  const mem = host.mem;
  const base = layout.virtBase;
  const mfnOf = (pfn: number) => d.mfnOf(pfn);
  const writePfn = (pfn: number, off: number, bytes: Uint8Array) => {
    let o = 0;
    while (o < bytes.length) {
      const p = pfn + Math.floor((off + o) / 4096);
      const at = (off + o) % 4096;
      if (p < 0 || p >= opts.pages) {
        throw new InputError(`Cannot build domain: pfn 0x${p.toString(16)} is outside memory`);
      }
      const chunk = Math.min(bytes.length - o, 4096 - at);
      mem.write(mfnOf(p) * 4096 + at, bytes.subarray(o, o + chunk));
      o += chunk;
    }
  };
  const kernelEnd = layout.kernel.vend;
  for (const s of k.segments) {
    const va = Number(s.vaddr & BigInt(VADDR_MASK));
    if (va < layout.kernel.vstart || va + s.memsz > kernelEnd) {
      throw new InputError(
        `Cannot build domain: segment at 0x${s.vaddr.toString(16)} lies outside the kernel range`,
      );
    }
    writePfn(0, va - base, s.data);
  }
  if (opts.ramdisk && layout.ramdisk) writePfn(layout.ramdisk.pfn, 0, opts.ramdisk);

  // The P2M list: one u64 per pfn.
  const list = new Uint8Array(layout.p2m.pages * 4096);
  const lv = new DataView(list.buffer);
  for (let pfn = 0; pfn < opts.pages; pfn++) lv.setUint32(pfn * 8, mfnOf(pfn), true);
  writePfn(layout.p2m.pfn, 0, list.subarray(0, Math.ceil((opts.pages * 8) / 4096) * 4096));

  writeInitialPageTables64(host.frames.u32, layout, mfnOf);
  for (const m of layout.maps) {
    for (let i = 0; i < m.tables; i++) mem.noteWrite(mfnOf(m.levels[3].pfn + i) * 4096, 4096);
  }

  if (k.hypercallPage !== undefined) {
    const hp = k.hypercallPage;
    const off = Number(hp & BigInt(VADDR_MASK)) - base;
    const pfn = off / 4096;
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= layout.kernel.pfn + layout.kernel.pages) {
      throw new InputError(
        `Cannot build domain: hypercall page 0x${hp.toString(16)} is not a page of the kernel`,
      );
    }
    const page = new Uint8Array(4096);
    fillHypercallPage64(page);
    mem.write(mfnOf(pfn) * 4096, page);
  }

  const storeEvtchn = opts.allocUnbound ? opts.allocUnbound(d, 0) : 0;
  const consoleEvtchn = opts.allocUnbound ? opts.allocUnbound(d, 0) : 0;
  const storeMfn = mfnOf(layout.xenstorePfn);
  const consoleMfn = mfnOf(layout.consolePfn);
  const rd = layout.ramdisk;
  const siPage = new Uint8Array(4096);
  writeStartInfo64(siPage, {
    nrPages: opts.pages,
    sharedInfoMaddr: d.sharedInfoMfn * 4096,
    flags: layout.ramdiskByPfn ? SIF_MOD_START_PFN : 0,
    storeMfn,
    storeEvtchn,
    consoleMfn,
    consoleEvtchn,
    ptBase: canonical(layout.pgtables.vstart),
    nrPtFrames: layout.maps[0].tables,
    mfnList: canonical(layout.p2m.vstart),
    modStart: rd === null ? 0n : layout.ramdiskByPfn ? BigInt(rd.pfn) : canonical(rd.vstart),
    modLen: rd === null ? 0 : layout.ramdiskByPfn ? rd.pages * 4096 : opts.ramdisk!.length,
    cmdline: opts.cmdline ?? "",
    firstP2mPfn: layout.p2mSeparate ? layout.p2m.pfn : 0,
    nrP2mFrames: layout.p2mSeparate ? layout.p2m.pages : 0,
  });
  mem.write(mfnOf(layout.startInfoPfn) * 4096, siPage);

  const si = d.sharedInfo();
  host.clock.writeWallclock(si, 64);
  for (const v of d.vcpus) host.clock.writeVcpuTime(si, v.id);

  // arch_setup_bootlate pins the L4; arch_set_info_guest installs it as the kernel base.
  const l4 = mfnOf(layout.pgtables.pfn);
  const f = host.frames;
  if (mmuextOp64(d.mm, 0, MMUEXT_PIN_L4_TABLE, l4) !== 0 || newBaseptr64(d.mm, 0, l4) !== 0) {
    throw new InputError(
      `Cannot build domain: the initial page tables fail validation (${f.reason})`,
    );
  }
  f.tlbFlushedAll();
  d.mm.flush.clear(0);

  const rsp = canonical(base + (layout.bootstackPfn + 1) * 4096);
  const v0 = d.vcpus[0];
  v0.kernelSs = FLAT_KERNEL_SS64;
  const regs: BootRegs64 = {
    rip: k.entry,
    rsp,
    rsi: canonical(base + layout.startInfoPfn * 4096),
    rflags: X86_EFLAGS_IF | 2,
    cs: FLAT_KERNEL_CS64,
    ss: FLAT_KERNEL_SS64,
    ds: FLAT_KERNEL_DS64,
    cr3: l4 * 4096,
  };
  v0.cr3 = regs.cr3;
  return { domain: d, layout, regs, storeMfn, storeEvtchn, consoleMfn, consoleEvtchn };
}
