import assert from "node:assert/strict";
import { ACC_FETCH, ACC_READ, ACC_USER, ACC_WRITE } from "../../lib/cpu/platform.ts";
import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_USER,
  MACH2PHYS_VIRT_END,
  MACH2PHYS_VIRT_START,
  MachineFrames,
  mmuUpdateNormalPt,
  PagingDomain,
  PFEC_FETCH,
  PFEC_PRESENT,
  PFEC_RSVD,
  PFEC_USER,
  PFEC_WRITE,
  PTE_HI_NX,
  showPageWalk,
  WALK_BAD_GFN,
} from "../../lib/paging/mod.ts";
import { PhysMemory } from "../../lib/cpu/phys_memory.ts";
import { makeTestGuest, peekEntry, pokeEntry, PTE_PRW_U } from "../../lib/paging/testing.ts";
import { asGfn } from "../../lib/abi/mod.ts";

Deno.test("PaeWalker.translate() maps a data page and sets accessed, then dirty on write", () => {
  const g = makeTestGuest();
  const w = g.dom.walkers[0];
  const mfn = g.dom.p2m.get(asGfn(10));
  assert.equal(peekEntry(g.frames, g.l1, 10) & _PAGE_ACCESSED, 0);
  assert.equal(w.translate(10 * 4096 + 0x123, ACC_READ | ACC_USER), mfn * 4096 + 0x123);
  assert.equal(peekEntry(g.frames, g.l1, 10) & (_PAGE_ACCESSED | _PAGE_DIRTY), _PAGE_ACCESSED);
  assert.ok(peekEntry(g.frames, g.l2, 0) & _PAGE_ACCESSED);
  assert.equal(w.lastWritable, false, "not dirty yet");
  assert.equal(w.translate(10 * 4096, ACC_WRITE), mfn * 4096);
  assert.ok(peekEntry(g.frames, g.l1, 10) & _PAGE_DIRTY);
  assert.equal(w.lastWritable, true);
});

Deno.test("PaeWalker.translate() faults writes to read-only pages (CR0.WP) with P|W", () => {
  const g = makeTestGuest();
  const w = g.dom.walkers[0];
  assert.equal(w.translate(1 * 4096, ACC_WRITE), -1); // the L2, mapped read-only
  assert.equal(w.pfErrorCode, PFEC_PRESENT | PFEC_WRITE);
  assert.equal(w.translate(1 * 4096, ACC_WRITE | ACC_USER), -1);
  assert.equal(w.pfErrorCode, PFEC_PRESENT | PFEC_WRITE | PFEC_USER);
  w.wp = false; // supervisor writes ignore R/W without WP
  assert.equal(w.translate(1 * 4096, ACC_WRITE), g.l2 * 4096);
  assert.equal(w.translate(1 * 4096, ACC_WRITE | ACC_USER), -1);
});

Deno.test("PaeWalker.translate() faults user access to supervisor pages with P|U", () => {
  const g = makeTestGuest();
  const mfn = g.dom.p2m.get(asGfn(12));
  assert.equal(mmuUpdateNormalPt(g.dom, g.l1 * 4096 + 12 * 8, (mfn << 12) | 3, 0), 0);
  const w = g.dom.walkers[0];
  assert.equal(w.translate(12 * 4096, ACC_READ | ACC_USER), -1);
  assert.equal(w.pfErrorCode, PFEC_PRESENT | PFEC_USER);
  assert.equal(w.translate(12 * 4096, ACC_READ), mfn * 4096);
});

Deno.test("PaeWalker.translate() reports not-present faults without the P bit", () => {
  const g = makeTestGuest();
  const w = g.dom.walkers[0];
  assert.equal(w.translate(200 * 4096, ACC_WRITE | ACC_USER), -1); // L1 slot empty
  assert.equal(w.pfErrorCode, PFEC_WRITE | PFEC_USER);
  assert.equal(w.translate(0x40000000, ACC_READ), -1); // L3 slot 1 empty
  assert.equal(w.pfErrorCode, 0);
  assert.equal(w.translate(0x00400000, ACC_FETCH), -1); // L2 slot 2 empty
  assert.equal(w.pfErrorCode, PFEC_FETCH);
});

Deno.test("PaeWalker.translate() honours NX with EFER.NXE and flags it reserved without", () => {
  const g = makeTestGuest();
  const mfn = g.dom.p2m.get(asGfn(12));
  assert.equal(
    mmuUpdateNormalPt(g.dom, g.l1 * 4096 + 12 * 8, (mfn << 12) | PTE_PRW_U, PTE_HI_NX),
    0,
  );
  const w = g.dom.walkers[0];
  assert.equal(w.translate(12 * 4096, ACC_FETCH), -1);
  assert.equal(w.pfErrorCode, PFEC_PRESENT | PFEC_FETCH);
  assert.equal(w.translate(12 * 4096, ACC_READ), mfn * 4096);
  assert.equal(w.translate(13 * 4096, ACC_FETCH | ACC_USER), g.dom.p2m.get(asGfn(13)) * 4096);
  w.nxe = false;
  assert.equal(w.translate(12 * 4096, ACC_READ), -1);
  assert.equal(w.pfErrorCode, PFEC_PRESENT | PFEC_RSVD);
  assert.equal(
    w.translate(11 * 4096, ACC_FETCH),
    g.dom.p2m.get(asGfn(11)) * 4096,
    "no NX: fetch ok",
  );
});

Deno.test("PaeWalker.translate() treats a PSE entry in a direct-mode table as reserved", () => {
  const g = makeTestGuest();
  pokeEntry(g.frames, g.l2, 5, (g.dom.p2m.get(asGfn(20)) << 12) | PTE_PRW_U | _PAGE_PSE);
  const w = g.dom.walkers[0];
  assert.equal(w.translate(5 << 21, ACC_READ), -1);
  assert.equal(w.pfErrorCode, PFEC_PRESENT | PFEC_RSVD);
});

Deno.test("PaeWalker.translate() lets the guest read the M2P window but never write it", () => {
  const g = makeTestGuest();
  const w = g.dom.walkers[0];
  const mfn = g.dom.p2m.get(asGfn(33));
  const va = MACH2PHYS_VIRT_START + mfn * 4;
  const maddr = w.translate(va, ACC_READ);
  assert.ok(maddr >= 0);
  assert.equal(g.frames.mem.dv.getUint32(maddr, true), 33);
  assert.ok(w.translate(va, ACC_READ | ACC_USER) >= 0);
  assert.equal(w.translate(va, ACC_WRITE), -1);
  assert.equal(w.pfErrorCode, PFEC_PRESENT | PFEC_WRITE);
  // Beyond the table and beyond the window: nothing is mapped.
  const end = MACH2PHYS_VIRT_START + g.frames.m2p.frameCount * 4096;
  assert.equal(w.translate(end, ACC_READ), -1);
  assert.equal(w.translate(MACH2PHYS_VIRT_END, ACC_READ), -1);
  assert.equal(w.translate(0xfffff000, ACC_READ), -1);
});

Deno.test("PaeWalker.translate() in translated mode walks pfns through the P2M", () => {
  const f = new MachineFrames(new PhysMemory(512));
  const d = new PagingDomain(f, 3, { translated: true });
  assert.equal(d.populatePhysmap(0, 16), 0);
  const m = (p: number) => d.p2m.get(asGfn(p));
  pokeEntry(f, m(0), 0, (1 << 12) | _PAGE_PRESENT); // pfn 1 is the L2
  pokeEntry(f, m(1), 0, (2 << 12) | PTE_PRW_U); // pfn 2 is the L1
  pokeEntry(f, m(1), 1, PTE_PRW_U | _PAGE_PSE); // 2 MiB over pfns 0..511 (mostly unbacked)
  pokeEntry(f, m(2), 5, (7 << 12) | PTE_PRW_U);
  pokeEntry(f, m(2), 6, (99 << 12) | PTE_PRW_U); // pfn 99: not populated
  const w = d.walkers[0];
  w.cr3 = 0; // guest-physical address of the L3
  assert.equal(w.translate(5 * 4096 + 4, ACC_WRITE | ACC_USER), m(7) * 4096 + 4);
  assert.equal(w.translate((1 << 21) + 3 * 4096, ACC_READ), m(3) * 4096);
  assert.equal(w.translate((1 << 21) + 17 * 4096, ACC_READ), -1); // pfn 17
  assert.equal(w.lastFault, WALK_BAD_GFN);
  assert.equal(w.translate(6 * 4096, ACC_READ), -1);
  assert.equal(w.lastFault, WALK_BAD_GFN);
  assert.equal(w.pfErrorCode, PFEC_PRESENT | PFEC_RSVD);
});

Deno.test("PaeWalker.translate() faults every access before a base pointer is loaded", () => {
  const f = new MachineFrames(new PhysMemory(256));
  const d = new PagingDomain(f, 3);
  assert.equal(d.walkers[0].translate(0x1000, ACC_WRITE), -1);
  assert.equal(d.walkers[0].pfErrorCode, PFEC_WRITE);
});

Deno.test("PaeWalker.translate() requires R/W in both the L2 and the L1 entry", () => {
  const g = makeTestGuest();
  assert.equal(
    mmuUpdateNormalPt(g.dom, g.l2 * 4096, (g.l1 << 12) | _PAGE_PRESENT | _PAGE_USER, 0),
    0,
  );
  const w = g.dom.walkers[0];
  assert.equal(w.translate(10 * 4096, ACC_WRITE), -1);
  assert.equal(w.pfErrorCode, PFEC_PRESENT | PFEC_WRITE);
  assert.ok(w.translate(10 * 4096, ACC_READ) >= 0);
});

Deno.test("showPageWalk() lists each level and stops at the first absent entry", () => {
  const g = makeTestGuest();
  const before = peekEntry(g.frames, g.l1, 5);
  const lines = showPageWalk(g.dom, 0, 0x5123);
  assert.equal(peekEntry(g.frames, g.l1, 5), before, "sets no accessed bit");
  assert.equal(before & _PAGE_ACCESSED, 0);
  assert.equal(lines.length, 5);
  assert.match(
    lines[1],
    new RegExp(`^ L3\\[000\\] = 00000000_[0-9a-f]+ mfn ${g.l2.toString(16)} pfn 1$`),
  );
  assert.match(lines[3], /^ L1\[005\] = .* pfn 5$/);
  assert.equal(
    lines[4],
    ` -> maddr ${(g.dom.p2m.get(asGfn(5)) * 4096 + 0x123).toString(16).padStart(9, "0")}`,
  );
  const absent = showPageWalk(g.dom, 0, 0x40000000);
  assert.equal(absent.at(-1), "  not present");
});
