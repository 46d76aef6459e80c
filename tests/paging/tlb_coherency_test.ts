/**
 * TLB coherency with the CPU's real TLB (lib/cpu/tlb.ts): a guest that follows every
 * mapping change with the flush Xen's ABI asks for (UVMF_INVLPG / UVMF_TLB_FLUSH,
 * MMUEXT_INVLPG_LOCAL, MMUEXT_TLB_FLUSH_LOCAL, NEW_BASEPTR) sees, after each of them, TLB
 * translations equal to a fresh page walk.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ACC_USER, ACC_WRITE } from "../../lib/cpu/platform.ts";
import { K_READ, K_WRITE, Tlb } from "../../lib/cpu/tlb.ts";
import {
  _PAGE_PRESENT,
  FLUSH_ALL,
  FLUSH_PAGES,
  MMUEXT_INVLPG_LOCAL,
  MMUEXT_NEW_BASEPTR,
  MMUEXT_PIN_L3_TABLE,
  MMUEXT_TLB_FLUSH_LOCAL,
  mmuextOp,
  mmuUpdateNormalPt,
  updateVaMapping,
  UVMF_INVLPG,
  UVMF_TLB_FLUSH,
} from "../../lib/paging/mod.ts";
import { makeTestGuest, pokeEntry, type TestGuest } from "../../lib/paging/testing.ts";
import { asGfn } from "../../lib/abi/mod.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const PAGES = 32;

type Op =
  | { t: "access"; page: number; write: boolean; user: boolean }
  | { t: "uvm"; page: number; pfn: number; flags: number; invlpg: boolean }
  | { t: "upd"; page: number; pfn: number; flags: number; all: boolean }
  | { t: "switch" };

function apply(g: TestGuest, tlb: Tlb): void {
  const q = g.dom.flush;
  if (q.kind[0] === FLUSH_ALL) tlb.flushAll();
  else if (q.kind[0] === FLUSH_PAGES) {
    for (let i = 0; i < q.pageCount[0]; i++) tlb.flushPage(q.pages[i]);
  }
  q.clear(0);
  if (g.frames.needFlushAll) {
    tlb.flushAll();
    g.frames.tlbFlushedAll();
  }
}

function access(g: TestGuest, tlb: Tlb, page: number, write: boolean, user: boolean): void {
  const kind = write ? K_WRITE : K_READ, u = user ? 1 : 0;
  if (tlb.tables[kind * 2 + u][page] !== 0) return;
  const m = g.dom.walkers[0].translate(
    page * 4096,
    (write ? ACC_WRITE : 0) | (user ? ACC_USER : 0),
  );
  if (m >= 0) tlb.fill(kind, u, page, m);
}

/** Every cached translation equals what a fresh walk gives now. */
function checkCoherent(g: TestGuest, tlb: Tlb): void {
  const w = g.dom.walkers[0];
  for (const kind of [K_READ, K_WRITE]) {
    for (const u of [0, 1]) {
      const t = tlb.tables[kind * 2 + u];
      for (let p = 0; p < PAGES + 4; p++) {
        if (t[p] === 0) continue;
        const fresh = w.translate(
          p * 4096,
          (kind === K_WRITE ? ACC_WRITE : 0) | (u ? ACC_USER : 0),
        );
        assert.equal(
          t[p] - 1,
          fresh,
          `page ${p} kind ${kind} user ${u}: TLB ${t[p] - 1} vs walk ${fresh}`,
        );
      }
    }
  }
}

/** A second address space (pages 4.. map pfn p ^ 1) so NEW_BASEPTR changes translations. */
function altBase(g: TestGuest): number {
  g.dom.populatePhysmap(400, 4);
  const [l3, l2x, l2, l1] = [400, 401, 402, 403].map((p) => g.dom.p2m.get(asGfn(p)));
  pokeEntry(g.frames, l3, 0, (l2 << 12) | _PAGE_PRESENT);
  pokeEntry(g.frames, l3, 3, (l2x << 12) | _PAGE_PRESENT);
  pokeEntry(g.frames, l2, 0, (l1 << 12) | 7);
  for (let p = 4; p < PAGES; p++) {
    pokeEntry(g.frames, l1, p, (g.dom.p2m.get(asGfn(p ^ 1)) << 12) | 7);
  }
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_PIN_L3_TABLE, l3), 0);
  return l3;
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      t: fc.constant("access" as const),
      page: fc.nat(PAGES + 3),
      write: fc.boolean(),
      user: fc.boolean(),
    }),
    weight: 4,
  },
  fc.record({
    t: fc.constant("uvm" as const),
    page: fc.integer({ min: 4, max: PAGES + 3 }),
    pfn: fc.integer({ min: 4, max: PAGES - 1 }),
    flags: fc.constantFrom(0, 1, 3, 5, 7, 0x67),
    invlpg: fc.boolean(),
  }),
  fc.record({
    t: fc.constant("upd" as const),
    page: fc.integer({ min: 4, max: PAGES + 3 }),
    pfn: fc.integer({ min: 4, max: PAGES - 1 }),
    flags: fc.constantFrom(0, 1, 3, 5, 7),
    all: fc.boolean(),
  }),
  fc.record({ t: fc.constant("switch" as const) }),
);

Deno.test("TLB translations match a fresh walk after every invalidation operation", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: FULL ? 200 : 60, size: "max" }), (ops) => {
      const g = makeTestGuest(PAGES, 1024);
      const bases = [g.l3, altBase(g)];
      let cur = 0;
      const tlb = new Tlb();
      for (const op of ops) {
        switch (op.t) {
          case "access":
            access(g, tlb, op.page, op.write, op.user);
            break;
          case "uvm": {
            const val = (g.dom.p2m.get(asGfn(op.pfn)) << 12) | op.flags;
            updateVaMapping(
              g.dom,
              0,
              op.page * 4096,
              val,
              0,
              op.invlpg ? UVMF_INVLPG : UVMF_TLB_FLUSH,
            );
            break;
          }
          case "upd": {
            // mmu_update does not flush: the guest follows it with an mmuext flush.
            const val = (g.dom.p2m.get(asGfn(op.pfn)) << 12) | op.flags;
            if (mmuUpdateNormalPt(g.dom, g.l1 * 4096 + op.page * 8, val, 0) === 0) {
              mmuextOp(
                g.dom,
                0,
                op.all ? MMUEXT_TLB_FLUSH_LOCAL : MMUEXT_INVLPG_LOCAL,
                op.page * 4096,
              );
            }
            break;
          }
          case "switch":
            cur ^= 1;
            assert.equal(mmuextOp(g.dom, 0, MMUEXT_NEW_BASEPTR, bases[cur]), 0);
            break;
        }
        apply(g, tlb);
        checkCoherent(g, tlb);
      }
    }),
    { numRuns: FULL ? 2000 : 150 },
  );
});

Deno.test("without the flush, a stale TLB entry survives an update (the guest's duty)", () => {
  const g = makeTestGuest(PAGES, 1024);
  const tlb = new Tlb();
  access(g, tlb, 10, false, false);
  const other = g.dom.p2m.get(asGfn(11));
  assert.equal(updateVaMapping(g.dom, 0, 10 * 4096, (other << 12) | 7, 0, 0), 0);
  apply(g, tlb);
  assert.throws(() => checkCoherent(g, tlb));
  assert.equal(mmuextOp(g.dom, 0, MMUEXT_INVLPG_LOCAL, 10 * 4096), 0);
  apply(g, tlb);
  checkCoherent(g, tlb);
});
