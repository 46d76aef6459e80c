/**
 * Xen's 64-bit PV page-table rules, one test per rule: validation and adjustment of
 * 4-level tables, Xen's L4 slots and the read-only 64-bit M2P, pinning and base pointers,
 * linear page tables at every level, mmu_update / update_va_mapping with 64-bit entries,
 * and teardown.
 */
import assert from "node:assert/strict";
import {
  _PAGE_ACCESSED,
  _PAGE_GLOBAL,
  _PAGE_PCD,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_RW,
  _PAGE_USER,
  DOMID_XEN,
  FLUSH_ALL,
  isCanonical,
  L4_FIRST_XEN_SLOT,
  L4_LAST_XEN_SLOT,
  L4_RO_MPT_SLOT,
  MACH2PHYS_NR_ENTRIES_64,
  MACHPHYS_MAPPING_64,
  MMUEXT_NEW_USER_BASEPTR,
  MMUEXT_PIN_L2_TABLE,
  MMUEXT_PIN_L3_TABLE,
  MMUEXT_PIN_L4_TABLE,
  MMUEXT_UNPIN_TABLE,
  mmuextOp,
  mmuextOp64,
  mmuMachphysUpdate,
  mmuUpdate64,
  PagingDomain,
  PGT_l1_page_table,
  PGT_l2_page_table,
  PGT_l3_page_table,
  PGT_l4_page_table,
  PGT_pinned,
  PGT_validated,
  PGT_writable_page,
  PTE_HI_GUEST_KERNEL,
  PTE_HI_NX,
  pteFrame,
  ptwrUpdate64,
  setGuestMode64,
  split64,
  updateVaMapping64,
  UVMF_INVLPG,
} from "../../lib/paging/mod.ts";
import { makeTestGuest64, softWalk64 } from "../../lib/paging/testing64.ts";
import { asGfn, EBUSY, EINVAL } from "../../lib/abi/mod.ts";
import { ACC_USER, ACC_WRITE } from "../../lib/cpu/platform.ts";
import { peekEntry, pokeEntry } from "../../lib/paging/testing.ts";

const P = _PAGE_PRESENT, RW = _PAGE_RW, US = _PAGE_USER;
const hiOf = (f: { u32: Uint32Array }, t: number, s: number) => f.u32[t * 1024 + s * 2 + 1];

Deno.test("64-bit: the guest's tables validate as L4/L3/L2/L1 and gain Xen's bits", () => {
  const g = makeTestGuest64();
  const f = g.frames;
  assert.equal(f.type[g.l4], PGT_l4_page_table);
  assert.equal(f.type[g.l3], PGT_l3_page_table);
  assert.equal(f.type[g.l2], PGT_l2_page_table);
  assert.equal(f.type[g.l1], PGT_l1_page_table);
  assert.ok(f.tflags[g.l4] & PGT_pinned);
  for (const t of [g.l4, g.l3, g.l2, g.l1]) assert.ok(f.tflags[t] & PGT_validated);
  // adjust_guest_l4e: USER and ACCESSED; l3e/l2e: USER.
  assert.equal(peekEntry(f, g.l4, 0) & 0xfff, P | RW | US | _PAGE_ACCESSED);
  assert.equal(peekEntry(f, g.l3, 0) & 0xfff, P | RW | US);
  assert.equal(peekEntry(f, g.l2, 0) & 0xfff, P | RW | US);
  // adjust_guest_l1e: a kernel page (no USER) gains USER and _PAGE_GUEST_KERNEL (bit 52).
  assert.equal(peekEntry(f, g.l1, 5) & 0xfff, P | RW | US);
  assert.equal(hiOf(f, g.l1, 5), PTE_HI_GUEST_KERNEL);
  // Data pages are writable-typed, table pages are not mapped writable.
  assert.equal(f.type[g.dom.p2m.get(asGfn(5))], PGT_writable_page);
});

Deno.test("64-bit: a user page (USER set) gains GLOBAL, not GUEST_KERNEL", () => {
  const g = makeTestGuest64();
  const f = g.frames, d = g.dom;
  const data = d.p2m.get(asGfn(7));
  assert.equal(updateVaMapping64(d, 0, 0x7000, 0, (data << 12) | P | RW | US, 0, 0), 0);
  assert.equal(peekEntry(f, g.l1, 7) & 0xfff, P | RW | US | _PAGE_GLOBAL);
  assert.equal(hiOf(f, g.l1, 7), 0);
});

Deno.test("64-bit: Xen's L4 slots 256..271 are filled by Xen and closed to the guest", () => {
  const g = makeTestGuest64();
  const f = g.frames, d = g.dom;
  // Slot 256: the read-only M2P (without m2p_strict it is filled at NEW_BASEPTR); the
  // other Xen slots hold nothing a ring-3 guest could use.
  const e256 = peekEntry(f, g.l4, L4_RO_MPT_SLOT);
  assert.equal(e256 & (P | RW | US), P | US);
  assert.equal(f.owner[pteFrame(e256, hiOf(f, g.l4, 256))], DOMID_XEN);
  for (let s = L4_FIRST_XEN_SLOT + 1; s <= L4_LAST_XEN_SLOT; s++) {
    assert.equal(peekEntry(f, g.l4, s), 0, `slot ${s}`);
  }
  // mmu_update of a Xen slot: -EINVAL, whatever the value; a guest slot above them works.
  const l3b = d.p2m.get(asGfn(20));
  pokeEntry(f, l3b, 0, 0);
  for (const s of [256, 258, 271]) {
    assert.equal(mmuUpdate64(d, g.l4 * 4096 + s * 8, 0, 0), -EINVAL, `slot ${s} clear`);
    assert.equal(mmuUpdate64(d, g.l4 * 4096 + s * 8, (l3b << 12) | P, 0), -EINVAL);
  }
  assert.equal(f.reason, "L4 update in Xen-private area");
  // Frame 20 is mapped writable in the L1: drop that mapping first, then it can be an L3.
  assert.equal(updateVaMapping64(d, 0, 20 * 4096, 0, 0, 0, 0), 0);
  assert.equal(mmuUpdate64(d, g.l4 * 4096 + 272 * 8, (l3b << 12) | P, 0), 0);
  assert.equal(f.type[l3b], PGT_l3_page_table);
  assert.equal(peekEntry(f, g.l4, 272), (l3b << 12) | P | US | _PAGE_ACCESSED);
});

Deno.test("64-bit: the read-only M2P is readable at 0xffff800000000000, not writable", () => {
  const g = makeTestGuest64();
  const f = g.frames, d = g.dom;
  const mfn = d.p2m.get(asGfn(9));
  const [lo, hi] = split64(0xffff800000000000n + BigInt(mfn) * 8n);
  const m = softWalk64(f, g.l4, lo, hi, true, false);
  assert.ok(m >= 0, "M2P entry reachable with user rights");
  assert.equal(f.mem.dv.getUint32(m, true), 9);
  assert.equal(f.mem.dv.getUint32(m + 4, true), 0);
  assert.equal(softWalk64(f, g.l4, lo, hi, true, true), -1, "no write path");
  // MMU_MACHPHYS_UPDATE shows at once in the 64-bit table; a freed frame reads ~0.
  assert.equal(mmuMachphysUpdate(d, mfn, 0x1234), 0);
  assert.equal(f.mem.dv.getUint32(m, true), 0x1234);
  assert.equal(f.m2p64.get(mfn), 0x1234);
  const free = [...Array(f.count).keys()].find((x) => f.owner[x] === 0xffff)!;
  assert.equal(f.m2p64.get(free), -1);
  // The machphys_mapping a 64-bit guest is told about.
  assert.equal(MACHPHYS_MAPPING_64.vStart, 0xffff800000000000n);
  assert.equal(MACHPHYS_MAPPING_64.vEnd, 0xffff804000000000n);
  assert.equal(MACHPHYS_MAPPING_64.maxMfn, BigInt(MACH2PHYS_NR_ENTRIES_64 - 1));
  assert.equal(MACH2PHYS_NR_ENTRIES_64, 2 ** 35);
});

Deno.test("64-bit: m2p_strict: L4s are created with the M2P and lose it as user bases", () => {
  const g = makeTestGuest64(64, 2048, true);
  const f = g.frames, d = g.dom;
  assert.notEqual(peekEntry(f, g.l4, L4_RO_MPT_SLOT), 0, "created with the M2P");
  // A second L4 for user mode.
  const u4 = d.p2m.get(asGfn(30));
  assert.equal(updateVaMapping64(d, 0, 30 * 4096, 0, (u4 << 12) | P, 0, 0), 0);
  assert.equal(mmuextOp64(d, 0, MMUEXT_NEW_USER_BASEPTR, u4), 0);
  assert.equal(f.type[u4], PGT_l4_page_table);
  assert.equal(d.userBaseMfn[0], u4);
  assert.equal(peekEntry(f, u4, L4_RO_MPT_SLOT), 0, "zapped for user mode");
  // Back to none: the reference goes and the frame can be writable again.
  assert.equal(mmuextOp64(d, 0, MMUEXT_NEW_USER_BASEPTR, 0), 0);
  assert.equal(f.typeCount[u4], 0);
});

Deno.test("64-bit: without m2p_strict a fresh L4 lacks the M2P until it is a kernel base", () => {
  const g = makeTestGuest64();
  const f = g.frames, d = g.dom;
  const k4 = d.p2m.get(asGfn(31));
  assert.equal(updateVaMapping64(d, 0, 31 * 4096, 0, (k4 << 12) | P, 0, 0), 0);
  assert.equal(mmuextOp64(d, 0, MMUEXT_PIN_L4_TABLE, k4), 0);
  assert.equal(peekEntry(f, k4, L4_RO_MPT_SLOT), 0);
  // It has no mappings of its own yet; installing it as the kernel base fills slot 256.
  assert.equal(mmuextOp64(d, 0, 5, /* NEW_BASEPTR */ k4), 0);
  assert.notEqual(peekEntry(f, k4, L4_RO_MPT_SLOT), 0);
  assert.equal(d.baseMfn[0], k4);
});

Deno.test("64-bit: NEW_USER_BASEPTR is refused to a 32-bit domain", () => {
  const g = makeTestGuest64();
  const d32 = new PagingDomain(g.frames, 2, {});
  assert.equal(d32.populatePhysmap(0, 4), 0);
  assert.equal(mmuextOp(d32, 0, MMUEXT_NEW_USER_BASEPTR, d32.p2m.get(asGfn(0))), -EINVAL);
  assert.equal(mmuextOp64(d32, 0, MMUEXT_NEW_USER_BASEPTR, d32.p2m.get(asGfn(0))), -EINVAL);
});

Deno.test("64-bit: superpages, cache attributes and bad frames are refused at every level", () => {
  const g = makeTestGuest64();
  const f = g.frames, d = g.dom;
  const data = d.p2m.get(asGfn(10));
  // L1: PCD is a cache attribute -> -EINVAL; NX (bit 63) and bits 52..62 are fine.
  assert.equal(mmuUpdate64(d, g.l1 * 4096 + 40 * 8, (data << 12) | P | _PAGE_PCD, 0), -EINVAL);
  assert.equal(mmuUpdate64(d, g.l1 * 4096 + 40 * 8, (data << 12) | P, PTE_HI_NX | 0x7ff00000), 0);
  assert.equal(hiOf(f, g.l1, 40) >>> 0, (PTE_HI_NX | 0x7ff00000) >>> 0);
  // L2 PSE (2 MiB) and L3 PSE (1 GiB) pages: -EINVAL.
  assert.equal(mmuUpdate64(d, g.l2 * 4096 + 1 * 8, P | _PAGE_PSE, 0), -EINVAL);
  assert.equal(mmuUpdate64(d, g.l3 * 4096 + 1 * 8, P | _PAGE_PSE, 0), -EINVAL);
  assert.equal(mmuUpdate64(d, g.l4 * 4096 + 1 * 8, (g.l3 << 12) | P | _PAGE_PSE, 0), -EINVAL);
  // A frame beyond memory: -EPERM (MMIO) in an L1; a Xen frame (the 64-bit M2P): -EBUSY.
  assert.equal(mmuUpdate64(d, g.l1 * 4096 + 41 * 8, P, 0x100), -1);
  const xen = f.m2p64.tableMfns[0];
  assert.equal(mmuUpdate64(d, g.l1 * 4096 + 41 * 8, (xen << 12) | P, 0), -EBUSY);
  // Xen's L3 of the M2P cannot be hooked into a guest L4 slot.
  assert.equal(mmuUpdate64(d, g.l4 * 4096 + 3 * 8, (f.m2p64.l3Mfn << 12) | P, 0), -EINVAL);
});

Deno.test("64-bit: linear page tables: read-only entries onto a table of the same level", () => {
  const g = makeTestGuest64();
  const f = g.frames, d = g.dom;
  // The L4 mapping itself read-only in guest slot 300 (Linux does not, Xen allows it).
  assert.equal(mmuUpdate64(d, g.l4 * 4096 + 300 * 8, (g.l4 << 12) | P | RW, 0), -EINVAL);
  assert.equal(mmuUpdate64(d, g.l4 * 4096 + 300 * 8, (g.l4 << 12) | P, 0), 0);
  // An L3 entry onto the (validated) L3 itself: fine; onto another validated L3 too.
  assert.equal(mmuUpdate64(d, g.l3 * 4096 + 5 * 8, (g.l3 << 12) | P, 0), 0);
  // An L2 entry onto itself.
  assert.equal(mmuUpdate64(d, g.l2 * 4096 + 6 * 8, (g.l2 << 12) | P, 0), 0);
  // A second L3, pinned, named linearly from the first: counts move, one-way rule holds.
  const l3b = d.p2m.get(asGfn(21));
  assert.equal(updateVaMapping64(d, 0, 21 * 4096, 0, (l3b << 12) | P, 0, 0), 0);
  assert.equal(mmuextOp64(d, 0, MMUEXT_PIN_L3_TABLE, l3b), 0);
  const tc = f.typeCount[l3b];
  assert.equal(mmuUpdate64(d, g.l3 * 4096 + 7 * 8, (l3b << 12) | P, 0), 0);
  assert.equal(f.typeCount[l3b], tc + 1);
  assert.equal(f.linear[g.l3], 1);
  assert.equal(f.linear[l3b], -1);
  // l3b is now a linear target: it may not hold linear entries of its own.
  assert.equal(mmuUpdate64(d, l3b * 4096 + 0, (g.l3 << 12) | P, 0), -EINVAL);
  // Clearing the entry gives everything back.
  assert.equal(mmuUpdate64(d, g.l3 * 4096 + 7 * 8, 0, 0), 0);
  assert.equal(f.typeCount[l3b], tc);
  assert.equal(f.linear[g.l3], 0);
  assert.equal(f.linear[l3b], 0);
});

Deno.test("64-bit: pins per level; an L2 in use cannot be pinned as an L3", () => {
  const g = makeTestGuest64();
  const d = g.dom;
  assert.equal(mmuextOp64(d, 0, MMUEXT_PIN_L2_TABLE, g.l2), 0);
  assert.equal(mmuextOp64(d, 0, MMUEXT_PIN_L2_TABLE, g.l2), -EINVAL, "already pinned");
  assert.equal(mmuextOp64(d, 0, MMUEXT_PIN_L3_TABLE, g.l2), -EINVAL, "type conflict");
  assert.equal(mmuextOp64(d, 0, MMUEXT_UNPIN_TABLE, g.l2), 0);
  // A data page mapped writable cannot become an L4.
  assert.equal(mmuextOp64(d, 0, MMUEXT_PIN_L4_TABLE, d.p2m.get(asGfn(12))), -EINVAL);
});

Deno.test("64-bit: update_va_mapping: canonical checks, upper-half addresses, flushes", () => {
  const g = makeTestGuest64();
  const f = g.frames, d = g.dom;
  const data = d.p2m.get(asGfn(11));
  // Non-canonical and hypervisor-range addresses have no guest L1.
  assert.equal(updateVaMapping64(d, 0, 0, 0x8000, (data << 12) | P, 0, 0), -EINVAL);
  const [xlo, xhi] = split64(0xffff800000001000n);
  assert.equal(updateVaMapping64(d, 0, xlo, xhi, (data << 12) | P, 0, 0), -EINVAL);
  assert.equal(isCanonical(0xffff8000 | 0), true);
  assert.equal(isCanonical(0x00008000), false);
  // Map the existing L3 at guest slot 511 (kernel space 0xffffff8000000000): the same L1
  // then serves 0xffffff8000000000 + p * 4096.
  assert.equal(mmuUpdate64(d, g.l4 * 4096 + 511 * 8, (g.l3 << 12) | P | RW, 0), 0);
  const [klo, khi] = split64(0xffffff8000000000n + 11n * 4096n);
  assert.equal(updateVaMapping64(d, 0, klo, khi, (data << 12) | P, PTE_HI_NX, UVMF_INVLPG), 0);
  assert.equal(peekEntry(f, g.l1, 11) & 0xfff, P | US);
  assert.equal(hiOf(f, g.l1, 11) >>> 0, (PTE_HI_NX | PTE_HI_GUEST_KERNEL) >>> 0);
  // An upper-half INVLPG cannot be named by a 32-bit page number: the vcpu flushes all.
  assert.equal(d.flush.kind[0], FLUSH_ALL);
  assert.equal(softWalk64(f, g.l4, klo, khi), data * 4096);
});

Deno.test("64-bit: ptwr: a validated store lands adjusted; a bad upper half is refused", () => {
  const g = makeTestGuest64();
  const f = g.frames, d = g.dom;
  // The L1 is mapped read-only at linear 3 * 4096 (pfn 3): a store of entry 50 there.
  const data = d.p2m.get(asGfn(13));
  const va = 3 * 4096 + 50 * 8;
  assert.equal(ptwrUpdate64(d, 0, va, 0, (data << 12) | P | RW, 0, 8), 0);
  assert.equal(peekEntry(f, g.l1, 50) & 0xfff, P | RW | US);
  assert.equal(hiOf(f, g.l1, 50), PTE_HI_GUEST_KERNEL);
  // A 4-byte store of the upper half naming memory beyond the host: refused, unchanged
  // (a PAE guest would have had the present bit zapped instead).
  assert.equal(ptwrUpdate64(d, 0, va + 4, 0, 0x100, 0, 4), -1);
  assert.equal(peekEntry(f, g.l1, 50) & P, P);
  // cmpxchg: fails on a mismatch, succeeds on the current value.
  const cur = new Uint32Array(2);
  const want = new Uint32Array([1, 0]);
  assert.equal(ptwrUpdate64(d, 0, va, 0, 0, 0, 8, want, cur), 1);
  want[0] = cur[0];
  want[1] = cur[1];
  assert.equal(ptwrUpdate64(d, 0, va, 0, 0, 0, 8, want, cur), 0);
  assert.equal(peekEntry(f, g.l1, 50), 0);
  // A store through a writable mapping is no ptwr case.
  assert.equal(ptwrUpdate64(d, 0, 5 * 4096, 0, 0, 0, 8), -EINVAL);
});

Deno.test("64-bit: relinquish unwinds four levels, the user base included", () => {
  const g = makeTestGuest64(64, 2048, true);
  const f = g.frames, d = g.dom;
  const u4 = d.p2m.get(asGfn(30));
  assert.equal(updateVaMapping64(d, 0, 30 * 4096, 0, (u4 << 12) | P, 0, 0), 0);
  assert.equal(mmuextOp64(d, 0, MMUEXT_NEW_USER_BASEPTR, u4), 0);
  assert.equal(mmuUpdate64(d, g.l4 * 4096 + 300 * 8, (g.l4 << 12) | P, 0), 0);
  const free = f.freeFrames;
  assert.equal(d.relinquish(), 0);
  assert.equal(f.freeFrames, free + 64);
});

Deno.test("64-bit: a 32-bit domain on the same host keeps the PAE rules", () => {
  const g = makeTestGuest64();
  const d32 = new PagingDomain(g.frames, 2, {});
  assert.equal(d32.pv64, false);
  assert.equal(g.frames.pv64Domains.has(2), false);
  assert.equal(mmuextOp(d32, 0, MMUEXT_PIN_L4_TABLE, 0), 0, "PIN_L4 is a no-op for 32-bit");
});

Deno.test("64-bit: the vcpu's 4-level walker follows the kernel/user base and the mode", () => {
  const g = makeTestGuest64(64, 2048, true);
  const f = g.frames, d = g.dom;
  const w = d.lmWalkers[0];
  assert.equal(w.cr3, g.l4 * 4096);
  // The guest kernel runs in ring 3: its own pages (USER added by Xen) and the M2P are
  // reachable with user rights; its page tables are read-only.
  assert.equal(w.translate64(6 * 4096 + 8, 0, ACC_USER), d.p2m.get(asGfn(6)) * 4096 + 8);
  assert.equal(w.translate64(0x1000, 0, ACC_USER | ACC_WRITE), -1);
  const mfn = d.p2m.get(asGfn(9));
  const [lo, hi] = split64(0xffff800000000000n + BigInt(mfn) * 8n);
  const m = w.translate64(lo, hi, ACC_USER);
  assert.ok(m >= 0);
  assert.equal(f.mem.dv.getUint32(m, true), 9);
  // User mode with no user base: nothing is mapped; with one (m2p_strict), no M2P there.
  setGuestMode64(d, 0, false);
  assert.equal(w.cr3, -1);
  const u4 = d.p2m.get(asGfn(30));
  // Hypercalls come from kernel mode: back there to build the user L4.
  setGuestMode64(d, 0, true);
  assert.equal(updateVaMapping64(d, 0, 30 * 4096, 0, (u4 << 12) | P, 0, 0), 0);
  assert.equal(mmuUpdate64(d, u4 * 4096 + 0, (g.l3 << 12) | P | RW, 0), 0, "a plain write");
  assert.equal(mmuextOp64(d, 0, MMUEXT_NEW_USER_BASEPTR, u4), 0);
  setGuestMode64(d, 0, false);
  assert.equal(w.cr3, u4 * 4096);
  assert.equal(w.translate64(6 * 4096, 0, ACC_USER), d.p2m.get(asGfn(6)) * 4096);
  assert.equal(w.translate64(lo, hi, ACC_USER), -1, "m2p_strict: no M2P in user mode");
  setGuestMode64(d, 0, true);
  assert.equal(w.cr3, g.l4 * 4096);
  assert.equal(d.relinquish(), 0);
  assert.equal(w.cr3, -1);
});
