/**
 * Property test for 64-bit PV paging: random sequences of valid and invalid operations
 * (mmu_update at every level, pins, kernel and user base pointers, update_va_mapping,
 * ptwr stores and cmpxchg, M2P updates, physmap changes) never map a frame the domain
 * does not own (Xen's read-only M2P slot apart), never leave a writable mapping of a
 * page table, keep Xen's L4 slots Xen's, keep the reference, type and linear counts equal
 * to a recount from scratch, and unwind to nothing at teardown.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { asGfn } from "../../lib/abi/mod.ts";
import {
  _PAGE_PRESENT,
  _PAGE_RW,
  DOMID_XEN,
  isGuestL4Slot,
  L4_RO_MPT_SLOT,
  MMUEXT_NEW_BASEPTR,
  MMUEXT_NEW_USER_BASEPTR,
  MMUEXT_PIN_L1_TABLE,
  MMUEXT_UNPIN_TABLE,
  mmuextOp64,
  mmuMachphysUpdate,
  mmuUpdate64,
  PGT_l1_page_table,
  PGT_l4_page_table,
  PGT_validated,
  PGT_writable_page,
  pteFrame,
  ptwrUpdate64,
  split64,
  updateVaMapping64,
} from "../../lib/paging/mod.ts";
import { makeTestGuest64, type TestGuest64 } from "../../lib/paging/testing64.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const PAGES = 48;

type Op =
  | { t: "upd"; table: number; slot: number; frame: number; flags: number; hi: number }
  | { t: "pin"; level: number; frame: number }
  | { t: "unpin"; frame: number }
  | { t: "base"; frame: number; user: boolean }
  | { t: "uvm"; page: number; upper: boolean; frame: number; flags: number; hi: number }
  | { t: "ptwr"; slot: number; frame: number; flags: number; size: number; off: number }
  | { t: "machphys"; frame: number }
  | { t: "remove"; pfn: number }
  | { t: "populate"; pfn: number }
  | { t: "prep"; page: number; level: number }
  | { t: "link"; from: number; to: number; slot: number };

// Frames are named by pfn (0..PAGES+8), or a few specials: -1 the 64-bit M2P's L3 (Xen),
// -2 a frame beyond memory.
const frameArb = fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: -2, max: PAGES + 8 }));
const flagsArb = fc.oneof(fc.constantFrom(0x1, 0x3, 0x5, 0x7, 0x67, 0x0, 0x83), fc.nat(0x1ff));
const hiArb = fc.constantFrom(0, 0, 0x80000000 | 0, 0x100000, 1);
const slotArb = fc.oneof(
  fc.nat(PAGES),
  fc.constantFrom(255, 256, 257, 258, 271, 272, 511),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      t: fc.constant("upd" as const),
      table: fc.integer({ min: 0, max: 12 }),
      slot: slotArb,
      frame: frameArb,
      flags: flagsArb,
      hi: hiArb,
    }),
    weight: 8,
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
  {
    arbitrary: fc.record({ t: fc.constant("base" as const), frame: frameArb, user: fc.boolean() }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("uvm" as const),
      page: fc.nat(PAGES + 4),
      upper: fc.boolean(),
      frame: frameArb,
      flags: flagsArb,
      hi: hiArb,
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("ptwr" as const),
      slot: fc.nat(PAGES),
      frame: frameArb,
      flags: flagsArb,
      size: fc.constantFrom(4, 8, 16),
      off: fc.constantFrom(0, 4),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ t: fc.constant("machphys" as const), frame: frameArb }), weight: 1 },
  {
    arbitrary: fc.record({ t: fc.constant("remove" as const), pfn: fc.nat(PAGES + 8) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ t: fc.constant("populate" as const), pfn: fc.nat(PAGES + 8) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("prep" as const),
      page: fc.integer({ min: 4, max: 8 }),
      level: fc.integer({ min: 1, max: 3 }),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("link" as const),
      from: fc.integer({ min: 0, max: 8 }),
      to: fc.integer({ min: 0, max: 8 }),
      slot: fc.integer({ min: 100, max: 103 }),
    }),
    weight: 4,
  },
);

function mfnOf(g: TestGuest64, frame: number): number {
  if (frame === -1) return g.frames.m2p64.l3Mfn;
  if (frame === -2) return g.frames.count + 5;
  const m = g.dom.p2m.get(asGfn(frame));
  return m === 0xffffffff ? g.frames.count + 7 : m;
}

function run(g: TestGuest64, op: Op): void {
  const d = g.dom;
  switch (op.t) {
    case "upd": {
      const t = mfnOf(g, op.table);
      const m = mfnOf(g, op.frame);
      mmuUpdate64(d, t * 4096 + op.slot * 8, ((m << 12) | op.flags) >>> 0, op.hi);
      break;
    }
    case "pin":
      mmuextOp64(d, 0, MMUEXT_PIN_L1_TABLE + op.level, mfnOf(g, op.frame));
      break;
    case "unpin":
      mmuextOp64(d, 0, MMUEXT_UNPIN_TABLE, mfnOf(g, op.frame));
      break;
    case "base":
      mmuextOp64(d, 0, op.user ? MMUEXT_NEW_USER_BASEPTR : MMUEXT_NEW_BASEPTR, mfnOf(g, op.frame));
      break;
    case "uvm": {
      const [lo, hi] = op.upper
        ? split64(0xffff880000000000n + BigInt(op.page) * 4096n)
        : [op.page * 4096, 0];
      const m = mfnOf(g, op.frame);
      updateVaMapping64(d, 0, lo, hi, ((m << 12) | op.flags) >>> 0, op.hi, 2);
      break;
    }
    case "ptwr": {
      // The guest's L1 is mapped read-only at linear 3 * 4096.
      const m = mfnOf(g, op.frame);
      const va = 3 * 4096 + op.slot * 8 + (op.size === 4 ? op.off : 0);
      const lo = ((m << 12) | op.flags) >>> 0;
      if (op.size === 16) {
        const cur = new Uint32Array(2);
        const want = new Uint32Array([g.frames.u32[g.l1 * 1024 + op.slot * 2], 0]);
        ptwrUpdate64(d, 0, va, 0, lo, 0, 8, want, cur);
      } else ptwrUpdate64(d, 0, va, 0, lo, 0, op.size);
      break;
    }
    case "machphys":
      mmuMachphysUpdate(d, mfnOf(g, op.frame), op.frame & 0xff);
      break;
    case "remove":
      if (op.pfn > 3) d.removePhysmap(op.pfn);
      break;
    case "populate":
      d.populatePhysmap(op.pfn, 1);
      break;
    case "prep": {
      // Make a data page a table: read-only mapping, then a pin at L2..L4.
      const m = mfnOf(g, op.page);
      updateVaMapping64(d, 0, op.page * 4096, 0, (m << 12) | _PAGE_PRESENT, 0, 2);
      mmuextOp64(d, 0, MMUEXT_PIN_L1_TABLE + op.level, m);
      break;
    }
    case "link":
      // A read-only entry from one table to another (a linear page table when both are
      // tables of the same level).
      mmuUpdate64(d, mfnOf(g, op.from) * 4096 + op.slot * 8, (mfnOf(g, op.to) << 12) | 5, 0);
      break;
  }
}

function checkInvariants(g: TestGuest64): void {
  const f = g.frames, d = g.dom, u32 = f.u32, n = f.count;
  const refs = new Int32Array(n), types = new Int32Array(n), linear = new Int32Array(n);
  for (let m = 0; m < n; m++) {
    if (f.owner[m] !== 1 || f.refs[m] === 0) continue;
    if (f.cflags[m] & 1) refs[m]++;
    if (f.tflags[m] & 1) {
      refs[m]++;
      types[m]++;
    }
  }
  for (let v = 0; v < d.vcpus; v++) {
    for (const b of [d.baseMfn[v], d.userBaseMfn[v]]) {
      if (b === 0) continue;
      refs[b]++;
      types[b]++;
      assert.equal(f.type[b], PGT_l4_page_table, "a base is an L4");
    }
  }
  for (let t = 0; t < n; t++) {
    if (f.owner[t] !== 1 || f.refs[t] === 0) continue;
    const type = f.type[t];
    if (type < PGT_l1_page_table || type > PGT_l4_page_table) continue;
    if (!(f.tflags[t] & PGT_validated) || f.typeCount[t] === 0) continue;
    for (let s = 0; s < 512; s++) {
      const lo = u32[t * 1024 + 2 * s], hi = u32[t * 1024 + 2 * s + 1];
      if (type === PGT_l4_page_table && !isGuestL4Slot(s)) {
        if (s === L4_RO_MPT_SLOT && (lo & _PAGE_PRESENT)) {
          assert.equal(pteFrame(lo, hi), f.m2p64.l3Mfn, "slot 256 is the M2P");
          assert.equal(lo & _PAGE_RW, 0, "slot 256 read-only");
        } else assert.equal(lo | hi, 0, `Xen slot ${s} of ${t} holds something`);
        continue;
      }
      if (!(lo & _PAGE_PRESENT)) continue;
      const m = pteFrame(lo, hi);
      assert.ok(m < n, `table ${t} slot ${s} beyond memory`);
      assert.equal(f.owner[m], 1, `table ${t} slot ${s} maps frame ${m} of ${f.owner[m]}`);
      if (type === PGT_l1_page_table) {
        refs[m]++;
        if (lo & _PAGE_RW) {
          types[m]++;
          assert.equal(f.type[m], PGT_writable_page, `writable mapping of frame ${m}`);
        }
        continue;
      }
      assert.ok(f.tflags[m] & PGT_validated, `lower table ${m} validated`);
      if (f.type[m] === type) {
        assert.equal(lo & _PAGE_RW, 0, "linear entries are read-only");
        if (m === t) continue;
        linear[t]++;
        linear[m]--;
      } else assert.equal(f.type[m], type - 1, `table ${t} slot ${s}: wrong lower type`);
      refs[m]++;
      types[m]++;
    }
  }
  for (let m = 0; m < n; m++) {
    if (f.owner[m] === DOMID_XEN || f.owner[m] !== 1) continue;
    assert.equal(f.refs[m], refs[m], `frame ${m}: refs ${f.refs[m]} != ${refs[m]}`);
    assert.equal(f.typeCount[m], types[m], `frame ${m}: types ${f.typeCount[m]} != ${types[m]}`);
    assert.equal(f.linear[m], linear[m], `frame ${m}: linear count`);
    assert.ok(!(linear[m] > 0 && f.linear[m] < 0), "one-way rule");
  }
}

Deno.test("64-bit MMU operations keep Xen's invariants under random sequences", () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.array(opArb, { minLength: 1, maxLength: FULL ? 150 : 60, size: "max" }),
      (strict, ops) => {
        const g = makeTestGuest64(PAGES, 1024, strict);
        checkInvariants(g);
        for (const op of ops) {
          run(g, op);
          checkInvariants(g);
        }
        assert.equal(g.dom.relinquish(), 0, "teardown frees every frame");
      },
    ),
    { numRuns: FULL ? 3000 : 150 },
  );
});
