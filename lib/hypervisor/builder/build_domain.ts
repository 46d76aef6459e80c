/**
 * The pv32pae domain builder: creates the domain, populates its memory, loads the kernel
 * and ramdisk, writes the P2M list, start_info, initial page tables, hypercall page and
 * shared_info, and returns the registers the first vcpu starts with (xc_dom_build_image
 * + vcpu_x86_32 + Xen's arch_set_info_guest).
 * @module
 */
import { InputError } from "../../errors.ts";
import { Domain } from "../domain/domain.ts";
import type { Host } from "../machine/host.ts";
import { FLAT_KERNEL_CS, FLAT_KERNEL_DS, FLAT_KERNEL_SS, X86_EFLAGS_IF } from "../../abi/mod.ts";
import { computeLayout, type DomainLayout } from "./layout.ts";
import { writeInitialPageTables } from "./initial_page_tables.ts";
import { fillHypercallPage } from "./hypercall_page.ts";
import { writeStartInfo } from "./start_info.ts";
import type { KernelImage } from "./kernel_image.ts";

/** Builder inputs. */
export interface BuildOptions {
  /** The new domain's id. */
  domid: number;
  /** Memory in pages. */
  pages: number;
  /** The parsed kernel. */
  kernel: KernelImage;
  /** Ramdisk/module bytes. */
  ramdisk?: Uint8Array;
  /** Kernel command line. */
  cmdline?: string;
  /** vcpus (1 by default). */
  vcpus?: number;
  /**
   * Allocates an unbound event channel in the new domain for a backend domain (the
   * console and xenstore channels); returns the guest's port.
   */
  allocUnbound?: (d: Domain, remoteDomid: number) => number;
  /**
   * Translated paging (XENFEAT_auto_translated_physmap): page tables, start_info's store
   * and console frames and the P2M list hold pfns; cr3 is a guest-physical address.
   */
  translated?: boolean;
}

/** The registers of vcpu 0 at entry. */
export interface BootRegs {
  eip: number;
  esp: number;
  esi: number;
  eflags: number;
  cs: number;
  ss: number;
  ds: number;
  /** Machine address of the L3 (cr3); its guest-physical address when translated. */
  cr3: number;
}

/** A built domain. */
export interface BuiltDomain {
  domain: Domain;
  layout: DomainLayout;
  regs: BootRegs;
  /** The store and console machine frames, for the toolstack side (mfns in both modes). */
  storeMfn: number;
  storeEvtchn: number;
  consoleMfn: number;
  consoleEvtchn: number;
  startInfoVa: number;
}

/**
 * Builds a domain on `host`.
 * @throws InputError when the image does not fit or memory is short
 */
export function buildDomain(host: Host, opts: BuildOptions): BuiltDomain {
  const k = opts.kernel;
  const layout = computeLayout({
    virtBase: k.virtBase,
    kernelStart: k.kernelStart,
    kernelEnd: k.kernelEnd,
    ramdiskBytes: opts.ramdisk?.length ?? 0,
    totalPages: opts.pages,
  });
  if (host.frames.freeFrames < opts.pages + 1) {
    throw new InputError(
      `Cannot build domain: ${opts.pages} pages requested, ${host.frames.freeFrames} available`,
    );
  }
  const d = new Domain(host, opts.domid, opts.pages, opts.vcpus ?? 1, opts.translated);
  for (let pfn = 0; pfn < opts.pages; pfn++) {
    if (d.populate(pfn) < 0) throw new InputError("Cannot build domain: out of machine memory");
  }
  if (!d.allocSharedInfo()) throw new InputError("Cannot build domain: out of machine memory");
  const mem = host.mem;
  const base = layout.virtBase;
  const pageOf = (pfn: number) => mem.u8.subarray(d.mfnOf(pfn) * 4096, d.mfnOf(pfn) * 4096 + 4096);
  const writeVirt = (va: number, bytes: Uint8Array) => {
    let off = 0;
    while (off < bytes.length) {
      const v = va + off;
      const pfn = Math.floor((v - base) / 4096);
      if (pfn < 0 || pfn >= opts.pages) {
        throw new InputError(`Cannot build domain: address 0x${v.toString(16)} is outside memory`);
      }
      const chunk = Math.min(bytes.length - off, 4096 - (v & 4095));
      mem.write(d.mfnOf(pfn) * 4096 + (v & 4095), bytes.subarray(off, off + chunk));
      off += chunk;
    }
  };

  for (const s of k.segments) {
    if (s.vaddr < layout.kernel.vstart || s.vaddr + s.memsz > layout.kernel.vend) {
      throw new InputError(
        `Cannot build domain: segment at 0x${s.vaddr.toString(16)} lies outside the kernel range`,
      );
    }
    writeVirt(s.vaddr, s.data); // the rest of memsz is already zero (fresh frames)
  }
  if (opts.ramdisk && layout.ramdisk) writeVirt(layout.ramdisk.vstart, opts.ramdisk);

  // The P2M list the guest reads at start_info.mfn_list.
  // A translated guest's frame numbers are its pfns, so its list is the identity.
  const tr = opts.translated ?? false;
  const gfnOf = tr ? (pfn: number) => pfn : (pfn: number) => d.mfnOf(pfn);
  const p2mBytes = new Uint8Array(opts.pages * 4);
  const p2mWords = new Uint32Array(p2mBytes.buffer);
  for (let pfn = 0; pfn < opts.pages; pfn++) p2mWords[pfn] = gfnOf(pfn);
  writeVirt(layout.p2m.vstart, p2mBytes);

  writeInitialPageTables(mem.u8, layout, (pfn) => d.mfnOf(pfn), gfnOf);
  for (let i = 0; i < layout.nrL3 + layout.nrL2 + layout.nrL1; i++) {
    mem.noteWrite(d.mfnOf(layout.pgtables.pfn + i) * 4096, 4096);
  }

  if (k.hypercallPage !== undefined) {
    const hp = k.hypercallPage >>> 0;
    const pfn = (hp - base) / 4096;
    if ((hp & 4095) !== 0 || pfn < 0 || pfn >= layout.pagesUsed) {
      throw new InputError(
        `Cannot build domain: hypercall page 0x${hp.toString(16)} is not a page of the image`,
      );
    }
    const page = new Uint8Array(4096);
    fillHypercallPage(page);
    mem.write(d.mfnOf(pfn) * 4096, page);
  }

  const storeEvtchn = opts.allocUnbound ? opts.allocUnbound(d, 0) : 0;
  const consoleEvtchn = opts.allocUnbound ? opts.allocUnbound(d, 0) : 0;
  const storeMfn = d.mfnOf(layout.xenstorePfn);
  const consoleMfn = d.mfnOf(layout.consolePfn);
  const siPage = new Uint8Array(4096);
  writeStartInfo(siPage, {
    nrPages: opts.pages,
    sharedInfoMaddr: d.sharedInfoMfn * 4096,
    flags: 0,
    storeMfn: gfnOf(layout.xenstorePfn),
    storeEvtchn,
    consoleMfn: gfnOf(layout.consolePfn),
    consoleEvtchn,
    ptBase: layout.pgtables.vstart,
    nrPtFrames: layout.nrL3 + layout.nrL2 + layout.nrL1,
    mfnList: layout.p2m.vstart,
    modStart: layout.ramdisk ? layout.ramdisk.vstart : 0,
    modLen: layout.ramdisk ? layout.ramdisk.vend - layout.ramdisk.vstart : 0,
    cmdline: opts.cmdline ?? "",
  });
  mem.write(pageOf(layout.startInfoPfn).byteOffset, siPage);

  const si = d.sharedInfo();
  host.clock.writeWallclock(si);
  for (const v of d.vcpus) host.clock.writeVcpuTime(si, v.id);

  const esp = base + (layout.bootstackPfn + 1) * 4096;
  const v0 = d.vcpus[0];
  v0.kernelSs = FLAT_KERNEL_SS;
  v0.kernelSp = esp;
  const regs: BootRegs = {
    eip: k.entry >>> 0,
    esp: esp >>> 0,
    esi: (base + layout.startInfoPfn * 4096) >>> 0,
    eflags: X86_EFLAGS_IF | 2,
    cs: FLAT_KERNEL_CS,
    ss: FLAT_KERNEL_SS,
    ds: FLAT_KERNEL_DS,
    cr3: gfnOf(layout.pgtables.pfn) * 4096,
  };
  v0.cr3 = regs.cr3;
  return {
    domain: d,
    layout,
    regs,
    storeMfn,
    storeEvtchn,
    consoleMfn,
    consoleEvtchn,
    startInfoVa: regs.esi,
  };
}
