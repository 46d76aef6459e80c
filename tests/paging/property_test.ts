/**
 * Property test: random sequences of valid and invalid MMU operations (mmu_update,
 * mmuext pin/unpin/new_baseptr/flushes, update_va_mapping, ptwr stores, direct guest
 * stores through the walker, physmap changes) never leave a writable mapping of a page
 * table, never map a frame the domain does not own, never corrupt the reference counts
 * (checked against a recount from scratch), and - with the flushes they request applied
 * to a real CPU TLB - never leave a stale TLB entry that could write a page table or
 * reach another domain's frame.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ACC_USER, ACC_WRITE } from "../../lib/cpu/platform.ts";
import { K_READ, K_WRITE, Tlb } from "../../lib/cpu/tlb.ts";
import {
  _PAGE_PRESENT,
  _PAGE_RW,
  DOMID_XEN,
  FLUSH_ALL,
  FLUSH_PAGES,
  INVALID_MFN,
  L2_FIRST_XEN_SLOT,
  MMUEXT_CLEAR_PAGE,
  MMUEXT_COPY_PAGE,
  MMUEXT_INVLPG_LOCAL,
  MMUEXT_NEW_BASEPTR,
  MMUEXT_PIN_L1_TABLE,
  MMUEXT_TLB_FLUSH_LOCAL,
  MMUEXT_UNPIN_TABLE,
  mmuextOp,
  mmuMachphysUpdate,
  mmuUpdateNormalPt,
  OWNER_NONE,
  PagingDomain,
  PGC_allocated,
  PGT_l1_page_table,
  PGT_l2_page_table,
  PGT_l3_page_table,
  PGT_pae_xen_l2,
  PGT_pinned,
  PGT_validated,
  PGT_writable_page,
  pteFrame,
  ptwrEmulate,
  updateVaMapping,
} from "../../lib/paging/mod.ts";
import { makeTestGuest, type TestGuest } from "../../lib/paging/testing.ts";
import { asGfn } from "../../lib/abi/mod.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const MAPPED = 24; // pfns mapped by the test guest's L1
const SPARE = 16; // further pfns, populated but unmapped

type Op =
  | { t: "upd"; table: number; slot: number; e: Entry }
  | { t: "pin"; level: number; frame: number }
  | { t: "unpin"; frame: number }
  | { t: "base"; frame: number }
  | { t: "uvm"; page: number; e: Entry; flags: number }
  | { t: "ptwr"; slot: number; e: Entry; size: number; off: number }
  | { t: "store"; page: number; slot: number; e: Entry }
  | { t: "access"; page: number; write: boolean; user: boolean }
  | { t: "flush"; page: number; all: boolean }
  | { t: "remove"; pfn: number }
  | { t: "populate"; pfn: number }
  | { t: "machphys"; frame: number }
  | { t: "copy"; a: number; b: number; clear: boolean }
  | { t: "protect"; page: number; rw: boolean; flush: boolean }
  | { t: "pinPage"; page: number; level: number }
  | { t: "populateOther"; pfn: number }
  | { t: "link"; from: number; to: number; slot: number; rw: boolean };

interface Entry {
  frame: number;
  flags: number;
  hi: number;
}

// Half the picks land on a few of our own data frames, so that sequences touching the same
// frame (map it, unmap it, pin it, access it) are common.
const frameArb = fc.oneof(fc.integer({ min: 4, max: 9 }), fc.nat(99));
const entryArb: fc.Arbitrary<Entry> = fc.record({
  frame: frameArb,
  flags: fc.oneof(
    fc.constantFrom(0x1, 0x3, 0x5, 0x7, 0x7, 0x7, 0x67, 0x0),
    fc.nat(0x1ff),
  ),
  hi: fc.constantFrom(0, 0, 0, 0x80000000, 1),
});
const slotArb = fc.oneof(
  fc.nat(3),
  fc.nat(MAPPED + SPARE),
  fc.constantFrom(L2_FIRST_XEN_SLOT - 1, L2_FIRST_XEN_SLOT, 511),
);
const focusArb = fc.integer({ min: 4, max: 5 });
const pageArb = fc.oneof(
  focusArb,
  fc.integer({ min: 4, max: 9 }),
  fc.nat(MAPPED + 4),
  fc.constantFrom(0xf5800, 0xc0000, 0x40000),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      t: fc.constant("upd" as const),
      table: frameArb,
      slot: slotArb,
      e: entryArb,
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("pin" as const),
      level: fc.integer({ min: 0, max: 3 }),
      frame: frameArb,
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ t: fc.constant("unpin" as const), frame: frameArb }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant("base" as const), frame: frameArb }), weight: 1 },
  {
    arbitrary: fc.record({
      t: fc.constant("uvm" as const),
      page: pageArb,
      e: entryArb,
      flags: fc.constantFrom(0, 1, 2, 5, 6),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("ptwr" as const),
      slot: fc.nat(MAPPED + 4),
      e: entryArb,
      size: fc.constantFrom(4, 8),
      off: fc.constantFrom(0, 4),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("store" as const),
      page: pageArb,
      slot: slotArb,
      e: entryArb,
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("access" as const),
      page: pageArb,
      write: fc.boolean(),
      user: fc.boolean(),
    }),
    weight: 5,
  },
  {
    arbitrary: fc.record({ t: fc.constant("flush" as const), page: pageArb, all: fc.boolean() }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ t: fc.constant("remove" as const), pfn: fc.nat(MAPPED + SPARE) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ t: fc.constant("populate" as const), pfn: fc.nat(MAPPED + SPARE) }),
    weight: 1,
  },
  { arbitrary: fc.record({ t: fc.constant("machphys" as const), frame: frameArb }), weight: 1 },
  {
    arbitrary: fc.record({
      t: fc.constant("protect" as const),
      page: focusArb,
      rw: fc.boolean(),
      flush: fc.boolean(),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("pinPage" as const),
      page: focusArb,
      level: fc.integer({ min: 0, max: 2 }),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("copy" as const),
      a: frameArb,
      b: frameArb,
      clear: fc.boolean(),
    }),
    weight: 1,
  },
);

/** The world one sequence runs in. */
interface World {
  g: TestGuest;
  other: PagingDomain;
  tlb: Tlb;
  pickFrame(i: number): number;
}

function makeWorld(): World {
  const g = makeTestGuest(MAPPED, 512);
  g.dom.populatePhysmap(MAPPED, SPARE);
  const other = new PagingDomain(g.frames, 2);
  other.populatePhysmap(0, 4);
  const tlb = new Tlb();
  const pickFrame = (i: number): number => {
    if (i < 60) { // our own frames by pfn (INVALID after removal)
      const m = g.dom.p2m.get(asGfn(i % (MAPPED + SPARE)));
      return m === INVALID_MFN ? 0 : m;
    }
    if (i < 80) return i - 60; // a pfn mistaken for an mfn
    if (i < 90) return other.p2m.get(asGfn(i % 4)); // another domain's frame
    if (i < 95) return [0, 1, g.frames.m2p.firstL1Mfn, 2, 3][i - 90]; // Xen's frames
    return 512 + i; // beyond machine memory
  };
  return { g, other, tlb, pickFrame };
}

function entry(w: World, e: Entry): [number, number] {
  return [((w.pickFrame(e.frame) << 12) | e.flags) >>> 0, e.hi];
}

function run(w: World, op: Op): void {
  const { g } = w;
  const d = g.dom;
  switch (op.t) {
    case "upd": {
      const [lo, hi] = entry(w, op.e);
      mmuUpdateNormalPt(d, w.pickFrame(op.table) * 4096 + op.slot * 8, lo, hi);
      break;
    }
    case "pin":
      mmuextOp(d, 0, MMUEXT_PIN_L1_TABLE + op.level, w.pickFrame(op.frame));
      break;
    case "unpin":
      mmuextOp(d, 0, MMUEXT_UNPIN_TABLE, w.pickFrame(op.frame));
      break;
    case "base":
      mmuextOp(d, 0, MMUEXT_NEW_BASEPTR, w.pickFrame(op.frame));
      break;
    case "uvm": {
      const [lo, hi] = entry(w, op.e);
      updateVaMapping(d, 0, op.page * 4096, lo, hi, op.flags);
      break;
    }
    case "ptwr": {
      const [lo, hi] = entry(w, op.e);
      // Through the guest's read-only mapping of its L1 (pfn 3 at linear 0x3000).
      const linear = 3 * 4096 + op.slot * 8 + (op.size === 4 ? op.off : 0);
      ptwrEmulate(d, 0, linear, op.size === 4 && op.off === 4 ? hi : lo, hi, op.size);
      break;
    }
    case "store": {
      // A plain guest store: only lands where the walker grants kernel write access.
      const [lo, hi] = entry(w, op.e);
      const m = access(w, op.page * 4096 + (op.slot % 512) * 8, true, false);
      if (m >= 0) {
        g.frames.u32[m >>> 2] = lo;
        g.frames.u32[(m >>> 2) + 1] = hi;
      }
      break;
    }
    case "access":
      access(w, op.page * 4096, op.write, op.user);
      break;
    case "flush":
      mmuextOp(d, 0, op.all ? MMUEXT_TLB_FLUSH_LOCAL : MMUEXT_INVLPG_LOCAL, op.page * 4096);
      break;
    case "remove":
      d.removePhysmap(op.pfn);
      break;
    case "populate":
      d.populatePhysmap(op.pfn, 1);
      break;
    case "machphys":
      mmuMachphysUpdate(d, w.pickFrame(op.frame), op.frame);
      break;
    case "protect": {
      // Re-map page p onto pfn p, read-only or writable, flushing or (wrongly) not.
      const m = d.p2m.get(asGfn(op.page));
      if (m === INVALID_MFN) break;
      updateVaMapping(d, 0, op.page * 4096, (m << 12) | (op.rw ? 7 : 5), 0, op.flush ? 2 : 0);
      break;
    }
    case "link": {
      // An L2 entry onto an L2 (a linear page table) or a removal of one.
      const pfns = [1, 2, 4, 5];
      const from = d.p2m.get(asGfn(pfns[op.from])), to = d.p2m.get(asGfn(pfns[op.to]));
      if (from === INVALID_MFN || to === INVALID_MFN) break;
      const val = op.slot === 7 ? 0 : (to << 12) | (op.rw ? 7 : 5);
      mmuUpdateNormalPt(d, from * 4096 + (8 + op.slot) * 8, val, 0);
      break;
    }
    case "populateOther":
      w.other.populatePhysmap(op.pfn, 1);
      break;
    case "pinPage":
      mmuextOp(d, 0, MMUEXT_PIN_L1_TABLE + op.level, w.pickFrame(op.page));
      break;
    case "copy":
      mmuextOp(
        d,
        0,
        op.clear ? MMUEXT_CLEAR_PAGE : MMUEXT_COPY_PAGE,
        w.pickFrame(op.a),
        w.pickFrame(op.b),
      );
      break;
  }
  applyFlushes(w);
}

/** A CPU-style access: TLB first, then the walker, filling the TLB. */
function access(w: World, linear: number, write: boolean, user: boolean): number {
  const kind = write ? K_WRITE : K_READ;
  const u = user ? 1 : 0;
  const page = linear >>> 12;
  const t = w.tlb.tables[kind * 2 + u][page];
  if (t !== 0) return t - 1 + (linear & 4095);
  const m = w.g.dom.walkers[0].translate(linear, (write ? ACC_WRITE : 0) | (user ? ACC_USER : 0));
  if (m >= 0) w.tlb.fill(kind, u, page, m - (linear & 4095));
  return m;
}

/** What the hypervisor does after each paging operation. */
function applyFlushes(w: World): void {
  const { dom, frames } = w.g;
  const q = dom.flush;
  if (q.kind[0] === FLUSH_ALL) w.tlb.flushAll();
  else if (q.kind[0] === FLUSH_PAGES) {
    for (let i = 0; i < q.pageCount[0]; i++) w.tlb.flushPage(q.pages[i]);
  }
  q.clear(0);
  if (frames.needFlushAll) {
    w.tlb.flushAll();
    frames.tlbFlushedAll();
  }
}

/** Recounts every reference from scratch and checks the safety rules. */
function checkInvariants(w: World): void {
  const { frames: f, dom } = w.g;
  const n = f.count;
  const refs = new Uint32Array(n), types = new Uint32Array(n), linear = new Int32Array(n);
  const u32 = f.u32;
  for (let m = 0; m < n; m++) {
    if (f.owner[m] === DOMID_XEN) continue;
    if (f.owner[m] === OWNER_NONE) {
      assert.equal(f.refs[m], 0, `free frame ${m} has references`);
      assert.equal(f.typeCount[m], 0, `free frame ${m} has a type count`);
      continue;
    }
    if (f.cflags[m] & PGC_allocated) refs[m]++;
    if (f.tflags[m] & PGT_pinned) {
      refs[m]++;
      types[m]++;
    }
  }
  for (let v = 0; v < dom.vcpus; v++) {
    const b = dom.baseMfn[v];
    if (b !== 0) {
      refs[b]++;
      types[b]++;
      assert.equal(f.type[b], PGT_l3_page_table);
    }
  }
  for (let t = 0; t < n; t++) {
    if (f.owner[t] === DOMID_XEN || f.owner[t] === OWNER_NONE) continue;
    const type = f.type[t];
    if (f.typeCount[t] === 0 || !(f.tflags[t] & PGT_validated)) continue;
    if (type < PGT_l1_page_table || type > PGT_l3_page_table) continue;
    const slots = type === PGT_l3_page_table
      ? 4
      : type === PGT_l2_page_table && (f.tflags[t] & PGT_pae_xen_l2)
      ? L2_FIRST_XEN_SLOT
      : 512;
    for (let s = 0; s < slots; s++) {
      const lo = u32[t * 1024 + 2 * s], hi = u32[t * 1024 + 2 * s + 1];
      if (!(lo & _PAGE_PRESENT)) continue;
      const m = pteFrame(lo, hi);
      assert.ok(m < n, `table ${t} slot ${s} names frame ${m} beyond memory`);
      assert.equal(f.owner[m], f.owner[t], `table ${t} slot ${s} maps a frame it does not own`);
      if (type === PGT_l1_page_table) {
        refs[m]++;
        if (lo & _PAGE_RW) {
          types[m]++;
          assert.equal(
            f.type[m],
            PGT_writable_page,
            `writable mapping of frame ${m} typed ${f.type[m]}`,
          );
        }
      } else if (type === PGT_l2_page_table && f.type[m] === PGT_l2_page_table) {
        // A linear page table: read-only, onto a validated L2 (or the table itself).
        assert.equal(lo & _PAGE_RW, 0, `writable linear entry in ${t}`);
        assert.ok(f.tflags[m] & PGT_validated);
        if (m !== t) {
          refs[m]++;
          types[m]++;
          linear[t]++;
          linear[m]--;
        }
      } else if (m !== t) {
        refs[m]++;
        types[m]++;
        assert.equal(f.type[m], type - 1, `table ${t} slot ${s}: lower table of wrong type`);
        assert.ok(f.tflags[m] & PGT_validated);
        const pae = (f.tflags[m] & PGT_pae_xen_l2) !== 0;
        if (type === PGT_l3_page_table) assert.equal(pae, s === 3, "slot-3 L2 rule");
      }
    }
  }
  for (let m = 0; m < n; m++) {
    if (f.owner[m] === DOMID_XEN) continue;
    assert.equal(f.refs[m], refs[m], `frame ${m}: refs ${f.refs[m]} != recount ${refs[m]}`);
    assert.equal(
      f.typeCount[m],
      types[m],
      `frame ${m}: type count ${f.typeCount[m]} != ${types[m]}`,
    );
    if (f.typeCount[m] !== 0 && (f.tflags[m] & PGT_validated)) {
      assert.equal(f.linear[m], linear[m], `frame ${m}: linear count`);
    }
  }
  // Everything the hardware walker can reach from a loaded base is a validated table of
  // the right level (so the per-table checks above cover every live translation).
  for (let v = 0; v < dom.vcpus; v++) {
    const b = dom.baseMfn[v];
    if (b === 0) continue;
    assert.ok(f.tflags[b] & PGT_validated, "base L3 validated");
    for (let s = 0; s < 4; s++) {
      const lo3 = u32[b * 1024 + 2 * s];
      if (!(lo3 & _PAGE_PRESENT)) continue;
      const l2 = pteFrame(lo3, u32[b * 1024 + 2 * s + 1]);
      assert.equal(f.type[l2], PGT_l2_page_table);
      assert.ok(f.tflags[l2] & PGT_validated);
      for (let e = 0; e < 512; e++) {
        const lo2 = u32[l2 * 1024 + 2 * e];
        if (!(lo2 & _PAGE_PRESENT)) continue;
        const l1 = pteFrame(lo2, u32[l2 * 1024 + 2 * e + 1]);
        if (s === 3 && e >= L2_FIRST_XEN_SLOT) {
          assert.equal(f.owner[l1], DOMID_XEN, "Xen slot maps Xen's M2P tables");
          assert.equal(lo2 & _PAGE_RW, 0);
          continue;
        }
        const linearOk = f.type[l1] === PGT_l2_page_table && !(lo2 & _PAGE_RW);
        assert.ok(f.type[l1] === PGT_l1_page_table || linearOk, `reachable L1 ${l1}`);
        assert.ok(f.tflags[l1] & PGT_validated);
      }
    }
  }
  // The TLB, after the requested flushes: no write entry onto anything but a writable
  // frame of ours (or a free frame nobody can get before a full flush), no entry onto
  // another domain's frame.
  for (let k = 0; k < 6; k++) {
    const table = w.tlb.tables[k];
    for (let p = 0; p < MAPPED + 8; p++) checkTlbEntry(f, table[p], k >> 1 === K_WRITE);
    for (const p of [0xf5800, 0xc0000, 0x40000]) checkTlbEntry(f, table[p], k >> 1 === K_WRITE);
  }
}

function checkTlbEntry(f: TestGuest["frames"], e: number, write: boolean): void {
  if (e === 0) return;
  const m = (e - 1) >>> 12;
  const owner = f.owner[m];
  assert.ok(
    owner === 1 || owner === OWNER_NONE || (!write && owner === DOMID_XEN),
    `TLB reaches frame ${m} of ${owner}`,
  );
  if (write && owner === 1) {
    assert.equal(f.type[m], PGT_writable_page, `TLB can write frame ${m} typed ${f.type[m]}`);
  }
}

Deno.test("MMU operations keep Xen's invariants under random valid and invalid sequences", () => {
  fc.assert(
    fc.property(
      fc.array(opArb, { minLength: 1, maxLength: FULL ? 120 : 50, size: "max" }),
      (ops) => {
        const w = makeWorld();
        checkInvariants(w);
        for (const op of ops) {
          run(w, op);
          checkInvariants(w);
        }
      },
    ),
    { numRuns: FULL ? 5000 : 300 },
  );
});

const focusedOpArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    t: fc.constant("access" as const),
    page: focusArb,
    write: fc.boolean(),
    user: fc.boolean(),
  }),
  fc.record({
    t: fc.constant("protect" as const),
    page: focusArb,
    rw: fc.boolean(),
    flush: fc.boolean(),
  }),
  fc.record({
    t: fc.constant("pinPage" as const),
    page: focusArb,
    level: fc.constantFrom(0, 0, 1, 2),
  }),
  fc.record({ t: fc.constant("unpin" as const), frame: focusArb }),
  fc.record({ t: fc.constant("remove" as const), pfn: focusArb }),
  fc.record({ t: fc.constant("populate" as const), pfn: focusArb }),
  fc.record({ t: fc.constant("flush" as const), page: focusArb, all: fc.boolean() }),
  fc.record({
    t: fc.constant("uvm" as const),
    page: focusArb,
    e: fc.constant({ frame: 0, flags: 0, hi: 0 }),
    flags: fc.constantFrom(0, 2),
  }),
  fc.record({ t: fc.constant("populateOther" as const), pfn: fc.integer({ min: 4, max: 40 }) }),
);

const linkArb: fc.Arbitrary<Op> = fc.record({
  t: fc.constant("link" as const),
  from: fc.nat(3),
  to: fc.nat(3),
  slot: fc.nat(7),
  rw: fc.boolean(),
});

Deno.test("linear page tables keep the counts and the one-way rule", () => {
  const pinL2 = fc.record({
    t: fc.constant("pinPage" as const),
    page: focusArb,
    level: fc.constant(1),
  });
  const unpin = fc.record({ t: fc.constant("unpin" as const), frame: focusArb });
  const ops = fc.oneof({ arbitrary: linkArb, weight: 4 }, pinL2, unpin);
  fc.assert(
    fc.property(fc.array(ops, { minLength: 1, maxLength: FULL ? 60 : 25, size: "max" }), (list) => {
      const w = makeWorld();
      for (const op of list) {
        run(w, op);
        checkInvariants(w);
      }
    }),
    { numRuns: FULL ? 3000 : 200 },
  );
});

Deno.test("type changes and frees never leave a usable stale TLB entry", () => {
  fc.assert(
    fc.property(
      fc.array(focusedOpArb, { minLength: 1, maxLength: FULL ? 60 : 25, size: "max" }),
      (ops) => {
        const w = makeWorld();
        for (const op of ops) {
          run(w, op);
          checkInvariants(w);
        }
      },
    ),
    { numRuns: FULL ? 5000 : 300 },
  );
});
