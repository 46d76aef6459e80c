/**
 * The 64-bit PV builder on real images: Debian's grub-x86_64-xen.bin, Debian's amd64
 * Linux (INIT_P2M, MOD_START_PFN) and XTF's pv64 tests. Expected layouts follow
 * libxenguest's algorithm worked by hand (the derivations are in the comments); every
 * built image is also walked through its own page tables and passes Xen's 64-bit
 * validation (the builder pins its L4).
 */
import assert from "node:assert/strict";
import { Host } from "../../../lib/hypervisor/machine/host.ts";
import {
  buildDomain64,
  type BuiltDomain64,
} from "../../../lib/hypervisor/builder/build_domain64.ts";
import { loadKernelImage64 } from "../../../lib/hypervisor/builder/kernel_image64.ts";
import { readStartInfo64 } from "../../../lib/hypervisor/builder/start_info64.ts";
import { canonical, VADDR_MASK } from "../../../lib/hypervisor/builder/layout64.ts";
import { L4_RO_MPT_SLOT, PGT_l4_page_table, PGT_pinned, split64 } from "../../../lib/paging/mod.ts";
import { softWalk64 } from "../../../lib/paging/testing64.ts";
import { ACC_USER, ACC_WRITE } from "../../../lib/cpu/platform.ts";

const CACHE = new URL("../../fixtures/cache/inspect/", import.meta.url).pathname;
const GRUB = CACHE + "grub-x86_64-xen.bin";
const LINUX = CACHE + "vmlinuz";
const XTF = "/work/shared/xtf/pv64/";
const exists = (p: string) => {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
};

function build(path: string, pages: number, ramdisk?: Uint8Array): BuiltDomain64 {
  const host = new Host({ frames: pages + 4096 });
  let port = 1;
  return buildDomain64(host, {
    domid: 1,
    pages,
    kernel: loadKernelImage64(Deno.readFileSync(path), path),
    ramdisk,
    cmdline: "console=hvc0",
    allocUnbound: () => port++,
  });
}

/** Reads `n` bytes at a canonical guest address through the guest's own tables. */
function readGuest(b: BuiltDomain64, va: bigint, n: number): Uint8Array {
  const f = b.domain.host.frames;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const [lo, hi] = split64(va + BigInt(i));
    const m = softWalk64(f, b.regs.cr3 / 4096, lo, hi);
    assert.ok(m >= 0, `0x${(va + BigInt(i)).toString(16)} is mapped`);
    out[i] = f.mem.u8[m];
  }
  return out;
}

/** Checks what every built image must satisfy. */
function checkImage(b: BuiltDomain64, pages: number): void {
  const d = b.domain, f = d.host.frames, l = b.layout;
  const l4 = b.regs.cr3 / 4096;
  assert.equal(f.type[l4], PGT_l4_page_table);
  assert.ok(f.tflags[l4] & PGT_pinned);
  assert.equal(d.mm.baseMfn[0], l4);
  assert.equal(l4, d.mfnOf(l.pgtables.pfn), "the L4 is the first page-table page");
  // Every page of the kernel mapping is the pfn at its offset from virt_base; page-table
  // pages are read-only, everything else writable.
  for (let va = l.virtBase; va < l.virtPgtabEnd; va += 4096) {
    const pfn = (va - l.virtBase) / 4096;
    const [lo, hi] = split64(canonical(va));
    assert.equal(softWalk64(f, l4, lo, hi), d.mfnOf(pfn) * 4096, `va ${va.toString(16)}`);
    const table = pfn >= l.pgtables.pfn && pfn < l.pgtables.pfn + l.pgtables.pages;
    assert.equal(softWalk64(f, l4, lo, hi, true, true) >= 0, !table, `rw of pfn ${pfn}`);
  }
  // The CPU's 4-level walker (the kernel runs in ring 3) agrees, page by page.
  const w = d.mm.lmWalkers[0];
  assert.equal(w.cr3, l4 * 4096);
  for (let va = l.virtBase; va < l.virtPgtabEnd; va += 4096 * 7) {
    const [lo, hi] = split64(canonical(va));
    assert.equal(w.translate64(lo, hi, ACC_USER), softWalk64(f, l4, lo, hi), `lm walk ${va}`);
    const pfn = (va - l.virtBase) / 4096;
    const table = pfn >= l.pgtables.pfn && pfn < l.pgtables.pfn + l.pgtables.pages;
    assert.equal(w.translate64(lo, hi, ACC_USER | ACC_WRITE) >= 0, !table);
  }
  // start_info at rsi, through the guest's tables.
  const si = readStartInfo64(readGuest(b, b.regs.rsi, 4096));
  assert.equal(si.magic, "xen-3.0-x86_64");
  assert.equal(si.nrPages, pages);
  assert.equal(si.sharedInfoMaddr, d.sharedInfoMfn * 4096);
  assert.equal(si.storeMfn, d.mfnOf(l.xenstorePfn));
  assert.equal(si.consoleMfn, d.mfnOf(l.consolePfn));
  assert.equal(si.ptBase, canonical(l.pgtables.vstart));
  assert.equal(si.nrPtFrames, l.maps[0].tables);
  assert.equal(si.cmdline, "console=hvc0");
  assert.equal(b.regs.rsp, canonical(l.virtBase + (l.bootstackPfn + 1) * 4096));
  assert.equal(b.regs.cs, 0xe033);
  assert.equal(b.regs.ss, 0xe02b);
  assert.equal(b.regs.ds, 0);
  // The P2M list at mfn_list holds each pfn's mfn as a u64.
  for (const pfn of [0, 1, pages >> 1, pages - 1]) {
    const e = new DataView(readGuest(b, si.mfnList + BigInt(pfn * 8), 8).buffer);
    assert.equal(e.getBigUint64(0, true), BigInt(d.mfnOf(pfn)), `p2m[${pfn}]`);
  }
  // Xen's read-only M2P is in slot 256 and says where each frame belongs.
  assert.notEqual(f.u32[l4 * 1024 + L4_RO_MPT_SLOT * 2], 0);
  const m = d.mfnOf(5);
  const e = new DataView(readGuest(b, 0xffff800000000000n + BigInt(m) * 8n, 8).buffer);
  assert.equal(e.getBigUint64(0, true), 5n);
}

Deno.test({
  name: "build64: grub-x86_64-xen.bin, 128 MiB: the layout libxenguest gives it" +
    (exists(GRUB) ? "" : " (ignored: fixture missing, run .ci/setup.d)"),
  ignore: !exists(GRUB),
  fn() {
    const b = build(GRUB, 32768);
    const l = b.layout;
    // virt_base 0; kernel 0..0x613dc8: 1556 pages; P2M 32768 * 8 bytes: 64 pages
    // (pfn 1556); start_info, xenstore, console at 1620..1622 (0x657000). Tables:
    // 0x657000 + 129 pages rounds to 0x7fffff: 1 L4, 1 L3, 1 L2, 4 L1s = 7, at 1623;
    // boot stack 1630; the mapping ends at 8 MiB.
    assert.equal(l.kernel.pages, 1556);
    assert.equal(l.p2m.pfn, 1556);
    assert.equal(l.p2m.pages, 64);
    assert.equal(l.p2m.vstart, 1556 * 4096);
    assert.equal(l.p2mSeparate, false);
    assert.deepEqual([l.startInfoPfn, l.xenstorePfn, l.consolePfn], [1620, 1621, 1622]);
    assert.equal(l.pgtables.pfn, 1623);
    assert.equal(l.maps[0].tables, 7);
    assert.deepEqual(l.maps[0].levels.map((x) => x.count), [4, 1, 1, 1]);
    assert.equal(l.bootstackPfn, 1630);
    assert.equal(l.virtPgtabEnd, 0x800000);
    assert.equal(l.pagesUsed, 2048);
    assert.equal(b.regs.rip, 0n);
    assert.equal(b.regs.rsi, 1620n * 4096n);
    checkImage(b, 32768);
  },
});

Deno.test({
  name: "build64: Debian amd64 Linux: kernel in the top 2 GiB, P2M at INIT_P2M, initrd by pfn" +
    (exists(LINUX) ? "" : " (ignored: fixture missing, run .ci/setup.d)"),
  ignore: !exists(LINUX),
  fn() {
    const ramdisk = new Uint8Array(10_000).fill(0xa5);
    const b = build(LINUX, 65536, ramdisk);
    const l = b.layout;
    const si = readStartInfo64(readGuest(b, b.regs.rsi, 4096));
    // virt_base 0xffffffff80000000; kernel 0xffffffff81000000..0xffffffff84a00000: pfns
    // 4096..18943; start_info 18944, xenstore 18945, console 18946; the mapping grows to
    // 0xffffffff84bfffff: 1 L4, 1 L3, 1 L2, 38 L1s = 41 tables at 18947, boot stack
    // 18988, padding to pfn 19456; the initrd by pfn (3 pages) at 19456; the P2M list
    // (128 pages) at 19459 mapped at 0x8000000000 by 1 L3, 1 L2, 1 L1 after it.
    assert.equal(l.kernel.pfn, 4096);
    assert.equal(l.kernel.pages, 14848);
    assert.deepEqual([l.startInfoPfn, l.xenstorePfn, l.consolePfn], [18944, 18945, 18946]);
    assert.equal(l.pgtables.pfn, 18947);
    assert.deepEqual(l.maps[0].levels.map((x) => x.count), [38, 1, 1, 1]);
    assert.equal(l.bootstackPfn, 18988);
    assert.equal(canonical(l.virtPgtabEnd), 0xffffffff84c00000n);
    assert.equal(l.ramdiskByPfn, true);
    assert.equal(si.flags & 8, 8, "SIF_MOD_START_PFN");
    assert.equal(si.modStart, 19456n);
    assert.equal(si.modLen, 3 * 4096);
    assert.equal(b.domain.host.mem.u8[b.domain.mfnOf(19456) * 4096], 0xa5);
    assert.equal(l.p2mSeparate, true);
    assert.equal(si.mfnList, 0x8000000000n);
    assert.equal(si.firstP2mPfn, 19459);
    assert.equal(si.nrP2mFrames, 131);
    assert.deepEqual(l.maps[1].levels.map((x) => x.count), [1, 1, 1, 0]);
    assert.equal(l.maps[1].levels[2].pfn, 19459 + 128);
    assert.equal(b.regs.rip, 0xffffffff830791c0n);
    checkImage(b, 65536);
    // The P2M mapping's own tables are read-only where mapped: not at all, here.
    const f = b.domain.host.frames;
    const [lo, hi] = split64(0x8000000000n + 128n * 4096n);
    assert.equal(softWalk64(f, b.regs.cr3 / 4096, lo, hi), -1, "nothing past the P2M list");
  },
});

const xtfTests = exists(XTF)
  ? [...Deno.readDirSync(XTF)].map((e) => e.name).filter((n) => !n.includes(".")).sort()
  : [];

Deno.test({
  name:
    `build64: every XTF pv64 test (${xtfTests.length}) builds, validates and maps its hypercall page` +
    (xtfTests.length ? "" : " (ignored: /work/shared/xtf/pv64 missing)"),
  ignore: xtfTests.length === 0,
  fn() {
    for (const name of xtfTests) {
      const b = build(XTF + name, 4096);
      assert.equal(b.layout.virtBase, 0, name);
      assert.equal(b.regs.rip & BigInt(VADDR_MASK), b.regs.rip, name);
      checkImage(b, 4096);
      const k = loadKernelImage64(Deno.readFileSync(XTF + name), name);
      assert.ok(k.hypercallPage !== undefined, `${name} has a hypercall page`);
      const page = readGuest(b, k.hypercallPage!, 64);
      // Slot 1 (mmu_update): push %rcx; push %r11; mov $1,%eax; syscall; pop %r11; pop %rcx; ret.
      assert.deepEqual(
        [...page.subarray(32, 46)],
        [0x51, 0x41, 0x53, 0xb8, 1, 0, 0, 0, 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3],
        name,
      );
    }
  },
});

Deno.test("build64: refuses what would not fit or would reach Xen's range", () => {
  const kernel = {
    virtBase: 0xffff800000000000n,
    entry: 0xffff800000000000n,
    kernelStart: 0xffff800000000000n,
    kernelEnd: 0xffff800000100000n,
    modStartPfn: false,
    supportedFeatures: 0,
    segments: [],
  };
  const host = new Host({ frames: 8192 });
  assert.throws(
    () => buildDomain64(host, { domid: 1, pages: 2048, kernel }),
    /inside Xen's range/,
  );
  assert.throws(
    () =>
      buildDomain64(host, {
        domid: 2,
        pages: 64,
        kernel: { ...kernel, virtBase: 0n, entry: 0n, kernelStart: 0n },
      }),
    /does not fit|not enough memory|needs more than/,
  );
  assert.throws(
    () =>
      buildDomain64(host, {
        domid: 3,
        pages: 2048,
        kernel: { ...kernel, virtBase: 0x0000800000000000n },
      }),
    /not canonical/,
  );
});
