/**
 * Two vcpus, two CPU TLBs: however the guest scopes its flushes (local, all, a vcpu
 * bitmap, or none), once the hypervisor applies what the model queued no TLB can write a
 * page table or reach a frame that is no longer the domain's.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ACC_WRITE } from "../../lib/cpu/platform.ts";
import { K_READ, K_WRITE, Tlb } from "../../lib/cpu/tlb.ts";
import {
  FLUSH_ALL,
  FLUSH_MAX_PAGES,
  FLUSH_PAGES,
  INVALID_MFN,
  MMUEXT_PIN_L1_TABLE,
  MMUEXT_UNPIN_TABLE,
  mmuextOp,
  OWNER_NONE,
  PagingDomain,
  PGT_writable_page,
  updateVaMapping,
  UVMF_ALL,
  UVMF_INVLPG,
  UVMF_LOCAL,
  UVMF_TLB_FLUSH,
} from "../../lib/paging/mod.ts";
import { makeTestGuest, type TestGuest } from "../../lib/paging/testing.ts";
import { asGfn } from "../../lib/abi/mod.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";

type Op =
  | { t: "access"; v: number; page: number; write: boolean }
  | { t: "protect"; v: number; page: number; rw: boolean; scope: number }
  | { t: "pin"; page: number; on: boolean }
  | { t: "remove"; page: number }
  | { t: "other"; pfn: number };

const page = fc.integer({ min: 4, max: 6 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant("access" as const), v: fc.nat(1), page, write: fc.boolean() }),
  fc.record({
    t: fc.constant("protect" as const),
    v: fc.nat(1),
    page,
    rw: fc.boolean(),
    scope: fc.nat(4),
  }),
  fc.record({ t: fc.constant("pin" as const), page, on: fc.boolean() }),
  fc.record({ t: fc.constant("remove" as const), page }),
  fc.record({ t: fc.constant("other" as const), pfn: fc.nat(30) }),
);

function applyFlushes(g: TestGuest, tlbs: Tlb[]): void {
  const q = g.dom.flush;
  for (let v = 0; v < tlbs.length; v++) {
    if (q.kind[v] === FLUSH_ALL) tlbs[v].flushAll();
    else if (q.kind[v] === FLUSH_PAGES) {
      for (let i = 0; i < q.pageCount[v]; i++) tlbs[v].flushPage(q.pages[v * FLUSH_MAX_PAGES + i]);
    }
    q.clear(v);
  }
  if (g.frames.needFlushAll) {
    for (const t of tlbs) t.flushAll();
    g.frames.tlbFlushedAll();
  }
}

Deno.test("per-vcpu flush scopes never leave a dangerous entry in any vcpu's TLB", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: FULL ? 80 : 30, size: "max" }), (ops) => {
      const g = makeTestGuest(32, 512, 2);
      const other = new PagingDomain(g.frames, 2);
      const tlbs = [new Tlb(), new Tlb()];
      const d = g.dom, f = g.frames;
      for (const op of ops) {
        switch (op.t) {
          case "access": {
            const kind = op.write ? K_WRITE : K_READ;
            if (tlbs[op.v].tables[kind * 2][op.page] !== 0) break;
            const m = d.walkers[op.v].translate(op.page * 4096, op.write ? ACC_WRITE : 0);
            if (m >= 0) tlbs[op.v].fill(kind, 0, op.page, m);
            break;
          }
          case "protect": {
            const mfn = d.p2m.get(asGfn(op.page));
            if (mfn === INVALID_MFN) break;
            const flags = [
              0,
              UVMF_INVLPG | UVMF_LOCAL,
              UVMF_INVLPG | UVMF_ALL,
              UVMF_TLB_FLUSH | 0x100,
              UVMF_TLB_FLUSH | UVMF_LOCAL,
            ][op.scope];
            updateVaMapping(d, op.v, op.page * 4096, (mfn << 12) | (op.rw ? 3 : 1), 0, flags, 0b01);
            break;
          }
          case "pin":
            mmuextOp(
              d,
              0,
              op.on ? MMUEXT_PIN_L1_TABLE : MMUEXT_UNPIN_TABLE,
              d.p2m.get(asGfn(op.page)),
            );
            break;
          case "remove":
            d.removePhysmap(op.page);
            updateVaMapping(d, 0, op.page * 4096, 0, 0, 0);
            break;
          case "other":
            other.populatePhysmap(op.pfn, 1);
            break;
        }
        applyFlushes(g, tlbs);
        for (const tlb of tlbs) {
          for (let k = 0; k < 6; k++) {
            for (let p = 4; p <= 6; p++) {
              const e = tlb.tables[k][p];
              if (e === 0) continue;
              const m = (e - 1) >>> 12;
              assert.ok(
                f.owner[m] === 1 || f.owner[m] === OWNER_NONE,
                `TLB reaches d${f.owner[m]}'s frame`,
              );
              if (k >> 1 === K_WRITE && f.owner[m] === 1) {
                assert.equal(
                  f.type[m],
                  PGT_writable_page,
                  `TLB can write frame ${m} typed ${f.type[m]}`,
                );
              }
            }
          }
        }
      }
    }),
    { numRuns: FULL ? 5000 : 500 },
  );
});
